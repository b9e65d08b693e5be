"""Repository trees scanned with the matching AWS and GCP exports, through the installed CLI.

fixtures/repos/expected-leaks.yaml lists the planted leaks; every one whose owner is in the
exports must come out as a leaked-credential-linked finding naming that identity and credential.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import AS_OF, FIXTURES, run_cli

REPOS = FIXTURES / "repos"
EXPECTED = yaml.safe_load((REPOS / "expected-leaks.yaml").read_text(encoding="utf-8"))
EXPORTS = (
    "--input",
    str(FIXTURES / "aws" / "acme-prod"),
    "--input",
    f"acme-prod={FIXTURES / 'gcp' / 'acme-prod'}",
)


def _scan(*paths: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    res = run_cli("scan", *paths, *EXPORTS, "--as-of", AS_OF, "--format", "json", *extra)
    assert res.code == 1, res.stderr  # critical findings, no input error
    assert res.stderr.strip() == "" or "error" not in res.stderr
    data: dict[str, Any] = res.json()
    return data


def _repo_name(location: dict[str, Any]) -> str:
    return Path(location["repository"]).name


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    return _scan(str(REPOS / "acme-web"), str(REPOS / "acme-infra"))


def test_every_owned_leak_is_linked_to_its_identity(result: dict[str, Any]) -> None:
    linked = {f["credential_id"]: f for f in result["findings"] if f["rule_id"] == "leaked-credential-linked"}
    assert set(linked) == {leak["credential"] for leak in EXPECTED["owned"]}
    for leak in EXPECTED["owned"]:
        finding = linked[leak["credential"]]
        assert finding["identity_id"] == leak["identity"]
        assert finding["severity"] == leak["severity"]
        assert finding["owasp_nhi"][0] == "NHI2:2025"
        places = {(_repo_name(loc), loc["path"]) for loc in finding["evidence"]["locations"]}
        assert places == {(p["repository"], p["path"]) for p in leak["places"]}
        assert finding["evidence"]["credential_status"] == "active"
        # the identity's risk reflects the leak
        identity = next(i for i in result["identities"] if i["id"] == leak["identity"])
        assert "leaked-credential" in identity["risk_factors"]


def test_reuse_across_repositories_names_the_owner(result: dict[str, Any]) -> None:
    reused = [f for f in result["findings"] if f["rule_id"] == "secret-reused-across-repositories"]
    expected = {leak["identity"] for leak in EXPECTED["owned"] if leak.get("reused_across_repositories")}
    assert {f["identity_id"] for f in reused} == expected
    assert all("NHI9:2025" in f["owasp_nhi"] for f in reused)


def test_unowned_leaks_are_reported_but_linked_to_nobody(result: dict[str, Any]) -> None:
    for leak in EXPECTED["unowned"]:
        at = [
            f
            for f in result["findings"]
            if f["location"]
            and f["location"]["path"] == leak["path"]
            and _repo_name(f["location"]) == leak["repository"]
        ]
        assert at and {f["rule_id"] for f in at} == {leak["rule"]}
        assert all(f["identity_id"] is None for f in at)


def test_documentation_examples_give_no_finding(result: dict[str, Any]) -> None:
    clean = {(c["repository"], c["path"]) for c in EXPECTED["clean"]}
    hits = [
        f
        for f in result["findings"]
        if f["location"] and (_repo_name(f["location"]), f["location"]["path"]) in clean
    ]
    assert hits == []


def test_no_secret_value_reaches_any_output(result: dict[str, Any], tmp_path: Path) -> None:
    values: list[str] = []
    for path in (
        REPOS / "acme-web" / "app" / "settings.py",
        REPOS / "acme-infra" / "scripts" / "metrics.env",
    ):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "SECRET_ACCESS_KEY" in line:
                values.append(line.split("=", 1)[1].strip().strip('"'))
    key_pem = (REPOS / "acme-web" / "deploy" / "ci-deployer-key.json").read_text(encoding="utf-8")
    values.append(key_pem.split("-----BEGIN PRIVATE KEY-----\\n", 1)[1][:64])
    assert len(values) == 3 and all(len(v) >= 40 for v in values)
    for fmt in ("json", "sarif", "csv", "markdown", "html", "table"):
        out = tmp_path / f"out.{fmt}"
        res = run_cli(
            "scan", str(REPOS / "acme-web"), str(REPOS / "acme-infra"), *EXPORTS,
            "--as-of", AS_OF, "--format", fmt, "--output", str(out),
        )  # fmt: skip
        assert res.code == 1, res.stderr
        text = out.read_text(encoding="utf-8") + res.stdout + res.stderr
        for value in values:
            assert value not in text, fmt


def test_leak_only_in_git_history_is_still_linked(tmp_path: Path) -> None:
    repo = tmp_path / "acme-web"
    shutil.copytree(REPOS / "acme-web", repo)

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
            cwd=repo,
            check=True,
            capture_output=True,
        )

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "initial")
    settings = repo / "app" / "settings.py"
    settings.write_text(
        "\n".join(line for line in settings.read_text(encoding="utf-8").splitlines() if "AWS_" not in line)
        + "\n",
        encoding="utf-8",
    )
    (repo / "deploy" / "ci-deployer-key.json").unlink()
    git("commit", "-q", "-am", "move credentials to the secrets manager")

    without = _scan(str(repo), extra=("--fail-on", "critical"))
    assert not [f for f in without["findings"] if f["rule_id"] == "leaked-credential-linked"]

    data = _scan(str(repo), extra=("--history",))
    linked = {f["credential_id"]: f for f in data["findings"] if f["rule_id"] == "leaked-credential-linked"}
    assert set(linked) == {"AKIAWWI577QXFUQBTMDN", "b493afd584c7bf4a35bdd841d6a6349176b556ba"}
    for finding in linked.values():
        commits = {loc.get("commit") for loc in finding["evidence"]["locations"]}
        assert None not in commits and all(len(c) == 40 for c in commits)
