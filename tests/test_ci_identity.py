"""CI identities across sources: a workflow and the cloud trust it meets (through the installed
CLI), the opt-in rule's switch, the GitLab variables export, and hostile lines in the new checks."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from nhiscan.sources.repo.configs import scan_config
from tests.conftest import AS_OF, FIXTURES, run_cli
from tests.test_rule_fixtures import RULES_FIXTURES, scan_case

CROSS = FIXTURES / "escalation" / "cross" / "gha-aws-admin"


def _scan(*args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    res = run_cli("scan", *args, "--as-of", AS_OF, "--format", "json")
    return res.code, json.loads(res.stdout)


def test_scan_links_the_workflow_to_the_role_its_trust_admits_too_broadly() -> None:
    code, out = _scan(str(CROSS / "deploy"), "--input", str(CROSS / "aws-export.json"))
    assert code == 1
    (f,) = [f for f in out["findings"] if f["rule_id"] == "oidc-trust-too-broad"]
    assert f["identity_id"] == "arn:aws:iam::318274650912:role/gh-deploy"
    assert f["severity"] == "medium"
    assert f["location"]["path"] == ".github/workflows/deploy.yml"
    assert f["evidence"]["admits"] == ["any-ref"]
    assert [(w["workflow"], w["job"], w["runs_as"]) for w in f["evidence"]["workflows"]] == [
        (".github/workflows/deploy.yml", "deploy", ["ref:refs/heads/main"])
    ]
    assert "runs as ref:refs/heads/main" in f["message"]
    # the export alone: the same finding (same fingerprint), without the workflow
    _, alone = _scan("--input", str(CROSS / "aws-export.json"))
    (g,) = [g for g in alone["findings"] if g["rule_id"] == "oidc-trust-too-broad"]
    assert g["fingerprint"] == f["fingerprint"] and g["evidence"]["workflows"] == []


def test_the_opt_in_rule_is_off_unless_enabled(tmp_path: Path) -> None:
    case = RULES_FIXTURES / "gha-secrets-without-environment" / "fires"
    on = scan_case(case)
    assert [f for f in on.findings if f.rule_id == "gha-secrets-without-environment"]
    bare = tmp_path / "case"
    bare.mkdir()
    (bare / "repo").symlink_to(case / "repo")
    off = scan_case(bare)
    assert not [f for f in off.findings if f.rule_id == "gha-secrets-without-environment"]
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[params.gha-secrets-without-environment]\nenabled = "yes"\n')
    res = run_cli("scan", str(case / "repo"), "--config", str(cfg))
    assert res.code == 2 and "enabled" in res.stderr and "true or false" in res.stderr


def test_gitlab_variables_export_bad_record_is_one_error_and_values_never_shown(tmp_path: Path) -> None:
    case = RULES_FIXTURES / "gitlab-unprotected-variable-in-mr" / "fires"
    variables = json.loads((case / "variables.json").read_text())
    broken = [*variables, {"key": 7, "protected": "maybe", "variable_type": "env_var"}]
    export = tmp_path / "vars.json"
    export.write_text(json.dumps(broken))
    res = run_cli("scan", str(case / "repo"), "--input", str(export), "--as-of", AS_OF, "--format", "json")
    assert res.code == 2
    errors = [line for line in res.stderr.splitlines() if "vars.json" in line]
    assert len(errors) == 1 and "[4]" in errors[0], res.stderr
    out = json.loads(res.stdout)
    hits = sorted(
        f["evidence"]["variables"][0]
        for f in out["findings"]
        if f["rule_id"] == "gitlab-unprotected-variable-in-mr"
    )
    assert hits == ["KUBECONFIG_REVIEW", "REVIEW_DEPLOY_TOKEN", "SONAR_LOGIN"]
    for v in variables:
        assert v["value"] not in res.stdout and v["value"] not in res.stderr


def test_an_unrecognised_list_is_not_taken_for_gitlab_variables(tmp_path: Path) -> None:
    export = tmp_path / "x.json"
    export.write_text(json.dumps([{"key": "A", "value": "b"}]))
    res = run_cli("scan", "--input", str(export))
    assert res.code == 2 and "unrecognised export format" in res.stderr


_HOSTILE = {
    "x.gitlab-ci.yml": (
        "j:\n  only: [merge_requests]\n  artifacts:\n    paths: ['*a*a*a*a*']\n  script:\n    - '{}'\n",
        'curl -H "JOB-TOKEN: $CI_JOB_TOKEN" https://a@ https://gitlab-ci-token:x@ > a/a/a /projects/ $X ',
    ),
    "azure-pipelines.yml": (
        "pr: [main]\nsteps:\n  - script: '{}'\n    env:\n      T: $(System.AccessToken)\n",
        "$(System.AccessToken $(A_TOKEN $(SECRET.x ne(variables['Build.Reason'] ",
    ),
    ".circleci/config.yml": (
        "version: 2.1\njobs:\n  j:\n    steps:\n      - run: '{}'\n",
        "echo ${A_TOKEN:0 | base64 | echo $B_SECRET > ",
    ),
    ".github/workflows/w.yml": (
        "on: push\njobs:\n  j:\n    environment: prod\n    steps:\n      - run: '{}'\n",
        "kubectl --a --b --c helm x github.repository == 'a/b ",
    ),
}


@pytest.mark.parametrize("name", sorted(_HOSTILE))
def test_hostile_lines_cost_linear_time(name: str) -> None:
    template, piece = _HOSTILE[name]

    def cost(repeat: int) -> float:
        text = template.replace("{}", (piece * repeat).replace("'", "''"))
        start = time.process_time()
        scan_config(name, text)
        return time.process_time() - start

    cost(200)  # warm-up
    small, big = cost(2000), cost(8000)
    assert big < max(8 * small, 0.5), (small, big)
