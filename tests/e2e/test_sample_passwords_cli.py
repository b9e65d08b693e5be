"""Sample passwords through the installed command: a documentation example's password is not a
finding but is listed in the JSON result's `suppressed_secrets` with its reason (and survives
`nhiscan report`), while a chosen password in code is reported; no output holds either value."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import AS_OF, run_cli

README = """\
Connecting
==========

Start a database for the tests::

    docker run -e POSTGRES_PASSWORD='tiger' -p 127.0.0.1:5432:5432 postgres
"""
SETTINGS = 'DB_PASSWORD = "Welcome2024"\n'


def test_sample_password_is_suppressed_with_its_reason_and_a_chosen_one_reported(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "README.rst").write_text(README)
    (repo / "app" / "settings.py").write_text(SETTINGS)
    out = tmp_path / "result.json"
    res = run_cli(
        "scan", str(repo), "--as-of", AS_OF, "--format", "json", "-o", str(out), "--fail-on", "none"
    )
    assert res.code == 0, res.stderr
    text = out.read_text()
    doc = json.loads(text)
    places = {(f["rule_id"], f["location"]["path"], f["location"]["line"]) for f in doc["findings"]}
    assert places == {("secret-generic", "app/settings.py", 1)}
    [sample] = doc["suppressed_secrets"]
    assert sample["location"]["path"] == "README.rst"
    assert sample["location"]["line"] == 6
    assert sample["type"] == "hard-coded password or secret"
    assert (
        sample["attributes"]["suppressed"]
        == "sample password in documentation (lower-case words, nothing chosen)"
    )
    assert sample["fingerprint_id"] is None  # never a finding
    assert [s["location"]["path"] for s in doc["secrets"]] == ["app/settings.py"]
    assert "tiger" not in text and "Welcome2024" not in text

    again = tmp_path / "again.json"
    res = run_cli("report", str(out), "--format", "json", "-o", str(again))
    assert res.code == 0, res.stderr
    assert json.loads(again.read_text())["suppressed_secrets"] == doc["suppressed_secrets"]
