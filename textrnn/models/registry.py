"""Layer classes by name for configs, looked up in `textrnn.layers`: new layers need no edit here.

Model classes (`Sequential`, which may also be a layer of another model) enter themselves with
`@register_model` when their module is imported, so this module never imports a model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

import textrnn.layers as layers_pkg
from textrnn import checks
from textrnn.layers.base import Layer

_MODELS: dict[str, type[Layer]] = {}
_CUSTOM: list[dict[str, type[Layer]]] = []  # the active `custom_objects`, innermost last

L = TypeVar("L", bound=type[Layer])


def register_model(cls: L) -> L:
    """Class decorator: configs naming `cls.__name__` rebuild with `cls` (as Keras's registry)."""
    _MODELS[cls.__name__] = cls
    return cls


def is_model_class(class_name: Any) -> bool:
    """Whether `class_name` names a registered model class (`Sequential`, `Functional`)."""
    return isinstance(class_name, str) and class_name in _MODELS


@contextlib.contextmanager
def custom_object_scope(custom_objects: Mapping[str, Any] | None) -> Iterator[None]:
    """Within the block, configs naming a key of `custom_objects` rebuild with its layer class
    (Keras's `custom_object_scope`; `load_model(..., custom_objects=...)` uses it).

    Raises:
        TypeError: if it is not a dict of names to textrnn `Layer` subclasses.
    """
    objects = dict(custom_objects or {})
    for key, value in objects.items():
        if not isinstance(key, str) or not (isinstance(value, type) and issubclass(value, Layer)):
            raise checks.invalid(
                "custom_objects",
                "a dict of class names to textrnn `Layer` subclasses",
                custom_objects,
                error=TypeError,
                got=f"{key!r}: {value!r}",
            )
    _CUSTOM.append(objects)
    try:
        yield
    finally:
        _CUSTOM.pop()


def layer_class(class_name: str) -> type[Layer]:
    """The layer class called `class_name`: from the active `custom_objects`, a registered model
    class (`Sequential`, `Functional`), or `textrnn.layers`.

    Raises:
        ValueError: if there is no such layer.
    """
    for objects in reversed(_CUSTOM):
        if isinstance(class_name, str) and class_name in objects:
            return objects[class_name]
    if isinstance(class_name, str) and class_name in _MODELS:
        return _MODELS[class_name]
    cls = (
        getattr(layers_pkg, class_name, None)
        if isinstance(class_name, str) and not class_name.startswith("_")
        else None
    )
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        available = sorted(
            n
            for n in dir(layers_pkg)
            if isinstance(getattr(layers_pkg, n), type) and issubclass(getattr(layers_pkg, n), Layer)
        )
        raise ValueError(
            f"Unknown layer class {class_name!r} in the model config; `textrnn.layers` has: "
            f"{', '.join(available)}. "
            "The model may come from a newer textrnn (upgrade textrnn to load it), or use a custom "
            "layer: pass it as `load_model(..., custom_objects={'Name': NameClass})`."
        )
    return cls


def layer_from_config(entry: Any) -> Layer:
    """A layer from `{"class_name": ..., "config": {...}}`."""
    if (
        not isinstance(entry, dict)
        or "class_name" not in entry
        or not isinstance(entry.get("config", {}), dict)
    ):
        raise ValueError(
            f"A layer entry in a model config must be {{'class_name': ..., 'config': {{...}}}}, got "
            f"{entry!r:.200}."
        )
    cls = layer_class(entry["class_name"])
    try:
        return cls.from_config(dict(entry.get("config", {})))
    except TypeError as err:
        raise ValueError(f"Could not rebuild layer {entry['class_name']} from its config: {err}") from err
