"""YAML as PyYAML node trees, so every key keeps its line number.

Composing (not constructing) also sidesteps YAML 1.1 surprises: the GitHub Actions key ``on`` stays
the string "on" instead of becoming the boolean True. Anchors/aliases are shared nodes and merge
keys (``<<``) are expanded by :func:`pairs`.
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from nhiscan.safeyaml import MERGE_TAG, DuplicateKey, YamlProblem, compose


class ConfigParseError(ValueError):
    """A configuration file could not be parsed; the walker reports it as a SourceError for that file."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


def compose_documents(path: str, text: str) -> tuple[list[Node], list[DuplicateKey]]:
    """The file's documents and its duplicate keys; ConfigParseError when it cannot be read.

    Reading is bounded (nhiscan.safeyaml): an alias bomb or a recursive alias is refused here.
    A duplicate key is not an error here: :func:`pairs` gives the last value, as the YAML readers
    of the CI systems that accept duplicates do, and the caller reports the duplicate.
    """
    try:
        composed = compose(text, _format(path))
    except YamlProblem as exc:
        # JSON configs (.mcp.json, .vscode/mcp.json) are read by the same parser: named as JSON
        raise ConfigParseError(path, exc.detail) from None
    return composed.documents, composed.duplicates


def _format(path: str) -> str:
    return "JSON" if path.lower().endswith(".json") else "YAML"


def line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def pairs(node: Node | None, _depth: int = 0) -> Iterator[tuple[str, ScalarNode, Node]]:
    """(key, key node, value node) of a mapping, with ``<<`` merges expanded (own keys win).

    A key written twice in one mapping gives its last value at its first place, as PyYAML,
    Ruby's Psych (GitLab) and SnakeYAML build it; compose_documents reports such keys.
    """
    if not isinstance(node, MappingNode) or _depth > 20:
        return
    own: dict[str, tuple[ScalarNode, Node]] = {}
    merged: list[tuple[str, ScalarNode, Node]] = []
    for k, v in node.value:
        if not isinstance(k, ScalarNode):
            continue
        if k.tag == MERGE_TAG or (k.value == "<<" and not k.style):
            sources = v.value if isinstance(v, SequenceNode) else [v]
            for src in sources:
                merged.extend(pairs(src, _depth + 1))
        else:
            own[str(k.value)] = (k, v)
    for k, (kn, v) in own.items():
        yield k, kn, v
    if not merged:
        return
    seen = set(own)
    for k, kn, v in merged:
        if k not in seen:
            seen.add(k)
            yield k, kn, v


def value_map(node: Node | None) -> dict[str, Node]:
    """``{key: value for key, _, value in pairs(node)}``, without a generator for the common
    mapping that has no merge key."""
    if not isinstance(node, MappingNode):
        return {}
    out: dict[str, Node] = {}
    for k, v in node.value:
        if not isinstance(k, ScalarNode):
            continue
        if k.tag == MERGE_TAG or (k.value == "<<" and not k.style):
            return {key: value for key, _, value in pairs(node)}
        out[str(k.value)] = v
    return out


def _own_last(node: MappingNode, key: str) -> tuple[ScalarNode, Node] | bool | None:
    """The key's last own (key node, value) in a mapping; False when it is not there but merge
    keys are (then :func:`pairs` must expand them); None when it is not there at all."""
    merges = False
    for k, v in reversed(node.value):
        if not isinstance(k, ScalarNode):
            continue
        if k.tag == MERGE_TAG or (k.value == "<<" and not k.style):
            merges = True
        elif k.value == key:
            return k, v
    return False if merges else None


def get(node: Node | None, key: str) -> Node | None:
    pair = get_pair(node, key)
    return pair[1] if pair is not None else None


def get_pair(node: Node | None, key: str) -> tuple[ScalarNode, Node] | None:
    """As found by :func:`pairs` (an own key's last value; else a merged one), without building
    the whole mapping for each lookup."""
    if not isinstance(node, MappingNode):
        return None
    found = _own_last(node, key)
    if found is not False:
        return found  # type: ignore[return-value]
    for k, kn, v in pairs(node):
        if k == key:
            return kn, v
    return None


def scalar(node: Node | None) -> str | None:
    if isinstance(node, ScalarNode):
        return str(node.value)
    return None


def items(node: Node | None) -> list[Node]:
    return list(node.value) if isinstance(node, SequenceNode) else []


def is_mapping(node: Node | None) -> bool:
    return isinstance(node, MappingNode)


def walk_scalars(node: Node | None, _depth: int = 0) -> Iterator[ScalarNode]:
    """Every scalar value (not keys) below a node, in document order (merge keys expanded)."""
    return iter(scalars_below(node, _depth))


def scalars_below(node: Node | None, _depth: int = 0) -> list[ScalarNode]:
    """What :func:`walk_scalars` yields, as a list: one iterative walk (no generator per node)."""
    if isinstance(node, ScalarNode):
        return [node]
    out: list[ScalarNode] = []
    if node is None:
        return out
    stack: list[tuple[Node, int]] = [(node, _depth)]
    pop, push, add = stack.pop, stack.append, out.append
    while stack:
        current, depth = pop()
        if isinstance(current, ScalarNode):
            add(current)
            continue
        if depth >= 50:
            continue
        children: list[Node]
        if isinstance(current, SequenceNode):
            children = current.value
        elif isinstance(current, MappingNode):
            children = []
            for k, v in current.value:
                if isinstance(k, ScalarNode):
                    if k.tag == MERGE_TAG or (k.value == "<<" and not k.style):
                        children = [v for _, _, v in pairs(current)]  # merge keys expanded
                        break
                    children.append(v)
        else:
            continue
        depth += 1
        for c in reversed(children):
            push((c, depth))
    return out


def _is_merge(k: Node) -> bool:
    return isinstance(k, ScalarNode) and (k.tag == MERGE_TAG or (k.value == "<<" and not k.style))
