"""Errors that carry a message meant for the user. The CLI prints it on one line and exits 2."""

from __future__ import annotations

import re


class NhiscanError(Exception):
    """A usage, input or credential problem that stops the whole command."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(NhiscanError):
    """One input (file, account, project) could not be read. Other inputs still get scanned."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.detail = message


# A quoted piece of a parser's or library's message ('...' or "..."): content of the input.
_QUOTED = re.compile(r"""\s*(?:'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")""")
# What may stay quoted: the parser's own token names ('<scalar>', '<block end>'), single
# punctuation characters (']', '=') and escape notations ('\n', '\t').
_KEEP = re.compile(r"""\s*['"](?:<[a-z ]+>|[^\sA-Za-z0-9'"]|\\[a-z]|\\x[0-9a-f]{2})['"]""")


def content_free(message: str) -> str:
    """A library's error message with every quoted piece of the input removed.

    Parsers quote what they stopped at (`found unknown escape character 'q'`, `invalid literal for
    int() with base 10: 'abc'`); on a line holding a secret, those pieces rebuild it. Line and
    column numbers and the library's fixed wording stay.
    """
    return _QUOTED.sub(lambda m: m.group(0) if _KEEP.fullmatch(m.group(0)) else "", message).strip()
