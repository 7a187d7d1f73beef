"""Models: `Sequential`, and saving / loading (`load_model`), as in `keras.models`."""

from textrnn.models.saving import load_model, read_metadata, save_model
from textrnn.models.sequential import Sequential

__all__ = ["Sequential", "load_model", "read_metadata", "save_model"]
