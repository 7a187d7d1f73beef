"""`textrnn serve`: a run (or an ensemble) over HTTP, with a web page, on FastAPI + uvicorn."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer


def serve(
    run: Annotated[
        Path,
        typer.Argument(help="A run or ensemble folder made by `textrnn train`.", show_default=False),
    ],
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0 for every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes, each with its own copy of the model.")
    ] = 1,
    max_texts: Annotated[int, typer.Option(min=1, help="Most texts per request (more: 422).")] = 1000,
    max_chars: Annotated[int, typer.Option(min=1, help="Most characters per text (more: 422).")] = 50_000,
    max_body: Annotated[int, typer.Option(min=1, help="Most bytes per request body (more: 413).")] = 4
    * 1024
    * 1024,
    batch_wait_ms: Annotated[
        float,
        typer.Option(min=0.0, help="How long a request waits for others to share its forward pass."),
    ] = 5.0,
) -> None:
    """Serve a trained run: POST /predict and /explain, GET /health and /model, a page at /, /docs.

    Refuses to start, with one line, when the folder is not a finished run or its model is damaged.
    """
    try:
        import uvicorn

        from textrnn.serve.app import RUN_ENV, configure_logging, create_app
        from textrnn.serve.info import load_for_serving
        from textrnn.serve.limits import Limits
    except ImportError as e:
        raise ValueError(
            f"`textrnn serve` needs the serve extra ({e.name} is missing): pip install 'textrnn[serve]'."
        ) from None

    limits = Limits(
        max_texts=max_texts,
        max_chars=max_chars,
        max_body_bytes=max_body,
        batch_wait_ms=batch_wait_ms,
    )
    # Everything that reads the folder runs here, before listening: a bad folder is one line.
    predictor = load_for_serving(run)
    app = create_app(predictor, limits)
    configure_logging()
    typer.echo(f"Serving {predictor!r} on http://{host}:{port}/ (API at /docs). Ctrl-C stops.", err=True)
    if workers == 1:
        uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
        return
    del app, predictor  # each worker process loads its own
    os.environ[RUN_ENV] = str(run.resolve())
    os.environ[RUN_ENV + "_LIMITS"] = json.dumps(limits.__dict__)
    uvicorn.run(
        "textrnn.serve.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
    )
