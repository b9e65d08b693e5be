"""Secrets as nhiscan reports them: types, providers, linking attributes, redaction, placeholders."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from nhiscan.config import ScanConfig
from nhiscan.core import run_scan
from nhiscan.secret_ids import redact
from nhiscan.sources.repo import scan_paths
from nhiscan.sources.repo.secrets import is_placeholder
from tests.conftest import FIXTURES

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
RULES = FIXTURES / "rules"
SECRET_RULES = ("secret-cloud-key", "secret-private-key", "secret-api-token", "secret-generic")


def secrets_of(path: Path) -> list:  # type: ignore[type-arg]
    res = scan_paths(ScanConfig(as_of=AS_OF, paths=(str(path),)))
    assert not res.errors
    return res.secrets


def test_cloud_keys_carry_linking_attributes() -> None:
    repo = RULES / "secret-cloud-key" / "fires" / "repo"
    by_type = {s.type: s for s in secrets_of(repo)}
    settings = (repo / "deploy" / "settings.py").read_text()
    key_id = settings.split('AWS_ACCESS_KEY_ID = "')[1].split('"')[0]
    assert by_type["AWS secret access key"].attributes["key_id"] == key_id
    assert by_type["AWS secret access key"].provider == "aws"
    assert by_type["AWS access key id"].attributes["key_id"] == key_id

    sa = json.loads((repo / "infra" / "gcp-key.json").read_text())
    gcp = by_type["GCP service account key"]
    assert gcp.provider == "gcp"
    assert gcp.attributes["private_key_id"] == sa["private_key_id"]
    assert gcp.attributes["client_email"] == sa["client_email"]
    # The private_key_id is an identifier: not reported as a secret of its own.
    assert all(s.location.line != 4 for s in secrets_of(repo) if s.location.path == "infra/gcp-key.json")

    env = dict(line.split("=", 1) for line in (repo / "config" / "azure.env").read_text().splitlines())
    azure = by_type["Azure AD client secret"]
    assert azure.attributes["hint"] == env["AZURE_CLIENT_SECRET"][:3]
    assert azure.attributes["client_id"] == env["AZURE_CLIENT_ID"]


def test_secret_values_never_kept() -> None:
    repo = RULES / "secret-api-token" / "fires" / "repo"
    text = (repo / "app" / "tokens.py").read_text()
    values = [line.split('"')[1] for line in text.splitlines() if line.count('"') == 2 and "=" in line]
    assert values
    dump = repr(secrets_of(repo))
    for v in values:
        assert v not in dump
        assert v[4:14] not in dump


def test_redaction_is_public_prefix_and_run_id() -> None:
    r = redact("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "hmac:0123456789abcdef")
    assert r == "ghp_…#01234567"


@pytest.mark.parametrize(
    "value",
    [
        "${{ secrets.AWS_SECRET_ACCESS_KEY }}",
        "{{ .Values.password }}",
        "${DB_PASSWORD}",
        "<your-key>",
        "changeme",
        "xxxxxxxxxxxxxxxxxxxxxxxx",
        "AKIAIOSFODNN7EXAMPLE",
        "sk-ant-api03-xxxxxxxxxxxxxxxxxxxx",
    ],
)
def test_placeholders_recognised(value: str) -> None:
    assert is_placeholder(value)


@pytest.mark.parametrize("value", ["qLETz8Rk2mPw9sXa4bNc", "ghp_7Fq2kLm9Rt4Wx8Zb3Nc6Vd1Hs5Jp0Ya2Ue4Io"])
def test_real_looking_values_not_placeholders(value: str) -> None:
    assert is_placeholder(value) is None


def test_silent_fixtures_have_no_secret_findings_at_all() -> None:
    for rule in SECRET_RULES:
        case = RULES / rule / "silent"
        report = run_scan(ScanConfig(as_of=AS_OF, paths=(str(case / "repo"),)))
        hits = [f.message for f in report.findings if f.rule_id in SECRET_RULES and not f.waived]
        assert not hits, (rule, hits)
        # an inline marker is honoured as a waiver with its reason, never dropped silently
        for f in report.findings:
            if f.waived and f.rule_id in SECRET_RULES:
                assert f.waiver and f.waiver["kind"] == "inline-ignore" and f.waiver["reason"]


def test_history_through_cli(tmp_path: Path) -> None:
    from tests.conftest import run_cli
    from tests.repo.conftest import git

    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    token = "glpat-" + "Zq8xW2mN4bV6cX1zA3sD"
    (repo / "ci.env").write_text(f"GITLAB_TOKEN={token}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "add")
    commit = git(repo, "rev-parse", "HEAD")
    (repo / "ci.env").write_text("GITLAB_TOKEN=${GITLAB_TOKEN}\n")
    git(repo, "commit", "-q", "-am", "remove")
    assert run_cli("scan", str(repo), "--as-of", "2026-11-01").code == 0
    res = run_cli("scan", str(repo), "--history", "--as-of", "2026-11-01", "--format", "json")
    assert res.code == 1, res.stderr
    (finding,) = res.json()["findings"]
    assert finding["rule_id"] == "secret-api-token"
    assert finding["location"]["commit"] == commit and finding["location"]["path"] == "ci.env"
    assert token not in res.stdout
