"""GCP workload identity federation through the installed CLI: a workflow reaches a GCP owner via
its pool provider (`nhiscan paths`), oidc-trust-too-broad names the job and what it runs as, the
three forms of the provider export are read alike, and hostile or broken provider records cost
one error or an "undecided" finding, never a crash or a hang."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

from tests.conftest import AS_OF, FIXTURES, run_cli

CASE = FIXTURES / "escalation" / "cross" / "gha-gcp-admin"
ASSETS = CASE / "asset-iam-policies.json"
PROVIDERS = CASE / "wif-provider-assets.json"
SA = "gh-deploy@acme-deploy.iam.gserviceaccount.com"


def _scan(*args: str, timeout: int = 300) -> tuple[int, dict[str, Any], str]:
    res = run_cli("scan", *args, "--as-of", AS_OF, "--format", "json", timeout=timeout)
    assert "Traceback" not in res.stderr, res.stderr
    return res.code, json.loads(res.stdout), res.stderr


def _oidc(out: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in out["findings"] if f["rule_id"] == "oidc-trust-too-broad"]


def _provider_record() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PROVIDERS.read_text())[0]["resource"]["data"]
    return data


def test_paths_lead_from_the_workflow_through_the_service_account_to_the_owner() -> None:
    res = run_cli(
        "paths",
        "-",
        str(CASE / "deploy"),
        "--to",
        "admin",
        "--input",
        str(ASSETS),
        "--input",
        str(PROVIDERS),
        "--as-of",
        AS_OF,
        "--format",
        "json",
    )
    assert res.code == 1, res.stderr
    rows = [r for r in json.loads(res.stdout)["paths"] if r["from"].startswith("workflow:")]
    assert len(rows) == 1
    (row,) = rows
    assert row["from"].endswith(":.github/workflows/deploy.yml")
    assert [h["kind"] for h in row["path"]] == ["ci-oidc-assume", "gcp-token-creator"]
    assert row["path"][0]["to"] == SA
    assert row["to"] == "platform-admin@acme-deploy.iam.gserviceaccount.com"
    assert row["conditional"] is False
    assert "assertion.repository_owner == 'acme'" in row["path"][0]["via"]


def test_scan_reports_the_binding_with_what_the_job_runs_as() -> None:
    code, out, err = _scan(str(CASE / "deploy"), "--input", str(ASSETS), "--input", str(PROVIDERS))
    assert code == 1, err
    (f,) = _oidc(out)
    assert f["identity_id"] == SA
    assert f["evidence"]["admits"] == ["any-ref"]
    assert f["evidence"]["subjects"] == ["repo:acme/deploy:*"]
    assert f["evidence"]["gcp"] == {
        "provider": "projects/314159265358/locations/global/workloadIdentityPools/github/providers/github-actions",
        "attribute_condition": "assertion.repository_owner == 'acme'",
        "member": "principalSet://iam.googleapis.com/projects/314159265358/locations/global/workloadIdentityPools/"
        "github/attribute.repository/acme/deploy",
        "role": "roles/iam.workloadIdentityUser",
    }
    # medium for any ref of one repository, one level up: gh-deploy can become an owner
    assert f["severity"] == "high"
    (w,) = f["evidence"]["workflows"]
    # the job's `if:` leaves out the pull_request runs of the workflow
    assert (w["workflow"], w["job"], w["runs_as"]) == (
        ".github/workflows/deploy.yml",
        "deploy",
        ["ref:refs/heads/main"],
    )
    assert f["location"]["path"] == ".github/workflows/deploy.yml"


def test_gcloud_list_rest_list_and_asset_export_are_one_provider(tmp_path: Path) -> None:
    record = _provider_record()
    (tmp_path / "gcloud.json").write_text(json.dumps([record]))
    (tmp_path / "rest.json").write_text(json.dumps({"workloadIdentityPoolProviders": [record]}))
    found = []
    for name in ("gcloud.json", "rest.json"):
        code, out, err = _scan(str(CASE / "deploy"), "--input", str(ASSETS), "--input", str(tmp_path / name))
        assert code == 1 and not out["errors"], err
        found.append([(f["fingerprint"], f["severity"], f["evidence"]["workflows"]) for f in _oidc(out)])
    _, out, _ = _scan(str(CASE / "deploy"), "--input", str(ASSETS), "--input", str(PROVIDERS))
    found.append([(f["fingerprint"], f["severity"], f["evidence"]["workflows"]) for f in _oidc(out)])
    assert found[0] == found[1] == found[2] and len(found[0]) == 1
    assert "gcp-workload-identity-providers" in {s["kind"] for s in out["sources"]}


def test_an_open_provider_is_critical_and_a_pinned_one_silent(tmp_path: Path) -> None:
    open_ = copy.deepcopy(_provider_record())
    del open_["attributeCondition"]
    assets = json.loads(ASSETS.read_text())
    assets[1]["policy"]["bindings"][0]["members"] = [
        "principalSet://iam.googleapis.com/projects/314159265358/locations/global/workloadIdentityPools/github/*"
    ]
    (tmp_path / "assets.json").write_text(json.dumps(assets))
    (tmp_path / "open.json").write_text(json.dumps([open_]))
    _, out, _ = _scan("--input", str(tmp_path / "assets.json"), "--input", str(tmp_path / "open.json"))
    (f,) = _oidc(out)
    assert f["severity"] == "critical" and f["evidence"]["admits"] == ["any-repository"]
    pinned = copy.deepcopy(_provider_record())
    pinned["attributeCondition"] = (
        "assertion.repository == 'acme/deploy' && assertion.ref == 'refs/heads/main'"
    )
    (tmp_path / "pinned.json").write_text(json.dumps([pinned]))
    _, out, _ = _scan("--input", str(tmp_path / "assets.json"), "--input", str(tmp_path / "pinned.json"))
    assert _oidc(out) == []
    # a disabled provider admits nothing
    off = {**open_, "disabled": True}
    (tmp_path / "off.json").write_text(json.dumps([off]))
    _, out, _ = _scan("--input", str(tmp_path / "assets.json"), "--input", str(tmp_path / "off.json"))
    assert _oidc(out) == []


def test_hostile_conditions_are_undecided_in_linear_time(tmp_path: Path) -> None:
    hostile = [
        "(" * 100_000 + "assertion.repository_owner == 'acme'" + ")" * 100_000,
        " || ".join(f"assertion.repository == 'acme/r{i}'" for i in range(20_000)),
        " && ".join(["(assertion.ref == 'a' || assertion.ref == 'b')"] * 40),
        "!" * 100_000 + "true",
        "assertion.repository_owner == 'acme' && !(assertion.actor in ['mallory'])",
        "'" * 50_001,
        "assertion.repository.endsWith('/deploy') \u202e",
    ]
    records = []
    for i, cond in enumerate(hostile):
        r = copy.deepcopy(_provider_record())
        r["name"] = r["name"].replace("github-actions", f"p{i}")
        r["attributeCondition"] = cond
        records.append(r)
    (tmp_path / "hostile.json").write_text(json.dumps(records))
    assets = json.loads(ASSETS.read_text())
    assets[1]["policy"]["bindings"][0]["members"] = [
        "principalSet://iam.googleapis.com/projects/314159265358/locations/global/workloadIdentityPools/github/*"
    ]
    (tmp_path / "assets.json").write_text(json.dumps(assets))
    start = time.monotonic()
    code, out, err = _scan(
        "--input", str(tmp_path / "assets.json"), "--input", str(tmp_path / "hostile.json"), timeout=120
    )
    assert time.monotonic() - start < 60
    assert code == 1 and not out["errors"], err
    found = {f["evidence"]["trust"].split("/providers/")[1].split(" ")[0]: f for f in _oidc(out)}
    # nested past the depth bound, alternatives or their expansion past the cap, negations,
    # unreadable text: each is undecided, and the finding says so
    for i in (0, 1, 2, 3, 5, 6):
        f = found[f"p{i}"]
        assert "undecided" in f["message"] and f["evidence"].get("undecided"), (i, f["message"][:300])
        assert f["severity"] == "medium"  # never raised on what was not decided
    mixed = found["p4"]
    assert "undecided" in mixed["message"] and mixed["evidence"]["admits"] == ["org-wide"]


def test_a_bad_provider_record_is_one_error_and_the_rest_is_scanned(tmp_path: Path) -> None:
    good = _provider_record()
    bad = {
        **copy.deepcopy(good),
        "name": good["name"].replace("github-actions", "broken"),
        "attributeMapping": ["x"],
    }
    (tmp_path / "providers.json").write_text(json.dumps([bad, good]))
    res = run_cli(
        "scan",
        str(CASE / "deploy"),
        "--input",
        str(ASSETS),
        "--input",
        str(tmp_path / "providers.json"),
        "--as-of",
        AS_OF,
        "--format",
        "json",
    )
    assert res.code == 2
    lines = [line for line in res.stderr.splitlines() if "providers.json" in line]
    assert len(lines) == 1 and "[0]" in lines[0] and "broken" in lines[0], res.stderr
    (f,) = _oidc(json.loads(res.stdout))
    assert f["identity_id"] == SA and f["evidence"]["workflows"]
