"""Patterns of the CI checks that used to retry from every occurrence (quadratic on a long line):
their linear replacements find exactly what the original regexes found."""

from __future__ import annotations

import random
import re
import time

from nhiscan.sources.repo import ci_other
from nhiscan.sources.repo.ci_github import secret_refs

ORIGINAL_SECRET_EXPR = re.compile(
    r"\$\{\{[^}]*\bsecrets\s*(\.\s*([A-Za-z0-9_-]+)|\[\s*['\"]([^'\"]+)['\"]\s*\])", re.I
)
ORIGINAL_LOGIN = re.compile(r"\blogin\b.*?\s(?:-p|--password)[=\s]+(\"[^\"]+\"|'[^']+'|[^\s'\"]+)")

SECRET_PIECES = [
    "${{",
    "}}",
    "}",
    " ",
    "secrets",
    "SECRETS",
    ".",
    "TOKEN",
    "['",
    "']",
    '["',
    '"]',
    "x",
    "_secrets",
]
LOGIN_PIECES = ["login", " ", "-p", "--password", "=", "pw", "'", '"', "xlogin", "-", "p"]


def _lines(pieces: list[str], seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 30))) for _ in range(20000)]


def test_secret_refs_find_what_the_regex_found() -> None:
    for line in _lines(SECRET_PIECES, 1):
        expected = [(m.group(2), m.group(3)) for m in ORIGINAL_SECRET_EXPR.finditer(line)]
        assert [(m.group(2), m.group(3)) for m in secret_refs(line)] == expected, line


def test_login_password_finds_what_the_regex_found() -> None:
    for line in _lines(LOGIN_PIECES, 2):
        m = ORIGINAL_LOGIN.search(line)
        first = ci_other._LOGIN.search(line)
        ours = ci_other._PASSWORD_FLAG.search(line, first.end()) if first else None
        assert (ours.group(1) if ours else None) == (m.group(1) if m else None), line


def test_long_lines_cost_little() -> None:
    started = time.perf_counter()
    assert list(secret_refs("${{ " * 50_000)) == []
    first = ci_other._LOGIN.search("login " * 50_000)
    assert first is not None and ci_other._PASSWORD_FLAG.search("login " * 50_000, first.end()) is None
    assert time.perf_counter() - started < 2
