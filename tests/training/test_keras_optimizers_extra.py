"""Adagrad, Nadam and AdamW against five steps of Keras 3's own optimizers (given weights and
gradients, recorded by tests/fixtures/make_keras_fixtures.py, `optimizer_cases`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import textrnn as keras
from textrnn.training.optimizers import Adagrad, AdamW, Nadam, get, serialize

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "keras" / "extra" / "optimizers.npz"
with np.load(FIXTURE) as _data:
    ARRAYS = {k: _data[k] for k in _data.files}
SPEC = json.loads(str(ARRAYS["spec"]))
CLASSES = {"adagrad": Adagrad, "nadam": Nadam, "adamw": AdamW}
KEPT = {
    "learning_rate",
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
}


def from_keras_config(case: str, config: dict) -> object:
    kind = case.split("_")[0]
    cls = CLASSES[kind]
    own = {
        "adagrad": {"initial_accumulator_value", "epsilon", "weight_decay"},
        "nadam": {"beta_1", "beta_2", "epsilon", "weight_decay"},
        "adamw": {"beta_1", "beta_2", "epsilon", "weight_decay", "amsgrad"},
    }[kind]
    return cls(**{k: v for k, v in config.items() if k in KEPT | own})


@pytest.mark.parametrize("name", sorted(SPEC["configs"]))
def test_steps_match_keras(name):
    opt = from_keras_config(name, SPEC["configs"][name])
    params = [torch.nn.Parameter(torch.tensor(ARRAYS[f"w0_{i}"])) for i in range(2)]
    opt.build(params)
    for step in range(SPEC["steps"]):
        opt.zero_grad()
        for i, p in enumerate(params):
            p.grad = torch.tensor(ARRAYS[f"grad_{step}_{i}"])
        opt.step()
        for i, p in enumerate(params):
            np.testing.assert_allclose(p.detach().numpy(), ARRAYS[f"{name}_{step}_{i}"], rtol=1e-5, atol=1e-6)


def test_defaults_are_keras():
    assert Adagrad().get_config() | {} == get("adagrad").get_config()
    a = Adagrad()
    assert (a.learning_rate, a.initial_accumulator_value, a.epsilon, a.weight_decay) == (
        0.001,
        0.1,
        1e-7,
        None,
    )
    n = Nadam()
    assert (n.learning_rate, n.beta_1, n.beta_2, n.epsilon, n.weight_decay) == (
        0.001,
        0.9,
        0.999,
        1e-7,
        None,
    )
    w = AdamW()
    assert (w.learning_rate, w.weight_decay, w.beta_1, w.beta_2, w.epsilon, w.amsgrad) == (
        0.001,
        0.004,
        0.9,
        0.999,
        1e-7,
        False,
    )
    assert (
        keras.optimizers.AdamW is AdamW
        and keras.optimizers.Nadam is Nadam
        and keras.optimizers.Adagrad is Adagrad
    )


@pytest.mark.parametrize(
    "opt", [Adagrad(0.01, weight_decay=0.1), Nadam(beta_1=0.8), AdamW(0.02, amsgrad=True)]
)
def test_config_round_trip(opt):
    twin = get(json.loads(json.dumps(serialize(opt))))
    assert type(twin) is type(opt) and twin.get_config() == opt.get_config()


def test_errors():
    with pytest.raises(ValueError, match="weight_decay=None"):
        AdamW(weight_decay=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="argument `initial_accumulator_value`"):
        Adagrad(initial_accumulator_value=-1.0)
    with pytest.raises(ValueError, match="argument `beta_1`"):
        Nadam(beta_1=1.0)
    with pytest.raises(ValueError, match="argument `weight_decay`"):
        Adagrad(weight_decay=-0.1)


def test_learning_rate_change_reaches_the_update():
    p = torch.nn.Parameter(torch.ones(3))
    opt = Adagrad(learning_rate=0.1, initial_accumulator_value=0.0, epsilon=0.0)
    opt.build([p])
    p.grad = torch.ones(3)
    opt.step()  # a = 1: w = 1 - 0.1
    opt.learning_rate = 0.5
    p.grad = torch.ones(3)
    opt.step()  # a = 2: w -= 0.5 / sqrt(2)
    np.testing.assert_allclose(p.detach().numpy(), 0.9 - 0.5 / np.sqrt(2), rtol=1e-6)


@pytest.mark.parametrize("cls", [Nadam, AdamW, Adagrad])
def test_a_resumed_run_continues_exactly(cls):
    # What runs/checkpoint.py restores: the torch state dict and `iterations`. Nadam's momentum
    # schedule counts steps outside the state dict, so it must pick up the count from `iterations`.
    def run(resume_at):
        p = torch.nn.Parameter(torch.linspace(-1.0, 1.0, 5, dtype=torch.float64))
        opt = cls(learning_rate=0.1)
        opt.build([p])
        for step in range(5):
            if step == resume_at:
                state, done = opt.torch_optimizer.state_dict(), opt.iterations
                p = torch.nn.Parameter(p.detach().clone())
                opt = cls(learning_rate=0.1)
                opt.build([p])
                opt.torch_optimizer.load_state_dict(state)
                opt.iterations = done
            opt.zero_grad()
            p.grad = torch.cos(p.detach() * (step + 1))
            opt.step()
        return p.detach()

    assert torch.equal(run(resume_at=3), run(resume_at=None))
