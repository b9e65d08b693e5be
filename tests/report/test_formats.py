"""SARIF, CSV, Markdown and HTML outputs, rendered through the real CLI from saved and fresh results."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from nhiscan.model import Finding, Identity, Inventory, Location, Report, Severity, SourceRef
from nhiscan.report import csv_format, html_format, markdown_format, sarif_format
from tests.conftest import AS_OF, FIXTURES, ROOT, run_cli

SAVED = FIXTURES / "reports" / "scan-result.json"
NO_OWNER = FIXTURES / "rules" / "nhi-no-owner" / "fires" / "inventory.json"
SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
FORMATS = ("table", "json", "sarif", "csv", "markdown", "html")
SAVED_DATA = json.loads(SAVED.read_text(encoding="utf-8"))


def report_as(fmt: str, path: Path = SAVED, cwd: Path = ROOT) -> str:
    res = run_cli("report", str(path), "--format", fmt, cwd=cwd)
    assert res.code == 0, res.stderr
    return res.stdout


def validate_sarif(doc: Any) -> None:
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    errors = sorted(jsonschema.Draft4Validator(SCHEMA).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


# --- every format from the same saved result ---------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_the_saved_result(fmt: str) -> None:
    out = report_as(fmt)
    assert "aws-admin-equivalent" in out
    assert "secret-aws-access-key-in-repo" in out


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_secret_material_in_any_format(fmt: str) -> None:
    """Only redacted previews appear: no secret hash in full, no token-shaped value."""
    out = report_as(fmt)
    for secret in SAVED_DATA["secrets"]:
        # an earlier version wrote plain sha256 hashes: no re-rendered format repeats them
        digest = secret["hash"].removeprefix("sha256:")
        assert digest not in out and digest[:8] not in out
    assert not re.search(r"ghp_[A-Za-z0-9]{36}", out)
    assert not re.search(r"sk_t[A-Za-z0-9_]{20,}", out)
    if fmt in ("markdown", "html", "csv", "sarif"):
        assert "AKIA…" in out  # the redacted preview of the leaked key is what is shown


@pytest.mark.parametrize("fmt", ["sarif", "csv", "markdown", "html"])
def test_scan_then_report_equals_direct_scan(fmt: str, tmp_path: Path) -> None:
    saved = tmp_path / "scan.json"
    args = ("--input", str(NO_OWNER), "--as-of", AS_OF, "--fail-on", "none")
    res = run_cli("scan", *args, "--format", "json", "--output", str(saved), cwd=tmp_path)
    assert res.code == 0, res.stderr
    direct = run_cli("scan", *args, "--format", fmt, cwd=tmp_path)
    assert direct.code == 0, direct.stderr
    again = report_as(fmt, saved, cwd=tmp_path)
    if fmt == "html":  # the page says when it was generated (wall clock): the one part that differs
        stamp = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(Z| UTC)")
        assert len(stamp.findall(again)) == 4
        direct.stdout, again = stamp.sub("STAMP", direct.stdout), stamp.sub("STAMP", again)
    assert direct.stdout == again
    assert "nhi-no-owner" in direct.stdout


def test_report_keeps_fail_on_semantics_for_every_format(tmp_path: Path) -> None:
    res = run_cli("report", str(SAVED), "--format", "sarif", "--fail-on", "critical")
    assert res.code == 1
    assert json.loads(res.stdout)["version"] == "2.1.0"


# --- SARIF ---------------------------------------------------------------------------------------------


def test_sarif_validates_against_the_2_1_0_schema() -> None:
    doc = json.loads(report_as("sarif"))
    validate_sarif(doc)


def test_sarif_of_a_fresh_scan_validates(tmp_path: Path) -> None:
    res = run_cli("scan", "--input", str(NO_OWNER), "--as-of", AS_OF, "--format", "sarif", cwd=tmp_path)
    assert res.code == 0, res.stderr
    validate_sarif(json.loads(res.stdout))


def test_schema_validation_can_fail() -> None:
    doc = json.loads(report_as("sarif"))
    doc["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(AssertionError):
        validate_sarif(doc)


def test_sarif_rules_and_results() -> None:
    doc = json.loads(report_as("sarif"))
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "nhiscan" and driver["version"] == "0.1.0" and driver["informationUri"]
    rules = {r["id"]: r for r in driver["rules"]}
    assert set(rules) == {f["rule_id"] for f in SAVED_DATA["findings"]}
    sev = {r: r_["properties"]["security-severity"] for r, r_ in rules.items()}
    assert sev["aws-admin-equivalent"] == "9.5"
    assert sev["aws-access-key-too-old"] == "7.5"
    assert sev["ci-static-cloud-credentials"] == "5.0"
    assert sev["nhi-no-owner"] == "2.0"
    owner = rules["nhi-no-owner"]
    assert "security" in owner["properties"]["tags"] and "NHI1:2025" in owner["properties"]["tags"]
    # catalog metadata: why + remediation + OWASP in help, NIST CSF through the OWASP mapping
    assert "Why it matters" in owner["help"]["text"] and "NHI1:2025" in owner["help"]["markdown"]
    assert "GV.RR-02" in owner["help"]["text"] and "PR.AA-01" in owner["help"]["text"]
    assert owner["fullDescription"]["text"].startswith("An identity nobody owns")
    for r in driver["rules"]:
        assert r["shortDescription"]["text"] and r["help"]["markdown"] and r["name"]

    results = run["results"]
    assert len(results) == len(SAVED_DATA["findings"])
    # the fingerprints of the re-rendered JSON (an earlier version's secret-based ones re-keyed)
    rendered = json.loads(report_as("json"))["findings"]
    for res, f in zip(results, rendered, strict=True):
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"] == f["rule_id"]
        assert res["partialFingerprints"]["nhiscan/v1"] == f["fingerprint"]  # what a waiver takes
        assert (
            res["level"]
            == {"critical": "error", "high": "error", "medium": "warning", "low": "note"}[f["severity"]]
        )
        assert res["message"]["text"]

    by_rule = {r["ruleId"]: r for r in results}
    in_file = by_rule["secret-aws-access-key-in-repo"]["locations"][0]
    assert in_file["physicalLocation"]["artifactLocation"] == {
        "uri": "app/settings.py",
        "uriBaseId": "%SRCROOT%",
    }
    assert in_file["physicalLocation"]["region"] == {"startLine": 8}
    assert in_file["logicalLocations"][0]["fullyQualifiedName"].endswith(":user/svc/ci-deploy")

    # identity finding without a file: logical location + the export the identity came from
    ident = by_rule["gcp-primitive-role"]["locations"][0]
    assert ident["logicalLocations"] == [
        {
            "name": "ci-builder@acme-prod.iam.gserviceaccount.com",
            "fullyQualifiedName": "projects/acme-prod/serviceAccounts/ci-builder@acme-prod.iam.gserviceaccount.com",
            "kind": "resource",
        }
    ]
    assert ident["physicalLocation"]["artifactLocation"]["uri"] == "exports/gcp/service-accounts.json"

    # two exports cover the AWS account: the first one given (the GAAD export) anchors the alert
    admin = by_rule["aws-admin-equivalent"]["locations"][0]
    assert admin["physicalLocation"]["artifactLocation"]["uri"] == "exports/aws/gaad.json"
    assert admin["physicalLocation"]["region"] == {"startLine": 1}
    assert admin["logicalLocations"][0]["kind"] == "resource"

    hist = by_rule["secret-github-token-in-history"]
    assert hist["properties"]["commit"].startswith("9f2c4e1a")
    assert "commit 9f2c4e1a7b3d" in hist["message"]["text"]

    waived = [r for r in results if r.get("suppressions")]
    assert len(waived) == 1
    assert waived[0]["suppressions"][0]["kind"] == "external"
    assert waived[0]["suppressions"][0]["justification"] == "test fixture, not a real token"
    assert waived[0]["suppressions"][0]["properties"]["expires"] == "2027-01-31"

    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert "exports/azure/role-assignments.json" in notes[0]["message"]["text"]


def test_sarif_fingerprints_do_not_depend_on_the_line() -> None:
    data = json.loads(SAVED.read_text(encoding="utf-8"))
    moved = json.loads(json.dumps(data))
    for f in moved["findings"]:
        if f["location"]:
            f["location"]["line"] += 40
    from nhiscan.model.serialize_report import report_from_dict

    a = sarif_format.to_sarif(report_from_dict(data), cwd=str(ROOT))
    b = sarif_format.to_sarif(report_from_dict(moved), cwd=str(ROOT))
    fa = [r["partialFingerprints"] for r in a["runs"][0]["results"]]
    fb = [r["partialFingerprints"] for r in b["runs"][0]["results"]]
    assert fa == fb
    assert a != b  # the lines did change


def _report(findings: list[Finding], identities: tuple[Identity, ...] = (), sources=()) -> Report:  # type: ignore[no-untyped-def]
    return Report(
        as_of=datetime(2026, 11, 1, tzinfo=timezone.utc),
        inventory=Inventory(sources=tuple(sources), identities=identities),
        findings=tuple(findings),
        risks={},
        tool_version="0.1.0",
    )


def _finding(**kw: Any) -> Finding:
    base: dict[str, Any] = dict(
        rule_id="nhi-no-owner",
        title="t",
        severity=Severity.LOW,
        owasp_nhi=("NHI1:2025",),
        message="m",
        remediation="r",
        fingerprint="sha256:" + "ab" * 32,
    )
    base.update(kw)
    return Finding(**base)


def test_sarif_uris_are_relative_to_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    f1 = _finding(location=Location(path=str(repo / "src" / "a b.py"), line=3))
    f2 = _finding(
        location=Location(path="conf/x.yml", line=1, repository="services/api"), fingerprint="sha256:1"
    )
    f3 = _finding(location=Location(path="/elsewhere/y.env", line=2), fingerprint="sha256:2")
    doc = sarif_format.to_sarif(_report([f1, f2, f3]), cwd=str(repo))
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in doc["runs"][0]["results"]]
    assert uris[0] == {"uri": "src/a%20b.py", "uriBaseId": "%SRCROOT%"}
    assert uris[1] == {"uri": "services/api/conf/x.yml", "uriBaseId": "%SRCROOT%"}
    assert uris[2] == {"uri": "file:///elsewhere/y.env"}
    validate_sarif(doc)


def test_sarif_live_identity_has_a_logical_location_only() -> None:
    ident = Identity(id="arn:aws:iam::1:role/r", provider="aws", kind="aws-iam-role", name="r", scope="1")
    live = SourceRef("aws-live", "1", None)
    doc = sarif_format.to_sarif(_report([_finding(identity_id=ident.id)], (ident,), [live]), cwd="/")
    loc = doc["runs"][0]["results"][0]["locations"][0]
    assert "physicalLocation" not in loc
    assert loc["logicalLocations"] == [{"name": "r", "fullyQualifiedName": ident.id, "kind": "resource"}]
    validate_sarif(doc)


def test_sarif_rule_unknown_to_the_catalog_falls_back_to_the_finding() -> None:
    f = _finding(rule_id="retired-rule", title="Old rule", severity=Severity.INFO, remediation="do x")
    doc = sarif_format.to_sarif(_report([f]), cwd="/")
    rule = doc["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["shortDescription"]["text"] == "Old rule" and "do x" in rule["help"]["text"]
    assert "security-severity" not in rule["properties"]
    validate_sarif(doc)


# --- CSV -----------------------------------------------------------------------------------------------


def test_csv_one_row_per_finding_with_all_columns() -> None:
    rows = list(csv.DictReader(io.StringIO(report_as("csv"))))
    assert len(rows) == len(SAVED_DATA["findings"])
    assert list(rows[0]) == list(csv_format.COLUMNS)
    secret = next(r for r in rows if r["rule_id"] == "secret-aws-access-key-in-repo")
    assert secret["path"] == "app/settings.py" and secret["line"] == "8"
    assert secret["provider"] == "aws" and secret["identity_kind"] == "aws-iam-user"
    assert secret["owasp_nhi"] == "NHI2:2025;NHI7:2025"
    hist = next(r for r in rows if r["rule_id"] == "secret-github-token-in-history")
    assert hist["commit"] == "9f2c4e1a7b3d5f60718293a4b5c6d7e8f9012345" and hist["identity_id"] == ""
    waived = [r for r in rows if r["waived"] == "true"]
    assert len(waived) == 1 and waived[0]["waiver_reason"] == "test fixture, not a real token"
    assert waived[0]["waiver_expires"] == "2027-01-31"


def test_csv_neutralises_formula_injection() -> None:
    evil = [
        '=HYPERLINK("http://x","y")',
        "+1+1",
        "-2+3",
        "@SUM(A1)",
        "\t=1",
    ]
    ident = Identity(id=evil[0], provider="aws", kind="aws-iam-user", name="n", scope="1")
    findings = [
        _finding(identity_id=evil[0], message=evil[1], fingerprint="sha256:1"),
        _finding(location=Location(path=evil[2], line=1), message=evil[3], fingerprint="sha256:2"),
        _finding(message=evil[4], remediation="-rm -rf", fingerprint="sha256:3"),
    ]
    out = csv_format.render(_report(findings, (ident,)))
    cells = [c for row in csv.reader(io.StringIO(out)) for c in row]
    for value in evil:
        assert value not in cells
        # a tab shows escaped, like every control character in a text view; the apostrophe stays
        assert "'" + value.replace("\t", "\\t") in cells
    assert "'-rm -rf" in cells
    assert all(not c.startswith(("=", "+", "-", "@", "\t")) for c in cells)


# --- Markdown ------------------------------------------------------------------------------------------


def test_markdown_summary_tables_and_escaping() -> None:
    md = report_as("markdown")
    assert "| 🟥 critical | 2 |" in md
    assert "| NHI7:2025 | Long-Lived Secrets | 5 |" in md
    assert "### Top identities by risk" in md and "| 96 | critical |" in md
    assert "1 finding(s) waived" in md
    assert "exports/azure/role-assignments.json" in md
    # the pipe in a message is escaped, so every findings row keeps its six cells
    row = next(line for line in md.splitlines() if "static AWS keys" in line)
    assert "\\| step" in row
    assert len(re.split(r"(?<!\\)\|", row)) == 8
    # HTML in a message is inert
    assert "<b>" not in md and "&lt;b&gt;" in md


def test_markdown_truncates_long_findings_tables() -> None:
    findings = [
        _finding(message=f"m{n}", fingerprint=f"sha256:{n}", severity=Severity.HIGH) for n in range(130)
    ]
    md = markdown_format.render(_report(findings))
    rows = [line for line in md.splitlines() if "| 🟧 high | `nhi-no-owner`" in line]
    assert len(rows) == markdown_format.MAX_FINDINGS
    assert f"Showing {markdown_format.MAX_FINDINGS} of 130 findings; 30 more" in md


# --- HTML (static checks; the browser test is in test_html_browser.py) -----------------------------------


def test_html_is_self_contained_and_escaped() -> None:
    page = report_as("html")
    assert page.startswith("<!DOCTYPE html>")
    # no external resources of any kind
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.I)
    assert "@import" not in page and "url(" not in page
    assert "Content-Security-Policy" in page and "default-src &#39;none&#39;" in page
    # autoescape: markup in a message is text
    assert "<b>not markup</b>" not in page and "&lt;b&gt;not markup&lt;/b&gt;" in page
    # sections the task asks for
    for needle in (
        'id="charts"',
        "<svg",
        'id="owasp-table"',
        "NIST CSF 2.0",
        "PR.AA-05",
        'id="identities"',
        '<details class="identity"',
        'id="q"',
        'id="f-severity"',
        'id="f-provider"',
        'id="f-owasp"',
        'data-waived="true"',
        "Waived: test fixture, not a real token (until 2027-01-31)",
        'id="errors"',
        "Remediation",
        "AWS access key committed to the repository",
    ):
        assert needle in page, needle


def test_html_injection_in_identity_ids_is_escaped() -> None:
    nasty = 'arn:aws:iam::1:user/"><script>alert(1)</script>'
    ident = Identity(id=nasty, provider="aws", kind="aws-iam-user", name="<img src=x>", scope="1")
    page = html_format.render(
        _report([_finding(identity_id=nasty)], (ident,), [SourceRef("aws-gaad", "1", "g.json")])
    )
    assert "<script>alert(1)</script>" not in page and "<img src=x>" not in page
    assert page.count("<script>") == 1  # only the report's own script


def test_sarif_anchors_identity_alerts_to_the_export_that_lists_them(tmp_path: Path) -> None:
    """The credential report given first does not win over the GAAD export for a policy finding."""
    aws = FIXTURES / "aws" / "acme-prod"
    res = run_cli(
        "scan",
        "--input",
        str(aws / "credential-report.csv"),
        "--input",
        str(aws / "gaad.json"),
        "--as-of",
        AS_OF,
        "--format",
        "sarif",
        cwd=tmp_path,
    )
    assert res.code == 1, res.stderr
    results = json.loads(res.stdout)["runs"][0]["results"]
    admin = [r for r in results if r["ruleId"] == "aws-admin-equivalent"]
    assert admin
    for r in admin:
        assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("/gaad.json")


@pytest.mark.parametrize("columns", ["90", "220"])
def test_piped_table_follows_columns(columns: str) -> None:
    """A table written to a pipe or a CI log is as wide as $COLUMNS says (160 when unset)."""
    res = run_cli("report", str(SAVED), "--format", "table", env={"COLUMNS": columns})
    assert res.code == 0, res.stderr
    widths = [len(line) for line in res.stdout.splitlines()]
    assert max(widths) == int(columns)  # the findings table fills the width, and nothing overflows


def test_table_names_identities_by_the_name_people_use_with_their_scope_below() -> None:
    """ci-deploy over its account, the GCP email over its project, the Azure display name over its
    tenant: not a folded 60-character ARN or a bare object id."""
    res = run_cli("report", str(SAVED), "--format", "table", env={"COLUMNS": "160"})
    section = res.stdout.split("Identities by risk", 1)[1].split("\nFindings", 1)[0]
    cells = [
        [c.strip() for c in line.split("│")[1:-1]] for line in section.splitlines() if line.startswith("│")
    ]
    names = [(row[2], below[2]) for row, below in itertools.pairwise(cells) if row[0]]
    assert ("ci-deploy", "111122223333") in names
    assert ("ci-builder@acme-prod.iam.gserviceaccount.com", "acme-prod") in names
    assert ("payments-sync", "0b3c5e7a-1d2f-4e6a-9b8c-7d6e5f4a3b2c") in names
    assert "arn:aws:iam::" not in section
