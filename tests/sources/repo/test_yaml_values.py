"""nhiscan's YAML transformer (from its one libyaml read) gives the lines detect-secrets' own YAML
transformer gives: the same values, keys and comments, at the same lines (aliases aside: there
detect-secrets takes the reader's position after the alias, nhiscan the alias's key line)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from detect_secrets.transformers.exceptions import ParsingError
from detect_secrets.transformers.yaml import YAMLTransformer

from nhiscan.sources.repo.yaml_values import transformed_lines
from tests.conftest import FIXTURES

CASES = {
    "block": "a: 1\nname: plain value  # a comment\nquoted: 'it''s'\ndq: \"x \\\"y\\\"\"\n",
    "below-key": "job:\n  if:\n    github.event_name == 'push' ||\n    github.ref == 'main'\n  run: |\n    echo hi\n",
    "nested": "jobs:\n  a:\n    env:\n      K: v1\n      L: v2\n    steps:\n      - run: x\n        name: n\n",
    "flow": "m: {a: one, b: two}\nl: [x, y]\n",
    "merge": "base: &b\n  user: u\n  token: t1\nprod:\n  <<: *b\n  token: t2\n",
    "merge-list": "a: &a {x: 1, y: one}\nb: &b {y: two}\nc:\n  <<: [*a, *b]\n  z: three\n",
    "duplicate": "k: first\nother: o\nk: second\n",
    "binary": "blob: !!binary aGVsbG8gd29ybGQ=\n",
    "non-string-keys": "1: one\ntrue: yes-string\nnull: nothing\n",
    "empty": "# only a comment\n",
    "scalar-doc": "just a string\n",
}


class _Named(io.StringIO):
    name = "x.yml"


def _theirs(text: str) -> list[str] | str:
    try:
        return YAMLTransformer().parse_file(_Named(text))
    except ParsingError:
        return "error"


def _ours(text: str) -> list[str] | str:
    try:
        return transformed_lines(text)
    except ValueError:
        return "error"


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_lines_as_detect_secrets(name: str) -> None:
    assert _ours(CASES[name]) == _theirs(CASES[name])


def test_same_lines_on_every_yaml_fixture() -> None:
    files = [p for p in FIXTURES.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()]
    assert len(files) > 80
    for p in files:
        text = p.read_text(encoding="utf-8")
        assert _ours(text) == _theirs(text), p


@pytest.mark.parametrize(
    "text",
    ["a: 1\n---\nb: 2\n", "a: [unclosed\n", "x: !!python/name:os.system\n", "a: &x [*x]\n"],
)
def test_what_detect_secrets_cannot_read_is_refused(text: str) -> None:
    assert _ours(text) == "error"


def test_aliases_give_the_same_values(tmp_path: Path) -> None:
    text = "defs:\n  t: &t secret-value-one\nuse:\n  a: *t\n  b: *t\n"
    ours, theirs = _ours(text), _theirs(text)
    assert isinstance(ours, list) and isinstance(theirs, list)
    assert sorted(x for x in ours if x) == sorted(x for x in theirs if x)
