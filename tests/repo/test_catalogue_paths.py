"""The catalogue's context detectors searched only near their names give exactly what the plain
searches give: ``_context_matches`` against the regex run over every window, ``_near_words``
against ``_near`` word by word, on generated texts (names in any case and separator, values at the
edges of the context window, words that overlap themselves, lines of filler)."""

from __future__ import annotations

import random

import pytest

from nhiscan.sources.repo.detectors import (
    _CONTEXT_WINDOW,
    CatalogueScanner,
    Detector,
    _Lines,
    _value_lengths,
    _windows,
    load_detectors,
)

DETECTORS = load_detectors()
# Context detectors picked by their names (value lengths unknown) and by their values' lengths.
BY_NAME = [d for d in DETECTORS if d.names and _value_lengths(d) is None]
BY_VALUE = [d for d in DETECTORS if d.names and _value_lengths(d) is not None]
SCANNER = CatalogueScanner()


def _spellings(name: str, rng: random.Random) -> str:
    out = []
    for c in name:
        if c in "_-":
            out.append(rng.choice(["_", "-", ".", "", c]))
        else:
            out.append(c.upper() if rng.random() < 0.3 else c)
    return "".join(out)


def _value(det: Detector, rng: random.Random) -> str:
    positives = [e.value for e in det.examples if e.positive]
    return rng.choice(positives) if positives else "A" * 40


def _text(det: Detector, rng: random.Random) -> str:
    parts: list[str] = []
    for _ in range(rng.randint(3, 40)):
        roll = rng.random()
        if roll < 0.3:
            name = _spellings(rng.choice(det.names), rng)
            sep = rng.choice([" = ", ": ", '": "', "=", " := ", "\n", " " * rng.randint(0, 140)])
            parts.append(f"{name}{sep}{_value(det, rng)}")
        elif roll < 0.5:
            parts.append(_value(det, rng))  # a value with no name before it
        elif roll < 0.6:
            parts.append("x" * rng.randint(0, 2 * _CONTEXT_WINDOW))  # around the window's edge
        elif roll < 0.7:
            parts.append(rng.choice(["abab" * 10, "Aa1" * 14, "z" * 33]))  # self-overlapping words
        else:
            parts.append(
                rng.choice(['{"Documentation": "a b c"}', "key", "session", "\n", "secret", ",", "/"])
            )
        parts.append(rng.choice(["", " ", "\n", '"', "'", ".", "/"]))
    return "".join(parts)


@pytest.mark.parametrize("det", BY_NAME, ids=lambda d: d.id)
def test_context_matches_equal_the_plain_window_search(det: Detector) -> None:
    rng = random.Random(det.id)
    for _ in range(60):
        text = _text(det, rng)
        low = text.lower()
        stems = [(s, True) for s in SCANNER._stems[det.id]]
        windows = _windows(text, low, stems)
        lines = _Lines(text)
        plain = [h for lo, hi in windows for h in SCANNER._matches(det, text, lo, hi, lines)]
        fast = list(SCANNER._context_matches(det, text, low, windows, lines))
        assert fast == plain, text


@pytest.mark.parametrize("det", BY_VALUE, ids=lambda d: d.id)
def test_near_words_equal_the_plain_word_search(det: Detector) -> None:
    rng = random.Random(det.id)
    for _ in range(60):
        text = _text(det, rng)
        lengths = set(_value_lengths(det) or ())
        words = {w for w in text.replace('"', " ").replace("\n", " ").split() if len(w) in lengths}
        words |= {_value(det, rng)}
        lines = _Lines(text)
        plain = [h for w in words for h in SCANNER._near(det, w, text, lines)]
        fast = list(SCANNER._near_words(det, words, text, text.lower(), lines))
        assert fast == plain, text


def test_a_name_spelled_with_a_long_s_is_still_found() -> None:
    # "\u017f" matches "s" in the regex's case-insensitive names, and lower-casing keeps it: the scan
    # then searches the windows in full, as before.
    det = next(d for d in DETECTORS if d.id == "aws-session-token")
    value = _value(det, random.Random(0))
    text = f"aws_session_token = {value}\n\u017fessiontoken = {value}\n"
    hits = [(h.detector.id, h.line) for h in SCANNER.scan(text) if h.detector.id == det.id]
    plain = [
        (h.detector.id, h.line)
        for lo, hi in _windows(text, text.lower(), [(s, True) for s in SCANNER._stems[det.id]])
        for h in SCANNER._matches(det, text, lo, hi, _Lines(text))
    ]
    assert hits == plain
    assert hits == [(det.id, 1), (det.id, 2)]
