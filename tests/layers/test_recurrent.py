"""Behaviour shared by SimpleRNN, LSTM and GRU, checked against the NumPy reference."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from _rnn_reference import reference_rnn

from textrnn.layers import GRU, LSTM, SimpleRNN, rnn_kernels

BATCH, STEPS, FEATURES, UNITS = 3, 5, 4, 3

# (name, class, kwargs, reference kind, reference kwargs)
VARIANTS = [
    ("simple_rnn", SimpleRNN, {}, "simple_rnn", {}),
    ("simple_rnn_relu", SimpleRNN, {"activation": "relu"}, "simple_rnn", {"activation": "relu"}),
    ("lstm", LSTM, {}, "lstm", {}),
    ("gru", GRU, {}, "gru", {}),
    ("gru_reset_before", GRU, {"reset_after": False}, "gru", {"reset_after": False}),
]
IDS = [v[0] for v in VARIANTS]


def random_layer(cls, weight_seed=0, features=FEATURES, **kwargs):
    layer = cls(UNITS, **kwargs)
    layer.build((None, None, features))
    rng = np.random.default_rng(weight_seed)
    layer.set_weights([rng.uniform(-0.7, 0.7, w.shape).astype("float32") for w in layer.get_weights()])
    return layer


def inputs(seed=1, batch=BATCH, steps=STEPS):
    return np.random.default_rng(seed).normal(size=(batch, steps, FEATURES)).astype("float32")


def as_list(out):
    return [o.detach().numpy() for o in out] if isinstance(out, list) else [out.detach().numpy()]


MASK = np.array(
    [
        [True, False, True, True, False],  # gaps
        [False, False, True, True, True],  # pre-padding
        [True, True, True, False, False],  # post-padding
    ]
)


@pytest.mark.parametrize("name,cls,kwargs,kind,ref_kwargs", VARIANTS, ids=IDS)
@pytest.mark.parametrize(
    "return_sequences,return_state,go_backwards",
    list(itertools.product([False, True], repeat=3)),
)
def test_matches_numpy_reference(
    name, cls, kwargs, kind, ref_kwargs, return_sequences, return_state, go_backwards
):
    flags = dict(return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards)
    layer = random_layer(cls, **kwargs, **flags)
    x = inputs()
    n_states = 2 if kind == "lstm" else 1
    h0 = [np.random.default_rng(5 + i).normal(size=(BATCH, UNITS)).astype("float32") for i in range(n_states)]
    for mask, initial_state in [(None, None), (MASK, None), (None, h0), (MASK, h0)]:
        got = as_list(layer(x, mask=mask, initial_state=initial_state))
        want = reference_rnn(
            kind, x, layer.get_weights(), mask=mask, initial_state=initial_state, **ref_kwargs, **flags
        )
        want = want if isinstance(want, list) else [want]
        assert len(got) == len(want) == (1 + n_states if return_state else 1)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name,cls,kwargs,kind,ref_kwargs", VARIANTS, ids=IDS)
def test_output_shapes_for_every_combination(name, cls, kwargs, kind, ref_kwargs):
    n_states = 2 if kind == "lstm" else 1
    for return_sequences, return_state in itertools.product([False, True], repeat=2):
        layer = cls(UNITS, return_sequences=return_sequences, return_state=return_state, **kwargs)
        out = layer(inputs())
        expected = layer.compute_output_shape((BATCH, STEPS, FEATURES))
        if return_state:
            assert isinstance(out, list) and len(out) == 1 + n_states
            assert [tuple(o.shape) for o in out] == [tuple(s) for s in expected]
            assert expected[1:] == [(BATCH, UNITS)] * n_states
        else:
            assert tuple(out.shape) == tuple(expected)
        seq = (BATCH, STEPS, UNITS) if return_sequences else (BATCH, UNITS)
        assert tuple((out[0] if return_state else out).shape) == seq
        # Shapes are known before any data: a summary can print them.
        unbuilt = cls(UNITS, return_sequences=return_sequences, return_state=return_state, **kwargs)
        shape = unbuilt.compute_output_shape((None, None, FEATURES))
        first = shape[0] if return_state else shape
        assert first == ((None, None, UNITS) if return_sequences else (None, UNITS))


@pytest.mark.parametrize("name,cls,kwargs,kind,ref_kwargs", VARIANTS, ids=IDS)
def test_compute_mask(name, cls, kwargs, kind, ref_kwargs):
    mask = torch.tensor(MASK)
    assert cls(UNITS, **kwargs).compute_mask(None, mask) is None
    assert cls(UNITS, return_sequences=True, **kwargs).compute_mask(None, mask) is mask
    with_state = cls(UNITS, return_sequences=True, return_state=True, **kwargs).compute_mask(None, mask)
    assert with_state[0] is mask and all(m is None for m in with_state[1:])


@pytest.mark.parametrize("name,cls,kwargs,kind,ref_kwargs", VARIANTS, ids=IDS)
def test_config_json_round_trip(name, cls, kwargs, kind, ref_kwargs):
    layer = random_layer(cls, return_sequences=True, go_backwards=True, dropout=0.25, seed=3, **kwargs)
    config = json.loads(json.dumps(layer.get_config()))
    twin = cls.from_config(config)
    assert twin.get_config() == layer.get_config()
    twin.build((None, None, FEATURES))
    twin.set_weights(layer.get_weights())
    x = inputs()
    torch.testing.assert_close(twin(x, mask=MASK, training=False), layer(x, mask=MASK, training=False))


@pytest.mark.parametrize("name,cls,kwargs,kind,ref_kwargs", VARIANTS, ids=IDS)
@pytest.mark.parametrize("masked", [False, True])
def test_gradients_reach_every_weight(name, cls, kwargs, kind, ref_kwargs, masked):
    layer = random_layer(cls, return_sequences=True, **kwargs)
    x = torch.tensor(inputs(), requires_grad=True)
    out = layer(x, mask=MASK if masked else None)
    (out**2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for w, wname in zip(layer.weights, layer._weight_names, strict=True):
        assert w.grad is not None, wname
        assert w.grad.abs().sum() > 0, wname


@pytest.mark.parametrize("name,cls,kwargs,kind,ref_kwargs", VARIANTS, ids=IDS)
def test_gradients_equal_on_fused_and_loop_paths(name, cls, kwargs, kind, ref_kwargs):
    layer = random_layer(cls, return_sequences=True, **kwargs)
    grads = {}
    for path in ("auto", "loop"):
        layer.zero_grad()
        with rnn_kernels.force_path(path):
            (layer(inputs(), mask=MASK) ** 2).sum().backward()
        grads[path] = [w.grad.clone() for w in layer.weights]
    for a, b in zip(grads["auto"], grads["loop"], strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name,cls,kwargs,kind,ref_kwargs", VARIANTS, ids=IDS)
def test_numpy_and_integer_inputs_and_no_bias(name, cls, kwargs, kind, ref_kwargs):
    layer = random_layer(cls, use_bias=False, **kwargs)
    assert [tuple(w.shape) for w in layer.get_weights()] == [
        (FEATURES, layer.num_gates * UNITS),
        (UNITS, layer.num_gates * UNITS),
    ]
    x = np.arange(BATCH * STEPS * FEATURES).reshape(BATCH, STEPS, FEATURES) % 3  # int64
    want = reference_rnn(kind, x.astype("float32"), layer.get_weights(), **ref_kwargs)
    np.testing.assert_allclose(layer(x).detach().numpy(), want, atol=1e-5)


def test_dropout_uses_one_mask_per_sequence_for_every_step():
    # kernel = identity, no recurrence, no bias: each step's output is its input times the mask.
    for activation in ("linear", "relu"):  # the loop and the fused path
        layer = SimpleRNN(
            FEATURES, activation=activation, use_bias=False, dropout=0.5, seed=7, return_sequences=True
        )
        layer.build((None, None, FEATURES))
        layer.set_weights([np.eye(FEATURES, dtype="float32"), np.zeros((FEATURES, FEATURES), "float32")])
        x = np.ones((64, STEPS, FEATURES), "float32")
        out = layer(x, training=True).detach().numpy()
        assert set(np.unique(out)) <= {0.0, 2.0}
        assert 0.3 < (out == 0).mean() < 0.7
        np.testing.assert_array_equal(out, np.repeat(out[:, :1], STEPS, axis=1))
        np.testing.assert_array_equal(layer(x, training=False).detach().numpy(), x)
        layer.eval()
        np.testing.assert_array_equal(layer(x).detach().numpy(), x)


def test_dropout_seed_makes_masks_reproducible():
    def draws(seed):
        layer = random_layer(LSTM, dropout=0.3, recurrent_dropout=0.3, seed=seed)
        x = inputs()
        return [layer(x, training=True).detach().numpy() for _ in range(2)]

    a, b = draws(11), draws(11)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], a[1])  # a new mask for each call


@pytest.mark.parametrize("name,cls,kwargs,kind,ref_kwargs", VARIANTS, ids=IDS)
def test_dropout_masks_match_reference(name, cls, kwargs, kind, ref_kwargs):
    """The kernels apply given dropout masks as Keras's cells do (LSTM, GRU: one per gate)."""
    layer = random_layer(cls, return_sequences=True, **kwargs)
    rng = np.random.default_rng(9)
    n = {"gru": 3, "lstm": 4}.get(kind, 1)

    def masks(count, size):
        return [(rng.random((BATCH, size)) > 0.4).astype("float32") / 0.6 for _ in range(count)]

    for in_count, rec in [(1, False), (n, True), (1, True)]:
        in_masks = masks(in_count, FEATURES)
        rec_masks = masks(in_count, UNITS) if rec else None
        out, _ = rnn_kernels.run(
            layer.cell_spec(),
            torch.tensor(inputs()),
            [torch.zeros(BATCH, UNITS)] * (2 if kind == "lstm" else 1),
            mask=torch.tensor(MASK),
            return_sequences=True,
            input_masks=[torch.tensor(m) for m in in_masks],
            recurrent_masks=None if rec_masks is None else [torch.tensor(m) for m in rec_masks],
        )
        want = reference_rnn(
            kind,
            inputs(),
            layer.get_weights(),
            mask=MASK,
            return_sequences=True,
            input_masks=in_masks,
            recurrent_masks=rec_masks,
            **ref_kwargs,
        )
        np.testing.assert_allclose(out.detach().numpy(), want, atol=1e-5)


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_recurrent_dropout_trains_and_is_off_in_inference(cls):
    layer = random_layer(cls, recurrent_dropout=0.5, seed=1)
    x = inputs()
    torch.testing.assert_close(layer(x, training=False), layer(x, training=False))
    assert not torch.allclose(layer(x, training=True), layer(x, training=False))
    (layer(x, training=True) ** 2).sum().backward()
    assert all(w.grad is not None for w in layer.weights)


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_default_names_and_weight_order(cls):
    layer = cls(2)
    assert layer.name.startswith({"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}[cls.__name__])
    layer.build((None, 7, 3))
    assert layer._weight_names == ["kernel", "recurrent_kernel", "bias"]


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
@pytest.mark.parametrize(
    "kwargs,error,fragments",
    [
        ({"units": 0}, ValueError, ["`units`", "positive integer", "got 0"]),
        ({"units": 2.5}, ValueError, ["`units`", "got 2.5"]),
        ({"units": True}, ValueError, ["`units`"]),
        ({"units": 3, "dropout": 1.0}, ValueError, ["`dropout`", "[0, 1)", "got 1.0"]),
        ({"units": 3, "recurrent_dropout": -0.1}, ValueError, ["`recurrent_dropout`", "got -0.1"]),
        ({"units": 3, "activation": "nope"}, ValueError, ["Unknown activation 'nope'"]),
        ({"units": 3, "kernel_initializer": "nope"}, ValueError, ["`kernel_initializer`", "nope"]),
        (
            {"units": 3, "return_sequences": "yes"},
            TypeError,
            ["`return_sequences`", "True or False", "'yes'"],
        ),
        ({"units": 3, "stateful": True}, ValueError, ["stateful=True", "initial_state"]),
        ({"units": 3, "seed": 1.5}, TypeError, ["`seed`", "1.5"]),
    ],
)
def test_constructor_errors(cls, kwargs, error, fragments):
    with pytest.raises(error) as info:
        cls(**kwargs)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_call_errors_name_the_problem():
    layer = random_layer(LSTM)
    with pytest.raises(ValueError, match=r"\(batch, steps, features\).*got shape \(3, 5\)"):
        layer(np.zeros((3, 5), "float32"))
    with pytest.raises(ValueError, match=r"built for 4 input features, got input of shape \(3, 5, 6\)"):
        layer(np.zeros((3, 5, 6), "float32"))
    with pytest.raises(
        ValueError, match=r"mask .* must have shape \(batch, steps\) = \(3, 5\), got \(3, 4\)"
    ):
        layer(inputs(), mask=np.ones((3, 4), bool))
    with pytest.raises(ValueError, match=r"has 2 state\(s\) \(\[h, c\]\), but `initial_state` holds 1"):
        layer(inputs(), initial_state=np.zeros((3, 3), "float32"))
    with pytest.raises(ValueError, match=r"must have shape \(batch, units\) = \(3, 3\), got \(3, 2\)"):
        layer(inputs(), initial_state=[np.zeros((3, 2), "float32")] * 2)
    with pytest.raises(TypeError, match="unexpected call arguments: constants"):
        layer(inputs(), constants=[1])
    with pytest.raises(ValueError, match="needs the size of its input's last axis"):
        GRU(2).build((None, 5, None))


def test_force_path_rejects_what_it_cannot_compute():
    layer = random_layer(GRU, reset_after=False)
    with rnn_kernels.force_path("fused"), pytest.raises(ValueError, match="cannot compute this gru cell"):
        layer(inputs())
    with pytest.raises(ValueError, match="`path`"):
        with rnn_kernels.force_path("fast"):  # type: ignore[arg-type]
            pass
