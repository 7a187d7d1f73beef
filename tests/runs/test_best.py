"""`--linear` / `--preset best`: RNN members plus the linear n-gram model, weighted on validation."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import textrnn
from textrnn.cli import app
from textrnn.data.toy import toy_texts, write_toy_csv
from textrnn.errors import ModelFileError
from textrnn.linear import (
    C_GRID,
    LinearTextModel,
    NgramCounts,
    char_ngrams_of,
    choose_linear,
    choose_weight,
    fit_linear,
    ngrams_of,
    validation_probs,
)
from textrnn.presets import PRESETS
from textrnn.runs.evaluate import evaluate_run
from textrnn.runs.options import TrainOptions
from textrnn.runs.predictor import EnsemblePredictor
from textrnn.runs.trainer import train

TINY = {"units": 4, "embedding_dim": 4, "maxlen": 16, "num_words": 120, "batch_size": 16, "epochs": 1}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    texts, labels = toy_texts(80, seed=11)
    return write_toy_csv(tmp_path_factory.mktemp("d") / "reviews.csv", texts, labels), texts, labels


def test_ngrams_and_the_saved_model_predict_as_the_fitted_one(tmp_path):
    assert ngrams_of("A good film") == ["a", "good", "film", "a good", "good film"]
    texts = [
        "good fun film",
        "a dull film",
        "good good acting",
        "dull and slow",
        "fun and good",
        "slow dull plot",
    ]
    y = np.array([1, 0, 1, 0, 1, 0])
    counts = NgramCounts.build(texts)
    for kind in ("tfidf", "nb"):
        model = fit_linear(counts, np.arange(6), y, ["neg", "pos"], kind=kind, c=4.0)
        probs = model.predict_proba(["good fun", "dull slow", "never seen words"])
        assert probs.shape == (3, 2) and np.allclose(probs.sum(1), 1)
        assert probs[0, 1] > 0.5 > probs[1, 1]
        # the same rows through the training counts give the same probabilities
        np.testing.assert_allclose(
            validation_probs(model, counts, np.arange(2)), model.predict_proba(texts[:2])
        )
        model.save(tmp_path / kind)
        assert not list((tmp_path / kind).glob("*.pkl"))
        loaded = LinearTextModel.load(tmp_path / kind)
        np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts))
    (tmp_path / "nb" / "ngrams.json").write_text(json.dumps(["only one"]))
    with pytest.raises(ModelFileError, match="shapes disagree"):
        LinearTextModel.load(tmp_path / "nb")


def test_character_ngrams_a_second_block_saved_and_chosen_on_validation(tmp_path):
    assert char_ngrams_of("Ab  c") == ["ab", "b ", " c", "ab ", "b c", "ab c"]
    # the classes differ only inside words ("...zz" against "...qq"): words alone cannot tell
    # unseen words apart, character n-grams can
    rng = np.random.default_rng(0)
    stems = ["".join(rng.choice(list("abcdefgh"), 5)) for _ in range(120)]
    texts = [f"{s}{'zz' if i % 2 else 'qq'} item" for i, s in enumerate(stems)]
    y = np.arange(120) % 2
    counts = NgramCounts.build(texts, chars=True)
    assert counts.char_from is not None and 0 < counts.char_from < len(counts.vocabulary)
    assert counts.words_only().counts.shape == (120, counts.char_from)
    assert "zz" in counts.vocabulary[counts.char_from :]
    kind, c, chars, longest, table, _ = choose_linear(
        counts, [(np.arange(80), np.arange(80, 120))], y, ["a", "b"]
    )
    # words: 1-2-grams and 1-3-grams; then the better of them with the characters
    assert len(table) == 3 * 2 * len(C_GRID) and chars is True
    best = max(r["val_acc"] for r in table if r["chars"])
    assert best == 1.0 and max(r["val_acc"] for r in table if not r["chars"]) < 0.75
    model = fit_linear(counts, np.arange(80), y, ["a", "b"], kind=kind, c=c)
    assert model.char_from == counts.char_from and "char 2-5-grams" in model.name
    # rows have unit norm: each block normalised, joined with equal weight
    x = model.features(texts[:5])
    np.testing.assert_allclose(np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel()), 1.0)
    np.testing.assert_allclose(validation_probs(model, counts, np.arange(5)), model.predict_proba(texts[:5]))
    model.save(tmp_path / "chars")
    config = json.loads((tmp_path / "chars" / "linear.json").read_text())
    assert config["char_from"] == counts.char_from and config["char_range"] == [2, 5]
    loaded = LinearTextModel.load(tmp_path / "chars")
    np.testing.assert_array_equal(loaded.predict_proba(texts), model.predict_proba(texts))
    config["char_from"] = len(counts.vocabulary) + 3
    (tmp_path / "chars" / "linear.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="char_from"):
        LinearTextModel.load(tmp_path / "chars")


def test_word_trigrams_chosen_on_validation_where_bigrams_cannot_tell(tmp_path):
    assert ngrams_of("a b c d", 3)[-2:] == ["a b c", "b c d"]
    # both classes hold the same unigrams and bigrams (a b, b c, d b, b e); only the trigrams
    # tell "a b c" + "d b e" from "a b e" + "d b c"
    rng = np.random.default_rng(1)
    texts, y = [], []
    for i in range(160):
        first, second = ("a b c", "d b e") if i % 2 else ("a b e", "d b c")
        if rng.random() < 0.5:
            first, second = second, first
        filler = [f"w{j}" for j in rng.integers(0, 50, 3)]
        texts.append(f"{filler[0]} {first} {filler[1]} {second} {filler[2]}")
        y.append(i % 2)
    y = np.array(y)
    counts = NgramCounts.build(texts)
    assert counts.longest == 3 and "a b c" in counts.vocabulary
    two = counts.select(longest=2)
    assert two.longest == 2 and not any(g.count(" ") == 2 for g in two.vocabulary)
    assert two.counts.shape == (160, len(two.vocabulary))
    choice = choose_linear(counts, [(np.arange(120), np.arange(120, 160))], y, ["x", "y"])
    assert choice.longest == 3 and choice.chars is False
    assert max(r["val_acc"] for r in choice.table if r["longest"] == 3) == 1.0
    assert max(r["val_acc"] for r in choice.table if r["longest"] == 2) < 0.8
    model = fit_linear(choice.counts(counts), np.arange(120), y, ["x", "y"], kind=choice.kind, c=choice.c)
    assert model.longest == 3 and model.name.startswith("word 1-3-grams")
    np.testing.assert_allclose(
        validation_probs(model, choice.counts(counts), np.arange(120, 160)), model.predict_proba(texts[120:])
    )
    assert model.predict_proba(["q a b c q d b e q", "q a b e q d b c q"]).argmax(1).tolist() == [1, 0]
    model.save(tmp_path)
    assert json.loads((tmp_path / "linear.json").read_text())["ngram_range"] == [1, 3]
    loaded = LinearTextModel.load(tmp_path)
    assert loaded.longest == 3
    np.testing.assert_array_equal(loaded.predict_proba(texts), model.predict_proba(texts))
    with pytest.raises(ValueError, match="up to 3 words"):
        counts.select(longest=4)


def test_the_linear_choice_pools_every_split_and_keeps_the_chosen_fits():
    rng = np.random.default_rng(3)
    words = [f"w{j}" for j in range(30)]
    texts = [" ".join(rng.choice(words, 6)) + (" good" if i % 2 else " bad") for i in range(90)]
    y = np.arange(90) % 2
    counts = NgramCounts.build(texts)
    orders = [np.random.default_rng(s).permutation(90) for s in (1, 2, 3)]
    splits = [(o[:70], o[70:]) for o in orders]
    choice = choose_linear(counts, splits, y, ["bad", "good"], c_grid=(1.0, 16.0))
    assert len(choice.table) == 2 * 2 * 2 and len(choice.probs) == 3  # (1-2, 1-3) x kinds x C
    # each split's probabilities are the chosen model's, fitted without that split's validation rows
    block = choice.counts(counts)
    for (rows, val), probs in zip(splits, choice.probs, strict=True):
        model = fit_linear(block, rows, y, ["bad", "good"], kind=choice.kind, c=choice.c)
        np.testing.assert_allclose(probs, validation_probs(model, block, val))
    # the table's figures are those of the three validation splits pooled (60 texts)
    pooled = np.concatenate(choice.probs)
    yv = np.concatenate([y[val] for _, val in splits])
    row = next(
        r
        for r in choice.table
        if (r["kind"], r["c"], r["longest"]) == (choice.kind, choice.c, choice.longest)
    )
    assert row["val_acc"] == pytest.approx(float(np.mean(pooled.argmax(1) == yv)))
    assert row["val_acc"] == max(r["val_acc"] for r in choice.table)
    with pytest.raises(ValueError, match="at least one"):
        choose_linear(counts, [], y, ["bad", "good"])


def test_a_version_1_linear_model_still_loads(tmp_path):
    texts = ["good fun", "dull slow", "good plot", "slow dull plot"]
    # version 1 held word 1-2-grams and said nothing of their length
    model = fit_linear(NgramCounts.build(texts, longest=2), np.arange(4), np.array([1, 0, 1, 0]), ["n", "p"],
                       kind="tfidf", c=4.0)  # fmt: skip
    model.save(tmp_path)
    config = json.loads((tmp_path / "linear.json").read_text())
    for key in ("char_from", "char_range", "ngram_range"):
        del config[key]
    config["format_version"] = 1
    (tmp_path / "linear.json").write_text(json.dumps(config))
    loaded = LinearTextModel.load(tmp_path)
    assert loaded.char_from is None and loaded.longest == 2
    np.testing.assert_array_equal(loaded.predict_proba(texts), model.predict_proba(texts))


def test_multiclass_choice_and_weight_grid():
    texts = [f"{w} {w} thing {i}" for i in range(10) for w in ("red", "green", "blue")]
    y = np.array([0, 1, 2] * 10)
    counts = NgramCounts.build(texts)
    kind, c, chars, longest, table, _ = choose_linear(
        counts, [(np.arange(21), np.arange(21, 30))], y, ["b", "g", "r"]
    )
    assert kind == "tfidf" and {r["kind"] for r in table} == {"tfidf"} and len(table) == 2 * len(C_GRID)
    assert {r["longest"] for r in table} == {2, 3}
    assert chars is False and {r["chars"] for r in table} == {False}  # no character n-grams counted
    assert max(r["val_acc"] for r in table) == 1.0
    rnn = np.full((9, 3), 1 / 3)
    lin = np.eye(3)[y[21:]]
    weight, weights = choose_weight(y[21:], rnn, lin)
    assert weight > 0 and len(weights) == 11 and weights[0]["weight"] == 0.0  # the uninformative RNN loses


def test_linear_ensemble_weighs_on_validation_and_every_reader_uses_the_weight(tmp_path, data):
    path, texts, _ = data
    out = tmp_path / "best"
    result = train(TrainOptions(data=str(path), ensemble=2, linear=True, seed=4, **TINY), out, verbose=0)
    assert result.status == "complete"
    config = json.loads((out / "config.json").read_text())
    linear = config["linear"]
    assert 0.0 <= linear["weight"] <= 1.0 and linear["kind"] in ("tfidf", "nb") and linear["c"] > 0
    assert len(linear["weights_table"]) == 11 and linear["features_table"]
    assert (out / "linear" / "linear.safetensors").is_file() and (out / "linear" / "ngrams.json").is_file()

    predictor = textrnn.load(out)
    assert isinstance(predictor, EnsemblePredictor) and predictor.linear_weight == linear["weight"]
    sample = texts[:12]
    w = linear["weight"]
    expected = (1 - w) * np.mean([m.predict_proba(sample) for m in predictor.members], axis=0)
    expected += w * predictor.linear.predict_proba(sample)
    np.testing.assert_allclose(predictor.predict_proba(sample), expected, rtol=1e-5, atol=1e-6)

    recorded = json.loads((out / "metrics.json").read_text())
    assert set(recorded["parts"]) == {"rnn", "linear"}
    # the baseline is fitted once, with the first member, and the ensemble reports it
    first, second = (json.loads((out / "members" / m / "metrics.json").read_text()) for m in ("1", "2"))
    assert "baseline" in first and "baseline" not in second
    assert recorded["baseline"]["accuracy"] == first["baseline"]["accuracy"]
    assert not (out / "members" / "2" / "baseline_predictions.csv").exists()
    again = evaluate_run(out)
    assert again["samples"] == recorded["samples"] and again["accuracy"] == pytest.approx(
        recorded["accuracy"]
    )
    compared = CliRunner().invoke(app, ["compare", str(out), "--json"])
    assert compared.exit_code == 0, compared.stderr
    row = json.loads(compared.stdout)[0]
    assert row["test_acc"] == recorded["accuracy"] and row["model"].endswith(" + linear n-grams")


def test_best_preset_has_the_linear_model_and_linear_needs_validation():
    assert PRESETS["best"]["linear"] is True and PRESETS["tutorial"]["linear"] is False
    with pytest.raises(ValueError, match="--validation-split"):
        TrainOptions(linear=True, validation_split=0.0, monitor="loss")
