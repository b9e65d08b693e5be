"""`scan --history` on hostile repositories: a repository's configuration never makes git run a
program, a huge one-line change costs linear time and is named in a note, binary content is
skipped, and a `.git` file sending git to a repository outside the tree is not followed."""

from __future__ import annotations

import os
import random
import string
import subprocess
import time
from pathlib import Path

from tests.hostile.harness import hostile_scan

ALNUM = string.ascii_letters + string.digits
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "PATH": "/usr/bin:/bin:/usr/local/bin",
}


def _git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=GIT_ENV, check=False
    )
    assert out.returncode == 0, (args, out.stderr)
    return out.stdout.strip()


def _token(seed: int) -> str:
    rng = random.Random(seed)
    return "glpat-" + "".join(rng.choice(ALNUM) for _ in range(20))


def _repo_with_removed_secret(tmp_path: Path, seed: int) -> tuple[Path, str, str]:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    token = _token(seed)
    (repo / "deploy.sh").write_text(f"export GITLAB_TOKEN={token}\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "add")
    commit = _git(repo, "rev-parse", "HEAD")
    (repo / "deploy.sh").write_text('export GITLAB_TOKEN="$(vault read gitlab)"\n')
    _git(repo, "commit", "-q", "-am", "remove")
    return repo, token, commit


def _history_places(res_findings: list[dict[str, object]]) -> set[tuple[str, str]]:
    out = set()
    for f in res_findings:
        loc = f.get("location") or {}
        assert isinstance(loc, dict)
        if loc.get("commit"):
            out.add((str(loc["path"]), str(loc["commit"])))
    return out


def test_repository_configuration_runs_no_program(tmp_path: Path) -> None:
    """fsmonitor, external diff, textconv, pager, hooks, filters, signature checking: each set in
    the repository's own .git/config to a script that leaves a marker file. git itself runs them
    (checked first); `nhiscan scan --history` never does."""
    repo, token, commit = _repo_with_removed_secret(tmp_path, 11)
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.sh"
    evil.write_text(f'#!/bin/sh\necho "$0 $*" >> {marker}\ncat >/dev/null 2>&1 || true\nexit 0\n')
    evil.chmod(0o755)
    (repo / ".gitattributes").write_text("* diff=evil filter=evil\n")
    _git(repo, "add", ".gitattributes")
    _git(repo, "commit", "-q", "-m", "attributes")
    for key, value in (
        ("core.fsmonitor", str(evil)),
        ("core.pager", str(evil)),
        ("diff.external", str(evil)),
        ("diff.evil.textconv", str(evil)),
        ("diff.evil.command", str(evil)),
        ("filter.evil.clean", str(evil)),
        ("filter.evil.smudge", str(evil)),
        ("log.showSignature", "true"),
        ("gpg.program", str(evil)),
        ("core.hooksPath", str(tmp_path / "hooks")),
    ):
        _git(repo, "config", key, value)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for name in (
        "post-checkout",
        "post-index-change",
        "reference-transaction",
        "fsmonitor-watchman",
        "pre-auto-gc",
    ):
        (hooks / name).write_text(f"#!/bin/sh\necho hook {name} >> {marker}\n")
        (hooks / name).chmod(0o755)
    # The configuration is live: plain git commands run the script.
    subprocess.run(
        ["git", "-C", str(repo), "log", "-p", "-1", "--textconv"],
        capture_output=True,
        env=GIT_ENV,
        check=False,
    )
    (repo / "deploy.sh").touch()
    subprocess.run(["git", "-C", str(repo), "status"], capture_output=True, env=GIT_ENV, check=False)
    assert marker.exists(), "the planted configuration should be live for plain git"
    marker.unlink()

    res = hostile_scan(tmp_path, str(repo), "--history", expect_code=1, timeout=120, forbidden=(token,))
    assert not marker.exists(), marker.read_text()
    assert ("deploy.sh", commit) in _history_places(res.findings())
    assert res.errors == []


def test_huge_one_line_change_is_skipped_in_linear_time(tmp_path: Path) -> None:
    """A commit adding a 24 MiB file of one line (a minified bundle, no newline) beside a normal
    secret: the long line is passed over as it streams (never held), named in a note, and the rest
    of the history is still read; twice the size takes about twice the time, not four times."""
    times = []
    for size_mib in (12, 24):
        case = tmp_path / f"case{size_mib}"
        case.mkdir()
        repo, token, commit = _repo_with_removed_secret(case, 12 + size_mib)
        rng = random.Random(size_mib)
        chunk = "".join(rng.choice(ALNUM + "=;,.") for _ in range(4096))
        (repo / "bundle.js").write_text(chunk * (size_mib * 256))
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "bundle")
        start = time.perf_counter()
        res = hostile_scan(case, str(repo), "--history", expect_code=1, timeout=240, forbidden=(token,))
        times.append(time.perf_counter() - start)
        assert ("deploy.sh", commit) in _history_places(res.findings())
        notes = [ln for ln in res.cli.stderr.splitlines() if ln.startswith("nhiscan: note:")]
        assert any("not fully read" in ln and "bundle.js@" in ln for ln in notes), (
            res.cli.stderr,
            res.result["sources"],
        )
    assert times[1] < times[0] * 3 + 5, times


def test_binary_history_is_skipped(tmp_path: Path) -> None:
    """Binary files (git's own test: a NUL byte near the start) carry no text to scan; a file whose
    NUL bytes only come later is text to git and is read; neither stops the scan."""
    repo, token, commit = _repo_with_removed_secret(tmp_path, 13)
    rng = random.Random(3)
    (repo / "image.bin").write_bytes(bytes(rng.randrange(256) for _ in range(200_000)) + _token(14).encode())
    late = b"x = 1\n" * 2000 + b"\0\0\0\n" + f"GITLAB_TOKEN={_token(15)}\n".encode()
    (repo / "late-nul.txt").write_bytes(late)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "binaries")
    res = hostile_scan(
        tmp_path, str(repo), "--history", expect_code=1, timeout=120, forbidden=(token, _token(14))
    )
    places = _history_places(res.findings())
    assert ("deploy.sh", commit) in places
    assert not any(path == "image.bin" for path, _ in places)
    assert res.errors == []


def test_dotgit_file_pointing_outside_is_not_followed(tmp_path: Path) -> None:
    """A tree whose `.git` is a file naming another repository (`gitdir: /elsewhere/.git`): its
    history is not read (one error naming the tree), the files in the tree are still scanned."""
    (tmp_path / "other").mkdir()
    other, other_token, _ = _repo_with_removed_secret(tmp_path / "other", 16)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / ".git").write_text(f"gitdir: {other / '.git'}\n")
    visible = _token(17)
    (tree / "app.env").write_text(f"GITLAB_TOKEN={visible}\n")
    res = hostile_scan(tmp_path, str(tree), "--history", expect_code=2, timeout=120, forbidden=(other_token,))
    assert len(res.errors) == 1 and "points outside the tree" in res.errors[0] and str(tree) in res.errors[0]
    assert not _history_places(res.findings())
    assert any((f.get("location") or {}).get("path") == "app.env" for f in res.findings())
