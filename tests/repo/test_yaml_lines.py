"""The YAML line scan (nhiscan/sources/repo/yaml_lines.py) against plain detect-secrets and against
the libyaml parse it stands in for: each YAML shape that occurs in practice is read by the line
scan (not the parse), and every finding (type, line, secret hash) equals detect-secrets' own; shapes
the line scan cannot decide are parsed, with the same result. Hostile texts cost linear time."""

from __future__ import annotations

import os
import random
import string
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nhiscan.sources.repo import yaml_lines
from nhiscan.sources.repo.detectors import TYPE_PREFIX
from nhiscan.sources.repo.ds_text import INDIRECT_FILTER
from nhiscan.sources.repo.engine import ds_session
from nhiscan.sources.repo.yaml_values import parsed_lines, transformed_lines

R = random.Random(20261206)
B64 = string.ascii_letters + string.digits + "+/"


def secret(n: int = 40) -> str:
    """A random base64 value whose entropy is above detect-secrets' limit (4.5)."""
    from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString

    plugin = Base64HighEntropyString()
    while True:
        value = "".join(R.choice(B64) for _ in range(n))
        if plugin.calculate_shannon_entropy(value) > 4.6:
            return value


def hexs(n: int = 40) -> str:
    return "".join(R.choice("0123456789abcdef") for _ in range(n))


def _s() -> str:
    return secret()


def word(n: int) -> str:
    return "".join(R.choice(string.ascii_letters) for _ in range(n))


# Shapes the line scan reads itself (each also holds values detect-secrets reports).
DECIDED: dict[str, str] = {
    "plain": f"api_token: {_s()}\nname: demo\npassword: hunter2{word(8)}\ncount: 3\nenabled: yes\n",
    "quoted": (
        f"single: '{_s()}'\nescaped: 'it''s {_s()}'\ndouble: \"{_s()}\"\n"
        f'with_escapes: "a\\"b\\n{_s()}\\x41\\u00e9"\nempty: ""\n'
    ),
    "sequences": (
        f"items:\n  - {_s()}\n  - name: first\n    token: {_s()}\n  -   key: {_s()}\n"
        f"compact:\n- {_s()}\n- auth_key: {_s()}\nafter: {_s()}\n"
    ),
    "nested": (
        "jobs:\n  build:\n    steps:\n      - uses: actions/checkout@v4\n"
        f"      - run: echo hi\n        env:\n          SECRET_VALUE: {_s()}\n"
        f"    outputs:\n\n      digest: {hexs()}\n"
    ),
    "comments": (
        f"# header {_s()}\nkey: {_s()} # trailing comment\nurl: http://x#frag{_s()}\n"
        f"  # indented comment\nnote: value  #   spaced {_s()}\n"
    ),
    "flow": (
        f"creds: {{user: admin, password: {_s()}, 'quoted key': \"{_s()}\"}}\n"
        f"list: [a, 'b', \"{_s()}\", ]\nempty_map: {{}}\nempty_list: []\n"
        f"later: {_s()}\n"
    ),
    "flow_in_sequence": f"entries:\n  - {{id: 1, secret: {_s()}}}\n  - [x, y]\nnext: {_s()}\n",
    "block_scalars": (
        f"literal: |\n  line one {_s()}\n  line two\n\n  after blank\n"
        f"strip: |-\n    {_s()}\n    end\n"
        f"keep: |+\n  {_s()}\n\n\n"
        f"folded: >\n  folded {_s()}\n  text\n\n  para\n    more indented\n  back\n"
        f"folded_strip: >- # comment {_s()}\n  {_s()}\n"
        "key_after: value\n"
    ),
    "keys": (
        f"\"double key\": {_s()}\n'single key': {_s()}\non: push\n2: {_s()}\n"
        f"key with spaces: {_s()}\n-dash: {_s()}\n"
    ),
    "anchors_and_tags": f"anchored: &anc {_s()}\ntagged: !!str {_s()}\nnumber_as_str: !!str 123\n",
    "multiline_plain": (
        f"description: first part\n  second part {_s()}\n\n  after blank\nnext: one\n"
        f"below:\n  {_s()}\n  continued\nrun:\n  echo {_s()}\nalone_below:\n  {_s()}\n"
    ),
    "multiline_quoted": (
        f"sq: 'first {_s()}\n  second ''quoted''\n\n  third'\n"
        f'dq: "first {_s()}\n  second \\\n  joined \\"x\\""\nend: {_s()}\n'
    ),
    "document_markers": f"# comment\n---\nkey: {_s()}\nother: {_s()}\n...\n# trailing\n",
    "root_sequence": f"- name: a\n  password: {_s()}\n- {_s()}\n-\n  token: {_s()}\n",
    "nulls_and_types": (
        f"a:\nb: ~\nc: null\nd: 1.5\ne: 2001-12-14\nf: true\ng: 0x1F\nh: {_s()}\ni: -{_s()}\n"
    ),
    "long_value": f"blob: {secret(5000)}\nafter: {_s()}\n",
    "indented_root": f"  key: {_s()}\n  other:\n    deep: {_s()}\n",
    "indirect_reference": f"secrets: inherit # tool: ignore[rule]\npassword: {_s()}\n",
    "aws": f"aws_access_key_id: AKIA{''.join(R.choice(string.ascii_uppercase) for _ in range(16))}\n",
}

# Shapes left to the parse (or that are not YAML at all): the result must still be detect-secrets'.
UNDECIDED: dict[str, str] = {
    "alias": f"base: &b {_s()}\ncopy: *b\nother: {_s()}\n",
    "merge": f"defaults: &d\n  token: {_s()}\nprod:\n  <<: *d\n  name: x\n",
    "complex_key": f"? complex\n: {_s()}\nplain: {_s()}\n",
    "two_documents": f"a: {_s()}\n---\nb: {_s()}\n",
    "tabs": f"a:\n\tb: {_s()}\n",
    "duplicate_key": f"a: {_s()}\nb: x\na: {_s()}\n",
    "binary": "bin: !!binary aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRlc3Qgb2YgYmFzZTY0IHZhbHVlcw==\n",
    "custom_tag": f"ref: !Ref {_s()}\nother: {_s()}\n",
    "helm_template": f"{{{{- if .Values.x }}}}\npassword: {_s()}\n{{{{- end }}}}\n",
    "bad_indent": f"a:\n    b: {_s()}\n  c: {_s()}\n",
    "continuation_of_quoted": f"a: '{_s()}'\n  b: c\n",
    "nested_flow": f"x: {{a: {{b: {_s()}}}, c: {_s()}}}\n",
    "mapping_in_plain": f"a: b: {_s()}\n",
    "unclosed_quote": f"a: '{_s()}\nb: c\n",
    "not_yaml": f"password = {_s()}\n[section]\n",
}


def _write(root: Path, shapes: dict[str, str]) -> None:
    for name, text in shapes.items():
        (root / f"{name}.yaml").write_text(text)


def _plain_detect_secrets(root: Path) -> set[tuple[str, str, int, str]]:
    from detect_secrets.core.scan import scan_file

    out = set()
    cwd = os.getcwd()
    os.chdir(root)
    try:
        with ds_session():
            # the session leaves detect-secrets' indirect-reference filter to nhiscan's Scanner
            # (same answers); plain detect-secrets runs with it
            from detect_secrets.settings import get_filters, get_settings

            get_settings().filters.setdefault(INDIRECT_FILTER, {})
            get_filters.cache_clear()
            for p in sorted(root.iterdir()):
                out |= {(p.name, s.type, s.line_number, s.secret_hash) for s in scan_file(p.name)}
    finally:
        os.chdir(cwd)
    return out


def _ours(root: Path) -> set[tuple[str, str, int, str]]:
    from detect_secrets.core.potential_secret import PotentialSecret

    out = set()
    with ds_session() as scanner:
        for p in sorted(root.iterdir()):
            for r in scanner.scan_text(p.name, p.read_text()):
                if not r.type.startswith(TYPE_PREFIX):  # nhiscan's own catalogue: tested elsewhere
                    out.add((p.name, r.type, r.line, PotentialSecret.hash_secret(r.value)))
    return out


@pytest.mark.parametrize("name", sorted(DECIDED))
def test_line_scan_reads_the_shape_as_the_parse_does(name: str) -> None:
    text = DECIDED[name]
    items = yaml_lines.scan(text)
    assert items is not None, "the line scan should decide this shape"
    assert transformed_lines(text) == parsed_lines(text)


@pytest.mark.parametrize("name", sorted(UNDECIDED))
def test_line_scan_leaves_other_shapes_to_the_parse(name: str) -> None:
    text = UNDECIDED[name]
    assert yaml_lines.scan(text) is None
    try:
        expected: list[str] | None = parsed_lines(text)
    except ValueError:
        expected = None
    try:
        got: list[str] | None = transformed_lines(text)
    except ValueError:
        got = None
    assert got == expected


# The libyaml parse (unchanged by the line scan) gives an alias's value, and the value of a
# `? complex` key, the key's line; detect-secrets gives them the line its parser had reached (the
# alias's, the value's), and shifts the lines after them. Same secrets, other line numbers.
PARSE_LINE_DEVIATIONS = ("alias.yaml", "complex_key.yaml")


def test_every_finding_equals_plain_detect_secrets(tmp_path: Path) -> None:
    _write(tmp_path, DECIDED)
    _write(tmp_path, UNDECIDED)
    expected = _plain_detect_secrets(tmp_path)
    ours = _ours(tmp_path)
    assert {f for f, *_ in expected} >= {f"{name}.yaml" for name in DECIDED}  # each holds findings
    exact = {f for f in expected | ours if f[0] not in PARSE_LINE_DEVIATIONS}
    assert {f for f in ours if f in exact} == {f for f in expected if f in exact}
    for name in PARSE_LINE_DEVIATIONS:  # no finding lost there either
        assert {(t, h) for f, t, _, h in ours if f == name} == {
            (t, h) for f, t, _, h in expected if f == name
        }


def test_flow_items_on_one_line_shift_later_lines_as_detect_secrets_does() -> None:
    # Two items on line 1 occupy transformed lines 1 and 2: the value of line 2 lands on line 3.
    text = f"m: {{a: {_s()}, b: {_s()}}}\nc: {_s()}\n"
    lines = transformed_lines(text)
    assert yaml_lines.scan(text) is not None
    assert [ln.split(":")[0] for ln in lines] == ["a", "b", "c"]


def test_sequence_values_are_not_transformer_items() -> None:
    value = _s()
    items = yaml_lines.scan(f"list:\n  - {value}\nkey: x\n")
    assert items == [yaml_lines.Item("key", "x", 3)]


HOSTILE = textwrap.dedent(
    """
    import sys, time
    from nhiscan.sources.repo import yaml_lines
    from nhiscan.sources.repo.yaml_values import transformed_lines

    def deep(n):  # nesting n levels deep
        return "".join(" " * i + f"k{i}:\\n" for i in range(n)) + " " * n + "v: x\\n"

    def wide(n):  # one line of n characters: a plain value, a quoted one, a flow list
        return "a: " + "x " * (n // 2) + "\\nb: '" + "y''" * (n // 3) + "'\\nc: [" + "z, " * (n // 3) + "]\\n"

    def anchors(n):  # many anchors (and one alias: the parse decides, bounded by safeyaml)
        return "".join(f"k{i}: &a{i} v{i}\\n" for i in range(n)) + "last: *a0\\n"

    def open_quotes(n):  # quotes that never close, then lines that look like keys
        return "a: '" + "\\n".join(f"  k{i}: v" for i in range(n)) + "\\n"

    def block(n):  # a block scalar of n lines, with blank lines and deeper ones
        return "b: >\\n" + "".join("  text\\n\\n    deeper\\n" for _ in range(n // 3))

    for make in (deep, wide, anchors, open_quotes, block):
        times = []
        for n in (2000, 8000):
            text = make(n)
            start = time.process_time()
            try:
                transformed_lines(text)
            except ValueError:
                pass
            yaml_lines.scan(text)
            times.append(time.process_time() - start)
        print(make.__name__, times[0], times[1], len(make(2000)), len(make(8000)))
    """
)


def test_hostile_yaml_costs_linear_time() -> None:
    """Deep nesting, huge lines, many anchors, unclosed quotes, long block scalars: k times the
    input costs about k times the CPU time (a quadratic step would cost k squared), in a timeout."""
    proc = subprocess.run(
        [sys.executable, "-c", HOSTILE], capture_output=True, text=True, timeout=120, check=True
    )
    for row in proc.stdout.splitlines():
        _name, small, large, small_size, large_size = row.split()
        growth = int(large_size) / int(small_size)  # 4x, or 16x for the nesting (its indentation)
        assert float(large) < 2 * growth * float(small) + 0.05, row
        assert float(large) < 10.0, row
