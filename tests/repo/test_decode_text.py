"""decode_text: UTF-8 and legacy 8-bit text files are scanned, binaries are not."""

from __future__ import annotations

import random

from nhiscan.sources.repo.walker import decode_text


def test_utf8_and_latin1_text_are_read_line_for_line() -> None:
    assert decode_text("caf\u00e9\nT=1\n".encode()) == "caf\u00e9\nT=1\n"
    latin = b"# d\xe9ploiement\nTOKEN=abc\n"
    text = decode_text(latin)
    assert text is not None and text.splitlines()[1] == "TOKEN=abc"


def test_binaries_are_skipped() -> None:
    rng = random.Random(7)
    noise = bytes(rng.randrange(1, 256) for _ in range(4096))  # no NUL, still binary
    assert decode_text(noise) is None
    assert decode_text(b"PK\x03\x04\x00\x00") is None
    assert decode_text(bytes(range(128, 256)) * 4) is None


def test_utf16_with_a_byte_order_mark_is_text() -> None:
    script = '$env:GH_TOKEN = "ghp_x"\r\nWrite-Host "d\u00e9ploy\u00e9"\r\n'
    assert decode_text(script.encode("utf-16")) == script
    assert decode_text(b"\xff\xfe\x00\xd8") is None  # a lone surrogate: not text
