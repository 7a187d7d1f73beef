"""Why a predictor decided: a weight per word of a text.

Two methods, both on the text as the predictor reads it (its tokenisation, vocabulary and
truncation):

- `"occlusion"` (the default): a word's weight is how much the predicted class's probability
  drops when that one word is deleted from the text. One batched forward pass of `n` texts for
  a text of `n` words; works for single models and ensembles alike, without Captum. Chosen by
  measurement (`benchmarks/explain_faithfulness.py`, `docs/serving.md`): on 200 IMDB test
  reviews, deleting its top-5 words dropped the probability by 0.266 on average, integrated
  gradients' top-5 by 0.246 (5 random words: 0.002), at a similar cost per text on CPU.
- `"integrated_gradients"`: integrated gradients on the embedding layer's output through Captum
  (`pip install captum`), from the padding vector's embedding to the text's, summed over the
  embedding dimensions; an ensemble averages its members' weights.

A positive weight pushed the decision towards the predicted label, a negative one away from it.

Example:
    >>> explanation = textrnn.load("runs/imdb").explain("A wonderful, moving film.")
    >>> explanation.label, [w.word for w in explanation.top(2)]
    ('pos', ['wonderful', 'moving'])
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from textrnn import checks
from textrnn.preprocessing.text import tokenize

if TYPE_CHECKING:
    from textrnn.runs.predictor import Predictor

METHODS = ("occlusion", "integrated_gradients")
IG_STEPS = 32


@dataclass(frozen=True)
class WordWeight:
    """One word of the text and its weight (positive: towards the predicted label)."""

    word: str
    weight: float


@dataclass(frozen=True)
class Explanation:
    """A prediction and the weight of each word of the text, in the text's order.

    Attributes:
        text: the text explained.
        label: the predicted label.
        probabilities: every class name → its probability.
        words: one `WordWeight` per token of `tokenize(text)`.
        method: `"occlusion"` or `"integrated_gradients"`.
    """

    text: str
    label: str
    probabilities: dict[str, float]
    words: list[WordWeight] = field(default_factory=list)
    method: str = "occlusion"

    def top(self, k: int = 5) -> list[WordWeight]:
        """The `k` words that pushed hardest towards the predicted label, strongest first."""
        return sorted(self.words, key=lambda w: -w.weight)[:k]

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "label": self.label,
            "probabilities": dict(self.probabilities),
            "method": self.method,
            "words": [{"word": w.word, "weight": w.weight} for w in self.words],
        }

    def to_terminal(self, color: bool = True) -> str:
        """The words coloured by weight (green towards the label, red away), then the label."""
        scale = _scale(self.words)
        parts = []
        for w in self.words:
            if not color or scale == 0 or abs(w.weight) < 0.05 * scale:
                parts.append(w.word)
                continue
            strength = min(1.0, abs(w.weight) / scale)
            level = 1 + int(strength * 4.999)  # 1..5 of the 256-colour ramps
            code = (22, 28, 34, 40, 46)[level - 1] if w.weight > 0 else (52, 88, 124, 160, 196)[level - 1]
            parts.append(f"\x1b[1;38;5;{code}m{w.word}\x1b[0m")
        probs = ", ".join(f"{k} {v:.3f}" for k, v in self.probabilities.items())
        return f"{self.label} ({probs})\n" + " ".join(parts)

    def to_html(self) -> str:
        """A self-contained HTML page (no scripts, no external files) showing the explanation."""
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{v:.4f}</td></tr>" for k, v in self.probabilities.items()
        )
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>textrnn explanation: {html.escape(self.label)}</title><style>"
            "body{font:16px/1.6 system-ui,sans-serif;max-width:52rem;margin:2rem auto;"
            "padding:0 1rem}"
            "mark{padding:0 .15em;border-radius:.2em}table{border-collapse:collapse}"
            "td{padding:.1rem .8rem .1rem 0}.note{color:#555;font-size:.9em}</style></head><body>"
            f"<h1>Predicted: {html.escape(self.label)}</h1><table>{rows}</table>"
            f"<p>{words_html(self.words)}</p>"
            f'<p class="note">Green words pushed towards <b>{html.escape(self.label)}</b>, '
            "red ones away from it; the stronger the colour, the larger the weight "
            f"({html.escape(self.method)}).</p>"
            "</body></html>\n"
        )


def words_html(words: list[WordWeight]) -> str:
    """The words as `<mark>` elements coloured by weight (also what the web page draws)."""
    scale = _scale(words)
    out = []
    for w in words:
        alpha = 0.0 if scale == 0 else min(1.0, abs(w.weight) / scale)
        rgb = "0,160,60" if w.weight > 0 else "220,40,40"
        out.append(
            f'<mark style="background:rgba({rgb},{alpha * 0.85:.3f})" title="{w.weight:+.4f}">'
            f"{html.escape(w.word)}</mark>"
        )
    return " ".join(out)


def _scale(words: list[WordWeight]) -> float:
    return max((abs(w.weight) for w in words), default=0.0)


def explain(predictor: Predictor, text: str, method: str = "occlusion") -> Explanation:
    """The weight of each word of `text` for `predictor`'s decision.

    Args:
        predictor: a `Predictor` or `EnsemblePredictor` (what `textrnn.load` returns).
        text: one raw text.
        method: `"occlusion"` (default) or `"integrated_gradients"` (needs Captum).

    Returns:
        An `Explanation`: the label, the probabilities and one `WordWeight` per token.

    Raises:
        TypeError: if `text` is not a string.
        ValueError: for an unknown `method`.
        ImportError: for `"integrated_gradients"` without Captum installed.
    """
    checks.string("text", text, empty=True)
    checks.choice("method", method, METHODS)
    probs = predictor.predict_proba([text])[0]
    best = int(probs.argmax())
    names = predictor.label_names
    tokens = tokenize(text)
    if method == "occlusion":
        weights = occlusion_weights(predictor, tokens, best, float(probs[best]))
    else:
        weights = integrated_gradients_weights(predictor, tokens, best)
    return Explanation(
        text=text,
        label=names[best],
        probabilities={n: float(v) for n, v in zip(names, probs, strict=True)},
        words=[WordWeight(t, float(w)) for t, w in zip(tokens, weights, strict=True)],
        method=method,
    )


def occlusion_weights(predictor: Predictor, tokens: list[str], target: int, p_full: float) -> np.ndarray:
    """Per token: `p_full` minus the target class's probability with that token deleted.

    Only the tokens the model reads are deleted in turn (at most `maxlen` per member): deleting a
    token cut off by truncation, or one the vocabulary drops, leaves the model's input as it was,
    so its weight is exactly 0 without a forward pass.
    """
    out = np.zeros(len(tokens), dtype=np.float32)
    read = _read_tokens(predictor, tokens)
    if not read:
        return out
    # Tokens hold no filter characters, upper case or spaces: joining them re-tokenises exactly.
    variants = [" ".join(tokens[:i] + tokens[i + 1 :]) for i in read]
    p = predictor.predict_proba(variants)[:, target]
    out[read] = p_full - p
    return out


def _encoded(predictor: Predictor, tokens: list[str]) -> tuple[list[int], list[int]]:
    """The token ids the predictor makes of `tokens` before padding, and the token index of each
    (-1 for the start mark); dropped words have no entry."""
    vocab = predictor.vocabulary
    start = 1 if vocab.start_char is not None else 0
    seq: list[int] = []
    where: list[int] = []
    if start:
        seq.append(vocab.encode_tokens([[]])[0][0])
        where.append(-1)
    for i, ids in enumerate(vocab.encode_tokens([[t] for t in tokens])):
        if len(ids) > start:  # else the word is dropped (outside the vocabulary, no oov index)
            seq.append(ids[start])
            where.append(i)
    return seq, where


def _read_tokens(predictor: Predictor, tokens: list[str]) -> list[int]:
    """Indices of the tokens that reach the model after truncation (any member's, for ensembles)."""
    members = getattr(predictor, "members", None)
    if members is not None:
        return sorted(set().union(*(_read_tokens(m, tokens) for m in members)))
    _, where = _encoded(predictor, tokens)
    if len(where) > predictor.maxlen:
        where = where[-predictor.maxlen :] if predictor.truncating == "pre" else where[: predictor.maxlen]
    return [i for i in where if i >= 0]


def integrated_gradients_weights(predictor: Predictor, tokens: list[str], target: int) -> np.ndarray:
    """Per token: integrated gradients of the target class's probability, summed over the
    embedding dimensions."""
    members = getattr(predictor, "members", None)
    if members is not None:
        return np.mean([integrated_gradients_weights(m, tokens, target) for m in members], axis=0)
    import torch

    try:
        from captum.attr import LayerIntegratedGradients
    except ImportError:
        raise ImportError(
            "method='integrated_gradients' needs Captum: `pip install captum` (or use method='occlusion')."
        ) from None
    from textrnn.preprocessing.sequence import pad_sequences

    out = np.zeros(len(tokens), dtype=np.float32)
    if not tokens:
        return out
    seq, where = _encoded(predictor, tokens)
    maxlen, padding, truncating = predictor.maxlen, predictor.padding, predictor.truncating
    x = torch.as_tensor(
        pad_sequences([seq], maxlen, padding=padding, truncating=truncating), dtype=torch.long
    )
    # (1, maxlen) ids; below, the token index of each step (-2: padding)
    pos = pad_sequences([where], maxlen, padding=padding, truncating=truncating, value=-2)[0]

    model = predictor.model
    sigmoid = int(model.output_shape[-1]) == 1

    def forward(ids: torch.Tensor) -> torch.Tensor:
        y = model(ids, training=False)  # (batch, units)
        if sigmoid:
            return y[:, 0] if target == 1 else 1.0 - y[:, 0]
        return y[:, target]

    lig = LayerIntegratedGradients(forward, model.layers[0])
    with torch.enable_grad():
        attributions = lig.attribute(x, baselines=torch.zeros_like(x), n_steps=IG_STEPS)
    per_step = attributions.sum(dim=-1)[0].detach().cpu().numpy()  # (maxlen,)
    for step, i in enumerate(pos):
        if i >= 0:
            out[i] += per_step[step]
    return out


__all__ = ["METHODS", "Explanation", "WordWeight", "explain", "words_html"]
