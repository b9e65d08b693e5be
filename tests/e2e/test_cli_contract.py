"""The contract: exit codes 0/1/2, one-line errors naming the source, the JSON result's fields."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.conftest import AS_OF, FIXTURES, run_cli

NO_OWNER = FIXTURES / "rules" / "nhi-no-owner"


def test_findings_below_threshold_exit_0_and_at_threshold_exit_1() -> None:
    inv = str(NO_OWNER / "fires" / "inventory.json")
    assert run_cli("scan", "--input", inv, "--as-of", AS_OF, "--fail-on", "high").code == 0
    res = run_cli("scan", "--input", inv, "--as-of", AS_OF, "--fail-on", "low")
    assert res.code == 1, res.stderr
    assert "nhi-no-owner" in res.stdout


def test_json_result_has_contract_fields() -> None:
    res = run_cli(
        "scan", "--input", str(NO_OWNER / "fires" / "inventory.json"), "--as-of", AS_OF, "--format", "json"
    )
    data = res.json()
    assert data["schema"] == "nhiscan/v1"
    assert data["as_of"] == "2026-11-01T00:00:00+00:00"
    ident = data["identities"][0]
    for key in (
        "id",
        "provider",
        "kind",
        "name",
        "scope",
        "owner",
        "nonhuman",
        "risk_score",
        "risk_level",
        "risk_factors",
        "credentials",
    ):
        assert key in ident
    f = data["findings"][0]
    for key in (
        "rule_id",
        "title",
        "severity",
        "owasp_nhi",
        "identity_id",
        "credential_id",
        "location",
        "message",
        "remediation",
        "fingerprint",
    ):
        assert key in f
    assert f["owasp_nhi"] == ["NHI1:2025"]
    assert ident["risk_factors"] == ["no-owner"] and ident["risk_score"] > 0
    assert data["summary"]["identities"] == 1
    assert data["summary"]["findings"]["low"] == 1


def test_bad_inputs_are_named_and_good_ones_still_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"UserDetailList": [', encoding="utf-8")
    unknown = tmp_path / "unknown.json"
    unknown.write_text('{"hello": "world"}', encoding="utf-8")
    out = tmp_path / "result.json"
    res = run_cli(
        "scan",
        "--input",
        str(broken),
        "--input",
        str(unknown),
        "--input",
        str(tmp_path / "missing.json"),
        "--input",
        str(NO_OWNER / "fires" / "inventory.json"),
        "--format",
        "json",
        "--output",
        str(out),
        "--as-of",
        AS_OF,
    )
    assert res.code == 2
    assert "Traceback" not in res.stderr
    lines = [line for line in res.stderr.splitlines() if line.startswith("nhiscan: error:")]
    assert len(lines) == 3
    assert any(str(broken) in line and "invalid JSON" in line for line in lines)
    assert any(str(unknown) in line and "unrecognised export format" in line for line in lines)
    assert any("missing.json" in line and "not found" in line for line in lines)
    data = json.loads(out.read_text())
    assert [f["rule_id"] for f in data["findings"]] == ["nhi-no-owner"]
    assert len(data["errors"]) == 3


def test_usage_errors_exit_2() -> None:
    res = run_cli("scan")
    assert res.code == 2 and "nothing to scan" in res.stderr
    res = run_cli("scan", "--input", "x.json", "--as-of", "01/11/2026")
    assert res.code == 2 and "--as-of" in res.stderr
    res = run_cli("scan", "--input", "x.json", "--format", "pdf")
    assert res.code == 2 and "--format" in res.stderr
    res = run_cli("rules", "no-such-rule")
    assert res.code == 2 and "unknown rule" in res.stderr
    # Typer's own usage errors read like every other error: one line, naming where to look.
    for args, expected in [
        (("scan", "--bogus"), "nhiscan: error: No such option: --bogus (see `nhiscan scan --help`)"),
        (("scna",), "nhiscan: error: No such command 'scna'. Did you mean 'scan'? (see `nhiscan --help`)"),
        (("scan", "--format"), "nhiscan: error: Option '--format' requires an argument"),
    ]:
        res = run_cli(*args)
        assert res.code == 2 and res.stdout == ""
        assert res.stderr.splitlines() == [res.stderr.strip()] and res.stderr.startswith(expected), res.stderr
    assert run_cli("baseline").code == 2 and "create" in run_cli("baseline").stderr  # the group's help
    assert run_cli("--version").code == 0 and run_cli("rules", "nhi-no-owner").code == 0


def test_inventory_round_trip_gives_same_findings(tmp_path: Path) -> None:
    src = str(NO_OWNER / "silent" / "inventory.json")
    inv = tmp_path / "inv.json"
    assert run_cli("inventory", "--input", src, "--output", str(inv)).code == 0
    direct = run_cli("scan", "--input", src, "--format", "json", "--as-of", AS_OF).json()
    again = run_cli("scan", "--input", str(inv), "--format", "json", "--as-of", AS_OF).json()
    assert direct["identities"] == again["identities"]
    assert direct["findings"] == again["findings"]


def test_report_rerenders_saved_result(tmp_path: Path) -> None:
    saved = tmp_path / "scan.json"
    run_cli(
        "scan",
        "--input",
        str(NO_OWNER / "fires" / "inventory.json"),
        "--format",
        "json",
        "--output",
        str(saved),
        "--as-of",
        AS_OF,
        "--fail-on",
        "none",
    )
    res = run_cli("report", str(saved), "--format", "json")
    assert res.code == 0
    assert res.json() == json.loads(saved.read_text())
    table = run_cli("report", str(saved), "--format", "table")
    assert "nhi-no-owner" in table.stdout and "NHI1:2025" in table.stdout
    # An inventory is not a result: the error says what it is and what to run instead.
    wrong = run_cli("report", str(NO_OWNER / "fires" / "inventory.json"))
    assert wrong.code == 2
    assert "an inventory, not a scan result; scan it with `nhiscan scan --input FILE`" in wrong.stderr
    sarif = tmp_path / "scan.sarif"
    run_cli("report", str(saved), "--format", "sarif", "--output", str(sarif))
    wrong = run_cli("report", str(sarif))
    assert wrong.code == 2 and "a SARIF log, which cannot be re-rendered" in wrong.stderr


def test_config_disables_rule_and_overrides_severity(tmp_path: Path) -> None:
    inv = str(NO_OWNER / "fires" / "inventory.json")
    cfg = tmp_path / "nhiscan.toml"
    cfg.write_text('[severity]\nnhi-no-owner = "high"\n', encoding="utf-8")
    res = run_cli("scan", "--input", inv, "--config", str(cfg), "--format", "json", "--as-of", AS_OF)
    assert res.code == 1 and res.json()["findings"][0]["severity"] == "high"
    cfg.write_text('disable = ["nhi-no-owner"]\n', encoding="utf-8")
    res = run_cli("scan", "--input", inv, "--config", str(cfg), "--format", "json", "--as-of", AS_OF)
    assert res.code == 0 and res.json()["findings"] == []
    cfg.write_text('disable = ["no-such-rule"]\n', encoding="utf-8")
    res = run_cli("scan", "--input", inv, "--config", str(cfg))
    assert res.code == 2 and "no-such-rule" in res.stderr


def test_config_fail_on_takes_the_cli_values_and_the_cli_wins(tmp_path: Path) -> None:
    from nhiscan import cli, config

    assert cli.SEVERITIES == config.FAIL_ON_CHOICES  # one vocabulary for the option and the file
    inv = str(NO_OWNER / "fires" / "inventory.json")
    cfg = tmp_path / "nhiscan.toml"
    scan = ("scan", "--input", inv, "--config", str(cfg), "--as-of", AS_OF)
    cfg.write_text('fail_on = "low"\n', encoding="utf-8")
    assert run_cli(*scan).code == 1
    cfg.write_text('fail_on = "none"\n[severity]\nnhi-no-owner = "critical"\n', encoding="utf-8")
    assert run_cli(*scan).code == 0
    assert run_cli(*scan, "--fail-on", "high").code == 1
    cfg.write_text('fail_on = "info"\n', encoding="utf-8")
    res = run_cli(*scan)
    assert res.code == 2
    assert str(cfg) in res.stderr and "critical, high, medium, low, none" in res.stderr


def test_baseline_waives_known_findings(tmp_path: Path) -> None:
    inv = str(NO_OWNER / "fires" / "inventory.json")
    base = tmp_path / "baseline.json"
    assert run_cli("baseline", "create", "--input", inv, "--output", str(base), "--as-of", AS_OF).code == 0
    assert "sha256:" in base.read_text()
    res = run_cli("scan", "--input", inv, "--baseline", str(base), "--fail-on", "low", "--format", "json")
    assert res.code == 0
    assert res.json()["findings"][0]["waived"] is True


def test_baseline_records_when_it_was_made_and_the_as_of_day(tmp_path: Path) -> None:
    """generated_at is the real time of creation (UTC, ISO 8601), not the --as-of day."""
    from datetime import datetime, timedelta, timezone

    inv = str(NO_OWNER / "fires" / "inventory.json")
    base = tmp_path / "baseline.json"
    before = datetime.now(timezone.utc).replace(microsecond=0)
    assert run_cli("baseline", "create", "--input", inv, "--output", str(base), "--as-of", AS_OF).code == 0
    after = datetime.now(timezone.utc)
    data = json.loads(base.read_text(encoding="utf-8"))
    made = datetime.fromisoformat(data["generated_at"])
    assert made.utcoffset() == timedelta(0) and data["generated_at"].endswith("+00:00")
    assert before <= made <= after
    assert data["as_of"] == f"{AS_OF}T00:00:00+00:00"


def test_input_directory_reads_every_export_and_names_a_broken_one(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    names = (
        "gaad.json",
        "credential-report.csv",
        "list-access-keys.json",
        "cloudtrail-describe-trails.json",
        "cloudtrail-event-selectors.json",
        "cloudtrail-trail-status.json",
    )
    for name in names:
        (exports / name).write_bytes((FIXTURES / "aws" / "acme-prod" / name).read_bytes())
    (exports / "README.md").write_text("exported with the AWS CLI\n", encoding="utf-8")
    (exports / "notes.yaml").write_text("owner: platform-team\n", encoding="utf-8")
    (exports / "truncated.json").write_text('{"UserDetailList": [', encoding="utf-8")

    res = run_cli("scan", "--input", str(exports), "--as-of", AS_OF, "--format", "json")
    assert res.code == 2
    errors = [line for line in res.stderr.splitlines() if line.startswith("nhiscan: error")]
    assert len(errors) == 1 and "truncated.json" in errors[0] and "invalid JSON" in errors[0]
    data = res.json()
    assert sorted({Path(s["path"]).name for s in data["sources"]}) == sorted(names)
    full = run_cli(
        "scan", "--input", str(FIXTURES / "aws" / "acme-prod"), "--as-of", AS_OF, "--format", "json"
    )
    assert full.code == 1, full.stderr
    assert {f["fingerprint"] for f in data["findings"]} == {f["fingerprint"] for f in full.json()["findings"]}

    empty = tmp_path / "empty"
    empty.mkdir()
    res = run_cli("scan", "--input", str(empty), "--as-of", AS_OF)
    assert res.code == 2 and "holds no export" in res.stderr


def test_an_empty_list_export_is_read_as_nothing_to_list_not_an_error(tmp_path: Path) -> None:
    """`gcloud ... keys list` for an account without user-managed keys prints []: not an error."""
    inv = str(NO_OWNER / "fires" / "inventory.json")
    (tmp_path / "keys-none.json").write_text("[]\n", encoding="utf-8")
    res = run_cli(
        "scan",
        "--input",
        str(tmp_path / "keys-none.json"),
        "--input",
        inv,
        "--as-of",
        AS_OF,
        "--format",
        "json",
    )
    assert res.code == 0, res.stderr
    assert res.json()["errors"] == [] and len(res.json()["findings"]) == 1
    empty = tmp_path / "keys-none.json"
    digest = hashlib.sha256(empty.read_bytes()).hexdigest()  # what was read, for the record
    assert {"kind": "empty-export", "scope": None, "path": str(empty), "sha256": digest} in res.json()[
        "sources"
    ]
    # An empty object says nothing about what it is: still an unrecognised format.
    (tmp_path / "odd.json").write_text("{}\n", encoding="utf-8")
    res = run_cli("scan", "--input", str(tmp_path / "odd.json"), "--as-of", AS_OF)
    assert res.code == 2 and "odd.json" in res.stderr and "unrecognised export format" in res.stderr


def test_a_scope_contradicting_the_export_is_reported_and_the_export_wins() -> None:
    """SCOPE= names the account when the file does not; AWS ARNs always do, so they win."""
    aws = FIXTURES / "aws" / "acme-prod"
    res = run_cli("scan", "--input", f"999999999999={aws}", "--as-of", AS_OF, "--format", "json")
    assert res.code == 2
    errors = [line for line in res.stderr.splitlines() if line.startswith("nhiscan: error:")]
    assert len(errors) == 2 and all("names account 111122223333; using 111122223333" in e for e in errors)
    assert {i["scope"] for i in res.json()["identities"]} == {"111122223333"}
    plain = run_cli("scan", "--input", str(aws), "--as-of", AS_OF, "--format", "json")

    def pairs(result: dict) -> set[tuple[str, str]]:  # type: ignore[type-arg]
        return {(f["rule_id"], f["identity_id"]) for f in result["findings"]}

    # (list-access-keys names no account, so the SCOPE is all it has: its key ids are not joined.)
    assert pairs(res.json()) == pairs(plain.json())
    # The matching account, or none, is no error.
    assert run_cli("scan", "--input", f"111122223333={aws}", "--as-of", AS_OF, "--fail-on", "none").code == 0


def test_report_of_a_fifo_or_a_deeply_nested_file_is_one_error(tmp_path: Path) -> None:
    """`nhiscan report` reads its result like any input: a FIFO nothing writes to fails after
    NHISCAN_INPUT_TIMEOUT, and JSON nested too deeply is an error line, not a traceback."""
    import os

    fifo = tmp_path / "result.json"
    os.mkfifo(fifo)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    for path, expected in ((fifo, "nothing arrived for 1 s"), (deep, "nested too deeply")):
        res = run_cli("report", str(path), env={"NHISCAN_INPUT_TIMEOUT": "1"}, timeout=30)
        assert res.code == 2 and res.stdout == ""
        assert res.stderr.startswith(f"nhiscan: error: {path}: ") and expected in res.stderr
        assert res.stderr.count("\n") == 1, res.stderr
