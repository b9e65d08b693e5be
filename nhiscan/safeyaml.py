"""The one YAML reader of nhiscan: bounded cost, duplicate keys seen, errors that quote nothing.

Every YAML nhiscan reads (repository CI and agent configs, kubectl YAML exports, the waivers file)
goes through :func:`compose`, which

* composes node trees with libyaml when available (PyYAML's C parser; the pure-Python one is the
  fallback), keeping every key's line and column;
* measures, in one pass over the distinct nodes, how large each document becomes when its aliases
  and merge keys (``<<``) are expanded. Aliases load as shared nodes, so the composed document is
  a DAG that is cheap to hold but exponentially large to walk (a "billion laughs" document is a
  few hundred bytes). A document that expands past ``max(MIN_EXPANDED, EXPANSION_FACTOR x its
  written nodes)``, or that refers to itself (a recursive alias), is refused with a
  :class:`YamlProblem`; every other document is returned untouched, so legitimate anchors and
  merge keys (GitLab CI, CircleCI, Bitbucket, docker-compose) mean exactly what they always did;
* lists every mapping key that occurs twice in one mapping (PyYAML silently keeps the last one);
* turns parser errors into a line, a column and the parser's problem with anything it quotes
  removed: PyYAML's messages otherwise carry the offending line (a Kubernetes Secret's value, say)
  and quoted pieces of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from nhiscan.errors import content_free

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Implicit tags of plain scalars, by text: workflows repeat the same values (`ubuntu-latest`,
# `true`, `${{ secrets.GITHUB_TOKEN }}`) thousands of times. Bounded in entries and text size.
_TAGS: dict[str, str] = {}
_TAGS_MAX = 16384
_TAG_TEXT_MAX = 128


class _Loader(_Base):  # type: ignore[misc]
    """The safe loader (libyaml's when installed) with the resolver's per-node work made cheap:
    the tag of a plain scalar is looked up by its text, and the path resolvers (PyYAML's
    ``add_path_resolver``; none are registered, else :data:`_LOADER` is the plain loader) are not
    entered and left at every node."""

    # Called around every node: C callables that do nothing of consequence (their results are
    # ignored) cost the composer no Python frame per node, as a method returning None would.
    descend_resolver: Any = {}.get  # (parent node, index) -> looked up in an empty dict: None/index
    ascend_resolver = tuple  # () -> the empty tuple

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not ScalarNode:
            return _COLLECTION_TAGS.get(kind) or super().resolve(kind, value, implicit)
        if not implicit[0]:
            return _STR_TAG  # quoted, or tagged `!`: what the resolver gives without path resolvers
        tag = _TAGS.get(value)
        if tag is not None:
            return tag
        if value and value[0] not in _FIRST_CHARS and not _ANY_FIRST:
            return _STR_TAG  # no implicit type starts with this character
        tag = super().resolve(kind, value, implicit)
        if len(value) <= _TAG_TEXT_MAX:
            if len(_TAGS) >= _TAGS_MAX:
                _TAGS.clear()
            _TAGS[value] = tag
        return tag


_STR_TAG: str = _Base.DEFAULT_SCALAR_TAG
_COLLECTION_TAGS: dict[type, str] = {
    SequenceNode: _Base.DEFAULT_SEQUENCE_TAG,
    MappingNode: _Base.DEFAULT_MAPPING_TAG,
}
# The first characters of implicitly typed scalars (bool, int, float, null, timestamp, merge...);
# a resolver registered for any first character (key None) turns this shortcut off.
_FIRST_CHARS: frozenset[str | None] = frozenset(_Base.yaml_implicit_resolvers)
_ANY_FIRST = None in _FIRST_CHARS
_LOADER: type = _Base if getattr(_Base, "yaml_path_resolvers", None) else _Loader

# A document may expand to this many nodes whatever its size ...
MIN_EXPANDED = 200_000
# ... and to this many times the nodes it holds (linear in the input, whatever the aliases do).
EXPANSION_FACTOR = 10

MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlProblem(ValueError):
    """A YAML text nhiscan will not read; ``detail`` names line and column, never content."""

    def __init__(self, detail: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.line = line
        self.column = column


@dataclass(frozen=True)
class DuplicateKey:
    """A mapping key written a second time (line/column 1-based); ``first_*`` is where it was first."""

    line: int
    column: int
    first_line: int
    first_column: int


@dataclass(frozen=True)
class Composed:
    documents: list[Node]
    duplicates: list[DuplicateKey]
    # Per document: every node has a tag PyYAML's safe loader builds (no `!!python/...`, no
    # application tag); None when not determined (a document with aliases).
    safe_tags: tuple[bool | None, ...] = ()


def where(line: int, column: int) -> str:
    return f"line {line} column {column}"


def _problem_text(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    if not isinstance(problem, str) or not problem.strip():
        return "syntax error"
    return content_free(problem) or "syntax error"


# The last few texts read: a repository file is read by the secret scanner (detect-secrets' YAML
# transformer, see sources/repo/yaml_values.py) and by the config checks; both get one parse.
# Callers treat the node trees as read-only.
_RECENT: dict[tuple[str, str], Composed] = {}
_RECENT_MAX = 4


def compose(text: str, fmt: str = "YAML") -> Composed:
    """Every non-empty document of ``text`` as a node tree, checked as the module docstring says.

    ``fmt`` names the format in messages ("JSON" for JSON read by the YAML parser). The result is
    shared with later calls for the same text: do not change it.
    """
    key = (text, fmt)
    cached = _RECENT.get(key)
    if cached is not None:
        return cached
    composed = _compose(text, fmt)
    if len(_RECENT) >= _RECENT_MAX:
        _RECENT.pop(next(iter(_RECENT)), None)
    _RECENT[key] = composed
    return composed


def _compose(text: str, fmt: str) -> Composed:
    try:
        docs = [doc for doc in yaml.compose_all(text, Loader=_LOADER) if doc is not None]
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (its code is not shown)
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise YamlProblem(
            f"invalid {fmt} at {where(line, column)}: a character YAML does not allow", line, column
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        if mark is None:
            raise YamlProblem(f"invalid {fmt}: {_problem_text(exc)}") from None
        line, column = int(mark.line) + 1, int(mark.column) + 1
        raise YamlProblem(
            f"invalid {fmt} at {where(line, column)}: {_problem_text(exc)}", line, column
        ) from None
    except RecursionError:
        raise YamlProblem(f"{fmt} nested too deeply to read") from None
    # No document holds more nodes than its text has characters (plus one): sizes past this clip
    # are over every limit, and clipping keeps the arithmetic small.
    clip = max(MIN_EXPANDED, EXPANSION_FACTOR * (len(text) + 2)) + 1
    duplicates: list[DuplicateKey] = []
    tags: list[bool | None] = []
    # An alias (`*name`) needs an anchor (`&name`) written before it: a text without one of the
    # two characters has no node reached twice, and the walk for shared nodes can be skipped.
    aliases = "&" in text and "*" in text
    for doc in docs:
        found, safe = _check(doc, fmt, clip, aliases)
        duplicates.extend(found)
        tags.append(safe)
    return Composed(docs, duplicates, tuple(tags))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


_SAFE_TAGS = frozenset([*yaml.SafeLoader.yaml_constructors, MERGE_TAG, "tag:yaml.org,2002:value"])


def _check(doc: Node, fmt: str, clip: int, aliases: bool = True) -> tuple[list[DuplicateKey], bool | None]:
    """As :func:`_check_expansion`; a document in which no node is reached twice (no alias, by
    far the common case) expands to exactly its written nodes and cannot refer to itself, so one
    light pass that also looks for duplicate keys (and tags the safe loader cannot build) is all
    it needs. ``aliases`` False: the text cannot hold an alias (see :func:`_compose`)."""
    if not aliases:
        return _check_tree(doc), _safe_tags(doc)
    seen: set[int] = set()
    duplicates: list[DuplicateKey] = []
    safe = True
    stack: list[Node] = [doc]
    while stack:
        node = stack.pop()
        key = id(node)
        if key in seen:
            return _check_expansion(doc, fmt, clip), None
        seen.add(key)
        if node.tag not in _SAFE_TAGS:
            safe = False
        if isinstance(node, MappingNode):
            pairs = node.value
            names = [k.value for k, _ in pairs if isinstance(k, ScalarNode)]
            if len(set(names)) != len(names):
                duplicates.extend(_duplicates(node))
            for k, v in pairs:
                stack.append(k)
                stack.append(v)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return duplicates, safe


def _check_tree(doc: Node) -> list[DuplicateKey]:
    """The duplicate keys of a tree without shared nodes, in :func:`_check`'s order: the same
    depth-first walk, which only needs to enter collections (scalars have no keys)."""
    duplicates: list[DuplicateKey] = []
    stack: list[Node] = [doc]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        if isinstance(node, MappingNode):
            pairs = node.value
            names = []
            for k, v in pairs:
                if isinstance(k, ScalarNode):
                    names.append(k.value)
                else:
                    push(k)
                if not isinstance(v, ScalarNode):
                    push(v)
            if len(set(names)) != len(names):
                duplicates.extend(_duplicates(node))
        elif isinstance(node, SequenceNode):
            for c in node.value:
                if not isinstance(c, ScalarNode):
                    push(c)
    return duplicates


def _safe_tags(doc: Node) -> bool:
    """Whether every node of a tree without shared nodes has a tag the safe loader builds."""
    stack: list[Node] = [doc]
    pop, extend = stack.pop, stack.extend
    safe = _SAFE_TAGS
    while stack:
        node = pop()
        if node.tag not in safe:
            return False
        if isinstance(node, MappingNode):
            for k, v in node.value:
                if k.tag not in safe or v.tag not in safe:
                    return False
                if not isinstance(k, ScalarNode):
                    stack.append(k)
                if not isinstance(v, ScalarNode):
                    stack.append(v)
        elif isinstance(node, SequenceNode):
            extend(node.value)
    return True


def _check_expansion(doc: Node, fmt: str, clip: int) -> list[DuplicateKey]:
    """Refuse a document whose expansion is too large or infinite; list its duplicate keys.

    One iterative depth-first pass: each distinct node is entered once and its expanded size is
    1 + the expanded sizes of its children (an alias counts the full size of what it names). A
    node met again while it is still being entered is its own ancestor: a recursive alias.
    """
    size: dict[int, int] = {}
    entered: set[int] = set()
    duplicates: list[DuplicateKey] = []
    stack: list[tuple[Node, bool]] = [(doc, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            total = 1 + sum(size[id(c)] for c in _children(node))
            size[key] = min(total, clip)
            continue
        if key in size:
            continue
        if key in entered:
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
            raise YamlProblem(
                f"{fmt} alias at {where(line, column)} refers to a node that contains it (a recursive "
                "alias); not read",
                line,
                column,
            )
        entered.add(key)
        stack.append((node, True))
        if isinstance(node, MappingNode):
            duplicates.extend(_duplicates(node))
        stack.extend((c, False) for c in reversed(_children(node)) if id(c) not in size)
    written = len(size)
    limit = max(MIN_EXPANDED, EXPANSION_FACTOR * written)
    expanded = size[id(doc)]
    if expanded > limit:
        line, column = doc.start_mark.line + 1, doc.start_mark.column + 1
        raise YamlProblem(
            f"{fmt} document at {where(line, column)} holds {written} nodes, but its aliases expand it "
            f"to more than {limit} (an alias bomb?); not read",
            line,
            column,
        )
    return duplicates


def _duplicates(node: MappingNode) -> list[DuplicateKey]:
    first: dict[tuple[str, str], ScalarNode] = {}
    out: list[DuplicateKey] = []
    for k, _ in node.value:
        if not isinstance(k, ScalarNode) or k.tag == MERGE_TAG:
            continue
        ident = (str(k.tag), str(k.value))
        seen = first.get(ident)
        if seen is None:
            first[ident] = k
        else:
            out.append(
                DuplicateKey(
                    k.start_mark.line + 1,
                    k.start_mark.column + 1,
                    seen.start_mark.line + 1,
                    seen.start_mark.column + 1,
                )
            )
    return out


def construct(node: Node, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> Any:
    """The Python value of a composed (and checked) document, as ``yaml.safe_load`` would build it
    (or as ``loader``, a SafeLoader with other constructors, builds it)."""
    try:
        return loader("").construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        at = f" at {where(mark.line + 1, mark.column + 1)}" if mark is not None else ""
        raise YamlProblem(f"invalid YAML{at}: {_problem_text(exc)}") from None
    except RecursionError:
        raise YamlProblem("YAML nested too deeply to read") from None


def single_document(text: str) -> Node | None:
    """The one document of ``text`` (None when empty), checked as :func:`compose` checks it;
    duplicate keys and a second document are errors here."""
    composed = compose(text)
    if composed.duplicates:
        raise YamlProblem(duplicate_message(composed.duplicates, "YAML"))
    if len(composed.documents) > 1:
        second = composed.documents[1].start_mark
        raise YamlProblem(f"expected one YAML document, found another at {where(second.line + 1, 1)}")
    return composed.documents[0] if composed.documents else None


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with the checks of :func:`single_document`."""
    node = single_document(text)
    return construct(node) if node is not None else None


def duplicate_message(duplicates: list[DuplicateKey], what: str) -> str:
    d = duplicates[0]
    more = f" (and {len(duplicates) - 1} more)" if len(duplicates) > 1 else ""
    return (
        f"duplicate {what} key at {where(d.line, d.column)}{more}: the same key is first set at "
        f"{where(d.first_line, d.first_column)}"
    )
