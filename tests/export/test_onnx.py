"""ONNX export: every supported layer kind against PyTorch, on raw text and on id batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import textrnn  # noqa: E402
from textrnn.export import ExportError, export_onnx  # noqa: E402
from textrnn.layers import (  # noqa: E402
    GRU,
    LSTM,
    Bidirectional,
    Dense,
    Dropout,
    Embedding,
    GlobalAveragePooling1D,
    GlobalMaxAvgPooling1D,
    GlobalMaxPooling1D,
    NGramEmbedding,
    SimpleRNN,
    SpatialDropout1D,
)
from textrnn.models import Sequential  # noqa: E402
from textrnn.onnx_predictor import OnnxPredictor  # noqa: E402
from textrnn.preprocessing.text import Vocabulary  # noqa: E402
from textrnn.runs.predictor import model_metadata  # noqa: E402

TOLERANCE = 1e-5
_WORDS = [f"w{i}" for i in range(60)] + ["don't", "café", "naïve", "ünï", "9", "30"]


def _texts(n: int, seed: int) -> list[str]:
    """Generated reviews: known and unknown words, punctuation, `<br />`, case, lengths 0-40."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        words = [
            _WORDS[i] if i < len(_WORDS) else f"unknown{i}"
            for i in rng.integers(0, len(_WORDS) + 10, rng.integers(0, 40))
        ]
        seps = rng.choice([" ", ", ", "! ", " <br /> ", "...", "\t", " (", ") "], size=len(words))
        text = "".join(
            w.upper() if k % 7 == 3 else w
            for k, w in enumerate(s + w for s, w in zip(seps, words, strict=True))
        )
        out.append(text)
    return out


_VOCAB = Vocabulary.build(_texts(200, 1), max_words=50)


def _save(
    path: Path,
    layers: list,
    maxlen: int = 24,
    labels: tuple[str, ...] = ("neg", "pos"),
    padding: str = "pre",
    truncating: str = "pre",
    vocab: Vocabulary = _VOCAB,
) -> Path:
    torch.manual_seed(0)
    model = Sequential(layers)
    model.build((None, maxlen))
    with torch.no_grad():  # weights far from their (often zero) starts, so every path matters
        for w in model.weights:
            w.add_(torch.randn_like(w) * 0.4)
    model.save(path, metadata=model_metadata(vocab, list(labels), maxlen, padding, truncating))
    return path


V = _VOCAB.input_dim


def _models() -> dict[str, tuple[list, dict]]:
    sig = lambda: Dense(1, activation="sigmoid")  # noqa: E731
    return {
        "simple_rnn_masked": ([Embedding(V, 6, mask_zero=True), SimpleRNN(5), sig()], {}),
        "simple_rnn_relu_nomask": ([Embedding(V, 6), SimpleRNN(5, activation="relu"), sig()], {}),
        "lstm_masked": ([Embedding(V, 6, mask_zero=True), LSTM(5), sig()], {}),
        "lstm_nomask_no_bias": ([Embedding(V, 6), LSTM(5, use_bias=False), sig()], {}),
        "gru_reset_after": ([Embedding(V, 6, mask_zero=True), GRU(5), sig()], {}),
        "gru_reset_before": (
            [Embedding(V, 6, mask_zero=True), GRU(5, reset_after=False), sig()],
            {},
        ),
        "gru_reset_before_nomask": ([Embedding(V, 6), GRU(5, reset_after=False), sig()], {}),
        "stacked_backwards": (
            [
                Embedding(V, 6, mask_zero=True),
                LSTM(5, return_sequences=True),
                SimpleRNN(4, return_sequences=True, go_backwards=True),
                GRU(3, go_backwards=True),
                sig(),
            ],
            {},
        ),
        "bidirectional_concat": (
            [
                Embedding(V, 6, mask_zero=True),
                Bidirectional(LSTM(4, return_sequences=True)),
                Bidirectional(GRU(3)),
                sig(),
            ],
            {},
        ),
        "bidirectional_sum_nomask": (
            [Embedding(V, 6), Bidirectional(GRU(4), merge_mode="sum"), sig()],
            {},
        ),
        "bidirectional_mul": (
            [Embedding(V, 6, mask_zero=True), Bidirectional(SimpleRNN(4), merge_mode="mul"), sig()],
            {},
        ),
        "bidirectional_ave_pooled": (
            [
                Embedding(V, 6, mask_zero=True),
                Bidirectional(GRU(4, reset_after=False, return_sequences=True), merge_mode="ave"),
                GlobalMaxPooling1D(),
                sig(),
            ],
            {},
        ),
        "ngram2": (
            [
                NGramEmbedding(V, 6, ngrams=2, buckets=31, ngram_initializer="uniform", mask_zero=True),
                GRU(4),
                sig(),
            ],
            {},
        ),
        # 5-gram hashes pass 2**63 (1_000_003**4 > 2**63 / 10): ONNX must wrap them as PyTorch does.
        "ngram5_nomask": (
            [
                NGramEmbedding(V, 6, ngrams=5, buckets=97, ngram_initializer="uniform"),
                LSTM(4),
                sig(),
            ],
            {},
        ),
        "dropouts_maxavg_softmax": (
            [
                Embedding(V, 6, mask_zero=True),
                SpatialDropout1D(0.3),
                LSTM(5, return_sequences=True),
                GlobalMaxAvgPooling1D(),
                Dropout(0.5),
                Dense(3, activation="softmax"),
            ],
            {"labels": ("a", "b", "c")},
        ),
        "average_pooling_post": (
            [
                Embedding(V, 6, mask_zero=True),
                SimpleRNN(4, return_sequences=True),
                Dense(4, activation="relu"),
                GlobalAveragePooling1D(),
                sig(),
            ],
            {"padding": "post", "truncating": "post"},
        ),
        "average_pooling_nomask": (
            [Embedding(V, 6), GRU(4, return_sequences=True), GlobalAveragePooling1D(), sig()],
            {},
        ),
    }


@pytest.mark.parametrize("name", sorted(_models()))
def test_onnx_matches_pytorch_on_raw_text(tmp_path: Path, name: str) -> None:
    layers, kwargs = _models()[name]
    run = _save(tmp_path / "model", layers, **kwargs)
    result = export_onnx(run, tmp_path / "onnx")
    assert result.max_abs_diff <= TOLERANCE
    assert result.files == ["model.onnx", "predict.py", "preprocessing.json", "vocabulary.json"]
    torch_predictor = textrnn.load(run)
    onnx_predictor = OnnxPredictor(result.folder, threads=1)
    texts = _texts(150, 2) + ["", "!!!", "w1 " * 80]
    np.testing.assert_array_equal(onnx_predictor.encode(texts), torch_predictor.encode(texts))
    want = torch_predictor.predict_proba(texts)
    if name == "stacked_backwards":
        # A go_backwards layer hands on its reversed sequence with the unreversed mask, so the
        # Predictor's trimmed length buckets change its numbers: compare with the whole rows.
        assert not onnx_predictor.trim
        y = torch_predictor.model.predict(torch_predictor.encode(texts), verbose=0)
        want = np.concatenate([1 - y, y], axis=1)
    got = onnx_predictor.predict_proba(texts, batch_size=32)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= TOLERANCE
    assert [p.label for p in onnx_predictor.predict(texts)] == [
        p.label for p in torch_predictor.predict(texts)
    ]


@pytest.mark.parametrize("name", ["lstm_masked", "bidirectional_concat", "ngram2", "stacked_backwards"])
def test_onnx_graph_on_masks_with_holes_and_any_length(tmp_path: Path, name: str) -> None:
    """Zeros inside rows, empty rows, lengths from 1 to past maxlen: the mask rules hold."""
    import onnxruntime as ort

    layers, kwargs = _models()[name]
    run = _save(tmp_path / "model", layers, **kwargs)
    folder = export_onnx(run, tmp_path / "onnx").folder
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    model = textrnn.load(run).model
    rng = np.random.default_rng(3)
    for steps in (1, 2, 5, 24, 40):
        x = rng.integers(0, V, size=(9, steps))
        x[rng.random(x.shape) < 0.3] = 0
        x[0] = 0
        want = model.predict(x.astype(np.int32), verbose=0)
        got = session.run(None, {"ids": x.astype(np.int64)})[0][:, 1:]
        assert np.abs(got - want).max() <= TOLERANCE, steps


def test_tokenisation_of_tricky_texts_matches_pytorch_ids(tmp_path: Path) -> None:
    vocab = Vocabulary.build(
        ["Great film don't café naïve 9 30 i'd see it again straße ǅ"], num_words=12, skip_top=1
    )
    run = _save(
        tmp_path / "model",
        [Embedding(vocab.input_dim, 4), SimpleRNN(3), Dense(1, activation="sigmoid")],
        maxlen=6,
        vocab=vocab,
    )
    folder = export_onnx(run, tmp_path / "onnx").folder
    tricky = [
        "",
        " ",
        "!!!...",
        "<br />",
        "Great film!<br /><br />I'd see it AGAIN.",
        "GREAT<BR/>film<Br   >café",
        "don't\tstop\nnaïve\r9:30",
        "ÇAFÉ STRASSE Straße ǅ İstanbul",
        "emoji 🎬 film 🎬",
        "a\x00b \ud800 lone",
        "word " * 50,
        "film " * 3 + "great " * 10,
        "«quoted» — dash – café’s",
        "\x1c\x1d\x1e\x1f\x0b\x0c film",
    ]
    want = textrnn.load(run).encode(tricky)
    np.testing.assert_array_equal(OnnxPredictor(folder).encode(tricky), want)


def test_unsupported_layer_is_named_in_one_line(tmp_path: Path) -> None:
    run = _save(
        tmp_path / "model",
        [
            Embedding(V, 4),
            LSTM(3, recurrent_activation="hard_sigmoid"),
            Dense(1, activation="sigmoid"),
        ],
    )
    with pytest.raises(
        ExportError,
        match=r"LSTM `lstm.*` has activation='tanh', recurrent_activation='hard_sigmoid'",
    ):
        export_onnx(run, tmp_path / "onnx")
    assert not (tmp_path / "onnx").exists()


def test_merge_mode_none_is_refused(tmp_path: Path) -> None:
    from textrnn.export.onnx import OnnxGraph

    model = Sequential([Embedding(V, 4), Bidirectional(LSTM(3), merge_mode=None)])
    model.build((None, 5))
    with pytest.raises(ExportError, match="merge_mode=None"):
        OnnxGraph(model, 2)
