"""Models: `Sequential`, the functional `Model`, and saving / loading (`load_model`), as in
`keras.models`."""

from textrnn.models.functional import Functional, Model
from textrnn.models.registry import custom_object_scope
from textrnn.models.saving import load_model, read_metadata, save_model
from textrnn.models.sequential import Sequential

__all__ = [
    "Functional",
    "Model",
    "Sequential",
    "custom_object_scope",
    "load_model",
    "read_metadata",
    "save_model",
]
