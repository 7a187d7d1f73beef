"""`textrnn data`: where datasets are and what they hold."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Where datasets are cached, and their statistics.", no_args_is_help=True)


@app.command("imdb")
def imdb(
    as_json: Annotated[bool, typer.Option("--json", help="Print the statistics as one JSON object.")] = False,
) -> None:
    """IMDB: where it is read from and cached, reviews per subset, classes, length distribution.

    Reads $TEXTRNN_IMDB (the aclImdb_v1.tar.gz tarball or its folder), else the cached tarball,
    downloading it on first use.
    """
    from textrnn.data.stats import format_stats, text_stats
    from textrnn.datasets import download, imdb
    from textrnn.runs.prepare import IMDB_LABELS

    env = os.environ.get("TEXTRNN_IMDB")
    source = str(Path(env).expanduser().resolve()) if env else str(download.datasets_dir() / imdb.FILENAME)
    info: dict[str, object] = {
        "source": source,
        "source_from": "$TEXTRNN_IMDB" if env else "cache",
        "cache": str(download.datasets_dir() / "imdb"),
    }
    for subset in ("train", "test"):
        texts, labels = imdb.load_texts(env or None, subset=subset)
        info[subset] = text_stats(texts, [IMDB_LABELS[int(v)] for v in labels])
    if as_json:
        typer.echo(json.dumps(info))
        return
    typer.echo(f"IMDB source: {info['source']} (from {info['source_from']})")
    typer.echo(f"Cache: {info['cache']}")
    for subset in ("train", "test"):
        typer.echo(format_stats(subset, info[subset]))  # type: ignore[arg-type]


@app.command("stats")
def stats(
    path: Annotated[
        str,
        typer.Argument(
            help="Your labelled texts: a .csv, .tsv, .jsonl or .parquet file, or a folder of class folders.",
            show_default=False,
        ),
    ],
    data_format: Annotated[
        str | None,
        typer.Option("--format", help="csv, tsv, jsonl, parquet or folder. Default: from the extension."),
    ] = None,
    text_column: Annotated[str, typer.Option(help="Column (or JSON key) holding the texts.")] = "text",
    label_column: Annotated[str, typer.Option(help="Column (or JSON key) holding the labels.")] = "label",
    encoding: Annotated[str, typer.Option(help="Text encoding of the files.")] = "utf-8",
    as_json: Annotated[bool, typer.Option("--json", help="Print the statistics as one JSON object.")] = False,
) -> None:
    """Check that your data reads, and show its size, classes and length distribution."""
    from textrnn.data.readers import DataSource
    from textrnn.data.stats import format_stats, text_stats

    source = DataSource(path, data_format, text_column, label_column, encoding)
    info: dict[str, object] = {"source": path, "format": source.resolved_format()}
    subsets = ("train", "test") if source.has_test_subset() else ("train",)
    for subset in subsets:
        texts, labels = source.read(subset)
        info[subset if len(subsets) > 1 else "data"] = text_stats(texts, labels)
    if as_json:
        typer.echo(json.dumps(info))
        return
    typer.echo(f"{path} ({info['format']})")
    for key in ("train", "test", "data"):
        if key in info:
            typer.echo(format_stats(key, info[key]))  # type: ignore[arg-type]
