"""Presets: complete, valid, buildable, trainable, and reachable from the API and the CLI."""

import json
from dataclasses import fields

import numpy as np
import pytest
from typer.testing import CliRunner

import textrnn
from textrnn import presets
from textrnn.cli import app
from textrnn.data.toy import toy_texts, write_toy_csv
from textrnn.layers import Bidirectional, GlobalMaxAvgPooling1D, NGramEmbedding, SpatialDropout1D
from textrnn.preprocessing.text import Vocabulary
from textrnn.runs.model import pretrain_embedding
from textrnn.runs.options import TrainOptions

TINY = {
    "units": 8,
    "embedding_dim": 8,
    "maxlen": 24,
    "num_words": 200,
    "batch_size": 16,
    "ngram_buckets": 512,
}
PER_RUN = {
    "data",
    "stream",
    "data_format",
    "text_column",
    "label_column",
    "encoding",
    "test_data",
    "preset",
    "nproc",
    "split_seed",
}


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_every_preset_is_complete_and_valid(name):
    assert set(presets.PRESETS[name]) == {f.name for f in fields(TrainOptions)} - PER_RUN
    assert presets.options(name).preset == name


def test_early_stopping_everywhere_but_the_tutorial():
    assert presets.PRESETS["tutorial"]["early_stopping"] is None
    for name in set(presets.PRESETS) - {"tutorial"}:
        assert presets.PRESETS[name]["early_stopping"] is not None, name


def test_best_is_the_recipe_of_docs_accuracy():
    model = presets.build_model("best", input_dim=30000)
    kinds = [type(layer) for layer in model.layers]
    assert SpatialDropout1D in kinds and Bidirectional in kinds and GlobalMaxAvgPooling1D in kinds
    assert model.layers[0].mask_zero
    assert isinstance(model.layers[0], NGramEmbedding) and model.layers[0].ngrams == 3
    assert model.optimizer.clipnorm == 1.0
    assert presets.options("best").word_vectors == "ppmi"


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_each_preset_builds_and_takes_a_training_step(name):
    opts = presets.options(name, **TINY)
    model = presets.build_model(name, input_dim=200, **TINY)
    x = np.random.default_rng(0).integers(1, 200, size=(32, 24))
    x[:5, :10] = 0  # some padding, as pad_sequences leaves it
    y = np.tile([0.0, 1.0], 16).astype("float32")
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0, bucket_by_length=opts.bucket_by_length)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_unknown_preset_and_option_raise():
    with pytest.raises(ValueError, match="`--preset`.*best"):
        presets.options("nope")
    with pytest.raises(TypeError, match="Unknown training option"):
        presets.build_model("best", input_dim=100, unit=3)


def test_pretrain_embedding_sets_unit_vectors_for_seen_words():
    texts, _ = toy_texts(60, seed=3)
    vocab = Vocabulary.build(texts, num_words=200, index_from=3)
    opts = presets.options("best", data="toy.csv", **TINY)
    model = presets.build_model("best", input_dim=200, data="toy.csv", **TINY)
    x = np.array([np.pad(s[-24:], (24 - len(s[-24:]), 0)) for s in vocab.encode(texts)])
    set_rows = pretrain_embedding(model, opts, x, vocab)
    seen = np.unique(x[x >= 3])
    assert set_rows == len(seen)
    norms = np.linalg.norm(model.layers[0].get_weights()[0], axis=1)
    np.testing.assert_allclose(norms[seen], 1.0, rtol=1e-5)
    assert (norms[[i for i in range(200) if i not in set(seen)]] < 0.9).all()  # random start kept


def test_train_best_preset_end_to_end_from_the_api_and_the_cli(tmp_path):
    texts, labels = toy_texts(80, seed=1)
    data = write_toy_csv(tmp_path / "reviews.csv", texts, labels)
    result = presets.train("best", out=tmp_path / "api", data=str(data), epochs=2, seed=3, verbose=0, **TINY)
    assert result.status == "complete" and 0.0 <= result.metrics["accuracy"] <= 1.0
    predictor = textrnn.load(
        result.path
    )  # the saved NGramEmbedding model reloads and reproduces the run's figures
    assert predictor.evaluate(texts[:20], labels[:20])["samples"] == 20
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    cli = CliRunner().invoke(
        app,
        [
            "train",
            "--preset",
            "best",
            "--data",
            str(data),
            *flags,
            "--epochs",
            "1",
            "--seed",
            "3",
            "--out",
            str(tmp_path / "cli"),
            "--verbose",
            "0",
        ],
    )
    assert cli.exit_code == 0, cli.stderr
    config = json.loads((tmp_path / "cli" / "config.json").read_text())
    options = config["options"]
    assert (
        options["preset"] == "best" and options["word_vectors"] == "ppmi" and options["pooling"] == "max_avg"
    )
    # with --data, best's n-grams follow the recipe (trigrams where bigrams repeat enough, else
    # words alone); the rows given on the command line are kept
    assert options["ngrams"] == (3 if config["recipe"]["options"]["ngrams"] > 1 else 1)
    assert options["ngram_buckets"] == 512
    bad_ngrams = CliRunner().invoke(app, ["train", "--preset", "best", "--data", str(data), "--ngrams", "7"])
    assert bad_ngrams.exit_code != 0 and "`ngrams` (`--ngrams`)" in bad_ngrams.stderr
    bad = CliRunner().invoke(app, ["train", "--preset", "best", "--data", str(data), "--pooling", "mean"])
    assert bad.exit_code != 0 and "`pooling`" in bad.stderr and "max_avg" in bad.stderr
