"""Explanations: occlusion weights, integrated gradients, terminal and HTML output, the CLI."""

import pytest
from typer.testing import CliRunner

import textrnn
from textrnn.cli import app
from textrnn.explain import Explanation, WordWeight, explain
from textrnn.preprocessing.text import tokenize

TEXT = "Wonderful film, excellent and very good, but the plot was a bit awful."


@pytest.fixture(scope="module")
def predictor(tiny_run):
    return textrnn.load(tiny_run)


def test_occlusion_weight_is_the_drop_when_the_word_is_deleted(predictor):
    e = predictor.explain(TEXT)
    tokens = tokenize(TEXT)
    assert [w.word for w in e.words] == tokens and e.method == "occlusion"
    probs = predictor.predict_proba([TEXT])[0]
    j = int(probs.argmax())
    assert e.label == predictor.label_names[j] == "pos"
    assert e.probabilities == pytest.approx(dict(zip(predictor.label_names, probs.tolist(), strict=True)))
    for i in (0, 5, len(tokens) - 1):  # recomputed by hand, one deletion at a time
        without = " ".join(tokens[:i] + tokens[i + 1 :])
        assert e.words[i].weight == pytest.approx(
            probs[j] - predictor.predict_proba([without])[0, j], abs=1e-5
        )
    top = {w.word for w in e.top(3)}
    assert top & {"wonderful", "excellent", "good"}, e.top(3)  # the toy run's positive words
    assert e.words[tokens.index("awful")].weight < 0


def test_integrated_gradients_are_complete(predictor):
    # Completeness: the weights sum to f(text) - f(baseline of padding vectors), up to the
    # Riemann sum's error, which is small for this tiny, smooth model.
    import torch

    pytest.importorskip("captum")
    e = explain(predictor, TEXT, method="integrated_gradients")
    assert len(e.words) == len(tokenize(TEXT)) and e.method == "integrated_gradients"
    x = predictor.encode([TEXT])
    j = predictor.label_names.index(e.label)
    with torch.no_grad():
        base = float(predictor.model(torch.zeros((1, x.shape[1]), dtype=torch.long))[0, 0])
    f_base = base if j == 1 else 1.0 - base
    total = sum(w.weight for w in e.words)
    assert total == pytest.approx(e.probabilities[e.label] - f_base, abs=0.02)


def test_occlusion_deletes_only_the_words_the_model_reads(predictor, monkeypatch):
    # The tiny run keeps the last 40 tokens ("pre" truncation): deleting an earlier word changes
    # nothing, so it gets weight 0 without a forward pass, and the cost stays at most maxlen texts.
    assert predictor.maxlen == 40 and predictor.truncating == "pre"
    text = " ".join(["wonderful excellent good"] * 30) + " awful plot zzzunknown"
    tokens = tokenize(text)
    sizes = []
    real = predictor.predict_proba
    monkeypatch.setattr(predictor, "predict_proba", lambda t: sizes.append(len(t)) or real(t))
    e = predictor.explain(text)
    monkeypatch.undo()
    assert len(e.words) == len(tokens) == 93 and max(sizes) <= 40
    assert all(w.weight == 0.0 for w in e.words[: len(tokens) - 40])
    probs = predictor.predict_proba([text])[0]
    j = int(probs.argmax())
    for i in (0, 10, 60, 92):  # the same as deleting by hand, inside the window or not
        without = " ".join(tokens[:i] + tokens[i + 1 :])
        drop = probs[j] - predictor.predict_proba([without])[0, j]
        assert e.words[i].weight == pytest.approx(drop, abs=1e-5)


def test_an_ensemble_explains_with_the_mean(tiny_ensemble):
    ens = textrnn.load(tiny_ensemble)
    e = ens.explain("good film")
    probs = ens.predict_proba(["good film"])[0]
    j = int(probs.argmax())
    drop_good = probs[j] - ens.predict_proba(["film"])[0, j]
    assert e.words[0].word == "good" and e.words[0].weight == pytest.approx(drop_good, abs=1e-5)
    assert len(explain(ens, "good film", method="integrated_gradients").words) == 2


def test_bad_arguments(predictor):
    with pytest.raises(ValueError, match="argument `method`, expected one of 'occlusion'"):
        predictor.explain("good", method="shap")
    with pytest.raises(TypeError, match="argument `text`, expected a string"):
        predictor.explain(["good"])
    assert predictor.explain("...").words == []


def test_terminal_and_html_output():
    e = Explanation(
        "Good, bad & ugly",
        "pos",
        {"neg": 0.2, "pos": 0.8},
        [WordWeight("good", 0.3), WordWeight("bad", -0.1), WordWeight("ugly", 0.0)],
    )
    plain = e.to_terminal(color=False)
    assert plain == "pos (neg 0.200, pos 0.800)\ngood bad ugly"
    coloured = e.to_terminal()
    assert "\x1b[1;38;5;46mgood\x1b[0m" in coloured and "\x1b[1;38;5;88mbad\x1b[0m" in coloured
    assert coloured.endswith("\x1b[0m ugly")  # a zero weight stays plain
    page = e.to_html()
    assert page.startswith("<!doctype html>") and "<script" not in page and "http" not in page
    assert 'rgba(0,160,60,0.850)" title="+0.3000">good</mark>' in page
    assert 'rgba(220,40,40,0.283)" title="-0.1000">bad</mark>' in page


def test_cli_explain_prints_and_writes_html(tiny_run, tmp_path):
    out = tmp_path / "e.html"
    r = CliRunner().invoke(app, ["explain", str(tiny_run), TEXT, "--html", str(out), "--no-color"])
    assert r.exit_code == 0, r.output
    first, words, top = r.stdout.splitlines()[:3]
    assert first.startswith("pos (neg ") and words == " ".join(tokenize(TEXT)) and top.startswith("top: ")
    assert out.read_text().startswith("<!doctype html>") and "<mark" in out.read_text()
    coloured = CliRunner().invoke(app, ["explain", str(tiny_run), TEXT, "--color"])
    assert "\x1b[1;38;5;" in coloured.stdout


def test_cli_explain_errors_are_one_line(tmp_path):
    r = CliRunner().invoke(app, ["explain", str(tmp_path / "nope"), "good"])
    assert r.exit_code == 1 and r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1
