"""TextIndex answers literal tests from a text's distinct runs: same answers as searching the text."""

from __future__ import annotations

import random
import string
import sys

import pytest

from nhiscan.sources.repo import textindex
from nhiscan.sources.repo.textindex import FOLDS_TO_ASCII, RUN_CHARS, TextIndex


def test_folds_to_ascii_is_every_such_character() -> None:
    run = set(RUN_CHARS)
    found = "".join(
        chr(c)
        for c in range(128, sys.maxunicode + 1)
        if not 0xD800 <= c <= 0xDFFF and (set(chr(c).lower()) & run or set(chr(c).casefold()) & run)
    )
    assert found == FOLDS_TO_ASCII


@pytest.mark.parametrize("small", [0, 1 << 20])
def test_contains_agrees_with_substring_search(small: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways (the runs; small texts searched directly) answer as a search of the text would."""
    monkeypatch.setattr(textindex, "SMALL_TEXT", small)
    rng = random.Random(3)
    alphabet = "aAkKeEyY:_-./~+ \n\"'=\u00e9\u212a\u017f\u00df" + string.digits
    literals = ["key", "kEy", "ey", "a:b", "://", "k_e", "ss", "s", "~+", "e\u00e9", "y=", "ke"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        ix = TextIndex(text)
        for lit in literals:
            assert ix.contains(lit, 0) == (lit in text), (text, lit)
            low = lit.lower()
            assert ix.contains(low, 1) == (low in text.lower()), (text, low)
            assert ix.contains(low, 2) == (low in text.casefold()), (text, low)


@pytest.mark.parametrize(
    ("pattern", "inside"),
    [
        (r"AKIA[0-9A-Z]{16}", True),
        (r"\.\d{1,3}\.\d{1,3}\.", True),
        (r"gh[pousr]_[A-Za-z0-9_]{36}|x~+/", True),
        (r"(?:ab|cd)+", True),
        (r":[0-9A-Za-z_-]{35}", False),  # ':' ends a run
        (r"(?<![a-z])[a-z]{24}", False),  # a lookbehind sees past the run
        (r"[^ ]{4}", False),
        (r"a.b", False),
        (r"\w{8}", False),  # any Unicode letter
        (r"(?i:abc)", False),  # 'K' (Kelvin sign) matches 'k'
        (r"x\b", False),
    ],
)
def test_runs_only(pattern: str, inside: bool) -> None:
    assert textindex.runs_only(pattern) is inside


def test_may_match_agrees_with_searching_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """For every gate regex made of run characters only, searching the distinct runs answers
    whether the text matches (always "maybe" for a text that is not ASCII: ``\\d`` matches other
    digits)."""
    from nhiscan.sources.repo.engine import ds_session

    monkeypatch.setattr(textindex, "SMALL_TEXT", 0)
    with ds_session() as scanner:
        regexes = [
            r
            for g in scanner.prefilter.gates
            for (_, r), inside in zip(g.alternatives, g.in_runs, strict=False)
            if inside
        ]
    assert len(regexes) >= 10
    rng = random.Random(5)
    pieces = [
        ".12.7.",
        "AKIA",
        "ABCDEFGHIJKLMNOP",
        "ghp_",
        "a" * 36,
        "SK",
        "-us1",
        "AP1",
        "x" * 8,
        " ",
        "\n",
        ":",
    ]
    for n in range(400):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
        if n % 4 == 0:
            text += "\u0663"  # an Arabic-Indic digit: \d matches it, the runs do not hold it
        elif n % 4 == 1:
            text += "\u2014\u00e9"  # not ASCII, no digit
        ix = TextIndex(text)
        for regex in regexes:
            found = regex.search(text) is not None
            assert ix.may_match(regex) or not found, (regex.pattern, text)
            if "\u0663" not in text:
                assert ix.may_match(regex) == found, (regex.pattern, text)


def test_lower_and_casefold_are_the_texts() -> None:
    """The index's lower-cased and case-folded copies are the text's, whichever characters it holds
    (one copy serves both only where they are equal)."""
    rng = random.Random(11)
    alphabet = "aBcK:_\n \u00e9\u00c9\u2014\u00df\u03a3\u03c3\u212a\u017f\u0130\ufb01\u1e9e\u0663"
    for n in range(500):
        text = "".join(rng.choice(alphabet[: 8 + n % 12]) for _ in range(rng.randint(0, 40)))
        ix = TextIndex(text)
        assert ix.casefold() == text.casefold(), text
        assert ix.lower() == text.lower(), text
        assert ix.others() == "".join(c for c in text if not c.isascii())
