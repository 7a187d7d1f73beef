"""ONNX export: a trained run as `model.onnx` plus the tokenisation rules and vocabulary as JSON.

The graph takes int64 ids `(batch, steps)`, both axes dynamic, and returns the class
probabilities `(batch, classes)` (a sigmoid output becomes `[1 - p, p]`, as `Predictor` does).
It is traced with PyTorch's TorchScript exporter (`torch.onnx.export(..., dynamo=False)`) from
plain PyTorch ops; textrnn's C++ kernels are never called. The recurrent layers cannot be traced
through `rnn_kernels` (its path choice and masked paths depend on the data, and the step loop
would be unrolled to one length), so each is lowered here to ONNX's own `LSTM`, `GRU` or `RNN`
operator, with Keras's masking rules written in tensor ops:

- masked steps are moved to the end of each row (a stable permutation made with cumulative sums),
  the operator runs each row for its own number of steps (`sequence_lens`), and the outputs are
  spread back over the steps (a masked step repeats the previous output, or is zero with
  `zero_output_for_mask`), exactly as `rnn_kernels`' packed path does;
- `go_backwards` reverses the steps (and the mask) first; `Bidirectional` merges as it does.

Every other layer (Embedding, Dense, Dropout, SpatialDropout1D, the pooling layers) is traced
through its own `call` in inference mode; `NGramEmbedding`'s hashing is written again so that it
works for any number of steps (the hash wraps in int64 as PyTorch's does).
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from textrnn import onnx_predictor
from textrnn.errors import TextRNNError
from textrnn.fileio import new_temp_dir, replace_dir, write_json_atomic
from textrnn.layers import (
    GRU,
    LSTM,
    Bidirectional,
    Dense,
    Dropout,
    Embedding,
    GlobalAveragePooling1D,
    GlobalMaxAvgPooling1D,
    GlobalMaxPooling1D,
    NGramEmbedding,
    SimpleRNN,
    SpatialDropout1D,
)
from textrnn.layers.recurrent import BaseRNN, activation_name
from textrnn.preprocessing.text import BR_TAG, DEFAULT_FILTERS, TOKENIZER_VERSION

OPSET = 17
_HASH_MULTIPLIER = 1_000_003  # NGramEmbedding's polynomial hash
_ONNX_ACTIVATIONS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu"}
_PASS_THROUGH = (
    Dense,
    Dropout,
    SpatialDropout1D,
    GlobalMaxPooling1D,
    GlobalAveragePooling1D,
    GlobalMaxAvgPooling1D,
)


class ExportError(TextRNNError, ValueError):
    """A run or a layer that cannot be exported."""


@dataclass(frozen=True)
class ExportResult:
    """What `export_onnx` wrote and how closely the ONNX graph matches PyTorch."""

    folder: Path
    files: list[str]
    max_abs_diff: float
    checked: int


# --------------------------------------------------------------------------- recurrent layers
def _tanh(x: torch.Tensor) -> torch.Tensor:
    # onnxruntime's float32 Tanh and Sigmoid are approximations (errors up to 3e-7, ten times
    # PyTorch's) that hundreds of recurrent steps amplify past 1e-5 on long reviews; written with
    # Exp they are within 1e-7, and much faster than in float64.
    e = torch.exp(-2.0 * torch.abs(x))
    return torch.sign(x) * (1.0 - e) / (1.0 + e)


def _sigmoid(x: torch.Tensor) -> torch.Tensor:
    return 1.0 / (1.0 + torch.exp(-x))


# The step loops, scripted so that the exporter writes one ONNX `Loop` over however many steps
# come in. `proj` is the time-major input projection `(steps, batch, G units)`, `keep` the
# time-major mask `(steps, batch, 1)`; a masked step keeps the states. They return every step's
# state `(steps, batch, units)` with `sequences`, else the final state `(1, batch, units)`.
def _simple_rnn_loop(
    proj: torch.Tensor, keep: torch.Tensor, r: torch.Tensor, relu: bool, sequences: bool
) -> torch.Tensor:
    h = torch.zeros_like(proj[0])
    states: list[torch.Tensor] = []
    for t in range(proj.size(0)):
        z = proj[t] + torch.mm(h, r)
        new = torch.relu(z) if relu else _tanh(z)
        h = torch.where(keep[t], new, h)
        if sequences:
            states.append(h)
    return torch.stack(states) if sequences else h.unsqueeze(0)


def _lstm_loop(proj: torch.Tensor, keep: torch.Tensor, r: torch.Tensor, sequences: bool) -> torch.Tensor:
    h = torch.zeros_like(proj[0].chunk(4, 1)[0])
    c = torch.zeros_like(h)
    states: list[torch.Tensor] = []
    for t in range(proj.size(0)):
        z = proj[t] + torch.mm(h, r)  # gates i, f, c, o
        i, f, _, o = _sigmoid(z).chunk(4, 1)
        g = _tanh(z.chunk(4, 1)[2])
        c_new = f * c + i * g
        h_new = o * _tanh(c_new)
        h = torch.where(keep[t], h_new, h)
        c = torch.where(keep[t], c_new, c)
        if sequences:
            states.append(h)
    return torch.stack(states) if sequences else h.unsqueeze(0)


def _gru_loop(
    proj: torch.Tensor,
    keep: torch.Tensor,
    r: torch.Tensor,
    rb: torch.Tensor,
    reset_after: bool,
    sequences: bool,
) -> torch.Tensor:
    h = torch.zeros_like(proj[0].chunk(3, 1)[0])
    r_zr, r_h = r.split([r.size(0) * 2, r.size(0)], 1)
    states: list[torch.Tensor] = []
    for t in range(proj.size(0)):
        x_zr, x_h = proj[t].split([h.size(1) * 2, h.size(1)], 1)  # gates z, r | h
        if reset_after:
            inner_zr, inner_h = (torch.mm(h, r) + rb).split([h.size(1) * 2, h.size(1)], 1)
            z, reset = _sigmoid(x_zr + inner_zr).chunk(2, 1)
            candidate = _tanh(x_h + reset * inner_h)
        else:
            z, reset = _sigmoid(x_zr + torch.mm(h, r_zr)).chunk(2, 1)
            candidate = _tanh(x_h + torch.mm(reset * h, r_h))
        h = torch.where(keep[t], z * h + (1.0 - z) * candidate, h)
        if sequences:
            states.append(h)
    return torch.stack(states) if sequences else h.unsqueeze(0)


@functools.cache
def _scripted(name: str) -> Any:
    """The step loop `name`, scripted on first use (TorchScript's deprecation notice silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.script(globals()[name])


class _Recurrent(nn.Module):
    """One recurrent layer (`SimpleRNN`, `LSTM`, `GRU`): Keras's equations, an ONNX `Loop`."""

    kernel: torch.Tensor
    recurrent: torch.Tensor
    bias: torch.Tensor
    recurrent_bias: torch.Tensor

    def __init__(self, layer: BaseRNN, zero_output_for_mask: bool) -> None:
        super().__init__()
        spec = layer.cell_spec()
        self.kind = spec.kind
        self.go_backwards = layer.go_backwards
        self.return_sequences = layer.return_sequences
        self.zero_output_for_mask = zero_output_for_mask
        act = activation_name(layer.activation)
        rec = activation_name(getattr(layer, "recurrent_activation", None))
        where = f"{type(layer).__name__} `{layer.name}`"
        if layer.return_state:
            raise ExportError(f"{where} has return_state=True: a classifier cannot use its states.")
        if self.kind == "simple_rnn" and act not in ("tanh", "relu"):
            raise ExportError(f"{where} has activation={act!r}: ONNX export supports tanh and relu.")
        if self.kind != "simple_rnn" and (act != "tanh" or rec != "sigmoid"):
            raise ExportError(
                f"{where} has activation={act!r}, recurrent_activation={rec!r}: ONNX export "
                "supports tanh with sigmoid."
            )
        self.relu = act == "relu"
        self.reset_after = bool(spec.reset_after)
        g = spec.kernel.shape[1]
        bias = spec.bias.detach().float() if spec.bias is not None else None
        recurrent_bias = torch.zeros(g)
        if bias is not None and bias.dim() == 2:  # GRU reset_after: input row, recurrent row
            bias, recurrent_bias = bias[0], bias[1]
        self.register_buffer("kernel", spec.kernel.detach().float().clone())
        self.register_buffer("recurrent", spec.recurrent_kernel.detach().float().clone())
        self.register_buffer("bias", bias.clone() if bias is not None else torch.zeros(g))
        self.register_buffer("recurrent_bias", recurrent_bias.clone())

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if self.go_backwards:
            x = torch.flip(x, dims=(1,))
            mask = None if mask is None else torch.flip(mask, dims=(1,))
        proj = (torch.matmul(x, self.kernel) + self.bias).transpose(0, 1)  # (steps, batch, G units)
        if mask is None:
            keep = torch.ones_like(proj[:, :, :1], dtype=torch.bool)
        else:
            keep = mask.transpose(0, 1).unsqueeze(-1)  # (steps, batch, 1)
        if self.kind == "lstm":
            states = _scripted("_lstm_loop")(proj, keep, self.recurrent, self.return_sequences)
        elif self.kind == "gru":
            states = _scripted("_gru_loop")(
                proj,
                keep,
                self.recurrent,
                self.recurrent_bias,
                self.reset_after,
                self.return_sequences,
            )
        else:
            states = _scripted("_simple_rnn_loop")(
                proj, keep, self.recurrent, self.relu, self.return_sequences
            )
        if self.zero_output_for_mask:  # masked steps output zeros (else the carried state)
            states = torch.where(
                keep if self.return_sequences else keep[-1:], states, torch.zeros_like(states)
            )
        if self.return_sequences:
            return states.transpose(0, 1)  # (batch, steps, units)
        return states[0]  # (batch, units)


class _Bidirectional(nn.Module):
    def __init__(self, layer: Bidirectional) -> None:
        super().__init__()
        if layer.merge_mode is None:
            raise ExportError(
                f"Bidirectional `{layer.name}` has merge_mode=None: its two outputs cannot feed "
                "the next "
                "layer of a Sequential classifier."
            )
        self.merge_mode = layer.merge_mode
        self.return_sequences = layer.return_sequences
        zero = layer.return_sequences
        self.forward_layer = _Recurrent(layer.forward_layer, zero)
        self.backward_layer = _Recurrent(layer.backward_layer, zero)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        y = self.forward_layer(x, mask)
        y_rev = self.backward_layer(x, mask)
        if self.return_sequences:
            y_rev = torch.flip(y_rev, dims=(1,))  # back to time order
        if self.merge_mode == "concat":
            return torch.cat([y, y_rev], dim=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / 2
        return y * y_rev


# --------------------------------------------------------------------------- embeddings
class _NGramEmbedding(nn.Module):
    """`NGramEmbedding` for any number of steps (its own code slices assume steps >= n)."""

    embeddings: torch.Tensor

    def __init__(self, layer: NGramEmbedding) -> None:
        super().__init__()
        self.ngrams = layer.ngrams
        self.modulus = layer.buckets - 1
        self.register_buffer("embeddings", layer.embeddings.detach().float())
        self.tables = nn.ParameterList(
            [nn.Parameter(t.detach().float(), requires_grad=False) for t in layer.ngram_tables()]
        )

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out = F.embedding(ids, self.embeddings)  # (batch, steps, output_dim)
        padded = F.pad(ids, (self.ngrams - 1, 0))  # (batch, ngrams - 1 + steps)
        for n, table in enumerate(self.tables, start=2):
            h, valid = ids, ids != 0
            for back in range(1, n):
                earlier = padded[:, self.ngrams - 1 - back : -back]  # ids[:, t - back], 0 before
                h = h * _HASH_MULTIPLIER + earlier
                valid = valid & (earlier != 0)
            bucket = torch.where(valid, torch.remainder(h, self.modulus) + 1, torch.zeros_like(h))
            out = out + F.embedding(bucket, table) * valid.unsqueeze(-1).to(out.dtype)
        return out


# --------------------------------------------------------------------------- the graph
class OnnxGraph(nn.Module):
    """A `Sequential` text classifier as ONNX-exportable PyTorch ops: ids → class probabilities.

    Args:
        model: a built `Sequential` starting with an `Embedding` (or `NGramEmbedding`).
        num_classes: the number of labels (2 with a single sigmoid output).

    Raises:
        ExportError: naming the first layer that cannot be exported.
    """

    def __init__(self, model: Any, num_classes: int) -> None:
        super().__init__()
        layers = list(model.layers)
        if not layers or not isinstance(layers[0], Embedding):
            first = type(layers[0]).__name__ if layers else "nothing"
            raise ExportError(f"ONNX export needs a model that starts with an Embedding, got {first}.")
        self.model = model
        self.num_classes = int(num_classes)
        self.mask_zero = bool(layers[0].mask_zero)
        # Cutting padding columns off a batch leaves the numbers unchanged when the model masks
        # them, unless a layer hands its time-reversed sequence on (its mask is then misaligned).
        reversed_sequences = any(
            isinstance(layer, BaseRNN) and layer.go_backwards and layer.return_sequences for layer in layers
        )
        self.trim_padding = self.mask_zero and not reversed_sequences
        self.steps: list[tuple[str, Any]] = []
        self.lowered = nn.ModuleList()
        for layer in layers:
            if isinstance(layer, NGramEmbedding):
                self._add("module", _NGramEmbedding(layer))
            elif type(layer) is Embedding:
                self.steps.append(("layer", layer))
            elif isinstance(layer, Bidirectional):
                self._add("recurrent", _Bidirectional(layer))
            elif isinstance(layer, (SimpleRNN, LSTM, GRU)):
                self._add("recurrent", _Recurrent(layer, layer.zero_output_for_mask))
            elif isinstance(layer, _PASS_THROUGH):
                self.steps.append(("layer", layer))
            else:
                raise ExportError(
                    f"Layer `{layer.name}` ({type(layer).__name__}) cannot be exported to ONNX: "
                    "supported are Embedding, NGramEmbedding, SimpleRNN, LSTM, GRU, Bidirectional, "
                    "Dense, Dropout, "
                    "SpatialDropout1D and the global pooling layers."
                )

    def _add(self, kind: str, module: nn.Module) -> None:
        self.lowered.append(module)
        self.steps.append((kind, module))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h: torch.Tensor = ids
        mask = ids != 0 if self.mask_zero else None
        for i, (kind, step) in enumerate(self.steps):
            if kind == "recurrent":
                out = step(h, mask)
                if not step.return_sequences:
                    mask = None
            elif kind == "module":
                out = step(h)
            else:
                out = step.call(h, mask=mask, training=False)
                mask = ids != 0 if i == 0 and self.mask_zero else step.compute_mask(h, mask)
            h = out
        if self.num_classes == 2 and h.shape[-1] == 1:
            return torch.cat([1.0 - h, h], dim=1)
        return h


# --------------------------------------------------------------------------- export
def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise ExportError(
            f"ONNX export needs the `{module}` package: pip install 'textrnn[onnx]' (onnx and onnxruntime)."
        )


def preprocessing_rules(predictor: Any, mask_zero: bool, trim_padding: bool) -> dict[str, Any]:
    """What `preprocessing.json` holds: how the run turns raw text into the graph's input."""
    model = predictor.model
    last = model.layers[-1]
    output = getattr(last, "_activation_name", None)
    return {
        "format": onnx_predictor.FORMAT,
        "format_version": onnx_predictor.FORMAT_VERSION,
        "tokenizer": {
            "version": TOKENIZER_VERSION,
            "steps": "remove the `remove` pattern (case-insensitive) as a space; lower-case; each "
            "character of `filters` becomes `split`; split on `split`; drop empty strings",
            "remove": BR_TAG.pattern,
            "lower": True,
            "filters": DEFAULT_FILTERS,
            "split": " ",
        },
        "encoding": "start_char, then rank + index_from per word (oov_char outside the vocabulary "
        "or the skip_top <= index < num_words window); see vocabulary.json",
        "maxlen": predictor.maxlen,
        "padding": predictor.padding,
        "truncating": predictor.truncating,
        "pad_value": 0,
        "mask_zero": mask_zero,
        "trim_padding": trim_padding,
        "label_names": list(predictor.label_names),
        "model_output": output,
        "graph": {
            "input": "ids: int64 (batch, steps), steps <= maxlen",
            "output": "probabilities: float32 (batch, classes), columns in label_names order",
            "opset": OPSET,
        },
    }


def _check_against_torch(graph: OnnxGraph, path: Path, input_dim: int, maxlen: int) -> tuple[float, int]:
    """Largest |ONNX - PyTorch| on random id batches (padding included) of a few lengths."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst, count = 0.0, 0
    for steps in sorted({1, 3, min(maxlen, 17), min(maxlen, 64)}):
        x = rng.integers(1, input_dim, size=(6, steps))
        for row in range(1, 6):
            x[row, : rng.integers(0, steps + 1)] = 0  # pre-padding of every length, one empty row
        x[5] = 0
        with torch.no_grad():
            ref = graph.model.predict(x.astype(np.int32), verbose=0)
        ref = (
            np.concatenate([1.0 - ref, ref], axis=1) if graph.num_classes == 2 and ref.shape[1] == 1 else ref
        )
        got = session.run(None, {"ids": x.astype(np.int64)})[0]
        worst = max(worst, float(np.abs(got - ref).max()))
        count += len(x)
    return worst, count


def export_onnx(run: str | os.PathLike[str], out: str | os.PathLike[str] | None = None) -> ExportResult:
    """Export a trained run to ONNX: model.onnx, vocabulary.json, preprocessing.json, predict.py.

    Args:
        run: a run folder made by `textrnn train` (or its `model/` folder).
        out: the folder to write; default `RUN/onnx`. An existing folder is replaced whole.

    Returns:
        An `ExportResult`: the folder, its files, and the largest difference between onnxruntime
        and PyTorch on random id batches.

    Raises:
        RunFolderError, ModelFileError: if the run is incomplete or damaged.
        ExportError: for an ensemble, a layer that cannot be exported, or missing onnx packages.
    """
    import textrnn
    from textrnn.runs.predictor import EnsemblePredictor

    _require("onnx")
    _require("onnxruntime")
    predictor = textrnn.load(run)
    if isinstance(predictor, EnsemblePredictor):
        linear = " and a linear n-gram model" if predictor.linear is not None else ""
        raise ExportError(
            f"`{run}` is an ensemble of {len(predictor.members)} RNN model(s){linear}: export one "
            f"member folder instead (`{Path(run) / 'members' / '1'}`), or train with --no-linear "
            "--ensemble 1 for a single run."
        )
    model = predictor.model
    model.eval()
    graph = OnnxGraph(model, len(predictor.label_names)).eval()
    target = Path(out) if out is not None else Path(run) / "onnx"
    tmp = new_temp_dir(target, "export")
    try:
        steps = min(predictor.maxlen, 7)
        dummy = torch.arange(1, 2 * steps + 1, dtype=torch.int64).reshape(2, steps)
        dummy = dummy.remainder(model.layers[0].input_dim - 1) + 1
        dummy[1, 0] = 0
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
            torch.onnx.export(
                graph,
                (dummy,),
                str(tmp / onnx_predictor.MODEL),
                dynamo=False,
                input_names=["ids"],
                output_names=["probabilities"],
                opset_version=OPSET,
                dynamic_axes={"ids": {0: "batch", 1: "steps"}, "probabilities": {0: "batch"}},
            )
        write_json_atomic(tmp / onnx_predictor.VOCABULARY, predictor.vocabulary.to_dict())
        write_json_atomic(
            tmp / onnx_predictor.PREPROCESSING,
            preprocessing_rules(predictor, graph.mask_zero, graph.trim_padding),
        )
        shutil.copyfile(inspect.getfile(onnx_predictor), tmp / "predict.py")
        worst, count = _check_against_torch(
            graph, tmp / onnx_predictor.MODEL, model.layers[0].input_dim, predictor.maxlen
        )
        files = sorted(p.name for p in tmp.iterdir())
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportResult(target, files, worst, count)


__all__ = ["ExportError", "ExportResult", "OnnxGraph", "export_onnx", "preprocessing_rules"]
