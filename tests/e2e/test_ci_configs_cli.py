"""End to end: `nhiscan scan` over a multi-system repository tree of CI and agent configs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import AS_OF, FIXTURES, run_cli

REPO = FIXTURES / "repos" / "pipelines"

EXPECTED = {
    ("gha-untrusted-checkout-with-secrets", ".github/workflows/deploy.yml", 15),
    ("gha-permissions-write-all", ".github/workflows/deploy.yml", 11),
    ("gha-secret-echoed", ".github/workflows/deploy.yml", 19),
    ("gha-secret-echoed", ".github/workflows/deploy.yml", 20),
    ("gha-static-cloud-credentials", ".github/workflows/deploy.yml", 27),
    ("gha-secrets-in-workflow-env", ".github/workflows/deploy.yml", 7),
    ("gha-missing-permissions", ".github/workflows/deploy.yml", 21),
    ("gitlab-literal-secret-variable", ".gitlab-ci.yml", 3),
    ("ci-literal-credential", ".circleci/config.yml", 7),
    ("ci-literal-credential", "Jenkinsfile", 9),
    ("ci-literal-credential", "azure-pipelines.yml", 4),
    ("ci-literal-credential", "bitbucket-pipelines.yml", 7),
    ("mcp-literal-token", ".vscode/mcp.json", 6),
    ("mcp-broad-personal-token", ".vscode/mcp.json", 6),
    ("mcp-literal-token", ".claude/settings.json", 4),
    ("mcp-broad-personal-token", ".claude/settings.json", 4),
}

MY_RULES = {rule for rule, _, _ in EXPECTED}


def mine(findings: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    """This area's findings (a secret scanner may also report the fake values in the tree)."""
    return [f for f in findings if f["rule_id"] in MY_RULES]


# Fake values committed in the fixture tree; none may appear in any output.
FAKE_SECRETS = (
    "eXfxiSFSNG3PXUvW+bKnq4Wk77zfrjP/ZlSkqb14",
    "Zx7qL0pW3rT9vB2nM5kA",
    "Qm9yZWFsaXNfc3RhdGljX3Rva2Vu",
    "Rk3vT8wP1sY6uQ0zX4cB",
    "Hj4kL9mN2pQ7rS1tV6wX",
    "glpat-SfZ9J9qhOlk44MFM1ELl",
)
# An access key id identifies a key (other areas may show it); this area still never prints it.
KEY_ID = "AKIALXACQYIXDXXQIRQD"


def test_multi_system_repo_findings_with_file_and_line() -> None:
    res = run_cli("scan", str(REPO), "--as-of", AS_OF, "--format", "json", "--fail-on", "none")
    assert res.code == 0, res.stderr
    data = res.json()
    assert not data["errors"]
    got = {(f["rule_id"], f["location"]["path"], f["location"]["line"]) for f in mine(data["findings"])}
    assert got == EXPECTED
    by_rule = {f["rule_id"]: f for f in mine(data["findings"])}
    assert by_rule["gha-untrusted-checkout-with-secrets"]["severity"] == "critical"
    assert by_rule["gha-static-cloud-credentials"]["owasp_nhi"] == ["NHI6:2025", "NHI7:2025"]
    assert by_rule["mcp-broad-personal-token"]["owasp_nhi"] == ["NHI5:2025", "NHI10:2025"]
    assert [s for s in data["sources"] if s["path"] == str(REPO)]
    tokens = {
        f["evidence"].get("token_type")
        for f in data["findings"]
        if f["rule_id"] == "mcp-broad-personal-token"
    }
    assert tokens == {"gitlab-pat", "aws-access-key"}
    for out in (res.stdout, res.stderr):
        for secret in FAKE_SECRETS:
            assert secret not in out
    assert KEY_ID not in json.dumps(mine(data["findings"]))
    assert KEY_ID not in json.dumps([o for o in data["observations"] if o["rule_id"] in MY_RULES])


def test_exit_code_and_table_never_show_secrets() -> None:
    res = run_cli("scan", str(REPO), "--as-of", AS_OF, "--fail-on", "critical")
    assert res.code == 1, res.stderr
    assert "gha-untrusted-checkout-with-secrets" in res.stdout
    for secret in FAKE_SECRETS:
        assert secret not in res.stdout


def test_fingerprints_survive_lines_moving(tmp_path: Path) -> None:
    # one repository (a copy named like the original), before and after lines move
    copy = tmp_path / "pipelines"
    shutil.copytree(REPO, copy)
    first = run_cli("scan", str(copy), "--as-of", AS_OF, "--format", "json", "--fail-on", "none").json()
    wf = copy / ".github" / "workflows" / "deploy.yml"
    wf.write_text("# a comment\n# another\n" + wf.read_text())
    mcp = copy / ".vscode" / "mcp.json"
    mcp.write_text("\n" + mcp.read_text())
    second = run_cli("scan", str(copy), "--as-of", AS_OF, "--format", "json", "--fail-on", "none").json()
    assert {f["fingerprint"] for f in mine(first["findings"])} == {
        f["fingerprint"] for f in mine(second["findings"])
    }
    lines = {(f["rule_id"], f["location"]["line"]) for f in mine(second["findings"])}
    assert ("gha-untrusted-checkout-with-secrets", 17) in lines


def test_invalid_workflow_never_crashes_and_the_rest_is_still_scanned(tmp_path: Path) -> None:
    copy = tmp_path / "pipelines"
    shutil.copytree(REPO, copy)
    (copy / ".github" / "workflows" / "broken.yml").write_text("on: push\njobs: [\n  a: b\n")
    res = run_cli("scan", str(copy), "--as-of", AS_OF, "--format", "json", "--fail-on", "none")
    assert "Traceback" not in res.stderr
    data = res.json()
    got = {(f["rule_id"], f["location"]["path"], f["location"]["line"]) for f in mine(data["findings"])}
    assert got == EXPECTED
    # The walker reports the unparsable file as an input error (exit 2) naming it.
    assert res.code == 2
    assert [e for e in data["errors"] if "broken.yml" in e["source"]]
