"""Serving a trained run over HTTP (`textrnn serve`): the app, its limits and micro-batching.

Needs the `serve` extra: `pip install 'textrnn[serve]'` (FastAPI, uvicorn, fastapi-offline for
the offline API page, Captum).

Example:
    >>> from textrnn.serve import create_app, load_for_serving
    >>> app = create_app(load_for_serving("runs/imdb"))
"""

from textrnn.serve.app import create_app
from textrnn.serve.info import load_for_serving, model_info
from textrnn.serve.limits import Limits

__all__ = ["Limits", "create_app", "load_for_serving", "model_info"]
