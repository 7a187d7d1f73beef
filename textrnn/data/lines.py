"""One text per line, from a file or stdin: split on "\\n" (and "\\r\\n") only, UTF-8 strictly.

`str.splitlines` also splits on form feed, vertical tab, NEL, U+2028/U+2029 and a lone "\\r", which
turns one text holding such a character into several predictions; and reading stdin as text with
the locale's error handler lets invalid UTF-8 through to `--json`. These helpers do neither.
"""

from __future__ import annotations

from collections.abc import Iterable

from textrnn.errors import DatasetError


def split_lines(raw: bytes, source: str) -> list[str]:
    """The non-blank lines of `raw` (UTF-8, an optional BOM), split on b"\\n" with "\\r\\n" allowed.

    Raises:
        DatasetError: naming `source` and the line number of the first byte that is not UTF-8.
    """
    return read_lines(_byte_lines(raw), source)


def _byte_lines(raw: bytes) -> list[bytes]:
    parts = raw.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    return parts


def read_lines(lines: Iterable[bytes], source: str) -> list[str]:
    """Decode byte lines (as read from a binary stream, with or without their b"\\n") strictly.

    Blank lines are skipped; one "\\r" before the "\\n" is dropped; a UTF-8 BOM at the start is
    ignored.

    Raises:
        DatasetError: naming `source` and the line number of the first line that is not UTF-8.
    """
    out: list[str] = []
    for number, line in enumerate(lines, start=1):
        if line.endswith(b"\n"):
            line = line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise DatasetError(
                f"{source} line {number} is not valid UTF-8. Re-save the text as UTF-8."
            ) from None
        if text.strip():
            out.append(text)
    return out
