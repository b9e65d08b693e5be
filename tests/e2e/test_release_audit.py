"""Release audit: every part of nhiscan together, through the installed CLI.

One mixed run covers every provider's bundled exports, the bundled repositories and, where a test
says so, a set of broken inputs. These tests hold the parts to the contract where they meet: bad
inputs lose nothing, no planted secret reaches any output, results are deterministic and re-render
identically, exit codes follow --fail-on, and a file finding names its repository.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AS_OF, FIXTURES, CliResult, run_cli

REPOS = FIXTURES / "repos"
RULE_REPOS = sorted(FIXTURES.glob("rules/*/fires/repo"))
EXPORTS = (
    ("--input", str(FIXTURES / "aws" / "acme-prod")),
    ("--input", f"acme-prod={FIXTURES / 'gcp' / 'acme-prod'}"),
    ("--input", str(FIXTURES / "azure" / "contoso")),
    ("--input", str(FIXTURES / "kubernetes" / "prod-cluster")),
)
EXPORT_ARGS = tuple(a for pair in EXPORTS for a in pair)
BUNDLED_REPOS = (REPOS / "acme-web", REPOS / "acme-infra", REPOS / "pipelines")
MIXED = (*(str(p) for p in BUNDLED_REPOS), *EXPORT_ARGS, "--as-of", AS_OF)
FORMATS = ("json", "table", "sarif", "csv", "markdown", "html")
ERROR_LINE = re.compile(r"^nhiscan: error: (?P<source>.+?): (?P<message>.+)$")


# -- planted secrets ------------------------------------------------------------------------------
_ASSIGNED = re.compile(
    r"(?i)(secret|token|password|passwd|_key|value|webhook)[\"']?\s*[:=]\s*[\"']?([^\"'\s,}]+)"
)
_RANDOM_RUN = re.compile(r"[A-Za-z0-9_\-+/~]{20,}=*")


def planted_secrets() -> list[str]:
    """Every secret value planted in the bundled repositories and the rules' firing repositories.

    Assigned values of credential-named keys, plus every long run mixing upper case, lower case and
    digits (tokens, secret keys, each line of a PEM body, JSON-escaped keys included). AWS access key
    ids are identifiers that nhiscan names on purpose (to link a leak to its IAM user), so they are
    left out, like GCP resource names (`projects/...`), references (`${...}`), URLs and placeholders.
    """
    files = [p for p in REPOS.rglob("*") if p.is_file() and p.name != "expected-leaks.yaml"]
    files += [p for repo in RULE_REPOS for p in repo.rglob("*") if p.is_file()]
    found: set[str] = set()
    for path in files:
        text = path.read_text(encoding="utf-8").replace("\\n", "\n")
        for m in _ASSIGNED.finditer(text):
            value = m.group(2)
            if len(value) >= 12 and not value.startswith(("$", "AKIA", "http", "<", "credentials(")):
                found.add(value)
        for m in _RANDOM_RUN.finditer(text):
            value = m.group(0).strip("/=")
            mixed = all(re.search(c, value) for c in ("[A-Z]", "[a-z]", "[0-9]"))
            # GCP resource names (a workload identity provider: projects/N/locations/...) are
            # identifiers nhiscan names on purpose, like AWS access key ids
            if mixed and not value.startswith(("AKIA", "projects/")):
                found.add(value)
    return sorted(found)


def export_secrets() -> list[str]:
    """Service-account token Secrets in the Kubernetes export, as stored (base64) and decoded."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("kind") == "Secret" and isinstance(node.get("data"), dict):
                token = node["data"].get("token")
                if token:
                    out.extend((token, base64.b64decode(token).decode("utf-8")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in (FIXTURES / "kubernetes" / "prod-cluster").glob("*.json"):
        walk(json.loads(path.read_text(encoding="utf-8")))
    return out


def leaked(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


# -- helpers --------------------------------------------------------------------------------------
def scan_json(*args: str) -> tuple[CliResult, dict[str, Any]]:
    res = run_cli("scan", *args, "--format", "json")
    return res, json.loads(res.stdout)


def fingerprints(data: dict[str, Any]) -> set[str]:
    return {f["fingerprint"] for f in data["findings"]}


def error_lines(stderr: str) -> list[re.Match[str]]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    matches = [ERROR_LINE.match(line) for line in lines]
    assert all(matches), stderr
    return [m for m in matches if m]


def _unreadable(tmp: Path) -> Path:
    """A path that exists but cannot be read: mode 000, or (as root, who reads anything) a path
    through a regular file, which fails with ENOTDIR rather than 'not found'."""
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        path = tmp / "unreadable.json"
        path.write_text("{}", encoding="utf-8")
        path.chmod(0)
        return path
    blocker = tmp / "not-a-dir.json"
    blocker.write_text('{"x": 1}', encoding="utf-8")
    return blocker / "unreadable.json"


@pytest.fixture(scope="module")
def mixed() -> dict[str, Any]:
    res, data = scan_json(*MIXED)
    assert res.code == 1, res.stderr
    assert res.stderr == "", res.stderr
    return data


# -- 1. bad input loses nothing -------------------------------------------------------------------
def _bad_world(tmp: Path) -> tuple[list[str], list[str], list[str]]:
    """(PATH args, --input args, expected error sources) for a mix of good and broken sources."""
    repo = tmp / "acme-infra"
    shutil.copytree(REPOS / "acme-infra", repo)
    (repo / ".gitlab-ci.yml").write_text("deploy:\n  script: [\n", encoding="utf-8")
    # A Latin-1 file with a leaked token: not UTF-8, still a text file with a secret in it.
    (repo / "scripts" / "legacy.sh").write_bytes(
        b"# d\xe9ploiement nocturne\nexport GH_TOKEN=ghp_tSWqIRFP2JooMuoOVLMQeGeURKFFf9JFeBJn\n"
    )
    # A UTF-16 PowerShell script, as Windows PowerShell saves it.
    (repo / "scripts" / "deploy.ps1").write_bytes(
        '# d\u00e9ploiement\r\n$env:HF_TOKEN = "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"\r\n'.encode("utf-16")
    )
    bad = tmp / "bad"
    bad.mkdir()
    (bad / "malformed.json").write_text('{"UserDetailList": [', encoding="utf-8")
    (bad / "unknown.json").write_text('{"hello": "world"}', encoding="utf-8")
    (bad / "empty.json").write_bytes(b"")
    (bad / "binary.json").write_bytes(bytes(range(256)) * 8)
    unreadable = _unreadable(bad)
    broken = [
        bad / "malformed.json",
        bad / "unknown.json",
        bad / "empty.json",
        bad / "binary.json",
        bad / "missing.json",
        unreadable,
    ]
    paths = [str(REPOS / "acme-web"), str(repo), str(REPOS / "pipelines")]
    inputs = [*EXPORT_ARGS]
    for b in broken:
        inputs += ["--input", str(b)]
    expected = [str(b) for b in broken] + [f"{repo}/.gitlab-ci.yml"]
    return paths, inputs, expected


def _clean_findings(paths: list[str]) -> list[dict[str, Any]]:
    """Findings of each good source scanned on its own (correlated findings need them together,
    so the good sources are also scanned together)."""
    out: list[dict[str, Any]] = []
    singles: list[tuple[str, ...]] = [(p,) for p in paths] + [pair for pair in EXPORTS]
    for args in singles:
        res, data = scan_json(*args, "--as-of", AS_OF)
        assert res.code in (0, 1, 2) and "Traceback" not in res.stderr, res.stderr
        out.extend(data["findings"])
    return out


def _restated(finding: dict[str, Any], data: dict[str, Any]) -> bool:
    """A finding about a federation target that the source alone could not resolve (the cluster
    names a GCP service account it does not hold) is about that identity once its export is
    scanned too: the same finding, now with its identity (and so another fingerprint)."""
    target = (finding.get("evidence") or {}).get("target")
    return finding["identity_id"] is None and any(
        f["rule_id"] == finding["rule_id"] and f["identity_id"] == target for f in data["findings"]
    )


def test_bad_inputs_are_each_named_once_and_every_good_finding_survives(tmp_path: Path) -> None:
    paths, inputs, expected = _bad_world(tmp_path)
    out = tmp_path / "result.json"
    res = run_cli("scan", *paths, *inputs, "--as-of", AS_OF, "--format", "json", "--output", str(out))
    assert res.code == 2, res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    errors = error_lines(res.stderr)
    assert sorted(m["source"] for m in errors) == sorted(expected), res.stderr
    assert all(len(m["message"]) > 5 for m in errors)
    # A message that sends the user to a document names one that exists.
    for ref in re.findall(r"`([\w./-]+\.md)`", res.stderr):
        assert (FIXTURES.parent / ref).is_file(), ref

    data = json.loads(out.read_text(encoding="utf-8"))
    assert sorted(e["source"] for e in data["errors"]) == sorted(expected)
    # Every finding of every good source alone is still there.
    present = fingerprints(data)
    lost = [f for f in _clean_findings(paths) if f["fingerprint"] not in present and not _restated(f, data)]
    assert lost == []
    # And so is every finding of the good sources scanned together (correlation included).
    res_good, together = scan_json(*paths, *EXPORT_ARGS, "--as-of", AS_OF)
    assert res_good.code == 2  # the broken CI file inside the copied repository
    assert fingerprints(together) <= fingerprints(data)
    kinds = {f["rule_id"] for f in data["findings"]}
    assert {"leaked-credential-linked", "secret-reused-across-repositories", "gha-secret-echoed"} <= kinds

    # The Latin-1 and UTF-16 files' tokens are found, not dropped as binaries.
    for name in ("scripts/legacy.sh", "scripts/deploy.ps1"):
        found = [f for f in data["findings"] if f["location"] and f["location"]["path"] == name]
        assert [f["rule_id"] for f in found] == ["secret-api-token"], (name, found)
        assert found[0]["location"]["line"] == 2


def test_inventory_with_bad_inputs_keeps_the_good_sources(tmp_path: Path) -> None:
    paths, inputs, expected = _bad_world(tmp_path)
    out = tmp_path / "inventory.json"
    res = run_cli("inventory", *paths, *inputs, "--as-of", AS_OF, "--output", str(out))
    assert res.code == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert sorted(m["source"] for m in error_lines(res.stderr)) == sorted(expected)
    inv = json.loads(out.read_text(encoding="utf-8"))
    clean = run_cli("inventory", *(str(p) for p in BUNDLED_REPOS), *EXPORT_ARGS, "--as-of", AS_OF)
    assert clean.code == 0, clean.stderr
    good = clean.json()
    assert {i["id"] for i in good["identities"]} == {i["id"] for i in inv["identities"]}
    providers = {i["provider"] for i in inv["identities"]}
    assert providers >= {"aws", "gcp", "azure", "kubernetes"}
    # `hash` is a label of one run; `fingerprint_id` is what stays the same from run to run.
    assert {s["fingerprint_id"] for s in inv["secrets"]} > {
        s["fingerprint_id"]
        for s in good["secrets"]
        if s["location"]["repository"] != str(REPOS / "acme-infra")
    }


# -- 2. never leak --------------------------------------------------------------------------------
def test_planted_secret_extraction_sees_every_kind() -> None:
    secrets = planted_secrets()
    text = "\n".join(secrets)
    # CI and agent config literals, cloud secret keys, API tokens and PEM bodies are all covered.
    for needle in ("Hj4kL9mN2pQ7rS1tV6wX", "glpat-SfZ9", "xoxb-", "exTbqKsR", "MIIEowIBAAKCAQEA", "i8u2rD8S"):
        assert needle in text
    assert not any(s.startswith("AKIA") for s in secrets)
    assert len(export_secrets()) >= 2


def test_no_planted_secret_reaches_any_output(tmp_path: Path) -> None:
    secrets = planted_secrets() + export_secrets()
    args = (*(str(p) for p in BUNDLED_REPOS), *(str(r) for r in RULE_REPOS), *EXPORT_ARGS)
    texts: dict[str, str] = {}
    for fmt in FORMATS:
        out = tmp_path / f"out.{fmt}"
        res = run_cli("scan", *args, "--as-of", AS_OF, "--format", fmt, "--output", str(out))
        assert res.code == 1, res.stderr
        texts[fmt] = out.read_text(encoding="utf-8") + res.stdout + res.stderr
        # stdout too, with the terminal table
        texts[fmt + "-stdout"] = run_cli("scan", *args, "--as-of", AS_OF, "--format", fmt).stdout
    inv = run_cli("inventory", *args, "--as-of", AS_OF)
    texts["inventory"] = inv.stdout + inv.stderr
    base = tmp_path / "baseline.json"
    created = run_cli("baseline", "create", *args, "--as-of", AS_OF, "--output", str(base))
    assert created.code == 0, created.stderr
    texts["baseline"] = base.read_text(encoding="utf-8") + created.stdout + created.stderr
    reread = run_cli("scan", *args, "--as-of", AS_OF, "--baseline", str(base), "--format", "json")
    assert reread.code == 0, reread.stderr
    texts["baselined-scan"] = reread.stdout + reread.stderr
    assert all(f["waived"] for f in reread.json()["findings"] if f["location"])
    for name, text in texts.items():
        assert leaked(text, secrets) == [], name


# -- 3. determinism -------------------------------------------------------------------------------
def test_two_runs_are_byte_identical(mixed: dict[str, Any]) -> None:
    for fmt in ("json", "sarif"):
        first = run_cli("scan", *MIXED, "--format", fmt)
        second = run_cli("scan", *MIXED, "--format", fmt)
        assert first.code == second.code == 1
        assert first.stdout == second.stdout, fmt
    assert json.loads(first.stdout)["runs"][0]["results"]


def test_fingerprints_stable_when_an_unrelated_file_is_added(tmp_path: Path, mixed: dict[str, Any]) -> None:
    copies = []
    for repo in BUNDLED_REPOS:
        shutil.copytree(repo, tmp_path / repo.name)
        copies.append(str(tmp_path / repo.name))
    _, before = scan_json(*copies, *EXPORT_ARGS, "--as-of", AS_OF)
    (tmp_path / "acme-infra" / "scripts" / "unrelated.py").write_text('print("hello")\n', encoding="utf-8")
    settings = tmp_path / "acme-web" / "app" / "settings.py"
    settings.write_text("# moved down\n\n" + settings.read_text(encoding="utf-8"), encoding="utf-8")
    _, after = scan_json(*copies, *EXPORT_ARGS, "--as-of", AS_OF)
    assert fingerprints(before) == fingerprints(after)
    assert len(fingerprints(before)) == len(mixed["findings"])


# -- 4. report re-renders a scan; inventory round trip ----------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_report_reproduces_scan_output(tmp_path: Path, fmt: str) -> None:
    saved = tmp_path / "scan.json"
    assert run_cli("scan", *MIXED, "--format", "json", "--output", str(saved)).code == 1
    direct = run_cli("scan", *MIXED, "--format", fmt)
    again = run_cli("report", str(saved), "--format", fmt)
    assert again.code == 0, again.stderr
    if fmt == "html":  # the page says when it was generated (wall clock): the one part that differs
        stamp = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(Z| UTC)")
        assert len(stamp.findall(again.stdout)) == 4
        assert stamp.sub("STAMP", again.stdout) == stamp.sub("STAMP", direct.stdout)
        return
    assert again.stdout == direct.stdout


def test_inventory_round_trip_gives_the_same_findings(tmp_path: Path, mixed: dict[str, Any]) -> None:
    inv = tmp_path / "inventory.json"
    res = run_cli("inventory", *MIXED, "--output", str(inv))
    assert res.code == 0, res.stderr
    back_res, back = scan_json("--input", str(inv), "--as-of", AS_OF)
    assert back_res.code == 1, back_res.stderr

    def comparable(data: dict[str, Any]) -> list[tuple[Any, ...]]:
        return sorted(
            (f["fingerprint"], f["rule_id"], f["severity"], f["message"], json.dumps(f["location"]))
            for f in data["findings"]
        )

    assert comparable(back) == comparable(mixed)
    assert len(back["secrets"]) == len(mixed["secrets"]) > 0
    assert len(back["observations"]) == len(mixed["observations"]) > 0
    assert [(i["id"], i["risk_score"]) for i in back["identities"]] == [
        (i["id"], i["risk_score"]) for i in mixed["identities"]
    ]


# -- 5. exit codes --------------------------------------------------------------------------------
def test_fail_on_every_level_and_errors_outrank_findings(tmp_path: Path, mixed: dict[str, Any]) -> None:
    worst = {f["severity"] for f in mixed["findings"] if not f["waived"]}
    assert {"critical", "low"} <= worst
    for level in ("critical", "high", "medium", "low"):
        assert run_cli("scan", *MIXED, "--fail-on", level, "--format", "json").code == 1, level
    assert run_cli("scan", *MIXED, "--fail-on", "none", "--format", "json").code == 0
    # Only low findings: 0 at high, 1 at low.
    low_only = str(FIXTURES / "rules" / "gha-missing-permissions" / "fires" / "repo")
    assert run_cli("scan", low_only, "--as-of", AS_OF, "--fail-on", "medium").code == 0
    assert run_cli("scan", low_only, "--as-of", AS_OF, "--fail-on", "low").code == 1
    missing = ("--input", str(tmp_path / "missing.json"))
    for level in ("critical", "high", "medium", "low", "none"):
        res = run_cli("scan", *MIXED, *missing, "--fail-on", level, "--format", "json")
        assert res.code == 2, level
        assert len(res.json()["findings"]) == len(mixed["findings"])
    bad = run_cli("scan", *MIXED, "--fail-on", "info")
    assert bad.code == 2 and bad.stderr.startswith("nhiscan: error: --fail-on")


# -- 6. a file finding names its repository ---------------------------------------------------------
def test_table_where_names_the_repository_when_several_are_scanned() -> None:
    res = run_cli("scan", *MIXED)
    assert res.code == 1
    assert "acme-infra/scripts/nightly-sync.sh:5" in res.stdout
    assert "acme-web/app/settings.py:10" in res.stdout
    assert "pipelines/.github/workflows/deploy.yml:" in res.stdout
    # One repository: the path alone is unambiguous.
    one = run_cli("scan", str(REPOS / "acme-infra"), "--as-of", AS_OF)
    assert " scripts/nightly-sync.sh:6" in one.stdout
    assert "acme-infra/scripts" not in one.stdout


def test_markdown_html_and_csv_name_the_repository(mixed: dict[str, Any]) -> None:
    md = run_cli("scan", *MIXED, "--format", "markdown").stdout
    assert "`acme-infra/scripts/nightly-sync.sh:5`" in md
    html = run_cli("scan", *MIXED, "--format", "html").stdout
    assert "acme-infra/scripts/nightly-sync.sh:5" in html
    rows = list(csv.DictReader(io.StringIO(run_cli("scan", *MIXED, "--format", "csv").stdout)))
    files = [r for r in rows if r["path"]]
    assert files and all(r["repository"] for r in files)
    assert {Path(r["repository"]).name for r in files} == {"acme-web", "acme-infra", "pipelines"}
    # JSON keeps its contract: the path stays repository-relative next to the repository.
    loc = next(f["location"] for f in mixed["findings"] if f["location"])
    assert not loc["path"].startswith(str(REPOS)) and loc["repository"]


# -- 7. first-run defects ---------------------------------------------------------------------------
def test_secrets_inherit_is_not_a_hard_coded_secret() -> None:
    repo = FIXTURES / "rules" / "gha-secrets-inherit" / "fires" / "repo"
    res, data = scan_json(str(repo), "--as-of", AS_OF)
    assert res.code in (0, 1), res.stderr
    assert [f["rule_id"] for f in data["findings"]] == ["gha-secrets-inherit"]


def test_environment_comes_from_the_repository_name_not_the_directories_above(tmp_path: Path) -> None:
    """A checkout under ~/tests/ or a CI workspace named test_* is not a test environment."""
    base_args = (*EXPORT_ARGS, "--as-of", AS_OF)
    here = tmp_path / "test-checkouts" / "acme-web"
    shutil.copytree(REPOS / "acme-web", here)
    _, data = scan_json(str(here), *base_args)
    assert "nhi-cross-environment" not in {f["rule_id"] for f in data["findings"]}
    # The repository's own name still counts.
    named = tmp_path / "acme-web-staging"
    shutil.copytree(REPOS / "acme-web", named)
    _, data = scan_json(str(named), *base_args)
    cross = [f for f in data["findings"] if f["rule_id"] == "nhi-cross-environment"]
    assert cross and all("acme-web-staging" in json.dumps(f["evidence"]) for f in cross)


def test_a_file_given_as_path_is_located_by_its_own_path() -> None:
    one = REPOS / "acme-infra" / "scripts" / "nightly-sync.sh"
    two = REPOS / "acme-infra" / "scripts" / "metrics.env"
    rel = one.relative_to(FIXTURES.parent).as_posix()
    sarif = run_cli("scan", rel, "--as-of", AS_OF, "--format", "sarif", cwd=FIXTURES.parent)
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for result in sarif.json()["runs"][0]["results"]
        for loc in result["locations"]
    }
    assert uris == {rel}
    rel_two = two.relative_to(FIXTURES.parent).as_posix()
    table = run_cli("scan", rel, rel_two, "--as-of", AS_OF, cwd=FIXTURES.parent)
    assert f"{rel}:6" in table.stdout and f"{rel_two}:3" in table.stdout
    assert "nightly-sync.sh/nightly-sync.sh" not in table.stdout


def test_history_of_a_subdirectory_stays_inside_it(tmp_path: Path) -> None:
    """`scan SUBDIR --history` inside a larger repository scans SUBDIR's history only, with paths
    relative to SUBDIR like the work-tree scan (not the whole repository's, relative to its root)."""
    import subprocess

    top = tmp_path / "monorepo"
    shutil.copytree(REPOS / "acme-web", top / "services" / "web")
    shutil.copytree(REPOS / "acme-infra", top / "infra")

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
            cwd=top,
            check=True,
            capture_output=True,
        )

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "initial")
    (top / "services" / "web" / "deploy" / "ci-deployer-key.json").unlink()
    git("commit", "-q", "-am", "remove the web key")
    (top / "infra" / "scripts" / "metrics.env").unlink()
    git("commit", "-q", "-am", "remove the infra key")

    res, data = scan_json(str(top / "services" / "web"), "--history", "--as-of", AS_OF)
    assert res.code == 1, res.stderr
    places = {
        (f["location"]["path"], bool(f["location"].get("commit")), f["location"].get("in_tree"))
        for f in data["findings"]
    }
    # the settings secret is still in the tree: a work-tree finding, and its history find says so
    assert places == {
        ("app/settings.py", False, None),
        ("app/settings.py", True, True),
        ("deploy/ci-deployer-key.json", True, False),
    }
    history = next(s for s in data["sources"] if s["kind"] == "git-history")
    assert history["scope"] == "2 commits"  # of 3: the last one only touches infra/


def test_one_repository_spelled_twice_is_scanned_once() -> None:
    web = REPOS / "acme-web"
    aws = ("--input", str(FIXTURES / "aws" / "acme-prod"), "--as-of", AS_OF)
    _, once = scan_json(str(web), *aws)
    _, twice = scan_json(str(web), f"{web}/./", *aws)
    assert "secret-reused-across-repositories" not in {f["rule_id"] for f in twice["findings"]}
    assert fingerprints(twice) == fingerprints(once)
