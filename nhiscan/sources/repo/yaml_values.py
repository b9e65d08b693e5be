"""detect-secrets' YAML transformer, fed from nhiscan's one (C) YAML read.

detect-secrets rewrites a YAML file as one ``key: "value"`` line per string mapping value, at the
value's line, so its entropy plugins see unquoted YAML strings as quoted ones. It reads the file
with PyYAML's pure-Python parser, hooked to record each node's line: on real workflow files that
parse was nine tenths of nhiscan's scan time. This module produces the same lines from the node
tree that :func:`nhiscan.safeyaml.compose` already built with libyaml (and caches, so the config
checks of the same file do not parse it again), without building Python objects:

* the items are what detect-secrets' parser yields: a breadth-first walk of the document as
  PyYAML's SafeConstructor would build it (merge keys first, a key written twice keeping its last
  value at its first place), one item per string or binary mapping value, with its key;
* an item's line is the line its key ends on (detect-secrets takes the reader's line when the
  value starts: the key's line, also for a value written below its key);
* lines are made as its transformer makes them: sorted by line, duplicates (aliases) once, blank
  lines up to each value's line, the value quoted (inner quotes escaped), a trailing comment kept.

A text that is not one YAML document (or that nhiscan refuses to expand) raises ``ValueError``,
which the caller treats as the transformer's parsing error.
"""

from __future__ import annotations

import base64
import re
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from nhiscan.safeyaml import YamlProblem, compose

if TYPE_CHECKING:
    from nhiscan.sources.repo.yaml_scalars import Item as LineItem

_COMMENT = re.compile(r"(\s+#[\S ]*)")


_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"
_VALUE = "tag:yaml.org,2002:value"


class _Item(NamedTuple):
    key: str
    value: str | bytes
    line_number: int


def _flattened(node: MappingNode, depth: int = 0) -> list[tuple[Node, Node]]:
    """The pairs of a mapping as PyYAML's SafeConstructor orders them: merged pairs first (a
    sequence of merges in reverse order), then its own; the node itself is left as it is."""
    if depth > 100:
        raise ValueError("merge keys nested too deeply")
    merged: list[tuple[Node, Node]] = []
    own: list[tuple[Node, Node]] = []
    for k, v in node.value:
        if k.tag == _MERGE:
            if isinstance(v, MappingNode):
                merged.extend(_flattened(v, depth + 1))
            elif isinstance(v, SequenceNode):
                for sub in reversed(v.value):
                    if not isinstance(sub, MappingNode):
                        raise ValueError("merge of a non-mapping")
                    merged.extend(_flattened(sub, depth + 1))
            else:
                raise ValueError("merge of a non-mapping")
        else:
            own.append((k, v))
    return merged + own


def _constructible(doc: Node) -> bool:
    """Whether SafeConstructor can build every node (detect-secrets' parser fails otherwise)."""
    known = {**yaml.SafeLoader.yaml_constructors, _MERGE: None, _VALUE: None}
    seen: set[int] = set()
    stack = [doc]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.tag not in known:
            return False
        if isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, MappingNode):
            for k, v in node.value:
                stack.append(k)
                stack.append(v)
    return True


def _items(doc: Node) -> list[_Item]:
    """What detect-secrets' YAML parser yields for a document, in its order: a breadth-first walk
    of the constructed values (dict values in key order, duplicate keys taking the last value at
    the first place), one item per string or binary mapping value."""
    loader = yaml.SafeLoader("")
    out: list[_Item] = []
    queue: deque[Node] = deque([doc])
    while queue:
        node = queue.popleft()
        if isinstance(node, SequenceNode):
            queue.extend(node.value)
            continue
        if not isinstance(node, MappingNode):
            continue
        values: dict[Any, tuple[Node, Node]] = {}
        for k, v in _flattened(node):
            if isinstance(k, ScalarNode):
                ident: Any = k.value if k.tag in (_STR, _VALUE) else loader.construct_object(k)
            else:
                raise ValueError("a key that is not a scalar")
            try:
                values[ident] = (k, v)  # a key written again: its last value, at its first place
            except TypeError:
                raise ValueError("an unhashable key") from None
        for k, v in values.values():
            if isinstance(v, ScalarNode) and (v.tag.endswith(":str") or v.tag.endswith(":binary")):
                value = v.value if v.tag == _STR else loader.construct_object(v)
                if isinstance(value, (str, bytes)):
                    out.append(_Item(str(k.value), value, k.end_mark.line + 1))
            else:
                queue.append(v)
    return out


def transformed_lines(text: str, filename: str | None = None) -> list[str]:
    """detect-secrets' transformed lines of a YAML text: from the line scan of
    :mod:`yaml_lines` when it can decide the text, else from the libyaml parse. A CI or agent
    config (``filename``) is parsed: its checks read the same parse next (safeyaml keeps it), so
    the line scan would only add to the one parse the file costs anyway."""
    from nhiscan.sources.repo import yaml_lines  # its patterns are compiled on first use only

    if filename is not None:
        from nhiscan.sources.repo.configs import is_config_file

        if is_config_file(filename):
            yaml_lines.STATS["config_parsed"] += 1
            return parsed_lines(text)
    items = yaml_lines.scan(text)
    if items is None:
        return parsed_lines(text)
    return _render(items, text)


def parsed_lines(text: str) -> list[str]:
    """detect-secrets' transformed lines of a YAML text, from nhiscan's libyaml parse."""
    try:
        composed = compose(text)
    except YamlProblem:
        raise ValueError("not YAML nhiscan reads") from None
    docs = composed.documents
    if len(docs) > 1:
        raise ValueError("more than one YAML document")
    if not docs:
        return []
    safe = composed.safe_tags[0] if composed.safe_tags else None
    if not (safe if safe is not None else _constructible(docs[0])):
        raise ValueError("a tag PyYAML's safe loader does not build")
    try:
        items = sorted(_items(docs[0]), key=lambda item: item.line_number)
    except (yaml.YAMLError, RecursionError):
        raise ValueError("YAML that does not construct") from None
    return _render(items, text)


def _render(items: Sequence[_Item | LineItem], text: str) -> list[str]:
    """The transformer's lines from its items in line order: blank lines up to each value's
    line, the value quoted (inner quotes escaped), a trailing comment of the key's line kept;
    an item seen before (through an alias) once."""
    source = text.splitlines()
    lines: list[str] = []
    seen: set[Any] = set()
    for item in items:
        if item in seen:
            continue
        seen.add(item)
        while len(lines) < item.line_number - 1:
            lines.append("")
        value = item.value
        if isinstance(value, bytes):
            value = base64.b64encode(value).decode()  # the raw base64 text, as written
        at = source[item.line_number - 1] if item.line_number <= len(source) else ""
        found = _COMMENT.search(at.strip()) if "#" in at else None
        comment = found.group(0) if found else ""
        quoted = value.replace('"', '\\"')
        lines.append(f'{item.key}: "{quoted}"{comment}')
    return lines
