"""`nhiscan diff OLD.json NEW.json` through the installed CLI.

The main case is two real scans of copies of the fixtures that differ by exactly one fixed problem
(a leaked AWS key removed from a Terraform file of acme-infra) and one new problem (svc-backup's
access key made 790 days old in the AWS exports): the diff reports exactly those two.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AS_OF, FIXTURES, ROOT, run_cli

FIXED = ("secret-cloud-key", "terraform/legacy.auto.tfvars")
NEW = ("aws-access-key-too-old", "arn:aws:iam::111122223333:user/service/svc-backup")
SVC_BACKUP_KEY = "AKIA7A6P7HH6VENUVBZJ"
TIMEOUT = 60


def _tree(root: Path) -> Path:
    """Copies of acme-infra (a repository) and the acme-prod AWS exports under ``root``."""
    root.mkdir(parents=True)
    shutil.copytree(FIXTURES / "repos" / "acme-infra", root / "acme-infra")
    shutil.copytree(FIXTURES / "aws" / "acme-prod", root / "acme-prod")
    return root


def _scan(root: Path, out: Path, *extra: str) -> dict[str, Any]:
    res = run_cli(
        "scan",
        "acme-infra",
        "--input",
        "acme-prod",
        "--as-of",
        AS_OF,
        "--fail-on",
        "none",
        "--format",
        "json",
        "--output",
        str(out),
        *extra,
        cwd=root,
        timeout=120,
    )
    assert res.code == 0, res.stderr
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def fix_and_break(root: Path) -> None:
    """Remove the leaked key from legacy.auto.tfvars; age svc-backup's key in both AWS exports."""
    tfvars = root / "acme-infra" / "terraform" / "legacy.auto.tfvars"
    lines = tfvars.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [ln for ln in lines if not ln.startswith(("aws_access_key", "aws_secret_key"))]
    assert len(kept) == len(lines) - 2
    tfvars.write_text("".join(kept), encoding="utf-8")

    report = root / "acme-prod" / "credential-report.csv"
    with report.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    column = rows[0].index("access_key_1_last_rotated")
    (row,) = [r for r in rows if r[0] == "svc-backup"]
    row[column] = "2024-09-01T10:00:00+00:00"
    with report.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)

    keys = root / "acme-prod" / "list-access-keys.json"
    data = json.loads(keys.read_text(encoding="utf-8"))
    (key,) = [k for k in data["AccessKeyMetadata"] if k["AccessKeyId"] == SVC_BACKUP_KEY]
    key["CreateDate"] = "2024-09-01T10:00:00Z"
    keys.write_text(json.dumps(data, indent=4), encoding="utf-8")


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """OLD and NEW results of two separate runs (so run labels of secrets differ between them)."""
    base = tmp_path_factory.mktemp("diff")
    old_root, new_root = _tree(base / "old"), _tree(base / "new")
    fix_and_break(new_root)
    old, new = base / "old.json", base / "new.json"
    _scan(old_root, old)
    _scan(new_root, new)
    return old, new


def diff(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Any:
    return run_cli("diff", *args, cwd=cwd, env=env, timeout=TIMEOUT)


def test_two_scans_differ_by_exactly_the_fixed_and_the_new_problem(scans: tuple[Path, Path]) -> None:
    old, new = scans
    res = diff(str(old), str(new), "--format", "json")
    assert res.code == 1, res.stderr  # the new finding is high: at the default --fail-on high
    data = res.json()
    assert data["schema"] == "nhiscan-diff/v1"
    assert [(f["rule_id"], f["identity_id"]) for f in data["findings"]["new"]] == [NEW]
    assert [(f["rule_id"], f["location"]["path"]) for f in data["findings"]["resolved"]] == [FIXED]
    assert data["findings"]["changed"] == []
    assert data["identities"]["new"] == data["identities"]["removed"] == []
    # the aged key gives svc-backup a risk it did not have: reported as an identity change only
    (changed,) = data["identities"]["changed"]
    assert changed["id"] == NEW[1]
    assert changed["old"]["risk_score"] < changed["new"]["risk_score"]
    summary = data["summary"]
    assert (summary["new"], summary["resolved"], summary["changed"], summary["failing"]) == (1, 1, 0, 1)
    assert data["failing"] == [data["findings"]["new"][0]["fingerprint"]]
    assert data["warnings"] == []

    # Both results hold secrets under run labels, numbered per run: the diff never rests on them.
    old_data = json.loads(old.read_text(encoding="utf-8"))
    assert len(old_data["secrets"]) > 1 and all(s["hash"].startswith("run:") for s in old_data["secrets"])


def test_table_and_markdown_show_the_same_two(scans: tuple[Path, Path]) -> None:
    old, new = scans
    table = diff(str(old), str(new))
    assert table.code == 1
    lines = table.stdout.splitlines()
    assert lines[1:4] == [
        "Findings: 1 new, 1 resolved, 0 changed (0 worse)",
        "Identities: 0 new, 0 removed, 1 with another risk",
        "Fail on high: 1 new or worse finding(s) at or above high",
    ]
    # the README shows these lines as the example of the text view
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\n".join(["", *lines[1:4], ""]) in readme.split("### nhiscan diff")[1]
    assert "aws-access-key-too-old" in table.stdout.split("Resolved findings")[0]
    assert "legacy.auto.tfvars" in table.stdout.split("Resolved findings")[1]
    narrow = run_cli("diff", str(old), str(new), env={"COLUMNS": "80"}, timeout=TIMEOUT)
    assert narrow.stdout.splitlines()[1:] == [ln for ln in narrow.stdout.splitlines()[1:] if len(ln) <= 80]
    assert "aws-access-key-too-old" in narrow.stdout and "svc-backup" in narrow.stdout

    md = diff(str(old), str(new), "--format", "markdown")
    assert md.code == 1
    assert md.stdout.startswith("## nhiscan diff: what changed\n")
    assert "### New findings (1)" in md.stdout and "### Resolved findings (1)" in md.stdout
    assert "### Changed findings" not in md.stdout


@pytest.mark.parametrize(
    ("fail_on", "code"), [("critical", 0), ("high", 1), ("medium", 1), ("low", 1), ("none", 0)]
)
def test_fail_on_counts_only_new_findings_at_or_above(
    scans: tuple[Path, Path], fail_on: str, code: int
) -> None:
    # NEW also holds critical findings (present in both): they do not count, only the new high one
    old, new = scans
    res = diff(str(old), str(new), "--fail-on", fail_on, "--format", "json")
    assert res.code == code, res.stderr
    assert res.json()["summary"]["failing"] == code


def test_resolved_findings_never_fail(scans: tuple[Path, Path]) -> None:
    old, new = scans
    res = diff(
        str(new), str(old), "--format", "json", "--fail-on", "critical"
    )  # swapped: the leak comes back
    assert res.code == 1
    assert [f["rule_id"] for f in res.json()["findings"]["new"]] == [FIXED[0]]
    assert [f["rule_id"] for f in res.json()["findings"]["resolved"]] == [NEW[0]]


def test_identical_results_are_an_empty_diff(scans: tuple[Path, Path], tmp_path: Path) -> None:
    old, _ = scans
    again = tmp_path / "again.json"
    _scan(_tree(tmp_path / "tree"), again)  # another run of the same tree: other run labels, same findings
    for args in ((str(old), str(old)), (str(old), str(again))):
        res = diff(*args, "--format", "json", "--fail-on", "low")
        assert res.code == 0, res.stderr
        data = res.json()
        assert data["findings"] == {"new": [], "resolved": [], "changed": []}
        assert data["identities"] == {"new": [], "removed": [], "changed": []}
        text = diff(*args, "--fail-on", "low")
        assert text.code == 0 and "No change." in text.stdout


def test_a_raised_severity_is_a_worse_finding_and_counts(tmp_path: Path) -> None:
    """The same tree scanned with a config that raises a rule: changed, worse, and it fails --fail-on."""
    root = _tree(tmp_path / "tree")
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    _scan(root, old)
    cfg = tmp_path / "nhiscan.toml"
    cfg.write_text('[severity]\naws-two-active-keys = "critical"\n', encoding="utf-8")
    _scan(root, new, "--config", str(cfg))

    res = diff(str(old), str(new), "--format", "json", "--fail-on", "critical")
    assert res.code == 1, res.stderr
    data = res.json()
    assert data["findings"]["new"] == data["findings"]["resolved"] == []
    (change,) = data["findings"]["changed"]
    assert change["finding"]["rule_id"] == "aws-two-active-keys"
    assert change["changes"] == ["severity"] and change["worse"] is True
    assert (change["old"]["severity"], change["new"]["severity"]) == ("medium", "critical")
    assert data["failing"] == [change["fingerprint"]]
    text = diff(str(old), str(new), "--fail-on", "critical")
    assert "severity medium -> critical" in text.stdout

    # The other way round the severity fell: changed, not worse, never counted.
    back = diff(str(new), str(old), "--format", "json", "--fail-on", "low")
    assert back.code == 0
    (change,) = back.json()["findings"]["changed"]
    assert change["worse"] is False and back.json()["failing"] == []


def _edit(src: Path, dst: Path, edit: Any) -> Path:
    data = json.loads(src.read_text(encoding="utf-8"))
    edit(data)
    dst.write_text(json.dumps(data), encoding="utf-8")
    return dst


def test_identities_added_and_removed(scans: tuple[Path, Path], tmp_path: Path) -> None:
    old, _ = scans
    gone = "arn:aws:iam::111122223333:user/jenkins-legacy"

    def drop(data: dict[str, Any]) -> None:
        data["identities"] = [i for i in data["identities"] if i["id"] != gone]
        data["findings"] = [f for f in data["findings"] if f["identity_id"] != gone]

    without = _edit(old, tmp_path / "without.json", drop)
    res = diff(str(without), str(old), "--format", "json", "--fail-on", "high")
    data = res.json()
    assert [i["id"] for i in data["identities"]["new"]] == [gone]
    assert data["identities"]["new"][0]["risk_score"] is not None
    assert data["identities"]["removed"] == []
    new_rules = sorted(f["rule_id"] for f in data["findings"]["new"])
    assert new_rules == ["aws-access-key-too-old", "aws-credential-unused", "nhi-no-owner"]
    assert res.code == 1  # aws-access-key-too-old is high

    back = diff(str(old), str(without), "--format", "json")
    assert back.code == 0  # removing things never fails
    assert [i["id"] for i in back.json()["identities"]["removed"]] == [gone]
    assert len(back.json()["findings"]["resolved"]) == 3


def test_an_ended_waiver_counts_as_worse(scans: tuple[Path, Path], tmp_path: Path) -> None:
    old, _ = scans

    def waive_all(data: dict[str, Any]) -> None:
        for f in data["findings"]:
            f["waived"] = True
            f["waiver"] = {"kind": "baseline", "source": "b.json", "reason": "present in baseline"}

    waived = _edit(old, tmp_path / "waived.json", waive_all)
    res = diff(str(waived), str(old), "--format", "json", "--fail-on", "critical")
    assert res.code == 1
    data = res.json()
    assert data["summary"]["changed"] == len(data["findings"]["changed"]) > 0
    assert all(c["changes"] == ["unwaived"] and c["worse"] for c in data["findings"]["changed"])
    critical = [c for c in data["findings"]["changed"] if c["new"]["severity"] == "critical"]
    assert sorted(data["failing"]) == sorted(c["fingerprint"] for c in critical)
    # newly waived: changed, not counted
    res = diff(str(old), str(waived), "--format", "json", "--fail-on", "low")
    assert res.code == 0 and {tuple(c["changes"]) for c in res.json()["findings"]["changed"]} == {("waived",)}


def test_names_from_data_cannot_drive_the_terminal_or_inject_markdown(
    scans: tuple[Path, Path], tmp_path: Path
) -> None:
    old, _ = scans
    evil = "evil\x1b]8;;https://x.example\x07link\x1b[2J\u202e|[x](https://x.example)"

    def plant(data: dict[str, Any]) -> None:
        data["identities"].append(
            {"id": f"arn:{evil}", "provider": "aws", "kind": "aws-iam-user", "name": evil, "scope": evil}
        )
        finding = dict(data["findings"][0], fingerprint="sha256:" + "e" * 64, message=evil, rule_id=evil)
        data["findings"].append(finding)

    planted = _edit(old, tmp_path / "planted.json", plant)
    for fmt in ("table", "markdown"):
        res = diff(str(old), str(planted), "--format", fmt, "--fail-on", "none")
        assert res.code == 0, res.stderr
        assert "\x1b" not in res.stdout and "\u202e" not in res.stdout and "\x07" not in res.stdout
        assert "\\x1b" in res.stdout
    md = diff(str(old), str(planted), "--format", "markdown").stdout
    prose = re.sub(r"(`+).*?\1", "", md)  # code spans show their content literally
    assert "[x](https" not in prose and "\\[x\\]" in prose


def test_results_hold_no_more_of_a_secret_than_the_scan(scans: tuple[Path, Path]) -> None:
    """What a diff shows of a secret is what the results show: the redacted form only."""
    old, new = scans
    value = next(
        ln.split('"')[1]
        for ln in (FIXTURES / "repos/acme-infra/terraform/legacy.auto.tfvars").read_text().splitlines()
        if ln.startswith("aws_secret_key")
    )
    for fmt in ("table", "json", "markdown"):
        out = diff(str(old), str(new), "--format", fmt).stdout
        assert value not in out and value[:8] not in out
        assert "oG\u2026#" in out or "oG\\u2026#" in out  # the resolved finding names it redacted


def test_output_file_and_warnings(scans: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = scans
    out = tmp_path / "diff.json"
    res = diff(str(new), str(old), "--format", "json", "--output", str(out), "--fail-on", "none")
    assert res.code == 0 and res.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["new"] == 1
    refused = diff(str(old), str(new), "--output", str(new))
    assert refused.code == 2 and refused.stderr.count("\n") == 1 and "NEW.json" in refused.stderr
    assert json.loads(new.read_text(encoding="utf-8"))["schema"] == "nhiscan/v1"  # untouched


def test_a_failed_input_or_a_source_scanned_once_is_a_warning(
    scans: tuple[Path, Path], tmp_path: Path
) -> None:
    old, _ = scans

    def fail_repo(data: dict[str, Any]) -> None:
        data["sources"] = [s for s in data["sources"] if s["kind"] != "repository"]
        data["findings"] = [f for f in data["findings"] if not f["location"]]
        data["errors"] = [{"source": "acme-infra", "message": "cannot read: Permission denied"}]

    broken = _edit(old, tmp_path / "broken.json", fail_repo)
    res = diff(str(old), str(broken), "--format", "json")
    assert res.code == 0
    warnings = res.json()["warnings"]
    assert any("1 input error(s)" in w and "broken.json" in w for w in warnings)
    assert any("only " + str(old) + " scanned repository acme-infra" in w for w in warnings)
    assert all(f"nhiscan: warning: {w}" in res.stderr for w in warnings)
    table = diff(str(old), str(broken))
    assert "warning: only" in table.stdout


def _bad_inputs(tmp_path: Path, good: Path) -> dict[str, tuple[Path, str]]:
    inventory = tmp_path / "inventory.json"
    res = run_cli(
        "inventory", "--input", str(FIXTURES / "aws/acme-prod"), "-o", str(inventory), timeout=TIMEOUT
    )
    assert res.code == 0, res.stderr
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"schema": "nhiscan-baseline/v1", "findings": []}), encoding="utf-8")
    sarif = tmp_path / "result.sarif"
    res = run_cli("report", str(good), "--format", "sarif", "-o", str(sarif), timeout=TIMEOUT)
    assert res.code == 0, res.stderr
    cases = {
        "missing": (tmp_path / "missing.json", "file not found"),
        "not-json": (tmp_path / "notes.json", "not JSON (line 1, column 1"),
        "not-utf8": (tmp_path / "latin1.json", "not UTF-8"),
        "list": (tmp_path / "list.json", "a JSON list, not an object"),
        "other-schema": (tmp_path / "other.json", "not an nhiscan JSON result (schema 'x/v9'"),
        "inventory": (inventory, "an nhiscan inventory, not a scan result"),
        "baseline": (baseline, "an nhiscan baseline, not a scan result"),
        "sarif": (sarif, "a SARIF log, not a scan result"),
        "broken-finding": (
            tmp_path / "broken.json",
            "not a readable nhiscan JSON result: missing field 'fingerprint'",
        ),
        "bad-severity": (tmp_path / "sev.json", "unknown severity"),
        "deep": (tmp_path / "deep.json", "nested too deeply"),
        "directory": (tmp_path, "is not a regular file"),
        "fifo": (tmp_path / "fifo", "nothing arrived for 1 s"),
    }
    (tmp_path / "notes.json").write_text("hello\n", encoding="utf-8")
    (tmp_path / "latin1.json").write_bytes(b'{"schema": "nhiscan/v1", "x": "\xe9"}')
    (tmp_path / "list.json").write_text("[]", encoding="utf-8")
    (tmp_path / "other.json").write_text('{"schema": "x/v9"}', encoding="utf-8")
    data = json.loads(good.read_text(encoding="utf-8"))
    del data["findings"][0]["fingerprint"]
    (tmp_path / "broken.json").write_text(json.dumps(data), encoding="utf-8")
    data = json.loads(good.read_text(encoding="utf-8"))
    data["findings"][0]["severity"] = "catastrophic"
    (tmp_path / "sev.json").write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "deep.json").write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    os.mkfifo(tmp_path / "fifo")
    return cases


def test_bad_inputs_are_one_error_line_naming_the_file(scans: tuple[Path, Path], tmp_path: Path) -> None:
    old, _ = scans
    for name, (path, expected) in _bad_inputs(tmp_path, old).items():
        for args in ((str(path), str(old)), (str(old), str(path))):
            res = diff(*args, env={"NHISCAN_INPUT_TIMEOUT": "1"})
            assert res.code == 2, (name, res.stderr)
            assert res.stdout == "", name
            assert res.stderr.count("\n") == 1, (name, res.stderr)
            assert res.stderr.startswith(f"nhiscan: error: {path}: "), (name, res.stderr)
            assert expected in res.stderr, (name, res.stderr)
            assert "Traceback" not in res.stderr


def test_usage_errors(scans: tuple[Path, Path]) -> None:
    old, new = scans
    for args, expected in (
        ((str(old), str(new), "--format", "sarif"), "--format: 'sarif' is not one of table, json, markdown"),
        ((str(old), str(new), "--fail-on", "info"), "--fail-on: 'info' is not one of"),
        ((str(old),), "Missing argument"),
    ):
        res = diff(*args)
        assert res.code == 2 and res.stderr.count("\n") == 1 and expected in res.stderr, res.stderr


def test_a_result_of_an_earlier_version_is_matched_by_place(tmp_path: Path) -> None:
    """fixtures/secret-ids/legacy/result.json holds fingerprints of the earlier form (no repository,
    secrets under plain hashes). Against a current scan of the same two repositories, every finding
    is matched except the one that version merged across the repositories (docs/secret-ids.md)."""
    legacy_dir = FIXTURES / "secret-ids" / "legacy"
    for name in ("repo-a", "repo-b"):
        shutil.copytree(FIXTURES / "secret-ids" / name, tmp_path / name)
    current = tmp_path / "current.json"
    res = run_cli(
        "scan", "repo-a", "repo-b", "--as-of", AS_OF, "--format", "json", "--fail-on", "none",
        "-o", str(current), cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert res.code == 0, res.stderr
    legacy = json.loads((legacy_dir / "result.json").read_text(encoding="utf-8"))

    res = diff(str(legacy_dir / "result.json"), str(current), "--format", "json", "--fail-on", "low")
    data = res.json()
    assert [(f["rule_id"], f["location"]["repository_name"]) for f in data["findings"]["new"]] == [
        ("gha-static-cloud-credentials", "repo-b")
    ]
    # the earlier version also reported a four-character password, which nhiscan no longer calls a
    # credential (a stand-in value, nhiscan/sources/repo/evidence.py): that finding is resolved
    assert [
        (f["rule_id"], f["location"]["path"], f["location"]["line"]) for f in data["findings"]["resolved"]
    ] == [("secret-generic", "config/settings.py", 3)]
    assert data["findings"]["changed"] == []
    assert res.code == 1
    assert any("written by an earlier nhiscan" in w for w in data["warnings"])

    back = diff(str(current), str(legacy_dir / "result.json"), "--format", "json", "--fail-on", "low")
    assert [(f["rule_id"], f["location"]["line"]) for f in back.json()["findings"]["new"]] == [
        ("secret-generic", 3)
    ]
    # What the earlier version wrote of secrets never comes back out of a diff.
    for fmt in ("table", "json", "markdown"):
        out = diff(str(legacy_dir / "result.json"), str(current), "--format", fmt).stdout
        for s in legacy["secrets"]:
            assert s["hash"] not in out and s["hash"][:8] not in out and s["redacted"] not in out
            assert s["attributes"]["sha1"] not in out


def test_diffs_committed_to_a_repository_are_recognised_as_nhiscan_outputs(
    scans: tuple[Path, Path], tmp_path: Path
) -> None:
    """A diff names AWS key ids (identifiers nhiscan prints in full): saved in a scanned tree, in any
    format, they are nhiscan's own data, not leaks. A key id pasted into one is still found."""
    old, new = scans
    tree = tmp_path / "reports"
    tree.mkdir()
    for fmt, name in (("json", "diff.json"), ("markdown", "diff.md"), ("table", "diff.txt")):
        assert diff(str(old), str(new), "--format", fmt, "--output", str(tree / name)).code == 1
    assert SVC_BACKUP_KEY in (tree / "diff.txt").read_text(encoding="utf-8")

    def scan() -> dict[str, Any]:
        res = run_cli("scan", str(tree), "--fail-on", "none", "--format", "json", timeout=120)
        assert res.code == 0, res.stderr
        data: dict[str, Any] = res.json()
        return data

    data = scan()
    assert sorted(data["sources"][0]["nhiscan_files"]) == ["diff.json", "diff.md", "diff.txt"]
    assert data["findings"] == []
    with (tree / "diff.txt").open("a", encoding="utf-8") as fh:
        fh.write(f"aws_access_key_id = {SVC_BACKUP_KEY}\n")
    assert [f["location"]["path"] for f in scan()["findings"]] == ["diff.txt"]


def test_two_runs_of_the_quick_start_from_other_places_are_an_empty_diff(tmp_path: Path) -> None:
    """Every finding of the quick start (secrets, leaks linked to identities, CI configs, four
    clouds) keeps its fingerprint in another run of copies at another place: nothing is new."""
    # (copies in both runs: inside this project's checkout, a repository is named by the checkout)
    for place in ("here", "elsewhere/deeper"):
        for name in ("acme-web", "acme-infra"):
            shutil.copytree(FIXTURES / "repos" / name, tmp_path / place / name)
    exports = [
        "--input", str(FIXTURES / "aws/acme-prod"), "--input", f"acme-prod={FIXTURES / 'gcp/acme-prod'}",
        "--input", str(FIXTURES / "azure/contoso"), "--input", str(FIXTURES / "kubernetes/prod-cluster"),
    ]  # fmt: skip
    results = []
    for root in (tmp_path / "here", tmp_path / "elsewhere/deeper"):
        out = tmp_path / f"{len(results)}.json"
        res = run_cli(
            "scan", str(root / "acme-web"), str(root / "acme-infra"), *exports, "--as-of", AS_OF,
            "--fail-on", "none", "--format", "json", "-o", str(out), timeout=180,
        )  # fmt: skip
        assert res.code == 0, res.stderr
        results.append(out)
    data = json.loads(results[0].read_text(encoding="utf-8"))
    assert len(data["findings"]) > 50 and any(f["rule_id"].startswith("secret-") for f in data["findings"])
    res = diff(*map(str, results), "--format", "json", "--fail-on", "low")
    assert res.code == 0, res.stdout
    assert res.json()["summary"]["new"] == res.json()["summary"]["resolved"] == 0
