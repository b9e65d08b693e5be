"""nhiscan.safeyaml's fast paths read every text exactly as the plain reading does.

The loader looks plain scalars' tags up by text, and a text without an anchor or an alias skips
the walk for shared nodes; both must give the same node trees, duplicate keys (in the same
order), safe-tag flags and errors as the libyaml safe loader with the full check, on every YAML
file of the repository's fixtures and rules and on documents made to exercise each path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from nhiscan import safeyaml
from nhiscan.sources.repo import gha_model

ROOT = Path(__file__).resolve().parent.parent


def shape(node: Node) -> Any:
    """Everything a check can read of a node: tag, value, style, places."""
    where = (node.start_mark.line, node.start_mark.column, node.end_mark.line, node.end_mark.column)
    if isinstance(node, ScalarNode):
        return ("scalar", node.tag, node.value, node.style, where)
    if isinstance(node, MappingNode):
        return ("map", node.tag, node.flow_style, where, [(shape(k), shape(v)) for k, v in node.value])
    return ("seq", node.tag, node.flow_style, where, [shape(c) for c in node.value])


def reference(text: str) -> tuple[Any, ...]:
    """The plain reading: libyaml's safe loader, the full check (shared nodes looked for)."""
    base: Any = safeyaml._Base
    try:
        docs = [d for d in yaml.compose_all(text, Loader=base) if d is not None]
    except yaml.YAMLError:
        return ("error",)
    clip = max(safeyaml.MIN_EXPANDED, safeyaml.EXPANSION_FACTOR * (len(text) + 2)) + 1
    shapes, duplicates, tags = [], [], []
    for d in docs:
        try:
            found, safe = safeyaml._check(d, "YAML", clip, aliases=True)
        except safeyaml.YamlProblem as exc:
            return ("refused", exc.detail)
        shapes.append(shape(d))
        duplicates.extend(found)
        tags.append(safe)
    return ("ok", shapes, duplicates, tuple(tags))


def fast(text: str) -> tuple[Any, ...]:
    """What nhiscan reads (safeyaml.compose, fast paths included)."""
    safeyaml._RECENT.clear()
    try:
        composed = safeyaml.compose(text)
    except safeyaml.YamlProblem as exc:
        return ("error",) if exc.detail.startswith("invalid YAML") else ("refused", exc.detail)
    return ("ok", [shape(d) for d in composed.documents], composed.duplicates, composed.safe_tags)


def same(text: str) -> None:
    assert fast(text) == reference(text)


def yaml_files() -> list[Path]:
    found = [
        p
        for folder in ("fixtures", "rules")
        for p in sorted((ROOT / folder).rglob("*"))
        if p.suffix in (".yml", ".yaml") and p.is_file()
    ]
    assert len(found) > 100
    return found


def test_every_fixture_and_rule_file_reads_as_before() -> None:
    for path in yaml_files():
        same(path.read_text(encoding="utf-8", errors="replace"))


DOCS = {
    "duplicates without anchors, nested, in walk order": (
        "a: 1\nb:\n  x: 1\n  x: 2\n  y: [ {p: 1, p: 2}, {q: 1} ]\na: 2\nc: {m: 1, m: 1}\n"
    ),
    "duplicates with anchors and aliases": "base: &b {k: 1, k: 2}\nuse: *b\nother: {z: 1, z: 2}\n",
    "merge keys, written and tagged": "d: &d {a: 1}\ne:\n  <<: *d\n  b: 2\nf: {!!merge g: 1}\n",
    "an ampersand and a star, no alias": "run: make && ls *.txt\nglob: '**'\n",
    "an application tag": "a: !vault secret\nb: 1\n",
    "a python tag": "a: !!python/name:os.system x\n",
    "implicit types, plain and quoted": "a: true\nb: 'true'\nc: 0x1f\nd: 1.5\ne: ~\nf: 2024-01-01\ng: on\n",
    "every first character of an implicit type": (
        "a: yes\nb: No\nc: .inf\nd: -1\ne: +1.5e3\nf: =\ng: ~\nh: 'x'\ni: \"\"\nj:\nk: 0o17\n"
        "l: 1_000\nm: .NaN\nn: OFF\no: Y\np: 2001-12-14t21:59:43.10-05:00\nq: !!str 12\nr: ! 12\n"
    ),
    "several documents": "a: 1\na: 2\n---\nb: 1\nb: 2\n---\n",
    "complex keys": "? [a, b]\n: 1\n? {c: d}\n: 2\n",
    "an empty text": "",
    "a parse error": "a: [1, 2\nb: 3\n",
    "a recursive alias": "a: &a [*a]\n",
}


@pytest.mark.parametrize("text", list(DOCS.values()), ids=list(DOCS))
def test_made_documents_read_as_before(text: str) -> None:
    same(text)


def test_alias_bomb_still_refused_on_the_fast_loader() -> None:
    lines = ['a0: &a0 ["x", "y"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    lines.append("use: *a8")
    safeyaml._RECENT.clear()
    with pytest.raises(safeyaml.YamlProblem, match="alias bomb"):
        safeyaml.compose("\n".join(lines))


def test_tag_memo_is_bounded() -> None:
    text = "\n".join(f"k{i}: v{i}" for i in range(safeyaml._TAGS_MAX + 50)) + "\nlong: " + "x" * 500
    safeyaml._RECENT.clear()
    safeyaml.compose(text)
    assert 0 < len(safeyaml._TAGS) <= safeyaml._TAGS_MAX
    assert all(len(k) <= safeyaml._TAG_TEXT_MAX for k in safeyaml._TAGS)


def test_secret_names_memo_hands_out_copies() -> None:
    text = "${{ secrets.NPM_TOKEN }} ${{ secrets['PYPI'] }} ${{ secrets.GITHUB_TOKEN }}"
    first = gha_model.secret_names_in(text)
    assert first == ["NPM_TOKEN", "PYPI"]
    first += ["CHANGED"]  # callers extend what they get
    assert gha_model.secret_names_in(text) == ["NPM_TOKEN", "PYPI"]
    long_text = text + " " * gha_model._NAMES_TEXT_MAX
    assert gha_model.secret_names_in(long_text) == ["NPM_TOKEN", "PYPI"]
    assert long_text not in gha_model._NAMES
