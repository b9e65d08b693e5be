"""The scalars, keys and flow collections of the YAML line scan (:mod:`yaml_lines`), read as
PyYAML's scanner reads them: plain, single- and double-quoted scalars (on one line or folded over
several), block scalars with their indentation, folding and chomping, one-line flow collections
of scalars, and keys typed by PyYAML's resolver. Whatever these readers cannot decide raises
:class:`_Undecided`; every pattern matches a line in one way only (linear time, also on failure).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import yaml
from yaml.nodes import ScalarNode


class Item(NamedTuple):
    key: str
    value: str
    line_number: int


class _Undecided(Exception):
    """The line scan cannot decide this text: parse it."""


_STR = "tag:yaml.org,2002:str"
# A plain scalar in block context: it does not start with an indicator (``-?:`` only when followed
# by a space), holds no ``: `` and no `` #``, and ends before trailing spaces.
# Each pattern is written so that a line can be matched in only one way (a run of ordinary
# characters, then separators each followed by such a run): matching costs time linear in the
# line, also when it fails.
_PLAIN_REST = r"[^\s:#]*(?:(?::(?=\S)|(?<=\S)#| +(?=[^\s:#]|:\S))[^\s:#]*)*"
_PLAIN = r"(?:[^\s\-?:,\[\]{}#&*!|>'\"%@`]|[-?:](?=\S))" + _PLAIN_REST
_DQ = r"\"([^\"\\]*(?:\\.[^\"\\]*)*)\""
_SQ = r"'([^']*(?:''[^']*)*)'(?!')"
_KEY = re.compile(rf"(?:{_DQ}|{_SQ}|({_PLAIN})) *:(?= |$) *")
_PLAIN_VALUE = re.compile(_PLAIN)
_PLAIN_LINE = re.compile(rf"({_PLAIN})(?: *$| +(#.*))")
_KV = re.compile(rf"({_PLAIN}) *: +({_PLAIN})(?: *$| +(#.*))")
_CONTINUATION = re.compile(r"(?:[^\s:#]|:(?=\S))" + _PLAIN_REST)
_DQ_VALUE = re.compile(_DQ)
_SQ_VALUE = re.compile(_SQ)
_TAIL = re.compile(r"(?: +#.*| *)")
_ANCHOR = re.compile(r"&[0-9A-Za-z_-]+(?: +|$)")
_BLOCK_HEADER = re.compile(r"([|>])([+-]?)(?: +#.*| *)")
# Flow collections on one line: scalars without any indicator, or quoted.
_FLOW_PLAIN = r"(?:[^\s\-?:,\[\]{}#&*!|>'\"%@`]|-(?=[^\s,\[\]{}]))[^,\[\]{}:#?]*"
_FLOW_SCALAR = re.compile(rf" *(?:{_DQ}|{_SQ}|({_FLOW_PLAIN}))")
_FLOW_SEP = re.compile(r" *(,|\]|\}|:(?= ))")
_ESCAPES = {
    "0": "\0",
    "a": "\x07",
    "b": "\x08",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\x0b",
    "f": "\x0c",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")

_RESOLVERS: dict[Any, list[tuple[str, re.Pattern[str]]]] = yaml.SafeLoader.yaml_implicit_resolvers
_TAGS: dict[str, str] = {}
_CONSTRUCTOR = yaml.SafeLoader("")


def _tag(value: str) -> str:
    """The tag PyYAML's resolver gives a plain scalar."""
    tag = _TAGS.get(value)
    if tag is None:
        tag = _STR
        for t, regexp in _RESOLVERS.get(value[0] if value else "", []) + _RESOLVERS.get(None, []):
            if regexp.match(value):
                tag = t
                break
        if len(value) <= 64:
            if len(_TAGS) > 4096:
                _TAGS.clear()
            _TAGS[value] = tag
    return tag


def _ident(key: str, plain: bool) -> Any:
    """The key as PyYAML's safe constructor builds it (what makes two keys the same)."""
    if not plain:
        return key
    tag = _tag(key)
    if tag == _STR:
        return key
    if tag not in _CONSTRUCTOR.yaml_constructors or tag.endswith((":merge", ":value")):
        raise _Undecided
    try:
        ident = _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, ScalarNode(tag, key))
        hash(ident)
    except Exception:  # whatever PyYAML would make of it, the parse decides
        raise _Undecided from None
    return ident


def _unescape(body: str) -> str:
    if "\\" not in body:
        return body

    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        if len(code) > 1:
            n = int(code[1:], 16)
            if 0xD800 <= n <= 0xDFFF or n > 0x10FFFF:
                raise _Undecided
            return chr(n)
        if code not in _ESCAPES:
            raise _Undecided
        return _ESCAPES[code]

    return _ESCAPE.sub(one, body)


def _scalar_value(rest: str) -> tuple[str | None, bool, bool]:
    """(value, is a string, may continue) of a scalar that starts ``rest`` and ends its line (with
    its comment); value None for an empty (null) value. A plain scalar without a comment may
    continue on the lines below (:func:`_plain_continued`)."""
    if not rest or rest[0] == "#":
        return None, False, False
    tagged = False
    if rest[0] == "!":
        if not rest.startswith("!!str "):
            raise _Undecided
        rest = rest[6:].lstrip(" ")
        tagged = True
        if not rest or rest[0] == "#":
            raise _Undecided
    c = rest[0]
    if c == '"':
        m = _DQ_VALUE.match(rest)
        if m is None:
            raise _Undecided
        value, is_str = _unescape(m.group(1)), True
    elif c == "'":
        m = _SQ_VALUE.match(rest)
        if m is None:
            raise _Undecided
        value, is_str = m.group(1).replace("''", "'"), True
    else:
        m = _PLAIN_VALUE.match(rest)
        if m is None:
            raise _Undecided
        value = m.group(0)
        if value == "=" or value == "<<":
            raise _Undecided
        is_str = tagged or _tag(value) == _STR
        tail = rest[m.end() :]
        if not tail.strip(" "):
            return value, is_str, not tagged
    if not _TAIL.fullmatch(rest, m.end()):
        raise _Undecided
    return value, is_str, False


_SQ_OPEN = re.compile(r"[^']*(?:''[^']*)*")
_DQ_OPEN = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*')


def _quoted_lines(lines: list[str], j: int, rest: str, parent_indent: int) -> tuple[str, int]:
    """A quoted scalar opened in ``rest`` (line ``j - 1``) and closed on a line below, each of
    its lines indented deeper than its collection, folded as PyYAML's scanner folds it: spaces
    around a line break dropped, a break is a space, n empty lines are n breaks, an escaped
    break (a double-quoted line ending in a backslash) joins without a space. Returns (value,
    next line to read)."""
    single = rest[0] == "'"
    body = _SQ_OPEN if single else _DQ_OPEN
    parts: list[str] = []
    seg = rest[1:]
    k = j
    n = len(lines)
    while True:
        m = body.match(seg)
        end = m.end() if m else 0
        if end < len(seg) and seg[end] != "\\":
            parts.append(seg[:end])
            tail = seg[end + 1 :]
            break
        parts.append(seg)  # no closing quote on this line (or an escaped line break)
        if k >= n:
            raise _Undecided
        seg = lines[k]
        k += 1
        if seg.strip(" \t") and ("\t" in seg or len(seg) - len(seg.lstrip(" ")) <= parent_indent):
            raise _Undecided
    if not _TAIL.fullmatch(tail):
        raise _Undecided
    last = len(parts) - 1
    pieces: list[tuple[str, bool]] = []
    for idx, raw in enumerate(parts):
        if idx:
            raw = raw.lstrip(" \t")
        escaped = False
        if idx < last:
            stripped = raw.rstrip(" \t")
            if not single and (len(stripped) - len(stripped.rstrip("\\"))) % 2:
                if stripped != raw:
                    raise _Undecided  # an escaped space or tab before the break
                stripped, escaped = stripped[:-1], True
            raw = stripped
        pieces.append((raw.replace("''", "'") if single else _unescape(raw), escaped))
    chunks = [pieces[0][0]]
    blanks = 0
    joined = pieces[0][1]
    for idx in range(1, len(pieces)):
        text, escaped = pieces[idx]
        if not text and not escaped and idx != last:
            blanks += 1
            continue
        chunks.append("\n" * blanks if blanks or joined else " ")
        chunks.append(text)
        blanks = 0
        joined = escaped
    return "".join(chunks), k


def _plain_continued(lines: list[str], j: int, first: str, parent_indent: int) -> tuple[str, int]:
    """A plain scalar whose first line (``first``, no comment) ends line ``j - 1``, continued on
    the lines below indented deeper than its collection, as PyYAML's scanner folds it (a line
    break is a space, n empty lines are n line breaks). Returns (value, next line to read)."""
    n = len(lines)
    chunks = [first]
    k = j
    breaks = 0
    while k < n:
        ln = lines[k]
        s = ln.lstrip(" ")
        if not s:
            if k == n - 1:
                break
            breaks += 1
            k += 1
            continue
        if s[0] == "#" or len(ln) - len(s) <= parent_indent:
            break
        m = _CONTINUATION.match(s)
        if m is None or "\t" in ln:
            raise _Undecided
        chunks.append("\n" * breaks if breaks else " ")
        chunks.append(m.group(0))
        breaks = 0
        k += 1
        tail = s[m.end() :]
        if tail.strip(" "):
            if not _TAIL.fullmatch(tail):
                raise _Undecided
            break  # a comment ends the scalar
    if len(chunks) == 1:
        return first, j
    return "".join(chunks), k


def _flow(rest: str, key_line: int, out: list[Item]) -> None:
    """A flow sequence or mapping of scalars, all on this line; its mapping pairs go to ``out``."""
    closing = "]" if rest[0] == "[" else "}"
    mapping = closing == "}"
    pos = 1
    seen: set[Any] = set()
    pairs: list[Item] = []
    while True:
        if rest.startswith(closing, pos) or rest[pos:].lstrip(" ").startswith(closing):
            pos = rest.index(closing, pos) + 1
            break
        m = _FLOW_SCALAR.match(rest, pos)
        if m is None:
            raise _Undecided
        first = _flow_text(m)
        s = _FLOW_SEP.match(rest, m.end())
        if s is None:
            raise _Undecided
        if mapping:
            if s.group(1) != ":":
                raise _Undecided
            v = _FLOW_SCALAR.match(rest, s.end() + 1)
            if v is None:
                raise _Undecided
            value = _flow_text(v)
            ident = _ident(first, m.group(3) is not None)
            if ident in seen:
                raise _Undecided
            seen.add(ident)
            if v.group(3) is None or _tag(value) == _STR:
                pairs.append(Item(first, value, key_line))
            s = _FLOW_SEP.match(rest, v.end())
            if s is None or s.group(1) == ":":
                raise _Undecided
        elif s.group(1) == ":":
            raise _Undecided
        pos = s.end()
        if s.group(1) != ",":
            if s.group(1) != closing:
                raise _Undecided
            break
    if not _TAIL.fullmatch(rest, pos):
        raise _Undecided
    out.extend(pairs)


def _flow_text(m: re.Match[str]) -> str:
    if m.group(1) is not None:
        return _unescape(m.group(1))
    if m.group(2) is not None:
        return m.group(2).replace("''", "'")
    value = m.group(3).rstrip(" ")
    if value in ("=", "<<"):
        raise _Undecided
    return value


def _literal(lines: list[str], j: int, indent: int, chomping: bool | None) -> tuple[str, int]:
    """A literal block scalar whose first line (``j``) is content at exactly ``indent``: its
    lines are those that start with ``indent`` spaces or are blank; the value is each of them
    without its indentation, joined by line breaks, then chomped. Same value as the general
    reading in :func:`_block_scalar`, with less work per line."""
    n = len(lines)
    pad = " " * indent
    k = j + 1
    end = j  # the last content line
    while k < n:
        ln = lines[k]
        if ln.startswith(pad):
            if len(ln) > indent:
                end = k
        elif ln.strip(" "):
            break
        k += 1
    value = "\n".join([ln[indent:] for ln in lines[j : end + 1]])
    if chomping is False:
        return value, k
    last = n - 1
    value += "\n" if end < last else ""
    if chomping is True:
        value += "\n" * (min(k, last) - end - 1)
    return value, k


def _block_scalar(lines: list[str], start: int, header: re.Match[str], parent_indent: int) -> tuple[str, int]:
    """A block scalar whose header ends line ``start - 1``: (its value, index of the first line
    after it), as PyYAML's scanner reads it (indentation found from the first non-empty line)."""
    folded = header.group(1) == ">"
    chomping = {"": None, "+": True, "-": False}[header.group(2)]
    n = len(lines)
    last = n - 1  # the last element has no line break after it
    j = start
    breaks = 0
    max_indent = 0
    while j < n:
        ln = lines[j]
        sp = len(ln) - len(ln.lstrip(" "))
        if sp > max_indent:
            max_indent = sp
        if sp == len(ln) and j < last:
            breaks += 1
            j += 1
            continue
        break
    indent = max(parent_indent + 1, 1, max_indent)
    if not folded and j == start and j < n and max_indent == indent:
        return _literal(lines, j, indent, chomping)
    chunks: list[str] = []
    line_break = ""
    while j < n:
        ln = lines[j]
        if len(ln) <= indent or ln[:indent].strip(" "):
            break  # less indented (or the end of the text): the scalar ends
        chunks.append("\n" * breaks)
        content = ln[indent:]
        leading_non_space = content[0] not in " \t"
        chunks.append(content)
        line_break = "\n" if j < last else ""
        j += 1
        breaks = 0
        while j < last and len(lines[j]) <= indent and not lines[j].strip(" "):
            breaks += 1
            j += 1
        if j < n and len(lines[j]) > indent and not lines[j][:indent].strip(" "):
            if folded and line_break == "\n" and leading_non_space and lines[j][indent] not in " \t":
                if not breaks:
                    chunks.append(" ")
            else:
                chunks.append(line_break)
        else:
            break
    if chomping is not False:
        chunks.append(line_break)
    if chomping is True:
        chunks.append("\n" * breaks)
    return "".join(chunks), j
