"""Files the previous nhiscan wrote keep working (fixtures/secret-ids/legacy, see its README.md).

Its baseline and waivers hold fingerprints without the repository, keyed by the plain sha256 of each
secret; the current version computes those fingerprints in memory for matching only, so the files
suppress exactly the findings they did. Its result and inventory still load, and nothing they
re-render repeats the plain hashes or the four-character previews.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AS_OF, FIXTURES, run_cli

HERE = FIXTURES / "secret-ids"
LEGACY = HERE / "legacy"
FORMATS = ("table", "json", "sarif", "csv", "markdown", "html")


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two repositories, copied (a repository's fingerprints must not depend on where it is)."""
    root = tmp_path_factory.mktemp("legacy")
    for name in ("repo-a", "repo-b"):
        shutil.copytree(HERE / name, root / name)
    return root


def _scan(root: Path, *extra: str) -> dict[str, Any]:
    res = run_cli(
        "scan", str(root / "repo-a"), str(root / "repo-b"), "--as-of", AS_OF, "--format", "json",
        "--fail-on", "none", *extra, timeout=120,
    )  # fmt: skip
    assert res.code == 0, res.stderr
    data: dict[str, Any] = json.loads(res.stdout)
    return data


def _place(f: dict[str, Any]) -> tuple[str, str, str]:
    loc = f["location"] or {}
    return (f["rule_id"], Path(loc.get("repository", "")).name, loc.get("path", ""))


def test_legacy_baseline_suppresses_every_finding_it_recorded(repos: Path) -> None:
    data = _scan(repos, "--baseline", str(LEGACY / "baseline.json"))
    assert data["findings"]
    unwaived = [_place(f) for f in data["findings"] if not f["waived"]]
    assert unwaived == []
    assert all("earlier nhiscan" in f["waiver"]["reason"] for f in data["findings"])


def test_legacy_waivers_waive_exactly_their_findings(repos: Path) -> None:
    data = _scan(repos, "--waivers", str(LEGACY / "waivers.yaml"))
    waived = sorted(_place(f) for f in data["findings"] if f["waived"])
    assert waived == [
        ("ci-literal-credential", "repo-a", ".github/workflows/release.yml"),
        # the previous version merged the two repositories' identical workflows into one finding:
        # its waiver covers both findings now
        ("gha-static-cloud-credentials", "repo-a", ".github/workflows/deploy.yml"),
        ("gha-static-cloud-credentials", "repo-b", ".github/workflows/deploy.yml"),
        ("secret-generic", "repo-a", "config/settings.py"),
        ("secret-reused-across-repositories", "repo-a", "config/settings.py"),
    ]
    summer = [f for f in data["findings"] if f["waived"] and f["rule_id"] == "secret-generic"]
    assert summer[0]["location"]["line"] == 2  # Summer2024!, not the other password in that file


def test_a_new_secret_is_not_hidden_by_a_legacy_baseline(tmp_path: Path) -> None:
    for name in ("repo-a", "repo-b"):
        shutil.copytree(HERE / name, tmp_path / name)
    settings = tmp_path / "repo-a" / "config" / "settings.py"
    settings.write_text(settings.read_text("utf-8") + 'CACHE_PASSWORD = "Autumn2026?"\n', encoding="utf-8")
    data = _scan(tmp_path, "--baseline", str(LEGACY / "baseline.json"))
    new = [(f["rule_id"], f["location"]["line"]) for f in data["findings"] if not f["waived"]]
    assert new == [("secret-generic", 5)]


def test_baseline_create_writes_the_new_form_and_it_suppresses_everything(
    repos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "baseline.json"
    res = run_cli(
        "baseline", "create", str(repos / "repo-a"), str(repos / "repo-b"), "--as-of", AS_OF,
        "--output", str(out), timeout=120,
    )  # fmt: skip
    assert res.code == 0, res.stderr
    doc = json.loads(out.read_text("utf-8"))
    assert doc["fingerprints"] == "nhiscan/v2"
    legacy = {e["fingerprint"] for e in json.loads((LEGACY / "baseline.json").read_text("utf-8"))["findings"]}
    assert legacy.isdisjoint(e["fingerprint"] for e in doc["findings"])
    data = _scan(repos, "--baseline", str(out))
    assert data["findings"] and all(f["waived"] for f in data["findings"])
    assert all(f["waiver"]["reason"] == "present in baseline" for f in data["findings"])


def test_a_new_baseline_does_not_match_by_legacy_fingerprints(repos: Path, tmp_path: Path) -> None:
    """A current-form baseline holding a legacy fingerprint does not waive that finding: only files
    of the previous version are read the old way."""
    old = json.loads((LEGACY / "baseline.json").read_text("utf-8"))
    old["fingerprints"] = "nhiscan/v2"
    relabelled = tmp_path / "relabelled.json"
    relabelled.write_text(json.dumps(old), encoding="utf-8")
    data = _scan(repos, "--baseline", str(relabelled))
    assert not any(f["waived"] for f in data["findings"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_legacy_result_still_renders_without_its_hashes(fmt: str) -> None:
    legacy = json.loads((LEGACY / "result.json").read_text("utf-8"))
    res = run_cli("report", str(LEGACY / "result.json"), "--format", fmt, timeout=60)
    assert res.code == 0, res.stderr
    assert "secret-generic" in res.stdout
    for s in legacy["secrets"]:
        assert s["hash"] not in res.stdout and s["hash"][:8] not in res.stdout
        assert s["attributes"]["sha1"] not in res.stdout
        assert s["redacted"] not in res.stdout
    secret_fps = {f["fingerprint"] for f in legacy["findings"] if f["rule_id"].startswith("secret-")}
    assert not any(fp.removeprefix("sha256:") in res.stdout for fp in secret_fps)


def test_legacy_result_renders_the_same_twice() -> None:
    first = run_cli("report", str(LEGACY / "result.json"), "--format", "sarif", timeout=60)
    second = run_cli("report", str(LEGACY / "result.json"), "--format", "sarif", timeout=60)
    assert first.code == second.code == 0
    assert first.stdout == second.stdout


def test_legacy_inventory_reads_back_and_its_baseline_applies() -> None:
    res = run_cli(
        "scan", "--input", str(LEGACY / "inventory.json"), "--as-of", AS_OF, "--format", "json",
        "--baseline", str(LEGACY / "baseline.json"), "--fail-on", "none", timeout=120,
    )  # fmt: skip
    assert res.code == 0, res.stderr
    data = json.loads(res.stdout)
    secret_findings = [f for f in data["findings"] if f["rule_id"].startswith("secret-")]
    assert len(secret_findings) == 8  # three tokens, one reuse, four passwords
    assert all(f["waived"] for f in secret_findings)
    reused = [f for f in secret_findings if f["rule_id"] == "secret-reused-across-repositories"]
    assert len(reused) == 1
    legacy = json.loads((LEGACY / "inventory.json").read_text("utf-8"))
    for s in legacy["secrets"]:
        assert s["hash"] not in res.stdout and s["attributes"]["sha1"] not in res.stdout
