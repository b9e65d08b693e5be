"""Text from data, made safe to show: one place for every human-readable output.

Names, ids, scopes, paths and messages come from exports, live APIs and repositories, so whoever
registers a multi-tenant app or names a file chooses them. Shown raw, they could drive the terminal
(ANSI CSI/OSC/DCS sequences clear the screen, plant hidden OSC-8 links, retitle the window), reorder
what a reader sees (Unicode bidi overrides and isolates, "Trojan Source") or hide text (zero-width and
other invisible format characters). :func:`printable` shows every such character as a visible escape
(``\\x1b``, ``\\u202e``), so the text stays readable and a reader sees that something odd is there.

The table, Markdown, CSV and `nhiscan rules` views and every stderr line go through it; JSON and
SARIF keep values exactly as read (they are data for programs, and their encoders escape controls).
"""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(c: str) -> str:
    if c in _NAMED:
        return _NAMED[c]
    n = ord(c)
    if n <= 0xFF:
        return f"\\x{n:02x}"
    if n <= 0xFFFF:
        return f"\\u{n:04x}"
    return f"\\U{n:08x}"


def printable(text: str) -> str:
    """``text`` on one line, with nothing a terminal or viewer would act on or hide.

    Escaped: C0 and C1 controls and DEL (so ESC and every escape sequence it starts), line and
    paragraph separators, bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069),
    zero-width and other format characters (Unicode category Cf), non-space separators, private-use
    and unassigned code points: everything :meth:`str.isprintable` refuses, except the plain space.
    Lone surrogates (a file name that is not UTF-8, a ``\\udcff`` escape in JSON) show as the byte
    or code point they stand for, so the result always encodes as UTF-8. Linear in the length.
    """
    if text.isprintable():
        return text
    try:
        # surrogateescape: a POSIX file name's undecodable bytes show as the bytes (bad\xffname.py)
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def printable_or_empty(value: object) -> str:
    """:func:`printable` of ``str(value)``; ``None`` is the empty string."""
    return "" if value is None else printable(str(value))


def printable_lines(text: str) -> str:
    """:func:`printable` of each line, keeping the line breaks (for multi-line plain-text views)."""
    return "\n".join(printable(line) for line in text.split("\n"))
