"""Escalation paths that cross providers, printed by the installed `nhiscan paths`: each fixture
under fixtures/escalation/cross/ joins exports of two systems (README there), and the path runs
through edges of different builders. Each case also checks that the look-alike half stays silent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.conftest import AS_OF, FIXTURES, run_cli

CROSS = FIXTURES / "escalation" / "cross"


def _paths(*args: str, cwd: Path | None = None) -> tuple[int, dict[str, Any], str]:
    res = run_cli("paths", *args, "--as-of", AS_OF, "--format", "json", cwd=cwd)
    assert "Traceback" not in res.stderr, res.stderr
    return res.code, json.loads(res.stdout) if res.stdout.strip() else {}, res.stderr


def _kinds(row: dict[str, Any]) -> list[str]:
    return [h["kind"] for h in row["path"]]


def test_kubernetes_service_account_reaches_aws_admin_through_irsa() -> None:
    d = CROSS / "k8s-irsa-admin"
    code, out, err = _paths(
        "k8s:lab:payments/payments-api",
        "--to",
        "admin",
        "--input",
        f"lab={d / 'serviceaccounts.json'}",
        "--input",
        str(d / "gaad.json"),
    )
    assert code == 1, err  # a path exists
    (row,) = out["paths"]
    assert _kinds(row) == ["k8s-irsa", "aws-assume-role"]
    assert row["to"] == "arn:aws:iam::444455556666:role/platform-admin" and row["to_privilege"] == "admin"
    assert row["conditional"] is False
    # the namespace's default account is federated to nothing
    code, out, err = _paths(
        "k8s:lab:payments/default",
        "--to",
        "admin",
        "--input",
        f"lab={d / 'serviceaccounts.json'}",
        "--input",
        str(d / "gaad.json"),
    )
    assert code == 0 and out["paths"] == [], err


def test_a_leaked_gcp_key_reaches_a_project_owner_through_token_creation(tmp_path: Path) -> None:
    work = tmp_path / "gcp-leaked-key"
    shutil.copytree(CROSS / "gcp-leaked-key", work)
    exports = work / "exports"
    inputs = []
    for line in (exports / "inputs.txt").read_text().split():
        scope, _, name = line.rpartition("=")  # [SCOPE=]FILE, FILE relative to exports/
        inputs += ["--input", f"{scope}={exports / name}" if scope else str(exports / name)]
    code, out, err = _paths("-", "repo", "--to", "admin", *inputs, cwd=exports.parent)
    assert code == 1, err
    assert not out["errors"]
    by_source = {r["from"].split(":", 1)[0]: r for r in out["paths"]}
    leak = by_source["secret"]
    assert _kinds(leak) == ["leaked-credential", "gcp-token-creator"]
    assert leak["path"][0]["to"] == "ci-runner@acme-lab.iam.gserviceaccount.com"
    assert leak["to"] == "prod-owner@acme-lab.iam.gserviceaccount.com" and leak["to_privilege"] == "admin"
    # the key's value never reaches the output, only its redacted preview
    key = json.loads((work / "repo" / "deploy" / "ci-runner-key.json").read_text())
    body = key["private_key"].split("-----")[2].strip().splitlines()[0]
    assert body not in json.dumps(out)

    # once the key is deleted (no longer among the account's keys) the leak reaches nothing
    keys = json.loads((exports / "keys-ci-runner.json").read_text())
    rest = [k for k in keys if not k["name"].endswith("/" + key["private_key_id"])]
    assert len(rest) == len(keys) - 1
    (exports / "keys-ci-runner.json").write_text(json.dumps(rest))
    code, out, err = _paths("-", "repo", "--to", "admin", *inputs, cwd=exports.parent)
    assert code == 1 and not out["errors"], err  # ci-runner itself still reaches the owner
    assert not [r for r in out["paths"] if r["from"].startswith("secret:")], out


def test_a_github_workflow_reaches_aws_admin_through_its_oidc_trust() -> None:
    d = CROSS / "gha-aws-admin"
    code, out, err = _paths("-", str(d / "deploy"), "--to", "admin", "--input", str(d / "aws-export.json"))
    assert code == 1, err
    rows = [r for r in out["paths"] if r["from"].startswith("workflow:")]
    assert len(rows) == 1, out
    (row,) = rows
    assert row["from"].endswith(":.github/workflows/deploy.yml")
    assert _kinds(row) == ["ci-oidc-assume", "aws-assume-role"]
    assert row["to"] == "arn:aws:iam::318274650912:role/platform-admin"
    assert row["conditional"] is False
