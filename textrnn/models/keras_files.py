"""Keras's own model files: Keras 3's `.keras` archive, its `.weights.h5`, and the legacy `.h5`.

`model.save("m.keras")`, `save("m.h5")` and `save_weights("w.weights.h5")` write what Keras 3.15
writes, so `keras.saving.load_model` opens them, and `textrnn.models.load_model` opens the files
Keras writes (for the layers textrnn has). The layouts:

- `.keras`: a zip (stored, not compressed) of `metadata.json`, `config.json` (the model's Keras
  config: `module`, `class_name`, `config`, `registered_name` and `build_config` for each layer,
  and the `compile_config`) and `model.weights.h5`.
- `model.weights.h5` and `*.weights.h5`: HDF5 groups `layers/<class in snake case>[_<n>]/vars/<i>`
  (Keras names the groups after the class, numbering repeats, not after the layer's name); a
  recurrent layer keeps its weights in `.../cell/vars/<i>`, `Bidirectional` in
  `.../forward_layer/cell/vars/<i>` and `.../backward_layer/...`, a nested model in
  `.../layers/...`. Each `vars` group has a `name` attribute. Optimizer state is not written
  (Keras loads such files, its optimizer starting afresh) and is ignored when read.
- legacy `.h5` (Keras 2, and Keras 3's `model.save("m.h5")`): attributes `model_config` (JSON)
  and `training_config`, and `model_weights/<layer name>/<weight name>` datasets listed in order
  by the `layer_names` and `weight_names` attributes (Keras 2 names end in `:0`). Weights are
  matched by order, as Keras does.

Both directions translate configs between textrnn and Keras: Keras's arguments that textrnn has no
use for must hold their default (a regulariser, a constraint, quantisation), or the load is
refused naming the layer and the argument; a layer class textrnn does not have, or a custom
class not given in `custom_objects`, is refused by name. Loading is strict: every weight the
config declares is present with its shape, nothing else is, and shapes are checked against the
file (built on PyTorch's meta device) before the model is allocated.
"""

from __future__ import annotations

import datetime
import inspect
import io
import json
import os
import re
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

import textrnn
from textrnn.errors import ModelFileError
from textrnn.fileio import atomic_path
from textrnn.layers.base import Layer, shapes_only
from textrnn.models.registry import custom_object_scope, layer_class

if TYPE_CHECKING:
    import h5py

    from textrnn.models.sequential import Sequential

KERAS_LAYOUT_VERSION = "3.15.1"  # the Keras release whose file layout this module writes
CONFIG_FILE = "config.json"
METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "model.weights.h5"
MAX_CONFIG_BYTES = 256 * 1024 * 1024
HDF5_ATTR_LIMIT = 64512  # Keras splits longer name lists into `name0`, `name1`, ...

_RNN = ("SimpleRNN", "LSTM", "GRU")
_MODELS = ("Sequential", "Functional")
# Keras classes textrnn reads and writes (textrnn's classes carry the same names).
SUPPORTED = (
    "InputLayer",
    "Embedding",
    *_RNN,
    "Bidirectional",
    "Dense",
    "Dropout",
    "SpatialDropout1D",
    "Conv1D",
    "MaxPooling1D",
    "AveragePooling1D",
    "GlobalMaxPooling1D",
    "GlobalAveragePooling1D",
    "Flatten",
    "Activation",
    "Masking",
    "LayerNormalization",
    "BatchNormalization",
    "Concatenate",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
)
# Keras 2 and 3 aliases of those classes (as `keras.layers` exports them).
_ALIASES = {
    "Convolution1D": "Conv1D",
    "MaxPool1D": "MaxPooling1D",
    "AvgPool1D": "AveragePooling1D",
    "GlobalMaxPool1D": "GlobalMaxPooling1D",
    "GlobalAvgPool1D": "GlobalAveragePooling1D",
    "Model": "Functional",
}
_KERAS_MODULES = ("keras", "keras.layers", "keras.models", "keras.src.models.functional")


def _reg(*names: str) -> dict[str, Any]:
    return {n: None for n in names}


_RNN_EXTRA = _reg(
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
)
_NORM_EXTRA = _reg("beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint")
# Keras config keys textrnn's layers do not take, with the only value textrnn can honour (written
# so, so that Keras's config has all its keys).
KERAS_ONLY: dict[str, dict[str, Any]] = {
    "Embedding": {
        **_reg("embeddings_regularizer", "activity_regularizer", "embeddings_constraint"),
        "quantization_config": None,
    },
    **{name: _RNN_EXTRA for name in _RNN},
    "Dense": _reg(
        "kernel_regularizer",
        "bias_regularizer",
        "kernel_constraint",
        "bias_constraint",
        "quantization_config",
    ),
    "Conv1D": _reg(
        "kernel_regularizer",
        "bias_regularizer",
        "activity_regularizer",
        "kernel_constraint",
        "bias_constraint",
    ),
    "Dropout": {"seed": None, "noise_shape": None},
    "SpatialDropout1D": {"seed": None},
    "LayerNormalization": {**_NORM_EXTRA, "rms_scaling": False},
    "BatchNormalization": {
        **_NORM_EXTRA,
        "synchronized": False,
        "renorm": False,
        "renorm_clipping": None,
        "renorm_momentum": 0.99,
    },
}
# Only randomness during training: dropped on load whatever its value.
_IGNORED_ON_LOAD = {"Dropout": ("seed",), "SpatialDropout1D": ("seed",)}
# textrnn config keys that Keras's class does not have.
_TEXTRNN_ONLY = {"SimpleRNN": ("seed",), "SpatialDropout1D": ("trainable",)}
# Keras classes with a `build` (their serialized form carries a `build_config`).
_BUILT = {*_RNN, "Embedding", "Bidirectional", "Dense", "Conv1D", "LayerNormalization", "BatchNormalization"}
_BUILT |= {"Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"}
_DTYPE_POLICY = {
    "module": "keras",
    "class_name": "DTypePolicy",
    "config": {"name": "float32"},
    "registered_name": None,
}


def keras_snake(name: str) -> str:
    """Keras's `to_snake_case`: `GlobalAveragePooling1D` → `global_average_pooling1d`."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def file_kind(filepath: str | os.PathLike[str]) -> str | None:
    """`"keras"`, `"weights_h5"` or `"legacy_h5"` from the file name's ending, else None."""
    name = Path(filepath).name.lower()
    if name.endswith(".keras"):
        return "keras"
    if name.endswith(".weights.h5"):
        return "weights_h5"
    if name.endswith((".h5", ".hdf5")):
        return "legacy_h5"
    return None


def _h5py() -> Any:
    import h5py

    return h5py


def _directions(layer: Layer) -> tuple[Layer, Layer]:
    """A `Bidirectional`'s forward and backward layers."""
    return cast(Layer, layer.forward_layer), cast(Layer, layer.backward_layer)


def _is_model(layer: Layer) -> bool:
    return type(layer).__name__ in _MODELS


# ============================================================================ textrnn -> Keras
def _unwritable(layer: Layer, why: str) -> ModelFileError:
    return ModelFileError(
        f"Layer `{layer.name}` ({type(layer).__name__}) cannot be written to a Keras file: {why}. Save "
        "the model in textrnn's own format instead (a path without `.keras` / `.h5`)."
    )


def _keras_initializer(layer: Layer, key: str, value: Any) -> Any:
    from textrnn import initializers

    try:
        init = initializers.get(value)
    except (ValueError, TypeError) as err:
        raise _unwritable(layer, f"its `{key}` is not a Keras initializer ({err})") from None
    if not isinstance(init, initializers.Initializer):
        raise _unwritable(layer, f"its `{key}` is a function, which Keras cannot rebuild")
    return {
        "module": "keras.initializers",
        "class_name": type(init).__name__,
        "config": init.get_config(),
        "registered_name": None,
    }


def _keras_layer_config(layer: Layer) -> dict[str, Any]:
    cls = type(layer).__name__
    config = layer.get_config()
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key in _TEXTRNN_ONLY.get(cls, ()):
            continue
        if key.endswith("_initializer"):
            value = _keras_initializer(layer, key, value)
        elif key == "activation" or key.endswith("_activation"):
            if not isinstance(value, str):
                raise _unwritable(layer, f"its `{key}` is not one of Keras's activations by name")
        elif key in ("layer", "backward_layer") and cls == "Bidirectional":
            inner = _directions(layer)[0 if key == "layer" else 1]
            value = _keras_layer(inner, build_shape=getattr(layer, "build_input_shape", None))
        out[key] = value
        if key == "trainable":
            out["dtype"] = dict(_DTYPE_POLICY)
    out.setdefault("dtype", dict(_DTYPE_POLICY))
    for key, default in KERAS_ONLY.get(cls, {}).items():
        out.setdefault(key, default)
    return out


def _json_shape(shape: Any) -> Any:
    if shape is None:
        return None
    if isinstance(shape, (list, tuple)) and shape and all(isinstance(s, (list, tuple)) for s in shape):
        return [_json_shape(s) for s in shape]
    return [None if d is None else int(d) for d in shape]


def _keras_layer(layer: Layer, *, build_shape: Any = None) -> dict[str, Any]:
    cls = type(layer).__name__
    if _is_model(layer):
        return _keras_model(cast("Sequential", layer))
    if cls not in SUPPORTED:
        raise _unwritable(
            layer, f"Keras has no `{cls}` layer textrnn can write (it writes {', '.join(SUPPORTED)})"
        )
    if cls == "InputLayer":
        config = {**layer.get_config(), "optional": False}
        return {"module": "keras.layers", "class_name": cls, "config": config, "registered_name": None}
    entry: dict[str, Any] = {
        "module": "keras.layers",
        "class_name": cls,
        "config": _keras_layer_config(layer),
        "registered_name": None,
    }
    shape = build_shape if build_shape is not None else getattr(layer, "build_input_shape", None)
    if cls in _BUILT and shape is not None:
        entry["build_config"] = {"input_shape": _json_shape(shape)}
    return entry


def _sequential_input(model: Sequential) -> dict[str, Any]:
    from textrnn.layers.embedding import Embedding

    shape = model.input_shape
    given = getattr(model, "_input_layer", None)
    if given is not None:
        return _keras_layer(given)
    dtype = "int32" if isinstance(model.layers[0], Embedding) else "float32"
    config = {
        "batch_shape": _json_shape(shape),
        "dtype": dtype,
        "sparse": False,
        "ragged": False,
        "name": "input_layer",
        "optional": False,
    }
    return {"module": "keras.layers", "class_name": "InputLayer", "config": config, "registered_name": None}


def _keras_model(model: Sequential) -> dict[str, Any]:
    """The model's Keras config (as `keras.saving.serialize_keras_object` writes it)."""
    model.ensure_built("save")
    cls = type(model).__name__
    if cls == "Sequential":
        shape = _json_shape(model.input_shape)
        config: dict[str, Any] = {
            "name": model.name,
            "trainable": model.trainable,
            "dtype": dict(_DTYPE_POLICY),
            "layers": [_sequential_input(model), *(_keras_layer(layer) for layer in model.layers)],
            "build_input_shape": shape,
        }
        return {
            "module": "keras",
            "class_name": "Sequential",
            "config": config,
            "registered_name": None,
            "build_config": {"input_shape": shape},
        }
    config = dict(model.get_config())
    by_name = {layer.name: layer for layer in model.layers}
    entries = []
    for entry in config["layers"]:
        layer = by_name[entry["name"]]
        keras_entry = _keras_layer(layer)
        entries.append({**keras_entry, "name": entry["name"], "inbound_nodes": entry["inbound_nodes"]})
    config["layers"] = entries
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": config,
        "registered_name": "Functional",
        "build_config": {"input_shape": None},
    }


def _keras_compile_config(model: Sequential) -> dict[str, Any] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a metric object left out: said when the folder is saved
        compiled = model.get_compile_config()
    if not compiled:
        return None
    loss = compiled["loss"]
    if isinstance(loss, dict):
        loss = {"module": "keras.losses", **loss, "registered_name": None}
    optimizer = compiled["optimizer"]
    return {
        "optimizer": {"module": "keras.optimizers", **optimizer, "registered_name": None},
        "loss": loss,
        "loss_weights": None,
        "metrics": list(compiled.get("metrics") or []) or None,
        "weighted_metrics": None,
        "run_eagerly": False,
        "steps_per_execution": 1,
        "jit_compile": False,
    }


def keras_config(model: Sequential) -> dict[str, Any]:
    """What a `.keras` file's `config.json` holds for `model`."""
    out = _keras_model(model)
    compile_config = _keras_compile_config(model)
    if compile_config is not None:
        out["compile_config"] = compile_config
    return out


# ============================================================================ Keras -> textrnn
def _refused(name: Any, cls: str, why: str) -> ModelFileError:
    return ModelFileError(f"Keras layer `{name}` ({cls}) cannot be loaded into textrnn: {why}.")


def _check_float32(name: Any, cls: str, dtype: Any) -> None:
    if isinstance(dtype, dict):
        dtype = (dtype.get("config") or {}).get("name")
    if dtype not in (None, "float32"):
        raise _refused(name, cls, f"its dtype policy is {dtype!r}; textrnn computes in float32 only")


def _textrnn_initializer(name: Any, cls: str, key: str, value: Any) -> Any:
    from textrnn import initializers

    if isinstance(value, dict):
        config = {k: v for k, v in (value.get("config") or {}).items() if v is not None or k == "seed"}
        value = {"class_name": value.get("class_name"), "config": config}
    try:
        return initializers.get(value)
    except (ValueError, TypeError) as err:
        raise _refused(name, cls, f"its `{key}` is not an initializer textrnn has ({err})") from None


def _textrnn_layer_config(cls: str, config: dict[str, Any], custom: Mapping[str, Any]) -> dict[str, Any]:
    name = config.get("name")
    out: dict[str, Any] = {}
    only = KERAS_ONLY.get(cls, {})
    for key, value in config.items():
        if key == "dtype":
            if cls != "InputLayer":
                _check_float32(name, cls, value)
                continue
        elif key in _IGNORED_ON_LOAD.get(cls, ()):
            continue
        elif key in only or key.endswith(("_regularizer", "_constraint")) or key.startswith("lora_"):
            default = only.get(key)
            if key == "lora_alpha" or value == default:
                continue
            raise _refused(name, cls, f"argument `{key}={value!r}` is not supported (only {default!r})")
        elif key in ("implementation", "input_length", "batch_size"):  # Keras 2 arguments
            continue
        elif key == "time_major":
            if value:
                raise _refused(name, cls, "`time_major=True` is not supported")
            continue
        elif key == "batch_input_shape":
            if cls == "InputLayer":
                out["batch_shape"] = value
            continue
        elif key.endswith("_initializer"):
            value = _textrnn_initializer(name, cls, key, value)
        elif (key == "activation" or key.endswith("_activation")) and not isinstance(value, str):
            raise _refused(name, cls, f"its `{key}` is {value!r:.100}, not an activation by name")
        elif key in ("layer", "backward_layer") and cls == "Bidirectional" and value is not None:
            value = _textrnn_entry(value, custom)
        out[key] = value
    return out


def _old_inbound_nodes(nodes: list[Any]) -> list[dict[str, Any]]:
    """Keras 2's `[[["layer", node, tensor, {kwargs}], ...], ...]` in Keras 3's form."""
    out = []
    for node in nodes:
        if isinstance(node, dict):
            out.append(node)
            continue
        tensors = []
        kwargs: dict[str, Any] = {}
        for ref in node:
            if len(ref) > 3 and isinstance(ref[3], dict):
                kwargs = ref[3]
            history = [ref[0], ref[1], ref[2]]
            tensors.append({"class_name": "__keras_tensor__", "config": {"keras_history": history}})
        out.append({"args": [tensors if len(tensors) > 1 else tensors[0]], "kwargs": kwargs})
    return out


def _textrnn_entry(entry: Any, custom: Mapping[str, Any]) -> dict[str, Any]:
    """A Keras layer entry (`{"class_name", "config", ...}`) as textrnn's configs write it."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise ModelFileError(f"A layer entry in the Keras config is malformed: {entry!r:.200}.")
    cls = str(entry.get("class_name"))
    config = entry["config"]
    registered = entry.get("registered_name")
    for key in (registered, cls):
        if isinstance(key, str) and key in custom:
            # A subclass of a textrnn layer Keras also has takes that layer's Keras arguments.
            bases = [c.__name__ for c in getattr(custom[key], "__mro__", ()) if c.__name__ in SUPPORTED]
            if bases:
                return {"class_name": cls, "config": _textrnn_layer_config(bases[0], config, custom)}
            own = dict(config)
            _check_float32(config.get("name"), cls, own.pop("dtype", None))
            return {"class_name": cls, "config": own}
    cls = _ALIASES.get(cls, cls)
    module = entry.get("module")
    if cls in _MODELS:
        return {"class_name": cls, "config": _textrnn_model_config(cls, config, custom)}
    if cls not in SUPPORTED or (module is not None and module not in _KERAS_MODULES):
        where = f" from module `{module}`" if module else ""
        raise ModelFileError(
            f"The Keras file uses layer class `{cls}`{where} (layer `{config.get('name')}`), which textrnn "
            f"cannot load. textrnn reads these Keras layers: {', '.join(SUPPORTED)}. For your own layer, "
            f"pass a textrnn Layer subclass as `load_model(..., custom_objects={{'{cls}': MyLayer}})`."
        )
    return {"class_name": cls, "config": _textrnn_layer_config(cls, config, custom)}


def _textrnn_model_config(cls: str, config: dict[str, Any], custom: Mapping[str, Any]) -> dict[str, Any]:
    layers = config.get("layers")
    if not isinstance(layers, list):
        raise ModelFileError(f"The Keras {cls} config has no `layers` list.")
    out = {k: v for k, v in config.items() if k not in ("layers", "dtype")}
    _check_float32(config.get("name"), cls, config.get("dtype"))
    if cls == "Sequential":
        entries = [_textrnn_entry(e, custom) for e in layers]
        if (
            entries
            and entries[0]["class_name"] != "InputLayer"
            and "batch_input_shape" in layers[0]["config"]
        ):
            shape = layers[0]["config"]["batch_input_shape"]  # Keras 2: the shape on the first layer
            dtype = "float32" if entries[0]["class_name"] != "Embedding" else "int32"
            entries.insert(0, {"class_name": "InputLayer", "config": {"batch_shape": shape, "dtype": dtype}})
        out["layers"] = entries
        return out
    converted = []
    for entry in layers:
        new = _textrnn_entry(entry, custom)
        new["name"] = entry.get("name", entry["config"].get("name"))
        new["inbound_nodes"] = _old_inbound_nodes(entry.get("inbound_nodes") or [])
        converted.append(new)
    out["layers"] = converted
    return out


def textrnn_config(
    keras_entry: Any, custom_objects: Mapping[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    """`(class name, textrnn model config)` from a Keras model's serialized config.

    Raises:
        ModelFileError: for a model class other than Sequential / Functional, a layer textrnn does
            not have, or an argument it cannot honour.
    """
    if not isinstance(keras_entry, dict) or not isinstance(keras_entry.get("config"), dict):
        raise ModelFileError("The Keras model config is not a `{'class_name': ..., 'config': ...}` object.")
    cls = _ALIASES.get(str(keras_entry.get("class_name")), str(keras_entry.get("class_name")))
    if cls not in _MODELS:
        raise ModelFileError(
            f"The Keras file holds a `{cls}` model; textrnn loads Sequential and functional models only "
            "(a subclassed Keras model has no config textrnn can rebuild)."
        )
    return cls, _textrnn_model_config(cls, keras_entry["config"], dict(custom_objects or {}))


def _build(cls: str, config: dict[str, Any], where: str) -> Sequential:
    try:
        return cast("Sequential", layer_class(cls).from_config(config))
    except (ValueError, TypeError, KeyError, IndexError, RecursionError) as err:
        if isinstance(err, ModelFileError):
            raise
        raise ModelFileError(f"The model config in {where} cannot be rebuilt in textrnn: {err}") from None
    except RuntimeError as err:
        raise ModelFileError(f"The model config in {where} declares impossible sizes: {err}") from None


# Keras loss arguments textrnn's losses do not take, at the value textrnn computes.
_LOSS_DEFAULTS = {
    "reduction": "sum_over_batch_size",
    "label_smoothing": 0.0,
    "axis": -1,
    "ignore_class": None,
}


def _compile_from_keras(model: Sequential, compile_config: Any, where: str) -> None:
    """Compile with a Keras compile config when textrnn has its optimizer, loss and metrics."""
    if not isinstance(compile_config, dict) or not compile_config:
        return
    from textrnn.training import optimizers

    try:
        opt = compile_config.get("optimizer") or compile_config.get("optimizer_config")
        if isinstance(opt, dict):
            name = opt.get("class_name")
            cls = optimizers.get({"class_name": name, "config": {}}).__class__
            params = inspect.signature(cls.__init__).parameters
            given = opt.get("config") or {}
            dropped = [k for k, v in given.items() if k not in params and v is not None]
            if dropped:
                raise ValueError(f"optimizer arguments textrnn does not take: {', '.join(dropped)}")
            opt = {"class_name": name, "config": {k: v for k, v in given.items() if k in params}}
        loss = compile_config.get("loss")
        if isinstance(loss, dict):
            given = dict(loss.get("config") or {})
            given.pop("name", None)
            for key, default in _LOSS_DEFAULTS.items():
                if key in given and given.pop(key) != default:
                    raise ValueError(f"the loss's `{key}` is not {default!r}")
            loss = {"class_name": loss.get("class_name"), "config": given}
        metrics = compile_config.get("metrics") or []
        if metrics and isinstance(metrics[0], list):  # Keras 2: one list per output
            metrics = metrics[0]
        if not all(isinstance(m, str) for m in metrics):
            raise ValueError("a metric is not given by name")
        model.compile(optimizer=opt, loss=loss, metrics=list(metrics) or None)
    except (ValueError, TypeError, KeyError) as err:
        warnings.warn(
            f"The compile config in {where} cannot be used by textrnn ({err}); the model is loaded "
            "uncompiled. Call `model.compile(...)` before training it.",
            stacklevel=4,
        )


# ============================================================================ weight layout
class _Group:
    """One `vars` group of Keras's weights file: its path, `name` attribute and the layer whose
    weights (a slice of `get_weights()` order) it holds."""

    def __init__(self, path: str, name: str, layer: Layer | None, start: int = 0, count: int = 0) -> None:
        self.path, self.name, self.layer, self.start, self.count = path, name, layer, start, count


def _shapes(layer: Layer) -> list[tuple[int, ...]]:
    return [tuple(v.shape) for v in layer.state_dict().values()]


def _layer_groups(layer: Layer, path: str, holder: Layer | None = None, start: int = 0) -> list[_Group]:
    cls = type(layer).__name__
    holder = holder or layer
    if _is_model(layer):
        return _model_groups(cast("Sequential", layer), path)
    if cls in _RNN:
        n = len(_shapes(layer))
        return [
            _Group(f"{path}/vars", layer.name, None),
            _Group(f"{path}/cell/vars", f"{keras_snake(cls)}_cell", holder, start, n),
        ]
    if cls == "Bidirectional":
        forward, backward = _directions(layer)
        n = len(_shapes(forward))
        return [
            _Group(f"{path}/vars", layer.name, None),
            *_layer_groups(forward, f"{path}/forward_layer", layer, 0),
            *_layer_groups(backward, f"{path}/backward_layer", layer, n),
        ]
    return [_Group(f"{path}/vars", layer.name, layer, 0, len(_shapes(layer)))]


def _model_groups(model: Sequential, path: str = "") -> list[_Group]:
    groups = [_Group(f"{path}/vars" if path else "vars", model.name, None)]
    used: dict[str, int] = {}
    for layer in model.layers:
        base = keras_snake(type(layer).__name__)
        if base in used:
            used[base] += 1
            base = f"{base}_{used[base]}"
        else:
            used[base] = 0
        groups += _layer_groups(layer, f"{path}/layers/{base}" if path else f"layers/{base}")
    return groups


def _leaf_arrays(model: Sequential) -> dict[int, list[np.ndarray]]:
    out: dict[int, list[np.ndarray]] = {}
    for group in _model_groups(model):
        if group.layer is not None and id(group.layer) not in out:
            arrays = group.layer.get_weights()
            if [a.shape for a in arrays] != _shapes(group.layer):  # noqa: SIM102 - a guard
                raise _unwritable(group.layer, "its weights are not in state_dict order")
            out[id(group.layer)] = arrays
    return out


def _write_weights_h5(model: Sequential, f: h5py.File) -> None:
    arrays = _leaf_arrays(model)
    for group in _model_groups(model):
        g = f.require_group(group.path)
        g.attrs["name"] = group.name
        if group.layer is not None:
            for i in range(group.count):
                g.create_dataset(str(i), data=arrays[id(group.layer)][group.start + i])


def _datasets(f: h5py.File, under: str) -> dict[str, tuple[int, ...]]:
    h5py = _h5py()
    found: dict[str, tuple[int, ...]] = {}
    if under not in f:
        return found

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            found[f"{under}/{name}"] = tuple(obj.shape)

    f[under].visititems(visit)
    return found


def _check_weights_h5(declared: Sequential, f: h5py.File, source: str) -> None:
    """Every weight the (meta-device) model declares is in `f` with its shape; nothing else is."""
    expected: dict[str, tuple[int, ...]] = {}
    for group in _model_groups(declared):
        if group.layer is not None:
            shapes = _shapes(group.layer)
            for i in range(group.count):
                expected[f"{group.path}/{i}"] = shapes[group.start + i]
    found = _datasets(f, "layers")
    if "vars" in f:
        found.update(_datasets(f, "vars"))
    ModelFileError.check_keys(expected, found, source)
    for key, shape in expected.items():
        if found[key] != shape:
            raise ModelFileError(
                f"Weight `{key}` in {source} has shape {found[key]}, but the model expects {shape}."
            )


def _read_weights_h5(model: Sequential, f: h5py.File, source: str) -> None:
    values: dict[int, list[Any]] = {}
    layers: dict[int, Layer] = {}
    for group in _model_groups(model):
        if group.layer is None:
            continue
        slots = values.setdefault(id(group.layer), [None] * len(_shapes(group.layer)))
        layers[id(group.layer)] = group.layer
        for i in range(group.count):
            slots[group.start + i] = _array(f[f"{group.path}/{i}"], f"{group.path}/{i}", source)
    for key, layer in layers.items():
        layer.set_weights(values[key])


def _array(dataset: Any, name: str, source: str) -> np.ndarray:
    if dataset.dtype.kind != "f":
        raise ModelFileError(f"Weight `{name}` in {source} has dtype {dataset.dtype}, not floating point.")
    return np.asarray(dataset[()], dtype=np.float32)


# ============================================================================ .keras
def save_keras(model: Sequential, filepath: str | os.PathLike[str], metadata: dict[str, Any] | None) -> None:
    """Write `model` as a Keras 3 `.keras` archive, atomically."""
    h5py = _h5py()
    config = keras_config(model)
    meta: dict[str, Any] = {
        "keras_version": KERAS_LAYOUT_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "textrnn_version": textrnn.__version__,
    }
    if metadata:
        meta["textrnn_metadata"] = metadata
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        _write_weights_h5(model, f)
    with atomic_path(filepath, suffix=".keras") as tmp, zipfile.ZipFile(tmp, "w") as zf:
        zf.writestr(METADATA_FILE, json.dumps(meta))
        zf.writestr(CONFIG_FILE, json.dumps(config))
        zf.writestr(WEIGHTS_FILE, buffer.getvalue())


def _load_json(raw: bytes | str, where: str) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ModelFileError(
            f"{where} is not valid JSON ({type(err).__name__}): the file is damaged."
        ) from None


def _declared(cls: str, config: dict[str, Any], where: str, custom_objects: Any) -> Sequential:
    """The model the config describes, built on the meta device (shapes, no memory)."""
    with custom_object_scope(custom_objects), shapes_only():
        return _build(cls, config, where)


def load_keras(
    filepath: str | os.PathLike[str], custom_objects: Any = None, compile: bool = True
) -> tuple[Sequential, dict[str, Any]]:
    """A model from a Keras 3 `.keras` archive, and the textrnn metadata saved with it ({} if none)."""
    h5py = _h5py()
    path = Path(filepath)
    if not path.is_file():
        raise ModelFileError(f"No saved model at {path}: the file does not exist.")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise ModelFileError(f"{path} is not a Keras `.keras` archive (not a zip file: {err}).") from None
    with zf:
        names = zf.namelist()
        for member in (CONFIG_FILE, WEIGHTS_FILE):
            if member not in names:
                raise ModelFileError(f"{path} is not a Keras model archive: it has no `{member}`.")
        for member in (CONFIG_FILE, METADATA_FILE):
            if member in names and zf.getinfo(member).file_size > MAX_CONFIG_BYTES:
                raise ModelFileError(f"{path}'s {member} is larger than {MAX_CONFIG_BYTES} bytes.")
        entry = _load_json(zf.read(CONFIG_FILE), f"{path}/{CONFIG_FILE}")
        meta = _load_json(zf.read(METADATA_FILE), f"{path}/{METADATA_FILE}") if METADATA_FILE in names else {}
        cls, config = textrnn_config(entry, custom_objects)
        declared = _declared(cls, config, str(path), custom_objects)
        leaves = {id(g.layer): g.layer for g in _model_groups(declared) if g.layer is not None}
        budget = sum(int(np.prod(s)) * 8 for layer in leaves.values() for s in _shapes(layer))
        if zf.getinfo(WEIGHTS_FILE).file_size > 2 * budget + (16 << 20):
            raise ModelFileError(
                f"{path}'s {WEIGHTS_FILE} is far larger than the weights its config declares: it does not "
                "belong to this config."
            )
        try:
            weights = io.BytesIO(zf.read(WEIGHTS_FILE))
        except (zipfile.BadZipFile, OSError) as err:
            raise ModelFileError(f"{path} is damaged: {WEIGHTS_FILE} cannot be read ({err}).") from None
    source = f"{path}/{WEIGHTS_FILE}"
    with _open_h5(h5py, weights, source) as f:
        _check_weights_h5(declared, f, source)
        with custom_object_scope(custom_objects):
            model = _build(cls, config, str(path))
        _read_weights_h5(model, f, source)
    if compile:
        _compile_from_keras(model, entry.get("compile_config"), str(path))
    textrnn_meta = meta.get("textrnn_metadata") if isinstance(meta, dict) else None
    return model, textrnn_meta if isinstance(textrnn_meta, dict) else {}


def _open_h5(h5py: Any, source: Any, where: str) -> h5py.File:
    try:
        return h5py.File(source, "r")
    except OSError as err:
        raise ModelFileError(f"{where} is not an HDF5 file or is damaged ({err}).") from None


# ============================================================================ .weights.h5
def save_weights_h5(model: Sequential, filepath: str | os.PathLike[str]) -> None:
    """Write `model`'s weights as Keras 3's `save_weights("x.weights.h5")` does, atomically; another
    `.h5` name gets Keras 2's weights layout (`layer_names` at the root), which Keras 3's
    `load_weights("x.h5")` reads."""
    h5py = _h5py()
    model.ensure_built("save_weights")
    with atomic_path(filepath, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        if file_kind(filepath) == "weights_h5":
            _write_weights_h5(model, f)
        else:
            _write_legacy_weights(model, f)


def load_weights_h5(model: Sequential, filepath: str | os.PathLike[str]) -> None:
    """Load a Keras 3 `.weights.h5` file (or the weights of a `.keras` archive) into `model`, strictly."""
    h5py = _h5py()
    model.ensure_built("load_weights")
    path = Path(filepath)
    if not path.is_file():
        raise ModelFileError(f"The weights file {path} does not exist.")
    if file_kind(path) == "keras":
        with zipfile.ZipFile(path) as zf:
            source: Any = io.BytesIO(zf.read(WEIGHTS_FILE))
        where = f"{path}/{WEIGHTS_FILE}"
    else:
        source, where = path, str(path)
    with _open_h5(h5py, source, where) as f:
        if "model_weights" in f or "layer_names" in f.attrs:
            _read_legacy_weights(model, f["model_weights"] if "model_weights" in f else f, where)
            return
        _check_weights_h5(model, f, where)
        _read_weights_h5(model, f, where)


# ============================================================================ legacy .h5
def _legacy_names(layer: Layer, prefix: str) -> list[str]:
    cls = type(layer).__name__
    keys = [k.split(".")[-1] for k in layer.state_dict()]
    if _is_model(layer):
        return [
            n
            for sub in cast("Sequential", layer).layers
            for n in _legacy_names(sub, f"{prefix}{layer.name}/")
        ]
    if cls in _RNN:
        return [f"{prefix}{layer.name}/{keras_snake(cls)}_cell/{k}" for k in keys]
    if cls == "Bidirectional":
        inner = _directions(layer)
        return [n for sub in inner for n in _legacy_names(sub, f"{prefix}{layer.name}/")]
    return [f"{prefix}{layer.name}/{k}" for k in keys]


def _set_names(group: Any, key: str, names: list[str]) -> None:
    encoded = [n.encode("utf8") for n in names]
    if sum(len(n) for n in encoded) + 8 * len(encoded) <= HDF5_ATTR_LIMIT:
        group.attrs[key] = encoded if encoded else np.array([], dtype=np.float64)
        return
    chunks = int(np.ceil((sum(len(n) for n in encoded) + 8 * len(encoded)) / HDF5_ATTR_LIMIT)) + 1
    for i, part in enumerate(np.array_split(np.asarray(encoded, dtype=object), chunks)):
        group.attrs[f"{key}{i}"] = [bytes(p) for p in part]


def _get_names(group: Any, key: str) -> list[str]:
    def text(values: Any) -> list[str]:
        return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in np.asarray(values).ravel()]

    if key in group.attrs:
        return text(group.attrs[key])
    out: list[str] = []
    i = 0
    while f"{key}{i}" in group.attrs:
        out += text(group.attrs[f"{key}{i}"])
        i += 1
    return out


def _legacy_config(entry: Any) -> Any:
    """Keras 3's legacy h5 form: the model's layers without `module`, `registered_name` and
    `build_config` (nested objects keep theirs)."""
    config = dict(entry["config"])
    layers = []
    for layer in config["layers"]:
        if layer.get("class_name") in _MODELS:
            layers.append(
                {**_legacy_config(layer), **{k: layer[k] for k in ("name", "inbound_nodes") if k in layer}}
            )
            continue
        layers.append(
            {k: v for k, v in layer.items() if k not in ("module", "registered_name", "build_config")}
        )
    config["layers"] = layers
    return {"class_name": entry["class_name"], "config": config}


def save_legacy_h5(
    model: Sequential, filepath: str | os.PathLike[str], metadata: dict[str, Any] | None
) -> None:
    """Write `model` as the legacy HDF5 file Keras 3's `model.save("x.h5")` writes, atomically."""
    h5py = _h5py()
    entry = keras_config(model)
    with atomic_path(filepath, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        f.attrs["backend"] = "torch"
        f.attrs["keras_version"] = KERAS_LAYOUT_VERSION
        f.attrs["model_config"] = json.dumps(_legacy_config(entry)).encode("utf8")
        compile_config = entry.get("compile_config")
        if compile_config:
            training = {k: v for k, v in compile_config.items() if k != "optimizer"}
            # Keras 3's legacy loader cannot read its own short names back (`"mse"` fails there).
            training["loss"] = _LONG_LOSS_NAMES.get(str(training["loss"]), training["loss"])
            opt = compile_config["optimizer"]
            training["optimizer_config"] = {"class_name": opt["class_name"], "config": opt["config"]}
            f.attrs["training_config"] = json.dumps(training).encode("utf8")
        if metadata:
            f.attrs["textrnn_metadata"] = json.dumps(metadata).encode("utf8")
        _write_legacy_weights(model, f.create_group("model_weights"))


_LONG_LOSS_NAMES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
}


def _write_legacy_weights(model: Sequential, group: Any) -> None:
    _set_names(group, "layer_names", [layer.name for layer in model.layers])
    group.attrs["backend"] = b"torch"
    group.attrs["keras_version"] = KERAS_LAYOUT_VERSION.encode("utf8")
    prefix = f"{model.name}/" if type(model).__name__ == "Sequential" else ""
    for layer in sorted(model.layers, key=lambda x: x.name):
        g = group.create_group(layer.name)
        names = _legacy_names(layer, prefix)
        _set_names(g, "weight_names", names)
        for name, value in zip(names, layer.get_weights(), strict=True):
            g.create_dataset(name, data=value)
    _set_names(group.create_group("top_level_model_weights"), "weight_names", [])


def _read_legacy_weights(model: Sequential, group: Any, source: str) -> None:
    """Keras's order-based legacy load: the file's layers with weights, in `layer_names` order,
    go into the model's layers with weights, in order."""
    layers = [layer for layer in model.layers if _shapes(layer)]
    saved = []
    for name in _get_names(group, "layer_names"):
        if name not in group:
            raise ModelFileError(f"{source} lists layer `{name}` in `layer_names` but has no group for it.")
        names = _get_names(group[name], "weight_names")
        if names:
            saved.append((name, names))
    if len(saved) != len(layers):
        raise ModelFileError(
            f"{source} holds weights for {len(saved)} layers, but the model has {len(layers)} layers with "
            "weights: they belong to another architecture."
        )
    assignments = []
    for layer, (name, names) in zip(layers, saved, strict=True):
        shapes = _shapes(layer)
        if len(names) != len(shapes):
            raise ModelFileError(
                f"Layer `{name}` in {source} has {len(names)} weights, but layer `{layer.name}` of the model "
                f"expects {len(shapes)}."
            )
        values = []
        for weight, shape in zip(names, shapes, strict=True):
            if weight not in group[name]:
                raise ModelFileError(
                    f"{source} lists weight `{weight}` of layer `{name}` but does not hold it."
                )
            dataset = group[name][weight]
            if tuple(dataset.shape) != shape:
                raise ModelFileError(
                    f"Weight `{name}/{weight}` in {source} has shape {tuple(dataset.shape)}, but layer "
                    f"`{layer.name}` expects {shape}."
                )
            values.append(dataset)
        assignments.append((layer, values, names))
    for layer, datasets, names in assignments:
        layer.set_weights([_array(d, n, source) for d, n in zip(datasets, names, strict=True)])


def _attr_text(value: Any) -> Any:
    return value.decode("utf8") if isinstance(value, bytes) else value


def load_legacy_h5(
    filepath: str | os.PathLike[str], custom_objects: Any = None, compile: bool = True
) -> tuple[Sequential, dict[str, Any]]:
    """A model from a legacy Keras `.h5` file (Keras 2, or Keras 3's `save("x.h5")`)."""
    h5py = _h5py()
    path = Path(filepath)
    if not path.is_file():
        raise ModelFileError(f"No saved model at {path}: the file does not exist.")
    with _open_h5(h5py, path, str(path)) as f:
        raw = f.attrs.get("model_config")
        if raw is None:
            raise ModelFileError(
                f"{path} holds no `model_config`: it is a weights-only file. Build the model and call "
                "`model.load_weights(...)` instead."
            )
        entry = _load_json(_attr_text(raw), f"{path}'s model_config")
        cls, config = textrnn_config(entry, custom_objects)
        declared = _declared(cls, config, str(path), custom_objects)
        if "model_weights" not in f:
            raise ModelFileError(f"{path} has a model config but no `model_weights` group.")
        with custom_object_scope(custom_objects):
            _check_legacy_shapes(declared, f["model_weights"], str(path))
            model = _build(cls, config, str(path))
        _read_legacy_weights(model, f["model_weights"], str(path))
        training = f.attrs.get("training_config")
        meta_raw = f.attrs.get("textrnn_metadata")
        if compile and training is not None:
            _compile_from_keras(
                model, _load_json(_attr_text(training), f"{path}'s training_config"), str(path)
            )
        meta = _load_json(_attr_text(meta_raw), f"{path}'s textrnn_metadata") if meta_raw is not None else {}
    return model, meta if isinstance(meta, dict) else {}


def _check_legacy_shapes(declared: Sequential, group: Any, source: str) -> None:
    layers = [layer for layer in declared.layers if _shapes(layer)]
    saved = [
        n for n in _get_names(group, "layer_names") if n in group and _get_names(group[n], "weight_names")
    ]
    for layer, name in zip(layers, saved, strict=False):
        for weight, shape in zip(_get_names(group[name], "weight_names"), _shapes(layer), strict=False):
            if weight in group[name] and tuple(group[name][weight].shape) != shape:
                raise ModelFileError(
                    f"Weight `{name}/{weight}` in {source} has shape {tuple(group[name][weight].shape)}, "
                    f"but the model config declares {shape}."
                )
