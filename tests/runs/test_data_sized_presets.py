"""The rules that follow from the data (issue 12): the default recipe's linear n-gram model,
`--preset best` sized to the user's data, macro F1 as the linear model's criterion on imbalanced
data, and an ensemble's config keeping the recipe. Small generated data only."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest

from textrnn.data.toy import toy_texts, write_toy_csv
from textrnn.linear import choose_weight, macro_f1
from textrnn.runs import TrainOptions, train
from textrnn.runs.auto import choose_options, chooses_from_data
from textrnn.runs.options import preset_values


def imbalanced(n_neg: int, n_pos: int, seed: int = 0) -> tuple[list[str], list[str]]:
    texts, labels = toy_texts(max(n_neg, n_pos), seed=seed)
    keep, counts = [], {"neg": 0, "pos": 0}
    for i, label in enumerate(labels):
        if counts[label] < {"neg": n_neg, "pos": n_pos}[label]:
            keep.append(i)
            counts[label] += 1
    return [texts[i] for i in keep], [labels[i] for i in keep]


# ------------------------------------------------------------------------- the default recipe
def test_the_default_recipe_adds_the_linear_model_weighted_on_validation():
    texts, labels = toy_texts(60, seed=3)
    chosen = choose_options(TrainOptions.from_preset("auto", seed=1), texts, labels)
    assert chosen.options.linear is True and chosen.options.ensemble == 1
    assert "linear n-gram model" in chosen.describe
    assert chosen.recipe["options"]["linear"] is True


def test_short_texts_let_the_linear_model_try_character_ngrams(monkeypatch):
    from textrnn.runs import auto

    texts, labels = toy_texts(60, seed=3)
    for preset in ("auto", "best"):
        chosen = choose_options(TrainOptions.from_preset(preset, data="my.csv", seed=1), texts, labels)
        assert chosen.options.char_ngrams is True and "character 2-5-grams" in chosen.describe
        typed = choose_options(
            TrainOptions.from_preset(preset, data="my.csv", seed=1), texts, labels, explicit={"char_ngrams"}
        )
        assert typed.options.char_ngrams is False  # --no-char-ngrams typed wins
    monkeypatch.setattr(auto, "CHAR_NGRAMS_MAX_CHARS", sum(len(t) for t in texts) - 1)
    long = choose_options(TrainOptions.from_preset("auto", seed=1), texts, labels)
    assert long.options.char_ngrams is False and "character" not in long.describe
    none = choose_options(TrainOptions.from_preset("auto", seed=1), texts, labels, explicit={"linear"})
    assert none.options.char_ngrams is False  # no linear model, nothing to read them


def test_the_linear_model_gives_way_to_the_caller_to_no_validation_and_to_a_threshold():
    texts, labels = toy_texts(60, seed=3)
    auto = TrainOptions.from_preset("auto", seed=1)
    kept = choose_options(auto, texts, labels, explicit={"linear"})  # --no-linear typed
    assert kept.options.linear is False
    none = choose_options(
        TrainOptions.from_preset("auto", seed=1, validation_split=0.0), texts, labels,
        explicit={"validation_split"},
    )  # fmt: skip
    assert none.options.linear is False and none.options.monitor == "loss"
    assert "without validation data" in none.describe
    threshold = choose_options(auto.replace(threshold="f1"), texts, labels, explicit={"threshold"})
    assert threshold.options.linear is False and "--threshold" in threshold.describe
    nproc = choose_options(auto.replace(nproc=2), texts, labels, explicit={"nproc"})
    assert nproc.options.linear is False and "--nproc" in nproc.describe


# ------------------------------------------------------------------------ best, sized to data
def test_best_is_chosen_from_the_data_only_for_the_users_data():
    assert chooses_from_data(TrainOptions.from_preset("best", data="my.csv", seed=0))
    assert not chooses_from_data(TrainOptions.from_preset("best", seed=0))  # IMDB: as declared
    assert chooses_from_data(TrainOptions.from_preset("auto", seed=0))
    assert not chooses_from_data(TrainOptions.from_preset("fast", data="my.csv", seed=0))


def test_best_takes_the_recipes_sizes_and_keeps_its_model():
    texts, labels = toy_texts(80, seed=4)
    declared = preset_values("best")
    chosen = choose_options(TrainOptions.from_preset("best", data="my.csv", seed=0), texts, labels)
    o = chosen.options
    sizes = chosen.recipe["options"]
    # the data's vocabulary and length, not IMDB's 30,000 words of 400
    assert o.num_words == sizes["num_words"] < declared["num_words"]
    assert o.maxlen == sizes["maxlen"] < declared["maxlen"]
    assert o.epochs == sizes["epochs"] and o.batch_size == sizes["batch_size"]
    # the model stays best's
    for name in ("bidirectional", "embedding_dim", "word_vectors", "ensemble", "linear", "units"):
        assert getattr(o, name) == declared[name], name
    assert o.ngrams == 1 and "the linear model reads the n-grams" in chosen.describe
    assert o.monitor == "val_acc" and "without a higher val_acc" in chosen.describe  # best's own
    assert "--preset best sized to this data" in chosen.describe
    # the caller's values win over the sizes
    given = choose_options(TrainOptions.from_preset("best", data="my.csv", seed=0, maxlen=300), texts, labels)
    assert given.options.maxlen == 300


def test_best_s_rnns_read_words_beside_the_linear_model_and_bigrams_without_it(monkeypatch):
    from textrnn import recipes

    monkeypatch.setattr(recipes, "NGRAM_MIN_REPEATED", 1)  # the toy texts' bigrams pay
    texts, labels = toy_texts(80, seed=4)
    assert recipes.choose(texts, labels).options["ngrams"] == 2
    best = TrainOptions.from_preset("best", data="my.csv", seed=0)
    chosen = choose_options(best, texts, labels)
    assert chosen.options.ngrams == 1 and "bigram vectors" not in chosen.describe
    alone = choose_options(best.replace(linear=False), texts, labels, explicit={"linear"})
    assert alone.options.ngrams == 2 and "bigram vectors" in alone.describe


def test_best_shares_its_time_budget_between_members():
    # long texts: the recipe's epoch estimate is what the budget cuts
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    texts = [" ".join(rng.choice(words, size=300)) for _ in range(400)]
    labels = ["a", "b"] * 200
    options = TrainOptions.from_preset("best", data="my.csv", seed=0, time_budget=0.5)

    def epochs(members: int, **changes) -> int:
        chosen = choose_options(options.replace(ensemble=members, **changes), texts, labels,
                                explicit=set(changes))  # fmt: skip
        return chosen.options.epochs

    assert epochs(1) > epochs(4) >= 1
    # a member reading words alone costs less than one with hashed n-gram rows (without the
    # linear model), so it gets more epochs of the same budget
    assert epochs(1) > epochs(1, linear=False) >= 1


# ---------------------------------------------------------------------------- macro F1 choice
def test_macro_f1_matches_scikit_learn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, size=50)
    probs = rng.random((50, 3))
    expected = f1_score(y, probs.argmax(axis=1), average="macro")
    assert macro_f1(y, probs) == pytest.approx(expected)


def test_the_weight_follows_macro_f1_when_asked():
    # 18 of class 0, 2 of class 1; the RNN finds the rare class, the linear model never does
    y = np.array([0] * 18 + [1] * 2)
    rnn = np.tile([0.6, 0.4], (20, 1))
    rnn[18:] = [0.4, 0.6]  # both rare texts found ...
    rnn[:3] = [0.45, 0.55]  # ... at the cost of three common ones
    linear = np.tile([0.9, 0.1], (20, 1))
    by_acc, _ = choose_weight(y, rnn, linear)
    by_f1, table = choose_weight(y, rnn, linear, by="macro_f1")
    assert by_acc >= 0.5  # accuracy prefers the linear model's all-majority answer
    assert by_f1 < 0.5 and all("val_macro_f1" in row for row in table)
    with pytest.raises(ValueError, match="criterion"):
        choose_weight(y, rnn, linear, by="auc")


# ------------------------------------------------------------------- the run folders it makes
@pytest.fixture(scope="module")
def toy_csv(tmp_path_factory):
    root = tmp_path_factory.mktemp("sized")
    texts, labels = toy_texts(60, seed=3)
    return root, write_toy_csv(root / "toy.csv", texts, labels)


SMALL = {"units": 8, "embedding_dim": 8, "epochs": 1, "batch_size": 32}


@pytest.fixture(scope="module")
def auto_run(toy_csv):
    root, data = toy_csv
    out = root / "auto"
    options = TrainOptions.from_preset("auto", data=str(data), seed=5, **SMALL)
    return out, train(options, out, verbose=0, explicit=set(SMALL) | {"seed"})


def test_a_default_run_is_one_rnn_and_the_linear_model_with_the_recipe_in_its_config(auto_run):
    out, result = auto_run
    config = json.loads((out / "config.json").read_text())
    assert config["recipe"]["options"]["linear"] is True and config["recipe"]["reasons"]
    assert config["linear"]["weight"] is not None and config["linear"]["chosen_by"] == "val_acc"
    assert isinstance(config["linear"]["chars"], bool) and config["recipe"]["options"]["char_ngrams"]
    assert {r["chars"] for r in config["linear"]["features_table"]} == {False, True}
    assert len(config["members"]) == 1
    assert "--preset auto" in config["reproduce"] and "--linear" in shlex.split(config["reproduce"])
    assert result.metrics is not None and "baseline" in result.metrics


def test_best_on_the_users_data_is_an_ensemble_sized_to_it(toy_csv):
    root, data = toy_csv
    out = root / "best"
    options = TrainOptions.from_preset("best", data=str(data), seed=5, ensemble=2, **SMALL)
    train(options, out, verbose=0, explicit={*SMALL, "seed", "ensemble"})
    config = json.loads((out / "config.json").read_text())
    recipe = config["recipe"]
    assert config["options"]["num_words"] == recipe["options"]["num_words"] < 30_000
    assert config["options"]["bidirectional"] is True and len(config["members"]) == 2
    assert "ensemble" in recipe["explicit"]
    member = json.loads((out / "members" / "1" / "config.json").read_text())
    assert member["options"]["maxlen"] == recipe["options"]["maxlen"]


def test_an_imbalanced_default_run_keeps_macro_f1_per_epoch_and_weighs_the_linear_model_by_it(toy_csv):
    root, _ = toy_csv
    texts, labels = imbalanced(60, 12, seed=6)
    data = write_toy_csv(root / "imbalanced.csv", texts, labels)
    out = root / "imbalanced"
    options = TrainOptions.from_preset("auto", data=str(data), seed=5, **{**SMALL, "epochs": 2})
    train(options, out, verbose=0, explicit=set(SMALL) | {"seed", "epochs"})
    config = json.loads((out / "config.json").read_text())
    assert config["options"]["monitor"] == "val_macro_f1"
    assert config["linear"]["chosen_by"] == "val_macro_f1"
    assert all("val_macro_f1" in row for row in config["linear"]["weights_table"])
    member = out / "members" / "1"
    history = json.loads((member / "history.json").read_text())
    f1 = history["val_macro_f1"]
    assert len(f1) == len(history["epochs"]) and all(0 <= v <= 1 for v in f1)
    assert history["best_value"] == max(f1)
    assert (member / "history.csv").read_text().splitlines()[0].endswith(",val_macro_f1")
    from textrnn.runs import open_run

    assert open_run(out).history["val_macro_f1"] == pytest.approx(f1)  # the members' mean


def test_a_run_that_does_not_monitor_macro_f1_has_no_such_column(toy_csv):
    root, data = toy_csv
    options = TrainOptions.from_preset("fast", data=str(data), seed=5, baseline=False, **SMALL)
    result = train(options, root / "plain", verbose=0)
    assert "val_macro_f1" not in result.history
    assert "val_macro_f1" not in (root / "plain" / "history.csv").read_text()


def test_exporting_the_default_run_names_the_member_to_export(auto_run, tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from textrnn.export.onnx import ExportError, export_onnx

    out, _ = auto_run
    with pytest.raises(ExportError, match="members/1.*--no-linear"):
        export_onnx(out, tmp_path / "onnx")
