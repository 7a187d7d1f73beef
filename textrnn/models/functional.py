"""The functional model: `keras.Model(inputs, outputs)` over layers called on symbolic tensors.

`keras.Input(...)` makes a symbolic tensor; calling layers on it records the graph
(`textrnn.layers.keras_tensor`); `Model(inputs, outputs)` walks that graph back from its outputs,
orders its layers as Keras does (by depth from the outputs, then by the order the walk met them:
this is the order of `layers`, `get_weights()` and the summary) and runs it on data, passing
masks along every edge as `Sequential` does. A layer called twice (a shared layer) appears once,
with its weights once. Training comes from `textrnn.training.trainer.Trainer`, unchanged; a model
with several inputs or outputs trains by Keras 3's rules for them (`textrnn.training.multi_io`).

Example:
    >>> inputs = Input(shape=(None,), dtype="int32")
    >>> x = Embedding(20000, 128)(inputs)
    >>> x = Bidirectional(LSTM(64))(x)
    >>> model = Model(inputs, Dense(1, activation="sigmoid")(x))
    >>> model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
"""

from __future__ import annotations

import collections
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

import textrnn.models.saving as saving
from textrnn.backend import default_device, to_tensor
from textrnn.layers.base import Layer, Shape
from textrnn.layers.dense import Dense
from textrnn.layers.embedding import Embedding
from textrnn.layers.input_layer import InputLayer
from textrnn.layers.keras_tensor import DTYPES, KerasTensor, Node, is_symbolic, symbolic_call
from textrnn.models import summary as summary_mod
from textrnn.models.registry import layer_from_config, register_model
from textrnn.training.multi_io import by_name
from textrnn.training.trainer import Trainer


def _tensors(name: str, value: Any) -> list[KerasTensor]:
    flat = list(value) if isinstance(value, (list, tuple)) else [value]
    if not flat:
        raise ValueError(f"Received an invalid value for argument `{name}`: an empty list.")
    for t in flat:
        if not isinstance(t, KerasTensor):
            raise ValueError(
                f"All `{name}` values must be KerasTensors. Received: {name}={value!r:.300} "
                f"including invalid tensor {t!r:.100} of type {type(t).__name__}. Make them with "
                "`keras.Input(...)` and by calling layers on it."
            )
    return flat


def _map_graph(
    inputs: list[KerasTensor], outputs: list[KerasTensor]
) -> tuple[list[Node], list[Layer], dict[int, list[Node]]]:
    """`(nodes to run in order, layers in Keras's order, nodes by depth)` of the graph."""
    finished: set[int] = set()
    in_progress: set[int] = set()
    ordered: list[Node] = []  # inputs → outputs
    first_seen: dict[int, int] = {}  # id(layer) → when the walk first met it

    def visit(tensor: KerasTensor) -> None:
        layer, node_index, _ = tensor.keras_history
        node = layer.inbound_nodes[node_index]
        if id(node) in finished:
            return
        if id(node) in in_progress:
            raise ValueError(f"Tensor {tensor!r} from layer '{layer.name}' is part of a cycle.")
        first_seen.setdefault(id(layer), len(first_seen))
        in_progress.add(id(node))
        for parent in node.input_tensors:
            visit(parent)
        in_progress.discard(id(node))
        finished.add(id(node))
        ordered.append(node)

    for t in outputs:
        visit(t)
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    layer_of: dict[int, Layer] = {}
    for node in reversed(ordered):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        layer_of[id(node.layer)] = node.layer
        node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in inputs:  # an input no output depends on still belongs to the model
        layer = t.keras_history.layer
        if id(layer) not in layer_depth:
            layer_depth[id(layer)], first_seen[id(layer)], layer_of[id(layer)] = 0, -1, layer
            node = layer.inbound_nodes[0]
            node_depth[id(node)] = 0
            ordered.insert(0, node)
    by_depth: dict[int, list[Node]] = collections.defaultdict(list)
    for node in ordered:
        by_depth[node_depth[id(node)]].append(node)
    layers = sorted(layer_of.values(), key=lambda la: (-layer_depth[id(la)], first_seen[id(la)]))
    # Every tensor a node needs must come from the inputs.
    computable = {id(t) for t in inputs}
    done: list[str] = []
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            if node.is_input and not any(id(o) in computable for o in node.outputs):
                raise ValueError(
                    f"Graph disconnected: cannot find parent for tensor {node.outputs[0]!r} at "
                    f"layer '{node.layer.name}': it is not one of the model's `inputs`. The "
                    f"following previous layers were accessed without issue: {done}"
                )
            for t in node.input_tensors:
                if id(t) not in computable:
                    raise ValueError(
                        f"Graph disconnected: cannot find parent for tensor {t!r} at layer "
                        f"'{node.layer.name}'. The following previous layers were accessed "
                        f"without issue: {done}"
                    )
            done.append(node.layer.name)
            computable.update(id(o) for o in node.outputs)
    names = [la.name for la in layers]
    for name in names:
        if names.count(name) != 1:
            raise ValueError(
                f'The name "{name}" is used {names.count(name)} times in the model. All layer '
                "names should be unique."
            )
    run_order = [n for d in sorted(by_depth, reverse=True) for n in by_depth[d]]
    return run_order, layers, dict(by_depth)


@register_model
class Functional(Trainer, Layer):
    """A model defined by its input and output tensors: Keras's functional `keras.Model`.

    Args:
        inputs: the model's input tensor(s), from `keras.Input`: one, a list, or a dict keyed by
            input name (data may then come as a dict with those keys, or a list in their order).
        outputs: the output tensor(s), from layers called on the inputs: one, a list, or a dict
            (calls and `predict` then return a dict with its keys, which also name the outputs
            in `compile`, `y` and the logs).
        name: model name; `"functional"`, `"functional_1"`, ... by default.
        trainable: whether the model's weights are updated by training.

    Raises:
        ValueError: if an input or output is not a KerasTensor, an input does not come from
            `keras.Input`, an output cannot be computed from the inputs ("Graph disconnected"),
            or two layers share a name.
        TypeError: if called without `inputs` and `outputs` (subclassed models, with their own
            `call`, are not supported).

    Example:
        >>> tokens, feats = Input(shape=(6,), dtype="int32"), Input(shape=(3,))
        >>> t = GlobalAveragePooling1D()(Embedding(15, 4)(tokens))
        >>> outputs = Dense(1, activation="sigmoid")(Concatenate()([t, Dense(2)(feats)]))
        >>> model = Model([tokens, feats], outputs)
        >>> model([np.zeros((2, 6), "int32"), np.zeros((2, 3))]).shape
        torch.Size([2, 1])
    """

    def __init__(
        self,
        inputs: Any = None,
        outputs: Any = None,
        *,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        if inputs is None or outputs is None:
            raise TypeError(
                "textrnn's `Model` is the functional model: pass `Model(inputs, outputs)` with "
                "tensors from `keras.Input` and layers called on them. Subclassed models (a "
                "`keras.Model` subclass with its own `call`) are not supported; use `Sequential` "
                "or the functional API."
            )
        super().__init__(name=name, trainable=trainable)
        self._nested_inputs = isinstance(inputs, (list, tuple, dict))
        # A dict of inputs: its keys name the inputs (Keras wants them equal to the tensors' names).
        self._input_keys = [str(k) for k in inputs] if isinstance(inputs, dict) else None
        self._nested_outputs = isinstance(outputs, (list, tuple, dict))
        # A dict of outputs: its keys name the outputs (logs, `y`), and calls return a dict.
        self._output_keys = [str(k) for k in outputs] if isinstance(outputs, dict) else None
        self.inputs = _tensors("inputs", list(inputs.values()) if isinstance(inputs, dict) else inputs)
        self.outputs = _tensors("outputs", list(outputs.values()) if isinstance(outputs, dict) else outputs)
        for t in self.inputs:
            if not isinstance(t.keras_history.layer, InputLayer):
                raise ValueError(
                    f"Model inputs must come from `keras.Input`; {t!r} was made by layer "
                    f"`{t.keras_history.layer.name}`. Make a new `keras.Input` for it."
                )
        nodes, layers, by_depth = _map_graph(self.inputs, self.outputs)
        self._nodes = nodes
        self._nodes_by_depth = by_depth
        self._layer_list = nn.ModuleList(layers)
        self._device_target: torch.device | None = None
        out_node = self.outputs[0].keras_history.layer.inbound_nodes[self.outputs[0].keras_history.node_index]
        self._logits_node = out_node if len(self.outputs) == 1 and isinstance(out_node.layer, Dense) else None
        self.built = True
        self._build_input_shape = self.input_shape

    # ================================================================== structure
    @property
    def layers(self) -> list[Layer]:
        """The layers, `InputLayer`s included, in Keras's order (each shared layer once)."""
        return list(self._layer_list)  # type: ignore[arg-type]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by `name` or by `index` in `layers`.

        Raises:
            ValueError: if neither or both are given, or there is no such layer.
        """
        if (name is None) == (index is None):
            raise ValueError("Provide either a layer name or layer index at `get_layer`.")
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model only has "
                    f"{len(self.layers)} layers."
                )
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[la.name for la in self.layers]}.")

    @property
    def input_names(self) -> list[str]:
        """The names of the inputs: the keys of a dict of inputs, else their `InputLayer`s'."""
        if self._input_keys is not None:
            return list(self._input_keys)
        return [t.keras_history.layer.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        """The names of the outputs: the keys of a dict of outputs, else the layers making them."""
        if self._output_keys is not None:
            return list(self._output_keys)
        return [t.keras_history.layer.name for t in self.outputs]

    @property
    def output_dict_keys(self) -> list[str] | None:
        """The keys of the outputs when the model was made with a dict of them, else None."""
        return None if self._output_keys is None else list(self._output_keys)

    @property
    def multi_input_names(self) -> list[str] | None:
        """The input names when the model has several inputs, else None (see `Trainer`)."""
        return self.input_names if len(self.inputs) > 1 else None

    @property
    def multi_output_names(self) -> list[str] | None:
        """The output names when the model has several outputs, else None (see `Trainer`)."""
        return self.output_names if len(self.outputs) > 1 else None

    @property
    def input_shape(self) -> Any:
        """The input shape (batch first), or a list of them for several inputs."""
        shapes = [t.shape for t in self.inputs]
        return shapes if self._nested_inputs else shapes[0]

    @property
    def output_shape(self) -> Any:
        """The output shape (batch first), or a list of them for several outputs."""
        shapes = [t.shape for t in self.outputs]
        return shapes if self._nested_outputs else shapes[0]

    @property
    def layer_output_shapes(self) -> list[Any]:
        """Each layer's output shape (of its last call in the model), in `layers` order."""
        last: dict[int, Node] = {}
        for node in self._nodes:
            last[id(node.layer)] = node
        shapes: list[Any] = []
        for layer in self.layers:
            outs = last[id(layer)].outputs
            shapes.append(outs[0].shape if len(outs) == 1 else [t.shape for t in outs])
        return shapes

    def connections(self) -> list[str]:
        """Keras's "Connected to" column: `layer[node][tensor]` of every input of each layer."""
        own = {id(n) for n in self._nodes}
        column = []
        for layer in self.layers:
            parts = [
                "{}[{}][{}]".format(t.keras_history.layer.name, *t.keras_history[1:])
                for node in layer.inbound_nodes
                if id(node) in own
                for t in node.input_tensors
            ]
            column.append(", ".join(parts) or "-")
        return column

    def is_sequential_like(self) -> bool:
        """One call per depth, each on one tensor, and no shared layer: Keras then prints the
        summary without the "Connected to" column."""
        for nodes in self._nodes_by_depth.values():
            if len(nodes) > 1 or (len(nodes) == 1 and len(nodes[0].input_tensors) > 1):
                return False
        own = {id(n) for n in self._nodes}
        return all(sum(id(n) in own for n in la.inbound_nodes) <= 1 for la in self.layers)

    def build(self, input_shape: Any = None) -> None:
        """A functional model is built when it is made; kept for Keras's API."""

    def maybe_build(self, input_shape: Any) -> None:
        return None

    def ensure_built(self, what: str) -> None:
        return None

    def build_for(self, x: Any) -> None:
        return None

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.output_shape

    # ================================================================== calling
    def _run(self, inputs: Sequence[torch.Tensor], training: bool, logits: bool = False) -> Any:
        if len(inputs) != len(self.inputs):
            raise ValueError(
                f"Model `{self.name}` expects {len(self.inputs)} input(s), but it received "
                f"{len(inputs)} input tensors."
            )
        values: dict[int, tuple[Any, Any]] = {
            id(t): (x, None) for t, x in zip(self.inputs, inputs, strict=True)
        }
        for node in self._nodes:
            if node.is_input:
                continue
            if isinstance(node.inputs, list):
                x: Any = [values[id(t)][0] for t in node.inputs]
                masks = [values[id(t)][1] for t in node.inputs]
                mask: Any = None if all(m is None for m in masks) else masks
            else:
                x, mask = values[id(node.inputs)]
            if logits and node is self._logits_node:
                return node.layer.logits(x)  # type: ignore[operator]
            kwargs = dict(node.kwargs)
            node_training = bool(kwargs.pop("training", training))
            out = node.layer(x, mask=mask, training=node_training, **kwargs)
            out_mask = node.layer.compute_mask(x, mask)
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
            out_masks = list(out_mask) if isinstance(out_mask, (list, tuple)) else [out_mask]
            out_masks += [None] * (len(outs) - len(out_masks))
            for t, v, m in zip(node.outputs, outs, out_masks, strict=False):
                values[id(t)] = (v, m)
        return [values[id(t)][0] for t in self.outputs]

    def _structured(self, results: list[Any]) -> Any:
        """The outputs as the model was made with them: one, a list, or a dict."""
        if self._output_keys is not None:
            return dict(zip(self._output_keys, results, strict=True))
        return results if self._nested_outputs else results[0]

    def _as_inputs(self, inputs: Any) -> list[torch.Tensor]:
        if isinstance(inputs, dict):
            inputs = by_name(inputs, self.input_names, "inputs", "input")
        flat = list(inputs) if isinstance(inputs, (list, tuple)) and self._nested_inputs else [inputs]
        device = self._device()
        tensors = []
        for t, x in zip(self.inputs, flat, strict=False):
            value = (x if isinstance(x, torch.Tensor) else to_tensor(x)).to(DTYPES[t.dtype])
            tensors.append(value.to(device) if device is not None else value)
        return tensors + flat[len(self.inputs) :]

    def forward(self, inputs: Any, mask: Any = None, training: bool | None = None, **kwargs: Any) -> Any:
        """Run the model on data (one array, or a list for several inputs); called on symbolic
        tensors, it becomes one layer of another model."""
        if is_symbolic(inputs):
            extra = {} if training is None else {"training": training}
            return symbolic_call(self, inputs, mask, {**kwargs, **extra})
        return self._structured(self._run(self._as_inputs(inputs), bool(training)))

    def call(self, inputs: Any, mask: Any = None, training: bool = False, **kwargs: Any) -> Any:
        return self._structured(self._run(self._as_inputs(inputs), training))

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None

    # ================================================================== container interface
    def compute_output(self, x: torch.Tensor, *, training: bool, logits: bool = False) -> torch.Tensor:
        """The model's output on a batch (see `Trainer`): one tensor, or a list for several
        outputs; with `logits`, the final `Dense`'s pre-activation output."""
        inputs = list(x) if isinstance(x, (list, tuple)) else [x]
        out = self._run(inputs, training, logits)
        return out if isinstance(out, torch.Tensor) or len(out) > 1 else out[0]  # type: ignore[no-any-return]

    @property
    def logits_activation(self) -> str | None:
        """The activation of the final `Dense` (one output made by a `Dense`), else None."""
        if self._logits_node is None:
            return None
        return str(self._logits_node.layer.get_config()["activation"])

    @property
    def first_layer(self) -> Layer:
        """The layer the (first) input goes into: its first consumer when that is an
        `Embedding` (token id inputs), else the `InputLayer` (see `first_layers`)."""
        return self.first_layers[0]

    @property
    def first_layers(self) -> list[Layer]:
        """For each input, the layer its data are checked for: its first consumer when that is
        an `Embedding` (token ids), else its `InputLayer`."""
        found = []
        for source in self.inputs:
            layer = source.keras_history.layer
            for node in self._nodes:
                if any(t is source for t in node.input_tensors):
                    if isinstance(node.layer, Embedding):
                        layer = node.layer
                    break
            found.append(layer)
        return found

    # ================================================================== device
    def to(self, *args: Any, **kwargs: Any) -> Functional:  # type: ignore[override]
        device = torch._C._nn._parse_to(*args, **kwargs)[0]
        if device is not None:
            self._device_target = torch.device(device)
        return super().to(*args, **kwargs)  # type: ignore[return-value]

    def cuda(self, device: Any = None) -> Functional:  # type: ignore[override]
        if isinstance(device, int):
            device = f"cuda:{device}"
        self._device_target = torch.device("cuda" if device is None else device)
        return super().cuda(device)  # type: ignore[return-value]

    def cpu(self) -> Functional:  # type: ignore[override]
        self._device_target = torch.device("cpu")
        return super().cpu()  # type: ignore[return-value]

    @property
    def device(self) -> torch.device:
        """Where the model computes: the device it was moved to, else CUDA when available, else
        CPU."""
        return self._device_target if self._device_target is not None else default_device()

    # ================================================================== weights
    @property
    def weights(self) -> list[nn.Parameter]:
        """All layers' weights in Keras's order (`layers` order), each shared weight once."""
        seen: set[int] = set()
        out = []
        for layer in self.layers:
            for w in layer.weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    def get_weights(self) -> list[np.ndarray]:
        """All weights as NumPy arrays in Keras's layout and order (`keras.Model.get_weights`)."""
        return [w.detach().cpu().numpy().copy() for w in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Set all weights from arrays in the order `get_weights` returns them.

        Raises:
            ValueError: if the number of arrays or a shape does not match.
        """
        weights = list(weights)
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(
                f"Model `{self.name}` expects {len(own)} weight arrays (in `get_weights()` order), "
                f"got {len(weights)}."
            )
        for i, (w, value) in enumerate(zip(own, weights, strict=True)):
            arr = np.asarray(value, dtype=np.float32)
            if tuple(arr.shape) != tuple(w.shape):
                raise ValueError(
                    f"Weight {i} of model `{self.name}` has shape {tuple(w.shape)}, got an array "
                    f"of shape {arr.shape}."
                )
            with torch.no_grad():
                w.copy_(torch.from_numpy(arr).to(w.device))

    def count_params(self) -> int:
        """The number of weights (scalars) in the model."""
        return int(sum(w.numel() for w in self.weights))

    # ================================================================== summary
    def summary_text(self, explain: bool = False) -> str:
        """The text `summary()` prints (see `summary`)."""
        return summary_mod.summary_text(self, explain=explain)

    def summary(self, explain: bool = False, print_fn: Any = None) -> None:
        """Print Keras's summary table; for a graph that is not a plain chain, with Keras's
        "Connected to" column (`layer[node][tensor]` of each input).

        Args:
            explain: also show each layer's parameter arithmetic.
            print_fn: called with the whole text instead of `print`.
        """
        (print_fn or print)(self.summary_text(explain=explain))

    # ================================================================== config and saving
    def get_config(self) -> dict[str, Any]:
        """Keras's functional config: `name`, `trainable`, `layers` (each with its
        `inbound_nodes`), `input_layers` and `output_layers` as `[layer, node, tensor]`."""
        own = {id(n) for n in self._nodes}
        # A layer's calls outside this model are not part of it: number its own calls from 0.
        index: dict[int, int] = {}
        for layer in self.layers:
            k = 0
            for node in layer.inbound_nodes:
                if id(node) in own:
                    index[id(node)] = k
                    k += 1

        def ref(t: KerasTensor) -> list[Any]:
            layer, node_index, tensor_index = t.keras_history
            return [layer.name, index[id(layer.inbound_nodes[node_index])], tensor_index]

        def tensor(t: KerasTensor) -> dict[str, Any]:
            config = {"shape": list(t.shape), "dtype": t.dtype, "keras_history": ref(t)}
            return {"class_name": "__keras_tensor__", "config": config}

        entries = []
        for layer in self.layers:
            nodes = []
            for node in layer.inbound_nodes:
                if id(node) not in own or node.is_input:
                    continue
                arg: Any = (
                    [tensor(t) for t in node.inputs] if isinstance(node.inputs, list) else tensor(node.inputs)
                )  # type: ignore[arg-type]
                nodes.append({"args": [arg], "kwargs": dict(node.kwargs)})
            entries.append(
                {
                    "class_name": type(layer).__name__,
                    "config": layer.get_config(),
                    "name": layer.name,
                    "inbound_nodes": nodes,
                }
            )
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": entries,
            "input_layers": (
                dict(zip(self._input_keys, [ref(t) for t in self.inputs], strict=True))
                if self._input_keys is not None
                else [ref(t) for t in self.inputs]
                if self._nested_inputs
                else ref(self.inputs[0])
            ),
            "output_layers": (
                dict(zip(self._output_keys, [ref(t) for t in self.outputs], strict=True))
                if self._output_keys is not None
                else [ref(t) for t in self.outputs]
                if self._nested_outputs
                else ref(self.outputs[0])
            ),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Functional:
        """Rebuild a model (untrained) from `get_config()`.

        Raises:
            ValueError: if the config is not a functional model's or its graph cannot be rebuilt.
        """
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError(
                f"A functional model config must be a dict with a `layers` list, got {config!r:.200}."
            )
        created: dict[str, Layer] = {}
        pending: dict[str, list[dict[str, Any]]] = {}
        outputs: dict[tuple[str, int], list[KerasTensor]] = {}
        for entry in config["layers"]:
            layer = layer_from_config(entry)
            name = str(entry.get("name", layer.name))
            created[name] = layer
            if isinstance(layer, InputLayer):
                outputs[(name, 0)] = [layer.output]
                pending[name] = []
            else:
                pending[name] = list(entry.get("inbound_nodes") or [])
        done = {name: 1 if isinstance(la, InputLayer) else 0 for name, la in created.items()}

        def resolve(arg: Any) -> Any:
            if isinstance(arg, list):
                return [resolve(a) for a in arg]
            if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
                layer_name, node_index, tensor_index = arg["config"]["keras_history"]
                made = outputs.get((layer_name, int(node_index)))
                if made is None:
                    raise KeyError(layer_name)
                return made[int(tensor_index)]
            raise ValueError(f"Unsupported argument in an inbound node: {arg!r:.200}.")

        progress = True
        while progress and any(pending.values()):
            progress = False
            for name, nodes in pending.items():
                while nodes:
                    node_cfg = nodes[0]
                    args = node_cfg.get("args") or []
                    if len(args) != 1:
                        raise ValueError(
                            f"Layer `{name}`: expected one positional argument per call in its config."
                        )
                    try:
                        arg = resolve(args[0])
                    except KeyError:
                        break
                    made = created[name](arg, **dict(node_cfg.get("kwargs") or {}))
                    outputs[(name, done[name])] = list(made) if isinstance(made, list) else [made]
                    done[name] += 1
                    nodes.pop(0)
                    progress = True
        if any(pending.values()):
            stuck = [n for n, v in pending.items() if v]
            raise ValueError(
                f"The model config's graph cannot be rebuilt: layers {stuck} wait for inputs that never come."
            )

        def refs(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: refs(v) for k, v in value.items()}
            if value and isinstance(value[0], list):
                return [outputs[(v[0], int(v[1]))][int(v[2])] for v in value]
            return outputs[(value[0], int(value[1]))][int(value[2])]

        return cls(
            refs(config["input_layers"]),
            refs(config["output_layers"]),
            name=config.get("name"),
            trainable=bool(config.get("trainable", True)),
        )

    def save(
        self,
        filepath: str | os.PathLike[str],
        overwrite: bool = True,
        *,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Save the model (config, compile config, weights, optional metadata) to a folder, or to
        Keras's file for a name ending in `.keras` or `.h5` (`textrnn.models.keras_files`).

        See `textrnn.models.saving.save_model`.
        """
        saving.save_model(
            self,  # type: ignore[arg-type]
            filepath,
            overwrite=overwrite,
            metadata=metadata,
        )

    def save_weights(self, filepath: str | os.PathLike[str]) -> None:
        """Save only the weights, to one safetensors file (atomically); Keras 3's HDF5 layout for a
        name ending in `.weights.h5`, Keras 2's for another `.h5`."""
        saving.save_weights(self, filepath)  # type: ignore[arg-type]

    def load_weights(self, filepath: str | os.PathLike[str]) -> None:
        """Load weights saved by `save_weights` (or a saved model folder, or Keras's `.weights.h5`,
        `.h5` or `.keras` file), strictly."""
        saving.load_weights(self, filepath)  # type: ignore[arg-type]

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


#: `keras.Model`: textrnn's `Model(inputs, outputs)` is the functional model.
Model = Functional

__all__ = ["Functional", "Model", "Shape"]
