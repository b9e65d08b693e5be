"""detect-secrets' YAML items from one linear scan of the lines, for the YAML that occurs in practice.

:mod:`yaml_values` reproduces detect-secrets' YAML transformer from a libyaml parse of the whole
file. Most YAML is a handful of line shapes, and for those the transformer's items (key, string
value, line of the key) can be read off the lines directly:

* block mappings and sequences (``key: value``, ``- item``, ``- key: value``, a sequence written
  at its parent key's indentation), comment and blank lines, a ``---`` first line;
* values that are plain, single- or double-quoted scalars on their line, with an optional anchor
  (``&name``) or ``!!str`` tag and a trailing comment; block scalars (``|``, ``>``, with ``+``/``-``
  chomping) read with PyYAML's own indentation, folding and chomping rules;
* flow sequences and mappings of scalars written on one line (``[a, "b"]``, ``{k: v, k2: 'w'}``);
* keys plain or quoted, typed by PyYAML's resolver (``on:`` is the boolean true) so a key written
  twice is seen as PyYAML sees it.

A file is scanned this way only if every line is one of these shapes and the indentation nests as
YAML requires; then the file is valid YAML whose items are exactly these. Anything else (a multi-line
plain or quoted scalar, an alias, a merge key, a complex key, other tags, tabs outside block
scalars, a second document, a key written twice, characters YAML rejects) makes :func:`scan`
return None and the caller parses the file instead. The scan costs one pass over the lines with a
few regular expression matches on each: linear in the text, whatever its nesting or line lengths.
"""

from __future__ import annotations

import re
from typing import Any

from nhiscan.sources.repo.yaml_scalars import (
    _ANCHOR,
    _BLOCK_HEADER,
    _DQ_VALUE,
    _KEY,
    _KV,
    _PLAIN_LINE,
    _SQ_VALUE,
    _STR,
    _TAGS,
    _TAIL,
    Item,
    _block_scalar,
    _flow,
    _ident,
    _plain_continued,
    _quoted_lines,
    _scalar_value,
    _tag,
    _Undecided,
    _unescape,
)

# How often each path was taken (the benchmarks report it): the line scan, the parse because the
# line scan could not decide, the parse of a CI or agent config (shared with its checks).
STATS = {"line_scan": 0, "parsed": 0, "config_parsed": 0}

# Characters a YAML reader rejects or reads as a line break other than \n (PyYAML's reader and
# Python's splitlines would then disagree with a split on \n), and the byte-order mark.
_UNDECIDED_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


def scan(text: str) -> list[Item] | None:
    """detect-secrets' YAML items of ``text`` in line order (ties in document order), or None when
    the line scan cannot decide the text."""
    if _UNDECIDED_CHARS.search(text):
        STATS["parsed"] += 1
        return None
    try:
        items = _scan(text.split("\n"))
    except _Undecided:
        STATS["parsed"] += 1
        return None
    STATS["line_scan"] += 1
    return items


def _scan(lines: list[str]) -> list[Item]:
    out: list[Item] = []
    # Open collections, innermost last: [indent, is a mapping, keys seen, a sequence written at its
    # parent key's indentation]
    frames: list[list[Any]] = []
    pending = -1  # indentation of the key or entry whose value may follow on deeper lines
    pending_map = False
    pending_number = 0
    started = False
    ended = False
    rooted = False
    pending_key: str | None = None
    n = len(lines)
    j = 0
    key_match = _KEY.match
    kv_match = _KV.match
    while j < n:
        ln = lines[j]
        number = j + 1
        j += 1
        s = ln.lstrip(" ")
        if not s or s[0] == "#":
            continue
        if "\t" in ln:
            raise _Undecided
        i = len(ln) - len(s)
        if ended:
            raise _Undecided  # content after the document's end: another document
        if i == 0 and s[0] in "-." and s[:3] in ("---", "..."):
            if not _TAIL.fullmatch(s, 3) or (started and s[0] == "-"):
                raise _Undecided
            started = True
            ended = s[0] == "."
            continue
        started = True
        while frames and frames[-1][0] > i:
            frames.pop()
        if pending < 0 and frames and frames[-1][0] == i and frames[-1][1]:
            kv = kv_match(s)
            if kv is not None:
                # the most common line, `key: plain value` in the mapping above, read here
                name, value, comment = kv.groups()
                if len(name) > 1000 or "<<" in (name, value) or value == "=":
                    raise _Undecided
                ident = name if _TAGS.get(name) == _STR else _ident(name, True)
                keys = frames[-1][2]
                if ident in keys:
                    raise _Undecided
                keys[ident] = None
                if comment is None and j < n:
                    nxt = lines[j]
                    if not nxt or (len(nxt) > i and nxt[i] == " " and not nxt[:i].strip(" ")):
                        value, j = _plain_continued(lines, j, value, i)
                tag = _TAGS.get(value)
                if tag == _STR or (tag is None and _tag(value) == _STR):
                    out.append(Item(name, value, number))
                continue
        is_entry = s[0] == "-" and (len(s) == 1 or s[1] == " ")
        key = None if is_entry else key_match(s)
        if pending >= 0 and i > pending and not is_entry and key is None:
            # the value of the key (or entry) above, written on the lines below it
            j = _value(lines, j, s, pending, pending_number, pending_key, out)
            pending = -1
            continue
        if pending >= 0 and (i > pending or (i == pending and pending_map and is_entry)):
            frames.append([i, not is_entry, {}, i == pending])
        elif not frames:
            if rooted:
                raise _Undecided  # a second root node: not one document
            rooted = True
            frames.append([i, not is_entry, {}, False])
        else:
            top = frames[-1]
            if top[0] != i:
                raise _Undecided  # deeper than its collection: a continuation line, or misindented
            if not top[1] and not is_entry:
                if not top[3]:
                    raise _Undecided
                frames.pop()
                if not frames or frames[-1][0] != i or not frames[-1][1]:
                    raise _Undecided
            elif top[1] and is_entry:
                raise _Undecided
        pending = -1
        frame = frames[-1]
        col = i
        if is_entry:
            rest = s[1:].lstrip(" ")
            col = i + len(s) - len(rest)
            if not rest or rest[0] == "#":
                pending, pending_map, pending_key, pending_number = i, False, None, number
                continue
            if rest[0] == "-" and (len(rest) == 1 or rest[1] == " "):
                raise _Undecided  # a sequence in a sequence entry
            key = key_match(rest)
            if key is None:
                j = _value(lines, j, rest, i, number, None, out)
                continue
            frame = [col, True, {}, False]
            frames.append(frame)
            s = rest
        elif key is None:
            raise _Undecided
        dq, sq, plain = key.groups()
        name = plain if plain is not None else (_unescape(dq) if dq is not None else sq.replace("''", "'"))
        if len(name) > 1000 or (plain is not None and name == "<<"):
            raise _Undecided
        ident = name if plain is None or _TAGS.get(name) == _STR else _ident(name, True)
        keys = frame[2]
        if ident in keys:
            raise _Undecided  # a key written twice: its last value at its first place
        keys[ident] = None
        rest = s[key.end() :]
        if not rest or rest[0] == "#":
            pending, pending_map, pending_key, pending_number = col, True, name, number
            continue
        m = _PLAIN_LINE.match(rest)
        if m is None:
            j = _value(lines, j, rest, col, number, name, out)
            continue
        # the common shape, `key: plain value` with or without a comment, read here
        value = m.group(1)
        if value == "=" or value == "<<":
            raise _Undecided
        if not m.group(2) and j < n:
            nxt = lines[j]
            stripped = nxt.lstrip(" ")
            if not stripped or (len(nxt) - len(stripped) > col and stripped[0] != "#"):
                value, j = _plain_continued(lines, j, value, col)
        tag = _TAGS.get(value)
        if tag == _STR or (tag is None and _tag(value) == _STR):
            out.append(Item(name, value, number))
    return out


def _value(
    lines: list[str], j: int, rest: str, indent: int, number: int, key: str | None, out: list[Item]
) -> int:
    """Reads the value ``rest`` of a mapping key (``key``) or sequence entry (None) at line
    ``number``; a block scalar also takes the lines below. Returns the next line to read."""
    c = rest[0]
    if c == "&":
        m = _ANCHOR.match(rest)
        if m is None:
            raise _Undecided
        rest = rest[m.end() :]
        if not rest or rest[0] == "#":
            raise _Undecided  # an anchored collection below: rare, let the parser decide
        c = rest[0]
    if c in "|>":
        header = _BLOCK_HEADER.fullmatch(rest)
        if header is None:
            raise _Undecided
        block, j = _block_scalar(lines, j, header, indent)
        if key is not None:
            out.append(Item(key, block, number))
        return j
    if c in "[{":
        _flow(rest, number, out)
        return j
    if c in "'\"" and not (_SQ_VALUE if c == "'" else _DQ_VALUE).match(rest):
        quoted, j = _quoted_lines(lines, j, rest, indent)
        if key is not None:
            out.append(Item(key, quoted, number))
        return j
    value, is_str, more = _scalar_value(rest)
    if more and value is not None:
        full, j = _plain_continued(lines, j, value, indent)
        if full is not value:
            value = full
            is_str = _tag(value) == _STR
    if key is not None and is_str and value is not None:
        out.append(Item(key, value, number))
    return j
