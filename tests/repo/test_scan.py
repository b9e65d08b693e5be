"""The repository walker and git history scanning, through scan_paths and the CLI."""

from __future__ import annotations

import json
import random
import string
from datetime import datetime, timezone
from pathlib import Path

from nhiscan.config import ScanConfig, Settings
from nhiscan.sources.repo import scan_paths
from tests.conftest import AS_OF, run_cli
from tests.repo.conftest import git

R = random.Random(99)
AS_OF_DT = datetime(2026, 11, 1, tzinfo=timezone.utc)


def ghp() -> str:
    return "ghp_" + "".join(R.choice(string.ascii_letters + string.digits) for _ in range(36))


def aws_id() -> str:
    return "AKIA" + "".join(R.choice(string.ascii_uppercase + string.digits) for _ in range(16))


def scan(*paths: Path, history: bool = False, exclude: tuple[str, ...] = ()) -> list:  # type: ignore[type-arg]
    cfg = ScanConfig(
        as_of=AS_OF_DT,
        paths=tuple(str(p) for p in paths),
        history=history,
        settings=Settings(exclude=exclude),
    )
    res = scan_paths(cfg)
    assert not res.errors, res.errors
    return res.secrets


def test_plain_directory_outside_git_is_scanned(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(f'TOKEN = "{ghp()}"\n')
    secrets = scan(tmp_path)
    assert [(s.type, s.location.path, s.location.line) for s in secrets] == [("GitHub token", "app.py", 1)]


def test_skips_vendored_generated_lock_binary_and_excluded(tmp_path: Path) -> None:
    tok = f'TOKEN = "{ghp()}"\n'
    for rel in (
        "node_modules/x/index.js",
        "vendor/lib.go",
        "third_party/a.py",
        "static/app.min.js",
        "package-lock.json",
        "docs/skip.md",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(tok)
    (tmp_path / "blob.dat").write_bytes(b"\0\1\2" + tok.encode())
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text(tok)
    secrets = scan(tmp_path, exclude=("docs/**",))
    assert {s.location.path for s in secrets} == {"src/main.py"}


def test_gitignore_respected_in_work_tree(git_repo: Path) -> None:
    (git_repo / ".gitignore").write_text("local.env\n")
    (git_repo / "local.env").write_text(f"TOKEN={ghp()}\n")
    (git_repo / "tracked.py").write_text(f'T = "{ghp()}"\n')
    (git_repo / "untracked.py").write_text(f'U = "{ghp()}"\n')
    git(git_repo, "add", ".gitignore", "tracked.py")
    git(git_repo, "commit", "-q", "-m", "init")
    assert {s.location.path for s in scan(git_repo)} == {"tracked.py", "untracked.py"}


def test_history_reports_removed_secret_with_introducing_commit(git_repo: Path) -> None:
    removed, kept = ghp(), aws_id()
    (git_repo / "README.md").write_text("hello\n")
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "first")
    (git_repo / "deploy.py").write_text(f'TOKEN = "{removed}"\nKEY = "{kept}"\n')
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "add deploy")
    introducing = git(git_repo, "rev-parse", "HEAD")
    (git_repo / "deploy.py").write_text(f'import os\nTOKEN = os.environ["TOKEN"]\nKEY = "{kept}"\n')
    git(git_repo, "commit", "-q", "-am", "remove token")
    git(git_repo, "checkout", "-q", "-b", "side")
    (git_repo / "side.txt").write_text(f"token={ghp()}\n")
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "side branch secret")
    git(git_repo, "rm", "-q", "side.txt")
    git(git_repo, "commit", "-q", "-m", "drop")
    git(git_repo, "checkout", "-q", "main")

    tree_only = scan(git_repo)
    assert [(s.type, s.location.commit) for s in tree_only] == [("AWS access key id", None)]

    found = scan(git_repo, history=True)
    hist = [s for s in found if s.location.commit]
    assert {s.location.path for s in hist} == {"deploy.py", "side.txt"}, [(s.type, s.location) for s in found]
    (token,) = [s for s in hist if s.location.path == "deploy.py" and s.type != "AWS access key id"]
    assert (token.location.commit, token.location.line, token.location.in_tree) == (introducing, 1, False)
    # The key still in the work tree: reported from the tree, and from history as still there.
    keys = sorted((s for s in found if s.type == "AWS access key id"), key=lambda s: bool(s.location.commit))
    assert [(k.location.commit, k.location.in_tree, k.location.line) for k in keys] == [
        (None, None, 3),
        (introducing, True, 2),
    ]


def test_cli_json_never_contains_secret_values(tmp_path: Path) -> None:
    token, key = ghp(), aws_id()
    (tmp_path / "a.py").write_text(f'T = "{token}"\nAWS_ACCESS_KEY_ID = "{key}"\n')
    res = run_cli("scan", str(tmp_path), "--as-of", AS_OF, "--format", "json")
    assert res.code == 1, res.stderr
    assert token not in res.stdout and token not in res.stderr
    data = res.json()
    rules = sorted(f["rule_id"] for f in data["findings"])
    assert rules == ["secret-api-token", "secret-cloud-key"]
    msg = next(f for f in data["findings"] if f["rule_id"] == "secret-api-token")["message"]
    assert token[:4] in msg and token[4:12] not in msg
    table = run_cli("scan", str(tmp_path), "--as-of", AS_OF)
    assert token not in table.stdout


def test_fingerprint_stable_when_lines_move(tmp_path: Path) -> None:
    token = ghp()
    (tmp_path / "a.py").write_text(f'T = "{token}"\n')
    first = run_cli("scan", str(tmp_path), "--as-of", AS_OF, "--format", "json").json()["findings"]
    (tmp_path / "a.py").write_text(f'"""doc"""\n\nimport os\nT = "{token}"\n')
    second = run_cli("scan", str(tmp_path), "--as-of", AS_OF, "--format", "json").json()["findings"]
    assert [f["fingerprint"] for f in first] == [f["fingerprint"] for f in second]
    assert second[0]["location"]["line"] == 4


def test_nhiscan_baseline_and_detect_secrets_baseline_waive(tmp_path: Path) -> None:
    import subprocess
    import sys

    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "a.py").write_text(f'T = "{ghp()}"\n')
    base = tmp_path / "nb.json"
    assert run_cli("baseline", "create", str(repo), "--as-of", AS_OF, "--output", str(base)).code == 0
    assert run_cli("scan", str(repo), "--as-of", AS_OF, "--baseline", str(base)).code == 0

    # A detect-secrets baseline made by detect-secrets itself, from inside the repository.
    ds = Path(sys.executable).parent / "detect-secrets"
    out = subprocess.run(
        [str(ds), "scan", "--all-files", "."], cwd=repo, capture_output=True, text=True, check=True
    )
    ds_base = tmp_path / ".secrets.baseline"
    ds_base.write_text(out.stdout)
    assert json.loads(out.stdout)["results"]["a.py"]
    res = run_cli("scan", str(repo), "--as-of", AS_OF, "--baseline", str(ds_base), "--format", "json")
    assert res.code == 0, res.stdout
    findings = res.json()["findings"]
    assert findings and all(f["waived"] for f in findings)
    assert findings[0]["waiver"]["reason"] == "present in detect-secrets baseline"
    # A new secret is not covered by the old baseline.
    (repo / "b.py").write_text(f'T = "{ghp()}"\n')
    assert run_cli("scan", str(repo), "--as-of", AS_OF, "--baseline", str(ds_base)).code == 1


def test_ignored_directory_named_explicitly_is_walked(git_repo: Path) -> None:
    (git_repo / ".gitignore").write_text("build/\n")
    (git_repo / "build").mkdir()
    (git_repo / "build" / "out.py").write_text(f'T = "{ghp()}"\n')
    git(git_repo, "add", ".gitignore")
    git(git_repo, "commit", "-q", "-m", "init")
    assert scan(git_repo) == []
    assert [s.location.path for s in scan(git_repo / "build")] == ["out.py"]


def test_access_key_id_next_to_its_secret_is_one_finding(tmp_path: Path) -> None:
    """An id beside its secret key is one credential: one finding naming the id; a lone id stays."""
    paired, lone = aws_id(), aws_id()
    secret = "".join(R.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))
    (tmp_path / "deploy.env").write_text(f"AWS_ACCESS_KEY_ID={paired}\nAWS_SECRET_ACCESS_KEY={secret}\n")
    (tmp_path / "other.env").write_text(f"AWS_ACCESS_KEY_ID={lone}\n")
    res = run_cli("scan", str(tmp_path), "--as-of", AS_OF, "--format", "json")
    assert res.code == 1, res.stderr
    found = sorted(
        (f["location"]["path"], f["evidence"]["secret_type"], f["evidence"].get("key_id"))
        for f in res.json()["findings"]
        if f["rule_id"] == "secret-cloud-key"
    )
    assert found == [
        ("deploy.env", "AWS secret access key", paired),
        ("other.env", "AWS access key id", lone),
    ]
    assert secret not in res.stdout


def test_files_over_the_size_limit_are_named_not_silently_dropped(tmp_path: Path) -> None:
    (tmp_path / "dump.sql").write_text(f"-- {ghp()}\n" + "x" * (11 * 1024 * 1024))
    (tmp_path / "small.txt").write_text("nothing here\n")
    res = run_cli("scan", str(tmp_path), "--as-of", AS_OF, "--format", "json")
    assert res.code == 0, res.stderr
    assert "1 file(s) over 10 MiB not scanned for secrets: dump.sql" in res.stderr
    repo = next(s for s in res.json()["sources"] if s["kind"] == "repository")
    assert repo["skipped"] == ["dump.sql"]
    # The note is informational: the saved result re-renders, and no error is recorded.
    assert res.json()["errors"] == []


def test_nhiscan_outputs_in_a_scanned_tree_are_named_and_raise_no_findings(tmp_path: Path) -> None:
    """A committed baseline or a report saved in the workspace names key ids by design: no findings.

    A look-alike (a truncated nhiscan JSON, another tool's SARIF) is still scanned.
    """
    src = tmp_path / "src"
    src.mkdir()
    leaked = aws_id()
    secret = "".join(R.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))
    (src / "deploy.env").write_text(f"AWS_ACCESS_KEY_ID={leaked}\nAWS_SECRET_ACCESS_KEY={secret}\n")
    out = tmp_path / "ws"
    out.mkdir()
    common = (str(src), "--as-of", AS_OF, "--fail-on", "none")
    for fmt, name in [
        ("json", "result.json"),
        ("sarif", "nhiscan.sarif"),
        ("html", "report.html"),
        ("csv", "report.csv"),
        ("markdown", "summary.md"),
    ]:
        assert run_cli("scan", *common, "--format", fmt, "--output", str(out / name)).code == 0
    assert (
        run_cli(
            "baseline", "create", str(src), "--as-of", AS_OF, "-o", str(out / ".nhiscan-baseline.json")
        ).code
        == 0
    )
    assert run_cli("inventory", str(src), "--as-of", AS_OF, "-o", str(out / "inventory.json")).code == 0
    # Each report names the leaked key id (the baseline holds fingerprints and locations only).
    assert all(leaked in p.read_text() for p in out.iterdir() if p.name != ".nhiscan-baseline.json")
    own = sorted(p.name for p in out.iterdir())

    # Look-alikes: truncated nhiscan JSON and another tool's SARIF, each holding an id and its key.
    planted = f'"AWS_ACCESS_KEY_ID": "{aws_id()}", "AWS_SECRET_ACCESS_KEY": "{secret[::-1]}"'
    (out / "truncated.json").write_text('{\n  "schema": "nhiscan/v1",\n  ' + planted + "\n")
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "othertool"}}, "results": [], "properties": {"x": planted}}],
    }
    (out / "other.sarif").write_text(json.dumps(sarif, indent=2))

    res = run_cli("scan", str(out), "--as-of", AS_OF, "--format", "json")
    assert res.code == 1, res.stderr
    assert {f["location"]["path"] for f in res.json()["findings"]} == {"truncated.json", "other.sarif"}
    repo = next(s for s in res.json()["sources"] if s["kind"] == "repository")
    assert repo["nhiscan_files"] == own
    assert f"{len(own)} file(s) written by nhiscan (reports, baselines, inventories), scanned" in res.stderr
