"""The resume checkpoint: last epoch's weights, optimizer state and random generators, no pickle.

One safetensors file per epoch, `checkpoint/epoch-NNNN.safetensors`, holds every tensor (model
state_dict under `model.`, optimizer state under `optimizer.state.`, the weights' moving average of
an optimizer with `use_ema` under `optimizer.average.`, generator states under `rng.`) and, in its
string metadata, the JSON rest (optimizer hyper-parameters and scalars, the epoch, and the run's
history up to that epoch, so that checkpoint and history cannot disagree after a kill).
`checkpoint/state.json` names the newest complete file and is replaced atomically after it is
written, so a crash at any point leaves a consistent checkpoint; older files are then deleted.
Checkpoints written before the history was kept in them hold none (`checkpoint_history` gives None).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from textrnn.errors import RunFolderError
from textrnn.fileio import read_json, remove_paths, set_file_mode, temp_entries, write_json_atomic

STATE = "state.json"
_META_KEY = "textrnn_checkpoint"


def _flatten_optimizer(sd: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    scalars: dict[str, dict[str, Any]] = {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.state.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return {"param_groups": sd["param_groups"], "scalars": scalars}


def _unflatten_optimizer(meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer.state."):
            idx, key = name[len("optimizer.state.") :].split(".", 1)
            state.setdefault(int(idx), {})[key] = value
    for idx, values in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(values)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(
    folder: Path,
    epoch: int,
    model: torch.nn.Module,
    optimizer: Any,
    history: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write the state after `epoch` (count of finished epochs) and point `state.json` to it.

    Args:
        history: the run's history as of this epoch (JSON), stored with the tensors.
        extra: more JSON stored with the tensors, read back by `checkpoint_extra`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta: dict[str, Any] = {"epoch": epoch, "optimizer": None, "iterations": 0}
    if history is not None:
        meta["history"] = history
    if extra is not None:
        meta["extra"] = extra
    if optimizer is not None and optimizer.built:
        meta["optimizer"] = _flatten_optimizer(optimizer.torch_optimizer.state_dict(), tensors)
        meta["iterations"] = int(optimizer.iterations)
        for i, average in enumerate(optimizer.average or ()):
            tensors[f"optimizer.average.{i}"] = average.detach().cpu().contiguous()
    tensors["rng.torch"] = torch.get_rng_state()
    np_state: Any = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(np.asarray(np_state[1], dtype=np.int64))
    meta["rng_numpy"] = [np_state[0], int(np_state[2]), int(np_state[3]), float(np_state[4])]
    py_state = random.getstate()
    meta["rng_python"] = [py_state[0], list(py_state[1]), py_state[2]]
    name = f"epoch-{epoch:04d}.safetensors"
    tmp = folder / f".{name}.tmp"
    save_file(tensors, str(tmp), metadata={_META_KEY: json.dumps(meta, allow_nan=False)})
    set_file_mode(tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    tmp.replace(folder / name)
    write_json_atomic(folder / STATE, {"epoch": epoch, "file": name})
    for old in folder.glob("epoch-*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)


def checkpoint_epoch(folder: Path) -> int | None:
    """The number of finished epochs the checkpoint holds, or None if there is none."""
    if not (folder / STATE).is_file():
        return None
    return int(read_json(folder / STATE)["epoch"])


def checkpoint_history(folder: Path) -> dict[str, Any] | None:
    """The run's history stored with the checkpoint, or None (a checkpoint of an older textrnn).

    Raises:
        RunFolderError: if the checkpoint is damaged.
    """
    return _read_meta(folder).get("history")


def checkpoint_extra(folder: Path) -> dict[str, Any] | None:
    """The `extra` JSON stored with the checkpoint, or None.

    Raises:
        RunFolderError: if the checkpoint is damaged.
    """
    return _read_meta(folder).get("extra")


def clean_checkpoint(folder: Path) -> None:
    """Delete what a kill left in `folder` beside the checkpoint `state.json` names: temporary
    files and older epoch files."""
    if not folder.is_dir():
        return
    keep = read_json(folder / STATE).get("file") if (folder / STATE).is_file() else None
    stale = [p for p in folder.glob("epoch-*.safetensors") if p.name != keep]
    remove_paths([*temp_entries(folder), *stale])


def _read_meta(folder: Path) -> dict[str, Any]:
    from safetensors import safe_open

    try:
        state = read_json(folder / STATE)
        with safe_open(str(folder / state["file"]), framework="pt") as f:
            meta = json.loads((f.metadata() or {})[_META_KEY])
        if not isinstance(meta, dict):
            raise ValueError("its metadata is not a JSON object")
        return meta
    except (OSError, ValueError, KeyError, TypeError, SafetensorError) as e:
        raise RunFolderError(
            f"The checkpoint in `{folder}` is missing or damaged ({e}). "
            "The run cannot be resumed; train it again."
        ) from None


def load_checkpoint(folder: Path, model: torch.nn.Module, optimizer: Any) -> int:
    """Restore model weights, optimizer state and random generators; return the epoch count.

    Raises:
        RunFolderError: if the checkpoint is missing or damaged.
    """
    try:
        state = read_json(folder / STATE)
        path = folder / state["file"]
        tensors = load_file(str(path))
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})[_META_KEY])
    except (OSError, ValueError, KeyError, TypeError, SafetensorError) as e:
        raise RunFolderError(
            f"The checkpoint in `{folder}` is missing or damaged ({e}). The run cannot be resumed; train it "
            "again."
        ) from None
    model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(model_state, strict=True)
    except RuntimeError as e:
        raise RunFolderError(f"The checkpoint in `{folder}` does not match the run's model: {e}") from None
    if meta.get("optimizer") is not None and optimizer is not None:
        optimizer.build(model.parameters())
        optimizer.torch_optimizer.load_state_dict(_unflatten_optimizer(meta["optimizer"], tensors))
        optimizer.iterations = int(meta.get("iterations", 0))
        averages = sorted(
            (k for k in tensors if k.startswith("optimizer.average.")), key=lambda k: int(k.rsplit(".", 1)[1])
        )
        try:
            if averages:
                optimizer.load_average([tensors[k] for k in averages])
        except ValueError as e:
            raise RunFolderError(
                f"The checkpoint in `{folder}` does not match the run's optimizer: {e}"
            ) from None
    torch.set_rng_state(tensors["rng.torch"])
    kind, pos, has_gauss, gauss = meta["rng_numpy"]
    np.random.set_state((kind, tensors["rng.numpy"].numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = meta["rng_python"]
    random.setstate((version, tuple(internal), gauss_next))
    return int(meta["epoch"])
