"""Every optimizer's numbers, pinned: weights after each of six steps, the moving average and the
`torch.optim` state at the end, for each optimizer with and without its options.

The pins in tests/fixtures/optimizer_pins.npz were recorded from the optimizers as they stood before
their update loops were folded into one (`python tests/training/test_optimizer_pins.py --write` rewrites
them; do so only for a change meant to move the numbers, and say why in the commit). The gradients
are stored beside them, so the runs do not depend on a random generator. The runs cover what a
shared loop must keep: a weight that gets no gradient on one step (Adam's per-weight step counts),
a weight stored transposed, a learning rate changed between steps, and both float dtypes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from textrnn.training import optimizers

PINS = Path(__file__).resolve().parents[1] / "fixtures" / "optimizer_pins.npz"
STEPS = 6
SHAPES = [(3, 4), (5,), (4, 3)]  # the third is stored transposed
NO_GRAD = {(1, 2)}  # (weight, step): the weight has no gradient on that step
LR_CHANGE_AT = 3  # the learning rate halves before this step
DTYPES = {"float32": torch.float32, "float64": torch.float64}

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "rmsprop": ("RMSprop", {"learning_rate": 0.05}),
    "rmsprop_momentum": ("RMSprop", {"learning_rate": 0.05, "momentum": 0.5}),
    "rmsprop_centered_clipnorm": ("RMSprop", {"learning_rate": 0.05, "centered": True, "clipnorm": 0.5}),
    "rmsprop_ema": ("RMSprop", {"learning_rate": 0.05, "use_ema": True, "ema_overwrite_frequency": 2}),
    "adam": ("Adam", {"learning_rate": 0.05}),
    "adam_amsgrad_clipvalue": ("Adam", {"learning_rate": 0.05, "amsgrad": True, "clipvalue": 0.3}),
    "adam_global_clipnorm_ema": ("Adam", {"learning_rate": 0.05, "global_clipnorm": 1.0, "use_ema": True}),
    "sgd": ("SGD", {"learning_rate": 0.1}),
    "sgd_nesterov_clipnorm": (
        "SGD",
        {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True, "clipnorm": 1.0},
    ),
    "adagrad": ("Adagrad", {"learning_rate": 0.05}),
    "adagrad_decay_clipnorm": ("Adagrad", {"learning_rate": 0.05, "weight_decay": 0.1, "clipnorm": 0.5}),
    "adagrad_ema": ("Adagrad", {"learning_rate": 0.05, "initial_accumulator_value": 0.5, "use_ema": True}),
    "nadam": ("Nadam", {"learning_rate": 0.05}),
    "nadam_decay_global_clipnorm": (
        "Nadam",
        {"learning_rate": 0.05, "weight_decay": 0.1, "global_clipnorm": 1.0},
    ),
    "nadam_ema": ("Nadam", {"learning_rate": 0.05, "use_ema": True, "ema_overwrite_frequency": 3}),
    "adamw": ("AdamW", {"learning_rate": 0.05}),
    "adamw_amsgrad_clipvalue": (
        "AdamW",
        {"learning_rate": 0.05, "weight_decay": 0.2, "amsgrad": True, "clipvalue": 0.3},
    ),
    "adamw_ema": ("AdamW", {"learning_rate": 0.05, "use_ema": True, "ema_momentum": 0.5}),
}


def _gradients(dtype: torch.dtype) -> dict[str, np.ndarray]:
    g = torch.Generator().manual_seed(7)
    out = {}
    for i, shape in enumerate(SHAPES):
        out[f"w0_{i}"] = torch.randn(shape, generator=g, dtype=torch.float64).numpy()
        for step in range(STEPS):
            scale = 10.0 ** ((i + step) % 4 - 2)  # gradients from 1e-2 to 10
            out[f"grad_{step}_{i}"] = (torch.randn(shape, generator=g, dtype=torch.float64) * scale).numpy()
    return {k: v.astype(np.dtype(str(dtype).removeprefix("torch."))) for k, v in out.items()}


def _weight(array: np.ndarray, i: int) -> torch.nn.Parameter:
    t = torch.tensor(array)
    return torch.nn.Parameter(t.t().contiguous().t() if i == 2 else t)


def run_case(case: str, dtype: torch.dtype, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The numbers one case produces: `step<s>_w<i>`, `average_w<i>`, `state_<key>_w<i>`."""
    cls_name, config = CASES[case]
    opt = getattr(optimizers, cls_name)(**config)
    params = [_weight(inputs[f"w0_{i}"], i) for i in range(len(SHAPES))]
    opt.build(params)
    out: dict[str, np.ndarray] = {}
    for step in range(STEPS):
        if step == LR_CHANGE_AT:
            opt.learning_rate = opt.learning_rate / 2
        opt.zero_grad()
        for i, p in enumerate(params):
            if (i, step) not in NO_GRAD:
                p.grad = _weight(inputs[f"grad_{step}_{i}"], i).detach()  # laid out as its weight
        opt.step()
        for i, p in enumerate(params):
            out[f"step{step}_w{i}"] = p.detach().numpy().copy()
    if opt.average is not None:
        for i, a in enumerate(opt.average):
            out[f"average_w{i}"] = a.numpy().copy()
    state = opt.torch_optimizer.state_dict()
    for i, s in state["state"].items():
        for key, value in s.items():
            out[f"state_{key}_w{i}"] = value.numpy().copy() if torch.is_tensor(value) else np.array(value)
    groups = [sorted(k for k in g if k != "params") for g in state["param_groups"]]
    out["group_keys"] = np.array(json.dumps(groups))
    return out


def _load() -> dict[str, np.ndarray]:
    with np.load(PINS) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.parametrize("dtype_name", sorted(DTYPES))
@pytest.mark.parametrize("case", sorted(CASES))
def test_numbers_are_the_pinned_ones(case, dtype_name):
    pins = _load()
    given = f"inputs/{dtype_name}/"
    inputs = {k.removeprefix(given): v for k, v in pins.items() if k.startswith(given)}
    got = run_case(case, DTYPES[dtype_name], inputs)
    prefix = f"{case}/{dtype_name}/"
    want = {k.removeprefix(prefix): v for k, v in pins.items() if k.startswith(prefix)}
    assert sorted(got) == sorted(want)  # the same steps, average and state keys
    assert str(got.pop("group_keys")) == str(want.pop("group_keys"))
    # float64 leaves room only for a different rounding of the same rule (TEXTRNN_KERNELS picks
    # RMSprop's kernel); float32 a few units in the last place.
    rtol, atol = (1e-12, 1e-14) if dtype_name == "float64" else (1e-6, 1e-7)
    for key in sorted(want):
        np.testing.assert_allclose(got[key], want[key], rtol=rtol, atol=atol, err_msg=key)


def test_the_pinned_gradients_reach_every_weight_and_skip_one():
    pins = _load()
    assert (pins["adam/float64/step2_w1"] == pins["adam/float64/step1_w1"]).all()  # no gradient on step 2
    assert not np.allclose(pins["adam/float64/step3_w1"], pins["adam/float64/step2_w1"])
    assert not np.allclose(pins["adamw/float64/step5_w0"], pins["adam/float64/step5_w0"])


def _write() -> None:
    arrays: dict[str, np.ndarray] = {}
    for dtype_name, dtype in DTYPES.items():
        inputs = _gradients(dtype)
        arrays.update({f"inputs/{dtype_name}/{k}": v for k, v in inputs.items()})
        for case in CASES:
            arrays.update({f"{case}/{dtype_name}/{k}": v for k, v in run_case(case, dtype, inputs).items()})
    np.savez_compressed(PINS, **arrays)
    print(f"wrote {len(arrays)} arrays to {PINS}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/training/test_optimizer_pins.py --write")
    _write()
