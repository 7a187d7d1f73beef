"""A textrnn classifier exported to ONNX, used on raw text with numpy and onnxruntime only.

`textrnn export RUN --format onnx --out DIR` writes `model.onnx`, `vocabulary.json`,
`preprocessing.json` and a copy of this file as `predict.py`. This module imports nothing from
textrnn or torch, so the folder works on its own:

    python DIR/predict.py "A wonderful film." "Dull and far too long."

or from Python (`from predict import OnnxPredictor` beside the model, or
`textrnn.onnx_predictor` where textrnn is installed):

    predictor = OnnxPredictor("DIR")
    predictor.predict(["A wonderful film."])[0].label   # 'pos'

The tokenisation is textrnn's (`textrnn.preprocessing.text.tokenize`, version "textrnn-imdb-1")
written again in plain Python from the rules in `preprocessing.json`: every `<br />` tag becomes a
space, the text is lower-cased, each character of `filters` becomes a space, and the text is split
on spaces with empty strings dropped. Words become Keras's IMDB indices (rank + `index_from`,
`start_char` first, `oov_char` for unknown words, the `skip_top <= index < num_words` window),
then are padded and truncated to `maxlen` as in training.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MODEL = "model.onnx"
VOCABULARY = "vocabulary.json"
PREPROCESSING = "preprocessing.json"
FORMAT = "textrnn.onnx_classifier"
FORMAT_VERSION = 1
TOKENIZER = "textrnn-imdb-1"
"""The one tokenisation this file implements; a model made with another one is refused."""

BATCH_SIZE = 256


@dataclass(frozen=True)
class Prediction:
    """One text's prediction: the label, its probability, and every class's probability."""

    label: str
    probability: float
    probabilities: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "probability": self.probability,
            "probabilities": dict(self.probabilities),
        }


class Tokenizer:
    """Raw text to the model's integer ids, from `preprocessing.json` and `vocabulary.json`.

    Args:
        rules: the `"tokenizer"` entry of `preprocessing.json`.
        vocabulary: the contents of `vocabulary.json` (words in rank order and the conventions).
    """

    def __init__(self, rules: dict[str, Any], vocabulary: dict[str, Any]) -> None:
        if rules.get("version") != TOKENIZER or vocabulary.get("tokenizer") != TOKENIZER:
            raise ValueError(
                f"This predictor tokenizes with {TOKENIZER!r}, the model was made with "
                f"{rules.get('version')!r}: export it again with the textrnn that trained it."
            )
        self.lower = bool(rules["lower"])
        self.remove = re.compile(rules["remove"], re.IGNORECASE)
        self.split = str(rules["split"])
        self.table = str.maketrans(dict.fromkeys(str(rules["filters"]), self.split))
        num_words = vocabulary.get("num_words")
        skip_top = int(vocabulary.get("skip_top", 0))
        index_from = int(vocabulary.get("index_from", 3))
        self.oov: int | None = vocabulary.get("oov_char", 2)

        def keep(index: int) -> int | None:  # Keras's window rule
            if skip_top <= index and (num_words is None or index < num_words):
                return index
            return self.oov

        start = vocabulary.get("start_char", 1)
        self.start = None if start is None else keep(int(start))
        self.ids = {w: keep(r + index_from) for r, w in enumerate(vocabulary["words"], start=1)}

    def tokenize(self, text: str) -> list[str]:
        """The words of `text`, as `textrnn.preprocessing.text.tokenize` splits them."""
        if not isinstance(text, str):
            raise TypeError(f"Expected a text (str), got {type(text).__name__}.")
        if self.lower:
            text = text.lower()
        text = self.remove.sub(" ", text).translate(self.table)
        return [w for w in text.split(self.split) if w]

    def encode(self, text: str) -> list[int]:
        """The ids of one text: `start_char`, then one id per word (unknown words: `oov_char`)."""
        get = self.ids.get
        ids = [get(w, self.oov) for w in self.tokenize(text)]
        out = [i for i in ids if i is not None]
        return out if self.start is None else [self.start, *out]


def pad(sequences: Sequence[Sequence[int]], maxlen: int, padding: str, truncating: str) -> np.ndarray:
    """`(len(sequences), maxlen)` int64 ids, padded with 0 and truncated as `pad_sequences`."""
    x = np.zeros((len(sequences), maxlen), dtype=np.int64)
    for row, seq in enumerate(sequences):
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        if not kept:
            continue
        if padding == "pre":
            x[row, maxlen - len(kept) :] = kept
        else:
            x[row, : len(kept)] = kept
    return x


class OnnxPredictor:
    """An exported textrnn classifier on raw text: `predict(texts)` and `predict_proba(texts)`.

    Args:
        path: the folder `textrnn export` wrote (model.onnx, vocabulary.json, preprocessing.json).
        threads: onnxruntime's intra-op threads; default: its own choice (all cores).
        spin: let onnxruntime's threads spin while they wait for work (onnxruntime's own
            default). Off by default: on a machine shared with other processes the spinning
            threads take the cores the work needs (1.7x slower for the tutorial LSTM on a busy
            2-core machine); on an idle machine spinning may be a little faster.

    Raises:
        FileNotFoundError: if a file of the export is missing.
        ValueError: if the folder is not a textrnn ONNX export this file can read.

    Example:
        >>> predictor = OnnxPredictor("runs/imdb/onnx")
        >>> predictor.predict_proba(["A wonderful film."]).shape
        (1, 2)
    """

    def __init__(self, path: str | Path, *, threads: int | None = None, spin: bool = False) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        for name in (MODEL, VOCABULARY, PREPROCESSING):
            if not (self.path / name).is_file():
                raise FileNotFoundError(
                    f"`{self.path / name}` is missing: pass the folder `textrnn export` wrote."
                )
        meta = json.loads((self.path / PREPROCESSING).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT or int(meta.get("format_version", 0)) > FORMAT_VERSION:
            raise ValueError(f"`{self.path / PREPROCESSING}` is not a textrnn ONNX export it can read.")
        vocabulary = json.loads((self.path / VOCABULARY).read_text(encoding="utf-8"))
        self.tokenizer = Tokenizer(meta["tokenizer"], vocabulary)
        self.label_names = [str(n) for n in meta["label_names"]]
        self.maxlen = int(meta["maxlen"])
        self.padding = str(meta["padding"])
        self.truncating = str(meta["truncating"])
        # With mask_zero the padding columns can be cut off a batch without changing the numbers.
        self.trim = bool(meta.get("trim_padding", False))
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = int(threads)
        if not spin:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            str(self.path / MODEL), options, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Raw texts → `(samples, maxlen)` int64 ids, exactly as the PyTorch `Predictor` does."""
        texts = _check_texts(texts)
        seqs = [self.tokenizer.encode(t) for t in texts]
        return pad(seqs, self.maxlen, self.padding, self.truncating)

    def predict_ids(self, x: np.ndarray, batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Class probabilities `(samples, classes)` of padded ids (as `encode` makes them)."""
        x = np.asarray(x, dtype=np.int64)
        out = np.empty((len(x), len(self.label_names)), dtype=np.float32)
        order = np.argsort((x != 0).sum(axis=1), kind="stable") if self.trim else np.arange(len(x))
        for start in range(0, len(x), batch_size):
            rows = order[start : start + batch_size]
            batch = x[rows]
            if self.trim:
                used = np.flatnonzero(batch.any(axis=0))
                if used.size:
                    batch = batch[:, used[0] : used[-1] + 1]
                else:
                    batch = batch[:, :1]
            out[rows] = self.session.run(None, {self.input_name: np.ascontiguousarray(batch)})[0]
        return out

    def predict_proba(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Class probabilities, shape `(samples, classes)`, columns in `label_names` order."""
        return self.predict_ids(self.encode(texts), batch_size=batch_size)

    def predict(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> list[Prediction]:
        """The predicted label and every class's probability, one `Prediction` per text."""
        probs = self.predict_proba(texts, batch_size=batch_size)
        names = self.label_names
        return [
            Prediction(names[j], float(row[j]), {n: float(v) for n, v in zip(names, row, strict=True)})
            for row, j in zip(probs, probs.argmax(axis=1), strict=True)
        ]

    def __repr__(self) -> str:
        return f"OnnxPredictor({str(self.path)!r}, labels={self.label_names}, maxlen={self.maxlen})"


def _check_texts(texts: Any) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError("Expected a list of texts, got a single string. Wrap it in a list: `[text]`.")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"Expected every text to be a string, got {type(t).__name__} at position {i}.")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """`python predict.py [DIR] [--json] TEXT...`: one `label<TAB>probability<TAB>text` line each.

    DIR defaults to the folder holding this file when it holds the model.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args
    args = [a for a in args if a != "--json"]
    here = Path(__file__).resolve().parent
    if (here / MODEL).is_file():
        folder = here
    elif args and (Path(args[0]) / MODEL).is_file():
        folder = Path(args.pop(0))
    else:
        print("Error: pass the export folder first: predict.py DIR TEXT...", file=sys.stderr)
        return 2
    texts = args or [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
    if not texts:
        print('Error: no texts to classify: predict.py "text" ...', file=sys.stderr)
        return 2
    try:
        predictions = OnnxPredictor(folder).predict(texts)
    except (OSError, ValueError, TypeError) as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    for text, p in zip(texts, predictions, strict=True):
        if as_json:
            print(json.dumps({"text": text, **p.to_dict()}, ensure_ascii=False))
        else:
            print(f"{p.label}\t{p.probability:.4f}\t{' '.join(text.split())[:80]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
