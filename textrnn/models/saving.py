"""Saving and loading models: a folder with a JSON config and safetensors weights. No pickle.

Names ending in `.keras`, `.h5` / `.hdf5` or `.weights.h5` are Keras's own files instead, read and
written by `textrnn.models.keras_files`; every other name is textrnn's folder format below.

Layout of a saved model folder::

    my_model/
        config.json        # format, format_version, textrnn_version, model config, compile config, metadata
        model.safetensors  # weights, keyed "layers.<index>.<layer type>.<weight>"
                           # (e.g. "layers.1.simple_rnn.kernel")

`config.json` is plain JSON: `"model"` is the model's `get_config()` wrapped as
`{"class_name": "Sequential" | "Functional", "config": ...}`, `"compile"` the `compile()`
arguments (or null) and
`"metadata"` any JSON dict the caller passed to `save(..., metadata=...)` (the CLI keeps the
vocabulary and label names there). Optimizer state is not saved: a loaded model is compiled
afresh.

Saving is atomic: the folder is written under a temporary name next to the target and renamed
into place; an existing model at the target is only removed once the new one is in place, so a
failed save never loses it. Loading is strict: a missing, unexpected or mis-shaped weight, a
corrupted file or a folder that is not a textrnn model raises `textrnn.errors.ModelFileError`
naming the problem.

Loading trusts nothing in the folder. The weight shapes the config declares are worked out without
allocating them (layers built on PyTorch's meta device) and compared with the safetensors header
(read alone, bounded) before the model is built, so a 3 KB config cannot ask for gigabytes. Since
format version 2, `config.json` holds the SHA-256 of the weights file (`"weights_sha256"`), checked
on load: flipped bytes or an edited header are refused. `"weights"` must name a file inside the
folder. Version 1 models (no checksum) still load.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

import textrnn
from textrnn import checks
from textrnn.errors import ModelFileError
from textrnn.fileio import (
    atomic_path,
    new_staging_dir,
    remove_staging_dir,
    replace_dir,
    replaced_dir,
    reporting_disk_full,
)
from textrnn.layers.base import Layer, shapes_only, snake_case
from textrnn.models import keras_files
from textrnn.models.registry import custom_object_scope, is_model_class, layer_class

if TYPE_CHECKING:
    from textrnn.models.sequential import Sequential

FORMAT = "textrnn.model"
FORMAT_VERSION = 2  # 2: "weights_sha256" in config.json (version 1 models load without it)
CONFIG_FILE = "config.json"
MAX_CONFIG_BYTES = 256 * 1024 * 1024  # vocabularies live in the metadata; far below this
WEIGHTS_FILE = "model.safetensors"


# ----------------------------------------------------------------------------- weights
def _layer_prefix(index: int, layer: Layer) -> str:
    return f"layers.{index}.{snake_case(type(layer).__name__)}."


def weights_state(model: Sequential) -> dict[str, torch.Tensor]:
    """The model's tensors by stable name: `layers.<index>.<layer type>.<name in its state_dict>`.

    The names depend on the architecture only, not on the layers' (automatic) names, so weights
    saved from one model load into a freshly built twin, as Keras's weight files do.
    """
    state: dict[str, torch.Tensor] = {}
    for i, layer in enumerate(model.layers):
        prefix = _layer_prefix(i, layer)
        for key, value in layer.state_dict().items():
            state[prefix + key] = value.detach().cpu().contiguous()
    return state


def _write_weights(model: Sequential, path: Path) -> None:
    state = weights_state(model)
    needed = sum(t.numel() * t.element_size() for t in state.values())
    with reporting_disk_full(path, needed):
        meta = {"format": FORMAT, "format_version": str(FORMAT_VERSION)}
        save_file(state, str(path), metadata=meta)


MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit
_DTYPES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
_ITEM_SIZES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
}


def _corrupted(path: Path, why: str) -> ModelFileError:
    return ModelFileError(
        f"The weights file {path} is corrupted or not a safetensors file ({why}). Re-save the "
        "model or download it again."
    )


def read_header(path: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """`{name: (dtype, shape)}` from a safetensors file's header, reading nothing but the header.

    Raises:
        ModelFileError: if the file is missing, the header is malformed, or its entries do not
            tile the data that follows it.
    """
    if not path.is_file():
        raise ModelFileError(
            f"The weights file {path} is missing. Re-save the model, or point to a complete model folder."
        )
    size = path.stat().st_size
    try:
        with open(path, "rb") as f:
            prefix = f.read(8)
            if len(prefix) < 8:
                raise _corrupted(path, "shorter than a safetensors header")
            (length,) = struct.unpack("<Q", prefix)
            if length > min(MAX_HEADER_BYTES, size - 8):
                raise _corrupted(path, f"its header claims {length} bytes")
            raw = f.read(length)
        header = json.loads(raw)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
        if isinstance(err, ModelFileError):
            raise
        raise _corrupted(path, f"unreadable header: {type(err).__name__}") from None
    if not isinstance(header, dict):
        raise _corrupted(path, "its header is not a JSON object")
    data_size = size - 8 - length
    out: dict[str, tuple[str, tuple[int, ...]]] = {}
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict):
            raise _corrupted(path, f"header entry {name!r} is not an object")
        dtype: Any = entry.get("dtype")
        shape: Any = entry.get("shape")
        offsets: Any = entry.get("data_offsets")
        ok = (
            isinstance(dtype, str)
            and dtype in _ITEM_SIZES
            and isinstance(shape, list)
            and all(type(d) is int and d >= 0 for d in shape)
            and isinstance(offsets, list)
            and len(offsets) == 2
            and all(type(o) is int for o in offsets)
            and 0 <= offsets[0] <= offsets[1] <= data_size
        )
        if not ok:
            raise _corrupted(path, f"header entry {name!r} is malformed")
        numel = 1
        for d in shape:
            numel *= d
        if numel * _ITEM_SIZES[dtype] != offsets[1] - offsets[0]:
            raise _corrupted(path, f"tensor {name!r} does not fill its bytes")
        out[name] = (dtype, tuple(shape))
        spans.append((offsets[0], offsets[1]))
    end = 0
    for begin, stop in sorted(spans):
        if begin != end:
            raise _corrupted(path, "its tensors overlap or leave gaps")
        end = stop
    if end != data_size:
        raise _corrupted(path, "its data does not end where the header says")
    return out


def _declared_weights(
    class_name: Any, config: dict[str, Any], source: Path
) -> dict[str, tuple[str, tuple[int, ...]]]:
    """`{name: (dtype, shape)}` of the model a config describes, found without allocating it."""
    try:
        with shapes_only():
            # The class comes from the registry, where `Sequential` enters itself on import.
            model = cast("Sequential", layer_class(class_name).from_config(config))
    except (ValueError, TypeError, KeyError, RecursionError) as err:
        raise ModelFileError(f"The model config in {source} cannot be rebuilt: {err}") from None
    except RuntimeError as err:  # a shape no tensor can have, e.g. more elements than an int64
        raise ModelFileError(f"The model config in {source} declares impossible sizes: {err}") from None
    out = {}
    for i, layer in enumerate(model.layers):
        prefix = _layer_prefix(i, layer)
        for key, value in layer.state_dict().items():
            out[prefix + key] = (_DTYPES.get(value.dtype, str(value.dtype)), tuple(value.shape))
    return out


def _check_header(
    declared: dict[str, tuple[str, tuple[int, ...]]],
    found: dict[str, tuple[str, tuple[int, ...]]],
    source: Path,
) -> None:
    ModelFileError.check_keys(declared, found, source)
    for key, (dtype, shape) in declared.items():
        file_dtype, file_shape = found[key]
        parts = key.split(".")
        layer = f" (layer {parts[1]}, {parts[2]})" if len(parts) > 2 else ""
        if file_shape != shape:
            raise ModelFileError(
                f"Weight `{key}`{layer} in {source} has shape {file_shape}, but the model expects "
                f"{shape} (from its config). The config and the weights do not belong together: "
                "re-save the model."
            )
        if file_dtype != dtype:
            raise ModelFileError(
                f"Weight `{key}` in {source} has dtype {file_dtype}, but the model stores {dtype}. "
                "The file was altered; re-save the model."
            )


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ModelFileError(
            f"The weights file {path} is missing. Re-save the model, or point to a complete model folder."
        )
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise ModelFileError(
            f"The weights file {path} is corrupted or not a safetensors file ({err}). Re-save the model or "
            "download it again."
        ) from None


def _assign_weights(model: Sequential, tensors: dict[str, torch.Tensor], source: Path) -> None:
    """Copy `tensors` into `model` strictly: every key present, no extra key, every shape equal."""
    expected = weights_state(model)
    ModelFileError.check_keys(expected, tensors, source)
    for key, value in expected.items():
        if tuple(tensors[key].shape) != tuple(value.shape):
            raise ModelFileError(
                f"Weight `{key}` in {source} has shape {tuple(tensors[key].shape)}, but the model expects "
                f"{tuple(value.shape)}. The weights were saved from a model with other sizes."
            )
    with torch.no_grad():
        for i, layer in enumerate(model.layers):
            prefix = _layer_prefix(i, layer)
            sub = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            own = layer.state_dict()
            layer.load_state_dict({k: sub[k].to(own[k].dtype) for k in own}, strict=True)


def save_weights(model: Sequential, filepath: str | os.PathLike[str]) -> None:
    """Save only `model`'s weights to one safetensors file, atomically; a name ending in
    `.weights.h5` (or `.h5`) gets Keras 3's HDF5 weights file (`textrnn.models.keras_files`)."""
    if keras_files.file_kind(filepath) in ("weights_h5", "legacy_h5"):
        keras_files.save_weights_h5(model, filepath)
        return
    model.ensure_built("save_weights")
    with atomic_path(filepath, suffix=".safetensors") as tmp:
        _write_weights(model, tmp)


def load_weights(model: Sequential, filepath: str | os.PathLike[str]) -> None:
    """Load weights saved by `save_weights` (or the weights of a saved model folder) strictly.

    Raises:
        ModelFileError: if the file is missing, corrupted or does not match the model.
    """
    if keras_files.file_kind(filepath) is not None:
        keras_files.load_weights_h5(model, filepath)
        return
    path = Path(filepath)
    if path.is_dir():
        path = path / WEIGHTS_FILE
    model.ensure_built("load_weights")
    declared = {
        k: (_DTYPES.get(v.dtype, str(v.dtype)), tuple(v.shape)) for k, v in weights_state(model).items()
    }
    _check_header(declared, read_header(path), path)
    _assign_weights(model, _read_weights(path), path)


# ----------------------------------------------------------------------------- models
def _json_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise checks.invalid("metadata", "a dict", metadata, error=TypeError, got=type(metadata).__name__)
    try:
        json.dumps(metadata)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"Received an invalid value for argument `metadata`: it must be JSON-serialisable ({err}). "
            "Convert arrays with `.tolist()` and keep keys as strings."
        ) from None
    return metadata


def save_model(
    model: Sequential,
    filepath: str | os.PathLike[str],
    *,
    overwrite: bool = True,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Save `model` to the folder `filepath` (see the module docstring for the layout).

    Args:
        model: a built `Sequential`.
        filepath: the folder to write; its parent folders are created.
        overwrite: replace an existing saved model at `filepath`, default True.
        metadata: a JSON-serialisable dict stored with the model (read back with
            `load_model(..., return_metadata=True)` or `read_metadata`).

    Raises:
        ModelFileError: if `filepath` exists and is not a textrnn model (it is never replaced), or
            exists and `overwrite` is False.
        TypeError: if `metadata` is not a JSON-serialisable dict.

    Example:
        >>> model.save("imdb_rnn", metadata={"labels": ["neg", "pos"]})
        >>> model = load_model("imdb_rnn")
    """
    model.ensure_built("save")
    meta = _json_metadata(metadata)
    target = Path(filepath)
    kind = keras_files.file_kind(target)
    if kind in ("keras", "legacy_h5"):
        if target.exists() and not overwrite:
            raise ModelFileError(
                f"{target} already exists. Pass `overwrite=True` to replace it, or choose another path."
            )
        if target.is_dir():
            raise ModelFileError(
                f"{target} is a folder (an older textrnn wrote its folder format under Keras's file "
                "names), so the Keras file is not written there: remove it or choose another path."
            )
        if kind == "keras":
            keras_files.save_keras(model, target, meta)
        else:
            keras_files.save_legacy_h5(model, target, meta)
        return
    if target.exists():
        if not overwrite:
            raise ModelFileError(
                f"{target} already exists. Pass `overwrite=True` to replace it, or choose another path."
            )
        if not (target.is_dir() and (target / CONFIG_FILE).is_file()):
            raise ModelFileError(
                f"{target} exists and is not a textrnn model folder, so it is not replaced. Choose another "
                "path, or "
                "remove it first."
            )
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "textrnn_version": textrnn.__version__,
        "model": {"class_name": type(model).__name__, "config": model.get_config()},
        "compile": model.get_compile_config(),
        "metadata": meta,
        "weights": WEIGHTS_FILE,
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = new_staging_dir(target)  # removes the stale ones a killed save left beside `target` first
    try:
        _write_weights(model, tmp / WEIGHTS_FILE)
        config["weights_sha256"] = file_sha256(tmp / WEIGHTS_FILE)
        with reporting_disk_full(target / CONFIG_FILE):
            (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
        for name in (CONFIG_FILE, WEIGHTS_FILE):
            with open(tmp / name, "rb") as f:
                os.fsync(f.fileno())
        replace_dir(tmp, target)
    except BaseException:
        remove_staging_dir(tmp)
        raise


def _read_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ModelFileError(f"No saved model at {path}: the path does not exist.")
    if not path.is_dir():
        raise ModelFileError(
            f"{path} is a file, but a saved textrnn model is a folder holding {CONFIG_FILE} and "
            f"{WEIGHTS_FILE}. "
            "Point to the folder that `model.save(...)` wrote."
        )
    config_path = path / CONFIG_FILE
    if not config_path.is_file():
        raise ModelFileError(f"{path} is not a textrnn model folder: {CONFIG_FILE} is missing.")
    if config_path.stat().st_size > MAX_CONFIG_BYTES:
        raise ModelFileError(
            f"{config_path} is larger than {MAX_CONFIG_BYTES} bytes: not a textrnn model config."
        )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(
            f"{config_path} is corrupted: it is not valid JSON ({err}). Re-save the model."
        ) from None
    except RecursionError:
        raise ModelFileError(f"{config_path} is nested too deeply to be a textrnn model config.") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(
            f'{config_path} is not a textrnn model config (expected "format": "{FORMAT}"). It may come from '
            "another tool; save the model with textrnn's `model.save(...)`."
        )
    version = config.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{config_path} has an invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was saved in format version {version} by textrnn {config.get('textrnn_version', '?')}, "
            "but this "
            f"textrnn ({textrnn.__version__}) reads up to version {FORMAT_VERSION}. Upgrade textrnn to load "
            "it."
        )
    model_cfg = config.get("model")
    if not (
        isinstance(model_cfg, dict)
        and isinstance(model_cfg.get("config"), dict)
        and is_model_class(model_cfg.get("class_name"))
    ):
        raise ModelFileError(
            f'{config_path} has no valid "model" entry (expected a Sequential or Functional config).'
        )
    entries = (
        ("metadata", (dict,), "a JSON object"),
        ("compile", (dict,), "a JSON object"),
        ("weights", (str,), "a file name"),
    )
    for key, kinds, what in entries:
        if config.get(key) is not None and not isinstance(config[key], kinds):
            raise ModelFileError(f'{config_path} has an invalid "{key}" entry: expected {what} or null.')
    weights = config.get("weights") or WEIGHTS_FILE
    if weights in (".", "..") or Path(weights).name != weights or set(weights) & {"\\", "\0"}:
        raise ModelFileError(
            f"{config_path} names the weights file {weights!r}, which is not a file inside the "
            f"model folder. A textrnn model keeps its weights beside its config ({WEIGHTS_FILE})."
        )
    checksum = config.get("weights_sha256")
    if version >= 2 and not (isinstance(checksum, str) and len(checksum) == 64):
        raise ModelFileError(
            f'{config_path} has no valid "weights_sha256" (format version {version} requires one).'
        )
    return config


def read_metadata(filepath: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata dict stored with a saved model, without loading its weights."""
    meta = _read_config(Path(filepath)).get("metadata") or {}
    if not isinstance(meta, dict):
        raise ModelFileError(f"The metadata in {filepath} is not a JSON object.")
    return meta


@overload
def load_model(
    filepath: str | os.PathLike[str],
    custom_objects: dict[str, Any] | None = ...,
    compile: bool = ...,
    *,
    return_metadata: Literal[False] = ...,
) -> Sequential: ...
@overload
def load_model(
    filepath: str | os.PathLike[str],
    custom_objects: dict[str, Any] | None = ...,
    compile: bool = ...,
    *,
    return_metadata: Literal[True],
) -> tuple[Sequential, dict[str, Any]]: ...


def load_model(
    filepath: str | os.PathLike[str],
    custom_objects: dict[str, Any] | None = None,
    compile: bool = True,
    *,
    return_metadata: bool = False,
) -> Sequential | tuple[Sequential, dict[str, Any]]:
    """Load a model saved by `model.save(filepath)`.

    Args:
        filepath: the saved model folder.
        custom_objects: your own layer classes by the class name the config uses, e.g.
            `{"MyLayer": MyLayer}` (Keras's argument; here only `Layer` subclasses).
        compile: compile the model with its saved compile config (if it had one), default True.
        return_metadata: also return the metadata dict saved with it.

    Returns:
        The model, or `(model, metadata)` with `return_metadata=True`.

    Raises:
        ModelFileError: if the folder is missing, foreign, corrupted, from a newer format, or its
            weights do not match its config; the message names the problem.

    Example:
        >>> model, meta = load_model("imdb_rnn", return_metadata=True)
    """
    kind = keras_files.file_kind(filepath)
    if kind in ("keras", "legacy_h5") and not Path(filepath).is_dir():
        loader = keras_files.load_keras if kind == "keras" else keras_files.load_legacy_h5
        model, meta = loader(filepath, custom_objects, compile)
        return (model, meta) if return_metadata else model
    path = Path(filepath)
    # A kill between the two renames of a save leaves the previous model aside (`.NAME.old-*`):
    # read it from there (reading writes nothing; the next save puts a model in place again).
    path = replaced_dir(path) or path
    config = _read_config(path)
    weights = path / (config.get("weights") or WEIGHTS_FILE)
    with custom_object_scope(custom_objects):
        # Shapes first, from the config without allocating and from the header alone: a config
        # that declares a huge model is refused here, before anything is built.
        declared = _declared_weights(
            config["model"]["class_name"], config["model"]["config"], path / CONFIG_FILE
        )
        _check_header(declared, read_header(weights), weights)
        checksum = config.get("weights_sha256")
        if checksum is not None and file_sha256(weights) != checksum:
            raise ModelFileError(
                f"The weights file {weights} does not match the checksum in {path / CONFIG_FILE}: "
                "it was damaged or altered after saving. Re-save the model or download it again."
            )
        try:
            # The class comes from the registry, where model classes enter themselves on import.
            cls = layer_class(config["model"]["class_name"])
            model = cast("Sequential", cls.from_config(config["model"]["config"]))
        except (ValueError, TypeError, KeyError, RecursionError) as err:
            where = path / CONFIG_FILE
            raise ModelFileError(f"The model config in {where} cannot be rebuilt: {err}") from None
    _assign_weights(model, _read_weights(weights), weights)
    compile_cfg = config.get("compile")
    if compile and compile_cfg:
        try:
            model.compile_from_config(compile_cfg)
        except (ValueError, TypeError, KeyError) as err:
            raise ModelFileError(f"The compile config in {path / CONFIG_FILE} is invalid: {err}") from None
    meta = config.get("metadata") or {}
    if return_metadata:
        return model, meta
    return model
