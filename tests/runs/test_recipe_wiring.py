"""`textrnn train` wiring: the recipe chosen with --data and no preset (--preset auto), the
bag-of-words baseline beside every run, word vectors from a file, the decision threshold, class
weights and the small-class warning."""

from __future__ import annotations

import inspect
import json
import shlex
import struct
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import textrnn
from textrnn.cli import app
from textrnn.data.toy import toy_texts, write_toy_csv
from textrnn.models import Sequential
from textrnn.runs import TrainOptions, open_run, train
from textrnn.runs.auto import choose_options, explicit_names
from textrnn.runs.compare import compare_runs, format_table

SMALL = ["--units", "8", "--embedding-dim", "8", "--epochs", "1", "--batch-size", "32"]


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(result):
    assert result.exit_code == 0, f"{result.stdout}\n{result.stderr}\n{result.exception!r}"
    return result


def config_of(path: Path) -> dict:
    return json.loads((path / "config.json").read_text())


def metrics_of(path: Path) -> dict:
    return json.loads((path / "metrics.json").read_text())


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("wiring")
    texts, labels = toy_texts(60, seed=3)
    return root, write_toy_csv(root / "toy.csv", texts, labels)


@pytest.fixture(scope="module")
def auto_run(toy):
    root, data = toy
    out = root / "auto"
    result = ok(invoke("train", "--data", data, *SMALL, "--seed", "5", "--out", out))
    return out, result.stdout


# ------------------------------------------------------------------------------ the recipe
def test_data_without_preset_chooses_the_recipe_and_prints_it(auto_run):
    out, stdout = auto_run
    assert "Chosen for this data (--preset auto):" in stdout
    assert "maxlen" in stdout and "covers" in stdout
    assert "given on the command line, kept: " in stdout
    config = config_of(out)
    options = config["options"]
    assert options["preset"] == "auto"
    recipe = config["recipe"]
    assert recipe["base_preset"] == "fast" and recipe["reasons"]
    # the recipe's values where nothing was given, the command line's where it was
    assert options["maxlen"] == recipe["options"]["maxlen"]
    assert options["num_words"] == recipe["options"]["num_words"]
    assert options["epochs"] == 1 and options["units"] == 8 and options["batch_size"] == 32
    assert {"epochs", "units", "embedding_dim", "batch_size", "seed"} <= set(recipe["explicit"])
    assert options["rnn"] == "gru"  # from `fast`, which the recipe builds on


def test_the_reproduce_line_gives_the_same_options(auto_run, tmp_path):
    out, _ = auto_run
    config = config_of(out)
    line = shlex.split(config["reproduce"])
    assert line[:2] == ["textrnn", "train"] and "--preset" in line
    assert line[line.index("--preset") + 1] == "auto"
    again = tmp_path / "again"
    args = line[1:]
    args[args.index("--out") + 1] = str(again)
    ok(invoke(*args))
    assert config_of(again)["options"] == config["options"]


def test_resume_keeps_the_chosen_options(auto_run, tmp_path):
    import shutil

    out, _ = auto_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    run = open_run(copy)
    assert run.train_options().preset == "auto"
    assert run.train_options() == TrainOptions.from_dict(config_of(out)["options"])


def test_imdb_default_stays_the_tutorial():
    options = TrainOptions()
    assert options.preset == "tutorial" and options.rnn == "simple_rnn"


def test_python_callers_explicit_options_win(toy):
    _, data = toy
    texts, labels = toy_texts(60, seed=3)
    options = TrainOptions.from_preset("auto", data=str(data), seed=1, maxlen=17)
    assert "maxlen" in explicit_names(options)
    chosen = choose_options(options, texts, labels)
    assert chosen.options.maxlen == 17
    # a value equal to `fast`'s is explicit when the caller says so
    fast_epochs = TrainOptions.from_preset("fast").epochs
    chosen = choose_options(options.replace(epochs=fast_epochs), texts, labels, explicit={"epochs"})
    assert chosen.options.epochs == fast_epochs
    chosen = choose_options(options.replace(epochs=fast_epochs), texts, labels, explicit=set())
    assert chosen.options.epochs == chosen.recipe["options"]["epochs"]


def test_the_linear_model_is_left_out_where_it_cannot_join_and_best_reads_words_alone():
    texts, labels = toy_texts(60, seed=3)
    auto = TrainOptions.from_preset("auto", seed=1)
    chosen = choose_options(auto, texts, labels)
    assert chosen.options.linear and "a linear n-gram model beside the RNN" in chosen.describe
    for options, explicit, why in (
        (auto.replace(validation_split=0.0, monitor="loss"), {"validation_split"}, "without validation data"),
        (auto.replace(threshold="f1"), {"threshold"}, "--threshold is chosen for the RNN alone"),
    ):
        chosen = choose_options(options, texts, labels, explicit=explicit)
        assert not chosen.options.linear and f"no linear n-gram model: {why}" in chosen.describe
        assert "a linear n-gram model beside" not in chosen.describe
    # --linear given: kept, whatever else
    chosen = choose_options(
        auto.replace(threshold="f1", linear=True), texts, labels, explicit={"threshold", "linear"}
    )
    assert chosen.options.linear
    best = choose_options(TrainOptions.from_preset("best", seed=1), texts, labels)
    assert best.options.ngrams == 1 and "words only in the RNNs" in best.describe
    assert not any(r.startswith(("bigram vectors", "words only:")) for r in best.recipe["reasons"])


def test_imbalanced_classes_monitor_macro_f1_and_small_models_use_one_thread():
    texts, labels = toy_texts(40, seed=1)
    keep = [i for i, label in enumerate(labels) if label == "pos"][:8]
    texts = [t for i, t in enumerate(texts) if labels[i] == "neg" or i in keep]
    labels = [lab for i, lab in enumerate(labels) if lab == "neg" or i in keep]
    chosen = choose_options(TrainOptions.from_preset("auto", seed=1), texts, labels)
    assert chosen.options.monitor == "val_macro_f1"
    assert "val_macro_f1" in chosen.describe
    assert chosen.options.threads == 1 and "1 CPU thread" in chosen.describe


def test_macro_f1_monitor_trains_and_picks_the_epoch(toy, tmp_path):
    _, data = toy
    options = TrainOptions.from_preset(
        "fast", data=str(data), units=8, embedding_dim=8, epochs=2, seed=2,
        monitor="val_macro_f1", baseline=False,
    )  # fmt: skip
    result = train(options, tmp_path / "f1", verbose=0)
    assert result.history["monitor"] == "val_macro_f1"
    assert result.history["best_value"] is not None and 0 <= result.history["best_value"] <= 1


# ---------------------------------------------------------------------------- the baseline
def test_baseline_in_metrics_summary_and_compare(auto_run, toy, tmp_path):
    out, stdout = auto_run
    metrics = metrics_of(out)
    baseline = metrics["baseline"]
    assert baseline["model"] == "tfidf-1-2gram-logreg"
    assert 0 <= baseline["accuracy"] <= 1 and baseline["samples"] == metrics["samples"]
    assert baseline["labels"] == metrics["labels"]
    assert "Bag-of-words baseline" in stdout and "this model" in stdout
    rows = open_run(out).baseline_predictions()
    assert rows is not None and rows.probabilities.shape == (metrics["samples"], 2)
    assert np.allclose(rows.probabilities.sum(axis=1), 1.0)
    # a second run on the same split: one baseline row for both
    _, data = toy
    second = tmp_path / "second"
    ok(
        invoke(
            "train",
            "--data",
            data,
            *SMALL,
            "--seed",
            "5",
            "--preset",
            "tutorial",
            "--maxlen",
            "20",
            "--out",
            second,
        )
    )
    table = compare_runs([out, second])
    kinds = [row.get("kind") for row in table]
    assert kinds.count("baseline") == 1 and len(table) == 3
    assert table[-1]["run"] == f"baseline ({out.name})"
    assert table[-1]["test_acc"] == pytest.approx(baseline["accuracy"])
    assert "baseline (" in format_table(table)
    text = ok(invoke("compare", out, second)).stdout
    assert "baseline (" in text and "TF-IDF" in text


def test_no_baseline(toy, tmp_path):
    _, data = toy
    out = tmp_path / "plain"
    result = ok(invoke("train", "--data", data, *SMALL, "--no-baseline", "--out", out))
    assert "baseline" not in metrics_of(out)
    assert "Bag-of-words baseline" not in result.stdout
    assert not (out / "baseline_predictions.csv").exists()
    assert "--no-baseline" in config_of(out)["reproduce"]


def test_summary_line_says_which_is_better():
    from textrnn.runs.result import baseline_line

    line = baseline_line({"accuracy": 0.846, "baseline": {"accuracy": 0.871}})
    assert "baseline 0.8710, this model 0.8460" in line and "try --preset best" in line
    assert "this model is better" in baseline_line({"accuracy": 0.9, "baseline": {"accuracy": 0.8}})


# ----------------------------------------------------------------------------- word vectors
def write_text_vectors(path: Path, words: list[str], dim: int, header: bool) -> dict[str, list]:
    rng = np.random.default_rng(0)
    vectors = {w: [round(float(v), 4) for v in rng.normal(size=dim)] for w in words}
    lines = [f"{len(words)} {dim}"] if header else []
    lines += [w + " " + " ".join(str(v) for v in vec) for w, vec in vectors.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return vectors


def write_binary_vectors(path: Path, words: list[str], dim: int) -> dict[str, list]:
    rng = np.random.default_rng(1)
    vectors = {w: rng.normal(size=dim).astype(np.float32).tolist() for w in words}
    with open(path, "wb") as f:
        f.write(f"{len(words)} {dim}\n".encode())
        for w, vec in vectors.items():
            f.write(w.encode() + b" " + struct.pack(f"<{dim}f", *vec) + b"\n")
    return vectors


@pytest.mark.parametrize("kind", ["glove", "fasttext", "binary"])
def test_word_vectors_from_a_file(toy, tmp_path, kind):
    _, data = toy
    texts, _ = toy_texts(60, seed=3)
    words = sorted({w for t in texts for w in t.lower().split() if w.isalpha()})[:20]
    path = tmp_path / ("vectors.bin" if kind == "binary" else "vectors.txt")
    if kind == "binary":
        vectors = write_binary_vectors(path, words, 8)
    else:
        vectors = write_text_vectors(path, words, 8, header=kind == "fasttext")
    out = tmp_path / "vec"
    result = ok(
        invoke(
            "train",
            "--data",
            data,
            "--preset",
            "tutorial",
            "--units",
            "8",
            "--embedding-dim",
            "8",
            "--epochs",
            "1",
            "--word-vectors",
            path,
            "--freeze-embeddings",
            "--no-baseline",
            "--out",
            out,
        )
    )
    assert f"Word vectors from {path}" in result.stdout and "vocabulary words" in result.stdout
    predictor = textrnn.load(out)
    matrix = predictor.model.layers[0].get_weights()[0]
    assert matrix.shape[0] == predictor.vocabulary.input_dim  # only the vocabulary's rows
    found = 0
    for word, vec in vectors.items():
        index = predictor.vocabulary.encode([word])[0][-1]  # after the start index
        if 2 < index < matrix.shape[0]:
            np.testing.assert_allclose(matrix[index], vec, rtol=1e-4, atol=1e-4)  # frozen
            found += 1
    assert found > 0
    assert config_of(out)["options"]["word_vectors"] == str(path.resolve())


def test_word_vectors_keep_random_and_ppmi_and_refuse_a_wrong_dimension(toy, tmp_path):
    assert TrainOptions(word_vectors="random").word_vectors == "random"
    assert TrainOptions(word_vectors="ppmi").word_vectors == "ppmi"
    _, data = toy
    path = tmp_path / "v.txt"
    write_text_vectors(path, ["good", "bad"], 5, header=False)
    result = invoke(
        "train",
        "--data",
        data,
        "--preset",
        "tutorial",
        "--embedding-dim",
        "8",
        "--epochs",
        "1",
        "--word-vectors",
        path,
        "--out",
        tmp_path / "x",
    )
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("Error: ") and "\n" not in result.stderr.strip()
    assert "--embedding-dim 5" in result.stderr
    missing = invoke(
        "train", "--data", data, "--word-vectors", tmp_path / "nope.vec", "--out", tmp_path / "y"
    )
    assert missing.exit_code == 1 and missing.stderr.strip().startswith("Error: ")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_freeze_embeddings_needs_vectors():
    with pytest.raises(ValueError, match="--freeze-embeddings"):
        TrainOptions(freeze_embeddings=True)


# -------------------------------------------------------------------------------- threshold
def test_threshold_is_stored_and_used(toy, tmp_path):
    _, data = toy
    out = tmp_path / "thr"
    ok(
        invoke(
            "train",
            "--data",
            data,
            "--preset",
            "tutorial",
            "--units",
            "8",
            "--embedding-dim",
            "8",
            "--epochs",
            "1",
            "--threshold",
            "f1",
            "--seed",
            "3",
            "--no-baseline",
            "--out",
            out,
        )
    )
    meta = json.loads((out / "model" / "config.json").read_text())
    threshold = meta["metadata"]["threshold"]
    predictor = textrnn.load(out)
    assert predictor.threshold is not None and 0 <= predictor.threshold <= 1
    assert threshold == pytest.approx(predictor.threshold)
    metrics = metrics_of(out)
    assert metrics["threshold"] == pytest.approx(predictor.threshold)
    texts, labels = toy_texts(20, seed=11)
    probs = predictor.predict_proba(texts)
    labels_at = [predictor.label_names[int(p >= predictor.threshold)] for p in probs[:, 1]]
    assert [p.label for p in predictor.predict(texts)] == labels_at
    evaluated = predictor.evaluate(texts, labels)
    expected = np.mean([a == b for a, b in zip(labels_at, labels, strict=True)])
    assert evaluated["accuracy"] == pytest.approx(expected)
    assert evaluated["threshold"] == pytest.approx(predictor.threshold)


def test_threshold_needs_validation():
    with pytest.raises(ValueError, match="--threshold"):
        TrainOptions(threshold="f1", validation_split=0.0, monitor="loss")


def test_runs_without_a_threshold_use_argmax(auto_run):
    out, _ = auto_run
    predictor = textrnn.load(out)
    assert predictor.threshold is None
    texts, _ = toy_texts(5, seed=12)
    probs = predictor.predict_proba(texts)
    assert [p.label for p in predictor.predict(texts)] == [
        predictor.label_names[int(i)] for i in probs.argmax(axis=1)
    ]


# ----------------------------------------------------------------------- class weights, warns
HAS_CLASS_WEIGHT = "class_weight" in inspect.signature(Sequential.fit).parameters


@pytest.mark.skipif(HAS_CLASS_WEIGHT, reason="fit(class_weight) exists: the error is gone")
def test_class_weight_without_fit_support_is_one_clear_line(toy, tmp_path):
    _, data = toy
    result = invoke("train", "--data", data, "--class-weight", "balanced", "--out", tmp_path / "w")
    assert result.exit_code == 1 and "needs fit(class_weight)" in result.stderr
    assert not (tmp_path / "w").exists()


@pytest.mark.skipif(not HAS_CLASS_WEIGHT, reason="needs fit(class_weight) (merged separately)")
def test_class_weight_balanced_trains(toy, tmp_path):
    _, data = toy
    out = tmp_path / "w"
    ok(invoke("train", "--data", data, *SMALL, "--class-weight", "balanced", "--out", out))
    assert config_of(out)["options"]["class_weight"] == "balanced"


def test_class_weights_are_balanced_over_the_training_rows():
    from textrnn.runs.single import class_weights

    class Data:
        y_train = np.array([0, 0, 0, 1, 0, 1])

    options = TrainOptions(class_weight="balanced", validation_split=1 / 3)
    if HAS_CLASS_WEIGHT:
        expected = {0: 4 / (2 * 3), 1: 4 / (2 * 1)}
        assert class_weights(options, Data()) == expected  # type: ignore[arg-type]
    else:
        with pytest.raises(TypeError, match=r"needs fit\(class_weight\)"):
            class_weights(options, Data())  # type: ignore[arg-type]


def test_small_class_warning_is_printed(tmp_path):
    texts, labels = toy_texts(40, seed=2)
    texts, labels = texts + ["a rare text", "another rare one"], labels + ["rare", "rare"]
    data = write_toy_csv(tmp_path / "rare.csv", texts, labels)
    result = ok(invoke("train", "--data", data, *SMALL, "--no-baseline", "--out", tmp_path / "r"))
    assert "Warning: Class 'rare' has 2 example(s)" in result.stdout


def test_a_class_missing_from_the_training_split_leaves_the_linear_model_out(tmp_path):
    # seed 948411086 puts both texts of 'rare' outside the member's training rows: the linear model
    # cannot learn that class, so the ensemble is the RNN alone, and it still predicts all classes
    texts, labels = toy_texts(40, seed=2)
    texts, labels = texts + ["a rare text", "another rare one"], labels + ["rare", "rare"]
    data = write_toy_csv(tmp_path / "rare.csv", texts, labels)
    run = tmp_path / "r"
    args = ("--data", data, *SMALL, "--no-baseline", "--seed", "948411086", "--out", run)
    result = ok(invoke("train", *args))
    assert "Linear n-gram model left out: class 'rare' has no rows" in result.stdout
    assert not (run / "linear").exists()
    probs = textrnn.load(run).predict_proba(["a rare text"])
    assert probs.shape == (1, 3)
