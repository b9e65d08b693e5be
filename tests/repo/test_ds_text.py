"""split_lines reads a text as a file's readlines() would, by index and by slice."""

from __future__ import annotations

import io
import random

import pytest

from nhiscan.sources.repo.ds_text import split_lines


def test_split_lines_is_readlines() -> None:
    rng = random.Random(7)
    texts = ["", "a", "a\n", "a\nb", "a\n\nb\n", "\n", "\n\n", "x\r\ny\rz", "\r\n"]
    texts += ["".join(rng.choice("ab\n\r") for _ in range(rng.randint(0, 30))) for _ in range(300)]
    for text in texts:
        want = io.StringIO(text, newline=None).readlines()
        got = split_lines(text)
        assert len(got) == len(want), text
        assert [got[i] for i in range(len(got))] == want, text
        assert list(got) == want, text
        for _ in range(5):
            a, b = rng.randint(-3, len(want) + 3), rng.randint(-3, len(want) + 3)
            assert got[a:b] == want[a:b], (text, a, b)
        if want:
            assert got[-1] == want[-1]
        with pytest.raises(IndexError):
            got[len(want)]
