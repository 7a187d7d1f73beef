"""`textrnn train`: train a classifier on IMDB (the tutorial, by default) or on your own data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

_DATA = "Data"
_MODEL = "Model"
_TEXT = "Text"
_TRAINING = "Training"
_RUN = "Run folder"


def train(
    ctx: typer.Context,
    data: Annotated[
        str | None,
        typer.Option(
            help="Your labelled texts: a .csv, .tsv, .jsonl or .parquet file, or a folder of class folders "
            "(train/<label>/*.txt, optional test/). Default: IMDB ($TEXTRNN_IMDB or the download cache).",
            rich_help_panel=_DATA,
        ),
    ] = None,
    data_format: Annotated[
        str | None,
        typer.Option("--format", help="Format of --data: csv, tsv, jsonl, parquet or folder. Default: from the extension.", rich_help_panel=_DATA),
    ] = None,
    text_column: Annotated[str | None, typer.Option(help="Column (or JSON key) holding the texts. Default: text.", rich_help_panel=_DATA)] = None,
    label_column: Annotated[str | None, typer.Option(help="Column (or JSON key) holding the labels. Default: label.", rich_help_panel=_DATA)] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding of the data files. Default: utf-8.", rich_help_panel=_DATA)] = None,
    test_data: Annotated[
        str | None,
        typer.Option(help="A separate labelled test set, read like --data. Default: hold out --test-split of --data.", rich_help_panel=_DATA),
    ] = None,
    test_split: Annotated[
        float | None,
        typer.Option(help="Fraction of --data held out for testing (stratified, seeded) when there is no test set. Default: 0.2.", rich_help_panel=_DATA),
    ] = None,
    rnn: Annotated[str | None, typer.Option(help="Recurrent layer: simple_rnn, lstm or gru. Default: simple_rnn.", rich_help_panel=_MODEL)] = None,
    units: Annotated[int | None, typer.Option(help="Units of each recurrent layer. Default: 32.", rich_help_panel=_MODEL)] = None,
    layers: Annotated[int | None, typer.Option(help="Number of stacked recurrent layers. Default: 1.", rich_help_panel=_MODEL)] = None,
    bidirectional: Annotated[
        bool | None, typer.Option("--bidirectional/--no-bidirectional", help="Wrap each recurrent layer in Bidirectional. Default: no.", rich_help_panel=_MODEL)
    ] = None,
    embedding_dim: Annotated[int | None, typer.Option(help="Size of the word vectors. Default: 32.", rich_help_panel=_MODEL)] = None,
    dropout: Annotated[float | None, typer.Option(help="Dropout rate after each recurrent layer, in [0, 1). Default: 0.", rich_help_panel=_MODEL)] = None,
    mask_zero: Annotated[
        bool | None, typer.Option("--mask-zero/--no-mask-zero", help="Mask padding so the RNN skips it. Default: no (as the tutorial).", rich_help_panel=_MODEL)
    ] = None,
    num_words: Annotated[int | None, typer.Option(help="Vocabulary size: word indices below this are kept (Keras's num_words). Default: 10000.", rich_help_panel=_TEXT)] = None,
    min_freq: Annotated[int | None, typer.Option(help="Keep only words seen at least this often in the training texts. Default: 1.", rich_help_panel=_TEXT)] = None,
    maxlen: Annotated[int | None, typer.Option(help="Texts are cut to their last MAXLEN words, shorter ones padded. Default: 500.", rich_help_panel=_TEXT)] = None,
    epochs: Annotated[int | None, typer.Option(help="Passes over the training data. Default: 10.", rich_help_panel=_TRAINING)] = None,
    batch_size: Annotated[int | None, typer.Option(help="Samples per gradient step. Default: 128.", rich_help_panel=_TRAINING)] = None,
    optimizer: Annotated[str | None, typer.Option(help="rmsprop, adam or sgd. Default: rmsprop.", rich_help_panel=_TRAINING)] = None,
    learning_rate: Annotated[float | None, typer.Option(help="Learning rate. Default: the optimizer's Keras default (rmsprop 0.001).", rich_help_panel=_TRAINING)] = None,
    validation_split: Annotated[
        float | None, typer.Option(help="Last fraction of the (shuffled) training data used to validate each epoch; 0 for none. Default: 0.2.", rich_help_panel=_TRAINING)
    ] = None,
    early_stopping: Annotated[
        int | None, typer.Option(metavar="PATIENCE", help="Stop after PATIENCE epochs without improvement of --monitor. Default: off.", rich_help_panel=_TRAINING)
    ] = None,
    monitor: Annotated[
        str | None, typer.Option(help="Figure that picks the saved (best) epoch and drives early stopping: val_loss, val_acc, loss or acc. Default: val_loss.", rich_help_panel=_TRAINING)
    ] = None,
    bucket_by_length: Annotated[
        bool | None, typer.Option("--bucket-by-length/--no-bucket-by-length", help="Batch texts of similar length together (needs --mask-zero). Default: no.", rich_help_panel=_TRAINING)
    ] = None,
    pooling: Annotated[
        str | None, typer.Option(help="What the classifier sees of the last RNN layer: last (its final state) or max_avg (max and mean of all states). Default: last.", rich_help_panel=_MODEL)
    ] = None,
    spatial_dropout: Annotated[float | None, typer.Option(help="SpatialDropout1D rate after the embedding, in [0, 1). Default: 0.", rich_help_panel=_MODEL)] = None,
    word_vectors: Annotated[
        str | None, typer.Option(help="Embedding start: random, or ppmi (word vectors learned first from the training texts, and IMDB's unlabelled reviews). Default: random.", rich_help_panel=_MODEL)
    ] = None,
    ngrams: Annotated[
        int | None, typer.Option(metavar="N", help="1: embed words alone; 2-5: also embed the word n-grams up to length N (hashed, NGramEmbedding). Default: 1.", rich_help_panel=_MODEL)
    ] = None,
    ngram_buckets: Annotated[int | None, typer.Option(help="Rows of each n-gram table (with --ngrams 2 or more). Default: 262144.", rich_help_panel=_MODEL)] = None,
    ensemble: Annotated[
        int | None, typer.Option(metavar="K", help="Train K models (seeds SEED, SEED+1, ...) and predict with their mean probability. Default: 1.", rich_help_panel=_TRAINING)
    ] = None,
    clipnorm: Annotated[float | None, typer.Option(help="Clip each gradient to this L2 norm. Default: none.", rich_help_panel=_TRAINING)] = None,
    lr_schedule: Annotated[str | None, typer.Option(help="constant, or cosine (warmup then cosine decay to 0 over all epochs). Default: constant.", rich_help_panel=_TRAINING)] = None,
    ema: Annotated[float | None, typer.Option(help="Keep a moving average of the weights with this momentum (e.g. 0.98) and use it from the end of every epoch on. Default: none.", rich_help_panel=_TRAINING)] = None,
    split_seed: Annotated[int | None, typer.Option(help="Seed of the test split only (default: --seed); an ensemble's members share one.", rich_help_panel=_TRAINING)] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (weights, shuffling, test split). Default: a fresh one, recorded in config.json.", rich_help_panel=_TRAINING)] = None,
    preset: Annotated[str | None, typer.Option(help="Named set of defaults: tutorial (the Keras tutorial), fast, best (see docs/accuracy.md). Default: tutorial.", rich_help_panel=_TRAINING)] = None,
    out: Annotated[Path | None, typer.Option(help="Run folder to create. Default: a fresh runs/<data>-<rnn>-<time>.", rich_help_panel=_RUN)] = None,
    resume: Annotated[
        Path | None, typer.Option(metavar="RUN", help="Continue the interrupted run folder RUN from its last finished epoch (no other options).", rich_help_panel=_RUN)
    ] = None,
    verbose: Annotated[int, typer.Option(min=0, max=2, help="0 quiet, 1 a progress bar per epoch, 2 one line per epoch.", rich_help_panel=_RUN)] = 1,
) -> None:
    """Train an RNN text classifier; with no options, the Keras IMDB tutorial.

    Writes a run folder (config.json, history.csv/.json, curves.png, metrics.json, summary.txt,
    model/) and ends with the best epoch, the test figures and where the files are. Ctrl-C keeps
    the best model so far; `textrnn train --resume RUN` continues.
    """
    from textrnn.presets import DEFAULT_PRESET
    from textrnn.runs.options import TrainOptions, flag_of
    from textrnn.runs.trainer import TrainingInterrupted
    from textrnn.runs.trainer import resume as resume_run
    from textrnn.runs.trainer import train as train_run

    values: dict[str, Any] = {
        "data": data, "data_format": data_format, "text_column": text_column, "label_column": label_column,
        "encoding": encoding, "test_data": test_data, "test_split": test_split, "rnn": rnn, "units": units,
        "layers": layers, "bidirectional": bidirectional, "embedding_dim": embedding_dim, "dropout": dropout,
        "mask_zero": mask_zero, "num_words": num_words, "min_freq": min_freq, "maxlen": maxlen, "epochs": epochs,
        "batch_size": batch_size, "optimizer": optimizer, "learning_rate": learning_rate,
        "validation_split": validation_split, "early_stopping": early_stopping, "monitor": monitor,
        "bucket_by_length": bucket_by_length, "seed": seed,
        "pooling": pooling, "spatial_dropout": spatial_dropout, "word_vectors": word_vectors, "clipnorm": clipnorm,
        "lr_schedule": lr_schedule, "ema": ema, "ngrams": ngrams, "ngram_buckets": ngram_buckets,
        "ensemble": ensemble, "split_seed": split_seed,
    }  # fmt: skip
    if rnn is not None:
        values["rnn"] = {"simplernn": "simple_rnn", "simple-rnn": "simple_rnn"}.get(rnn.lower(), rnn.lower())
    try:
        if resume is not None:
            given = [flag_of("format" if k == "data_format" else k) for k, v in values.items() if v is not None]
            given += [f for f, v in (("--preset", preset), ("--out", out)) if v is not None]
            if given:
                raise ValueError(
                    f"--resume continues a run with its own options, so {', '.join(given)} cannot be given with it. "
                    "Drop them, or start a new run without --resume."
                )
            resume_run(resume, verbose=verbose, print_fn=typer.echo)
            return
        options = TrainOptions.from_preset(preset or DEFAULT_PRESET, **values)
        train_run(options, out, verbose=verbose, print_fn=typer.echo, command=_argv(ctx))
    except TrainingInterrupted as e:
        typer.echo(e.result.summary(), err=True)
        raise typer.Exit(130) from None
    except KeyboardInterrupt:
        typer.echo("Interrupted before the first epoch finished: no run folder was written.", err=True)
        raise typer.Exit(130) from None


def _argv(ctx: typer.Context) -> list[str] | None:
    obj = ctx.find_root().obj
    return list(obj["argv"]) if isinstance(obj, dict) and "argv" in obj else None
