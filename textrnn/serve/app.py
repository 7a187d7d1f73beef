"""The HTTP server: a FastAPI app around a `Predictor`.

Routes: `POST /predict` (`{"texts": [...]}` → a label and probabilities per text, requests
micro-batched into shared forward passes), `POST /explain` (`{"text": "..."}` → the label and a
weight per word), `GET /health`, `GET /model`, `GET /` (the web page), `GET /docs` (OpenAPI, with
Swagger UI served from the `fastapi-offline` package's files, so it works offline).

Every error is JSON, `{"error": "one line", "status": code}`: 413 for a body over the byte limit,
422 for every other refused input, 500 (without details) for a server bug, whose traceback goes
to the log only. One log line per request: method, path, status, texts, milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from textrnn.runs.predictor import Predictor
from textrnn.serve.batcher import MicroBatcher
from textrnn.serve.info import load_for_serving, model_info
from textrnn.serve.limits import InputError, Limits, check_text, check_texts
from textrnn.serve.page import render_page

log = logging.getLogger("textrnn.serve")
RUN_ENV = "TEXTRNN_SERVE_RUN"  # the run a worker process loads (`textrnn serve --workers N`)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]


class PredictRequest(BaseModel):
    """The texts to classify."""

    model_config = ConfigDict(extra="forbid", strict=True)
    texts: list[str] = Field(description="Raw texts, one prediction each.", examples=[["A wonderful film."]])


class ExplainRequest(BaseModel):
    """One text to explain."""

    model_config = ConfigDict(extra="forbid", strict=True)
    text: str = Field(description="A raw text.", examples=["A wonderful, moving film."])


class Prediction(BaseModel):
    label: str
    probability: float
    probabilities: dict[str, float]


class PredictResponse(BaseModel):
    predictions: list[Prediction]


class WordWeightOut(BaseModel):
    word: str
    weight: float


class ExplainResponse(BaseModel):
    text: str
    label: str
    probabilities: dict[str, float]
    method: str
    words: list[WordWeightOut]


class ErrorOut(BaseModel):
    """Every error: one line naming the problem, and the HTTP status."""

    error: str
    status: int


ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorOut, "description": "The body is over the byte limit."},
    422: {"model": ErrorOut, "description": "Bad input: the message names the problem."},
    500: {"model": ErrorOut, "description": "A server bug (details only in the server's log)."},
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": " ".join(message.split()), "status": status}, status_code=status)


def describe_validation_error(errors: list[Any]) -> str:
    """Pydantic's errors of a request body → one line naming the first problem."""
    e = errors[0]
    kind, loc = e.get("type", ""), [str(x) for x in e.get("loc", ()) if x != "body"]
    field = "`" + loc[0] + "".join(f"[{x}]" for x in loc[1:]) + "`" if loc else "The body"
    got = _json_type(e.get("input"))
    if kind == "json_invalid":
        return f"The body is not valid JSON: {e.get('ctx', {}).get('error', 'parse error')}."
    if kind == "missing":
        return f'{field} is missing: send a JSON object such as {{"texts": ["A fine film."]}}.'
    if kind == "extra_forbidden":
        return f"Unknown field {field}: send only the documented fields (see /docs)."
    if isinstance(e.get("input"), bytes):
        return "The body must be a JSON object sent with `Content-Type: application/json`."
    if kind in ("list_type", "model_type", "model_attributes_type", "dict_type"):
        want = "a list of strings" if kind == "list_type" else "a JSON object"
        return f"{field} must be {want}, got {got}."
    if kind == "string_type":
        return f"{field} must be a string, got {got}."
    return f"{field}: {e.get('msg', 'invalid')}."


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class GuardMiddleware:
    """Caps the request body at `max_bytes` (413), refuses one that is not UTF-8 (422), and logs
    one line per request."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}
        state = scope.setdefault("state", {})

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        try:
            too_big = await self._over_limit(scope, receive)
            if too_big is not None:
                await _error(413, too_big)(scope, receive, send_logged)
                return
            body = state.pop("_body", None)
            bad = self._not_utf8(body)
            if bad is not None:
                await _error(422, bad)(scope, receive, send_logged)
                return
            if body is not None:
                done = {"sent": False}

                async def replay() -> Message:
                    if not done["sent"]:
                        done["sent"] = True
                        return {"type": "http.request", "body": body, "more_body": False}
                    return await receive()

                await self.app(scope, replay, send_logged)
            else:
                await self.app(scope, receive, send_logged)
        finally:
            ms = (time.perf_counter() - start) * 1000
            log.info(
                "%s %s %d texts=%d %.1fms",
                scope.get("method"),
                scope.get("path"),
                status["code"],
                state.get("texts", 0),
                ms,
            )

    async def _over_limit(self, scope: Scope, receive: Callable[[], Awaitable[Message]]) -> str | None:
        """Read the whole body (into scope state) unless it exceeds the limit: then the message."""
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            return None
        limit = (
            f"The request body is over the limit of {self.max_bytes:,} bytes: send fewer or shorter texts."
        )
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                if value.isdigit() and int(value) > self.max_bytes:
                    return limit  # (uvicorn itself refuses a Content-Length that is not a number)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return limit
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        scope["state"]["_body"] = b"".join(chunks)
        return None

    @staticmethod
    def _not_utf8(body: bytes | None) -> str | None:
        if body is None:
            return None
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as e:
            return (
                f"The body is not valid JSON: it is not UTF-8 text (byte {e.start} is 0x{body[e.start]:02x})."
            )
        return None


def create_app(predictor: Predictor, limits: Limits | None = None) -> FastAPI:
    """The server's app for `predictor` (a `Predictor` or `EnsemblePredictor`).

    Args:
        predictor: what `textrnn.load` returned.
        limits: the request limits and batching settings; default `Limits()`.

    Example:
        >>> import uvicorn
        >>> uvicorn.run(create_app(textrnn.load("runs/imdb")), port=8000)
    """
    limits = limits or Limits()
    info = model_info(predictor)
    page = render_page(info)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="textrnn-model")
    batcher = MicroBatcher(predictor.predict_proba, executor, limits.batch_texts, limits.batch_wait_ms)
    started = time.time()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await batcher.start()
        try:
            yield
        finally:
            await batcher.stop()  # (the idle model thread is kept: the app may start again)

    app = FastAPI(
        title=f"textrnn · {info['name'] or 'model'}",
        description=(
            'Classify raw texts with a textrnn run. Errors are JSON: `{"error": ..., "status": ...}`.'
        ),
        version="1",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.predictor = predictor
    app.state.limits = limits
    app.state.batcher = batcher
    _add_docs(app)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, describe_validation_error(list(exc.errors())))

    @app.exception_handler(InputError)
    async def on_input(request: Request, exc: InputError) -> JSONResponse:
        return _error(exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("Error while answering %s %s", request.method, request.url.path)
        return _error(500, "Internal server error: the request could not be answered (see the server's log).")

    @app.post("/predict", response_model=PredictResponse, summary="Classify texts", responses=ERRORS)
    async def predict(body: PredictRequest, request: Request) -> dict[str, Any]:
        """A label and the probability of every class for each text, in order."""
        request.state.texts = len(body.texts)
        check_texts(body.texts, limits)
        probs = await batcher.submit(body.texts)
        names = predictor.label_names
        out = []
        for row in probs.tolist():
            best = max(range(len(row)), key=row.__getitem__)
            out.append(
                {
                    "label": names[best],
                    "probability": row[best],
                    "probabilities": dict(zip(names, row, strict=True)),
                }
            )
        return {"predictions": out}

    @app.post("/explain", response_model=ExplainResponse, summary="Explain one text", responses=ERRORS)
    async def explain(body: ExplainRequest, request: Request) -> dict[str, Any]:
        """The label, the probabilities and a weight per word (occlusion: the drop in the label's
        probability when the word is deleted; positive pushed towards the label)."""
        request.state.texts = 1
        check_text(body.text, "`text`", limits)
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(executor, predictor.explain, body.text)
        return dict(result.to_dict())

    @app.get("/health", summary="Liveness and counters")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "uptime_s": round(time.time() - started, 3),
            "batches": batcher.batches,
            "requests": batcher.requests,
            "texts": batcher.texts,
        }

    @app.get("/model", summary="The model: config, labels, test metrics, parameters")
    async def model() -> dict[str, Any]:
        return info

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    app.add_middleware(GuardMiddleware, max_bytes=limits.max_body_bytes)
    return app


def _add_docs(app: FastAPI) -> None:
    """`/docs`: Swagger UI 5 from the files the `fastapi-offline` package ships (no CDN)."""
    from fastapi.openapi.docs import get_swagger_ui_html

    try:
        import fastapi_offline
    except ImportError:  # pragma: no cover - the `serve` extra installs it
        fastapi_offline = None  # type: ignore[assignment]
    urls: dict[str, Any] = {}  # without the package: FastAPI's default, Swagger UI from a CDN
    if fastapi_offline is not None:
        from fastapi.staticfiles import StaticFiles

        static = Path(fastapi_offline.__file__).parent / "static"
        app.mount("/docs-static", StaticFiles(directory=static), name="docs-static")
        urls = {
            "swagger_js_url": "docs-static/swagger-ui-bundle.js",
            "swagger_css_url": "docs-static/swagger-ui.css",
            "swagger_favicon_url": "docs-static/favicon.png",
        }

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="openapi.json", title=f"{app.title} · API", **urls)


def configure_logging() -> None:
    """Log lines on stderr: `time INFO textrnn.serve: POST /predict 200 texts=2 3.1ms`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def create_app_from_env() -> FastAPI:
    """The app of the run named by `$TEXTRNN_SERVE_RUN` (each `--workers` process calls this)."""
    configure_logging()
    limits = Limits(**json.loads(os.environ.get(RUN_ENV + "_LIMITS", "{}")))
    return create_app(load_for_serving(Path(os.environ[RUN_ENV])), limits)
