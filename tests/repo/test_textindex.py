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
