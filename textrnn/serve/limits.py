"""What the server accepts: its limits, and the checks of a request's texts."""

from __future__ import annotations

from dataclasses import dataclass

from textrnn.preprocessing.text import tokenize


@dataclass(frozen=True)
class Limits:
    """The server's limits and micro-batching settings.

    Args:
        max_texts: texts per request (more: 422).
        max_chars: characters per text (more: 422).
        max_body_bytes: bytes of a request body (more: 413).
        batch_texts: most texts gathered into one forward pass.
        batch_wait_ms: how long the first request of a batch waits for others to join it.
    """

    max_texts: int = 1000
    max_chars: int = 50_000
    max_body_bytes: int = 4 * 1024 * 1024
    batch_texts: int = 1024
    batch_wait_ms: float = 5.0


class InputError(ValueError):
    """A request the server refuses: answered with `status` and a one-line `message`."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def check_text(text: str, where: str, limits: Limits) -> None:
    """Raise `InputError` naming `where` if `text` is not something the model can read."""
    if len(text) > limits.max_chars:
        raise InputError(f"{where} has {len(text):,} characters; the limit is {limits.max_chars:,} per text.")
    if "\x00" in text:
        raise InputError(f"{where} contains a NUL character (\\u0000): remove it.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InputError(
            f"{where} contains a lone surrogate (\\u{ord(text[e.start]):04x}) "
            f"at character {e.start}: "
            "it is not valid Unicode text."
        ) from None
    if not text.strip():
        raise InputError(f"{where} is empty: send some words.")
    if not tokenize(text):
        raise InputError(f"{where} has no words (only punctuation or symbols): send some words.")


def check_texts(texts: list[str], limits: Limits) -> None:
    """Raise `InputError` for an empty list, too many texts, or a bad text."""
    if not texts:
        raise InputError('`texts` is empty: send at least one text, e.g. {"texts": ["A fine film."]}.')
    if len(texts) > limits.max_texts:
        raise InputError(
            f"`texts` holds {len(texts):,} texts; the limit is {limits.max_texts:,} per request."
        )
    for i, t in enumerate(texts):
        check_text(t, f"`texts[{i}]`", limits)
