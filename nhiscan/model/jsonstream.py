"""JSON documents written as they are encoded: one record at a time, never one giant string.

A scan result of 100,000 identities is about 300 MB of JSON. Building it as one dict tree and
then one string held the tree, the pieces and the string at once (more than the inventory itself);
``iter_document`` yields the same text in pieces, encoding each record (an identity, a finding)
only when the writer asks for it, so what a write costs is one record and one buffer.

The layout is the one ``dumps_document`` always wrote (tests/test_json_layout.py): indented down
to ``depth``, each value below it on one line, through the C encoder of the standard library
(``json``). Its output is kept byte for byte: ``ensure_ascii`` escapes every non-ASCII character
(lone surrogates included), which JSON readers and terminals downstream rely on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

# How much text a writer gathers before one write(2): large enough that the calls cost nothing,
# small enough that the buffer is nothing next to the report.
CHUNK_CHARS = 1 << 20


class Lazy:
    """A list value produced on demand (``iter_document`` encodes its items one at a time)."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items


class Encoded(str):
    """A value already encoded as JSON text (in the compact form ``iter_document`` writes it):
    written as it is."""

    __slots__ = ()


COMPACT = json.JSONEncoder(ensure_ascii=True, separators=(", ", ": ")).encode


def iter_document(doc: Any, *, depth: int = 2, ensure_ascii: bool = True) -> Iterator[str]:
    """The text ``dumps_document(doc)`` returns, in pieces. ``doc`` is a dict (or list) whose
    values may be ``Lazy`` lists; every other value is encoded as it is."""
    compact = json.JSONEncoder(ensure_ascii=ensure_ascii, separators=(", ", ": ")).encode

    def encode(value: Any, level: int) -> Iterator[str]:
        if isinstance(value, Encoded):
            yield value
            return
        if isinstance(value, Lazy):
            items = iter(value.items)
            first = next(items, _END)
            if first is _END:
                yield "[]"
                return
            if level >= depth:
                yield compact(_plain([first, *items]))
                return
            pad = "  " * (level + 1)
            yield "[\n" + pad
            yield from encode(first, level + 1)
            for item in items:
                yield ",\n" + pad
                yield from encode(item, level + 1)
            yield "\n" + "  " * level + "]"
            return
        if level >= depth or not isinstance(value, (dict, list)) or not value:
            try:
                yield compact(value)
            except TypeError:  # a Lazy or Encoded value below ``depth``: encoded as what it stands for
                yield compact(_plain(value))
            return
        pad = "  " * (level + 1)
        if isinstance(value, dict):
            sep = "{\n"
            for k, v in value.items():
                yield f"{sep}{pad}{compact(str(k))}: "
                yield from encode(v, level + 1)
                sep = ",\n"
            yield "\n" + "  " * level + "}"
            return
        sep = "[\n"
        for v in value:
            yield sep + pad
            yield from encode(v, level + 1)
            sep = ",\n"
        yield "\n" + "  " * level + "]"

    yield from encode(doc, 0)
    yield "\n"


_END = object()


def _plain(value: Any) -> Any:
    """``value`` with its ``Lazy`` lists made lists and ``Encoded`` texts decoded."""
    if isinstance(value, Encoded):
        return json.loads(value)
    if isinstance(value, Lazy):
        return [_plain(v) for v in value.items]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def chunked(pieces: Iterable[str], size: int = CHUNK_CHARS) -> Iterator[str]:
    """The pieces joined into strings of about ``size`` characters (fewer, larger writes)."""
    buf: list[str] = []
    held = 0
    for piece in pieces:
        buf.append(piece)
        held += len(piece)
        if held >= size:
            yield "".join(buf)
            buf.clear()
            held = 0
    if buf:
        yield "".join(buf)


def dumps_document(doc: Any, *, depth: int = 2, ensure_ascii: bool = True) -> str:
    """JSON text laid out for people and fast to write: indented down to ``depth``, each value
    below it (an identity, a finding, a SARIF result) on one line.

    ``json.dumps(indent=...)`` runs the pure-Python encoder and is most of the time of a large
    scan; here everything below ``depth`` goes through the C encoder. Parsing gives back ``doc``.
    """
    return "".join(iter_document(doc, depth=depth, ensure_ascii=ensure_ascii))
