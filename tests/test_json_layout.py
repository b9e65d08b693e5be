"""JSON documents: same data as json.dumps, one record per line below the chosen depth."""

from __future__ import annotations

import json

from nhiscan.model.serialize import dumps_document
from tests.conftest import AS_OF, FIXTURES, run_cli


def test_round_trips_and_puts_each_record_on_one_line() -> None:
    doc = {
        "schema": "nhiscan/v1",
        "empty": [],
        "nothing": {},
        "findings": [{"id": 1, "msg": "caf\u00e9 \u2026", "nested": {"a": [1, 2, {"b": None}]}}, {"id": 2}],
        "summary": {"findings": {"high": 1}},
    }
    text = dumps_document(doc)
    assert json.loads(text) == doc
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}" and text.endswith("}\n")
    assert '    {"id": 1, "msg": "caf\\u00e9 \\u2026", "nested": {"a": [1, 2, {"b": null}]}},' in lines
    assert '  "empty": [],' in lines and '  "nothing": {},' in lines
    assert '    "findings": {"high": 1}' in lines
    # non-ASCII kept as is when asked (SARIF)
    assert "caf\u00e9" in dumps_document(doc, ensure_ascii=False)
    assert (
        json.loads(dumps_document(doc, depth=0)) == doc and "\n" not in dumps_document(doc, depth=0).rstrip()
    )


def test_scan_json_has_one_finding_per_line() -> None:
    res = run_cli(
        "scan", "--input", str(FIXTURES / "aws" / "acme-prod"), "--as-of", AS_OF, "--format", "json"
    )
    assert res.code == 1, res.stderr
    data = res.json()
    finding_lines = [line for line in res.stdout.splitlines() if line.startswith('    {"rule_id": ')]
    assert len(finding_lines) == len(data["findings"]) > 0
    assert [json.loads(line.rstrip(",")) for line in finding_lines] == data["findings"]
