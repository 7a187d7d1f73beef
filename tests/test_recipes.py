"""The recipe chooser: each choice follows from the data's counts, and the options are valid."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from textrnn.recipes import BASE_PRESET, MAX_MAXLEN, MAX_NUM_WORDS, NUM_WORDS_OFFSET, choose
from textrnn.runs.options import TrainOptions


def corpus(n: int, length: int, vocabulary: int, seed: int = 0, classes: int = 2):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(vocabulary)]
    lengths = rng.integers(1, length + 1, size=n)
    texts = [" ".join(rng.choice(words, size=k)) for k in lengths]
    labels = [str(i % classes) for i in range(n)]
    return texts, labels, lengths


def test_options_are_training_options_and_reasons_are_one_line_each():
    texts, labels, _ = corpus(500, 30, 200)
    recipe = choose(texts, labels)
    options = TrainOptions.from_preset(BASE_PRESET, data="x.csv", **recipe.options)
    for name, value in recipe.options.items():
        assert getattr(options, name) == value
    assert recipe.reasons and all("\n" not in r for r in recipe.reasons)
    assert recipe.describe().splitlines() == recipe.reasons
    assert recipe.to_dict()["options"] == recipe.options
    assert options.mask_zero and options.bucket_by_length and options.early_stopping


def test_maxlen_covers_99_percent_and_says_so():
    texts, labels, lengths = corpus(1000, 60, 300)
    recipe = choose(texts, labels)
    maxlen = recipe.options["maxlen"]
    covered = np.mean(lengths + 1 <= maxlen)  # +1: the start index
    assert covered >= 0.99
    assert np.mean(lengths + 1 <= maxlen - 1) < 0.99 or maxlen == 8
    assert recipe.reasons[0].startswith(f"maxlen {maxlen} covers {covered:.0%} of texts")
    long_texts = [" ".join(["w"] * 2000)] * 10 + ["a b"] * 10
    assert choose(long_texts, ["x", "y"] * 10).options["maxlen"] == MAX_MAXLEN


def test_vocabulary_keeps_words_seen_twice_up_to_the_cap():
    texts = ["a a b c", "a b d", "e f g"] * 1 + ["h i"]
    recipe = choose(texts, ["x", "y", "x", "y"])
    assert recipe.options["num_words"] == 2 + NUM_WORDS_OFFSET  # a, b
    many = [" ".join(f"w{i}" for i in range(j, j + 100)) for j in range(0, 40_000, 100)] * 2
    assert choose(many, ["x", "y"] * 400).options["num_words"] == MAX_NUM_WORDS + NUM_WORDS_OFFSET


def test_bigram_vectors_only_when_bigrams_repeat():
    few_words = corpus(3000, 20, 100)  # 100 words: most of their bigrams repeat
    many_words = corpus(300, 5, 50_000)  # almost no bigram is seen twice
    on = choose(few_words[0], few_words[1])
    off = choose(many_words[0], many_words[1])
    assert on.options["ngrams"] == 2
    assert (
        on.options["ngram_buckets"] >= 2000
        and on.options["ngram_buckets"] & (on.options["ngram_buckets"] - 1) == 0
    )
    assert off.options["ngrams"] == 1
    assert any(r.startswith("words only") for r in off.reasons)


def test_batch_epochs_and_budget_scale_with_data():
    small = choose(*corpus(1000, 10, 100)[:2])
    large = choose(*corpus(20_000, 10, 100)[:2])
    assert small.options["batch_size"] < large.options["batch_size"]
    assert small.options["epochs"] >= large.options["epochs"]
    tight = choose(*corpus(20_000, 10, 100)[:2], time_budget_minutes=0.05)
    assert tight.options["epochs"] < large.options["epochs"]
    assert any("budget" in r for r in tight.reasons)
    assert 0.9 <= small.options["ema"] < 1


def test_imbalance_is_reported():
    texts, _, _ = corpus(500, 10, 100)
    labels = ["spam" if i % 10 == 0 else "ham" for i in range(500)]
    assert any("imbalanced" in r and "macro F1" in r for r in choose(texts, labels).reasons)
    assert not any("imbalanced" in r for r in choose(texts, [str(i % 2) for i in range(500)]).reasons)


def test_bad_input():
    with pytest.raises(ValueError, match="as many labels as texts"):
        choose(["a"], ["x", "y"])
    with pytest.raises(ValueError, match="empty"):
        choose([], [])
    with pytest.raises(ValueError, match="at least 2 classes"):
        choose(["a", "b"], ["x", "x"])
    with pytest.raises(ValueError, match="`time_budget_minutes`"):
        choose(["a", "b"], ["x", "y"], time_budget_minutes=0)


def test_the_reproduce_line_of_auto_spells_every_option_a_recipe_can_choose():
    from textrnn.runs.options import AUTO_CHOSEN, AUTO_PRESET

    texts, labels, _ = corpus(300, 12, 80)
    for n in (300, 60):
        chosen = choose(texts[:n], labels[:n]).options
        assert set(chosen) <= set(AUTO_CHOSEN), set(chosen) - set(AUTO_CHOSEN)
    # a value equal to the base preset's (here `fast`'s epochs) is spelled too: a rerun of the
    # line would otherwise choose anew
    base = TrainOptions.from_preset(BASE_PRESET)
    options = dataclasses.replace(TrainOptions.from_preset(BASE_PRESET, data="d.csv"), preset=AUTO_PRESET)
    line = options.command_line()
    assert f"--epochs {base.epochs}" in line and "--preset auto" in line
