"""`nhiscan scan --history` end to end: each secret once, at the commit that first added it, with
that commit's author date, the number of commits that added it, and whether it is still in the tree."""

from __future__ import annotations

import os
import random
import string
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import run_cli

ALNUM = string.ascii_letters + string.digits


def _rand(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(ALNUM) for _ in range(n))


def _commit(repo: Path, day: int, message: str) -> str:
    when = f"2024-03-{day:02d}T10:00:00+00:00"
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }
    for args in (["add", "-A"], ["commit", "-q", "--allow-empty", "-m", message], ["rev-parse", "HEAD"]):
        out = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True
        )
    return out.stdout.strip()


def _history(res_json: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in res_json["findings"] if f["location"].get("commit")]


def test_history_finds_first_commit_date_count_and_in_tree(tmp_path: Path) -> None:
    rng = random.Random(20240301)
    removed = "glpat-" + _rand(rng, 20)  # added in commit 2, removed in commit 5
    kept = f"xoxb-{rng.randrange(10**11, 10**12)}-{rng.randrange(10**12, 10**13)}-{_rand(rng, 24)}"
    spread = "sk_live_" + _rand(rng, 24)  # added in three commits, three files
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    app = [f"def handler_{i}(event):\n    return {i}\n" for i in range(12)]
    (repo / "app.py").write_text("".join(app))
    c1 = _commit(repo, 1, "initial")
    (repo / "config.py").write_text(f'DEBUG = False\nGITLAB_TOKEN = "{removed}"\n')
    (repo / "a.env").write_text(f"STRIPE_KEY={spread}\n")
    c2 = _commit(repo, 2, "config")
    # inserted in the middle of app.py: its history line is its line in that commit's file
    app.insert(7, f'SLACK_TOKEN = "{kept}"\n')
    (repo / "app.py").write_text("".join(app))
    (repo / "b.env").write_text(f"# billing\nSTRIPE_KEY={spread}\n")
    c3 = _commit(repo, 3, "slack")
    (repo / "c.env").write_text(f"STRIPE_KEY={spread}\n")
    _commit(repo, 4, "more")
    (repo / "config.py").write_text("DEBUG = False\nGITLAB_TOKEN = os.environ['GITLAB_TOKEN']\n")
    for name in ("a.env", "b.env", "c.env"):
        (repo / name).unlink()
    _commit(repo, 5, "remove the tokens")
    assert c1 != c2

    res = run_cli("scan", str(repo), "--history", "--format", "json", "--fail-on", "none", timeout=180)
    assert res.code == 0, res.stderr
    for value in (removed, kept, spread):
        assert value not in res.stdout and value not in res.stderr
    data = res.json()
    hist = {f["location"]["path"]: f["location"] for f in _history(data)}
    assert set(hist) == {"config.py", "app.py", "a.env"}, hist

    gone = hist["config.py"]
    assert (gone["commit"], gone["line"], gone["in_tree"], gone["commits"]) == (c2, 2, False, 1)
    assert gone["author_date"] == "2024-03-02T10:00:00+00:00"

    still = hist["app.py"]
    assert (still["commit"], still["in_tree"], still["commits"]) == (c3, True, 1)
    assert still["line"] == 15  # two lines per handler, the token after the seventh
    assert still["author_date"] == "2024-03-03T10:00:00+00:00"

    many = hist["a.env"]  # once, at its first commit, counting the three that added it
    assert (many["commit"], many["in_tree"], many["commits"]) == (c2, False, 3)

    # the work-tree scan still reports what is in the tree, without history fields
    tree = [f["location"] for f in data["findings"] if not f["location"].get("commit")]
    assert [(loc["path"], loc["line"]) for loc in tree] == [("app.py", 15)]
    assert "in_tree" not in tree[0] and "author_date" not in tree[0]
    history_source = next(s for s in data["sources"] if s["kind"] == "git-history")
    assert history_source["scope"] == "5 commits"

    table = run_cli("scan", str(repo), "--history", "--fail-on", "none", timeout=180)
    assert "(git history, 2024-03-02, no longer in the tree)" in table.stdout, table.stdout
    assert "added in 3 commits" in table.stdout


def test_history_reads_each_file_version_once_and_branches_too(tmp_path: Path) -> None:
    """A secret only on a side branch is found; a cherry-picked copy of its commit (same file
    version) is not read again, and the secret is still reported once."""
    rng = random.Random(7)
    token = "glpat-" + _rand(rng, 20)
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "README.md").write_text("hello\n")
    _commit(repo, 1, "initial")
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "-b", "side"], check=True)
    (repo / "deploy.sh").write_text(f"export GITLAB_TOKEN={token}\n")
    side = _commit(repo, 2, "side")
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "main"], check=True)
    res = run_cli("scan", str(repo), "--history", "--format", "json", "--fail-on", "none", timeout=180)
    assert res.code == 0, res.stderr
    (loc,) = [f["location"] for f in _history(res.json())]
    assert (loc["path"], loc["commit"], loc["in_tree"]) == ("deploy.sh", side, False)

    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    subprocess.run(["git", "-C", str(repo), "cherry-pick", side], check=True, capture_output=True, env=env)
    picked = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    res = run_cli("scan", str(repo), "--history", "--format", "json", "--fail-on", "none", timeout=180)
    (loc,) = [f["location"] for f in _history(res.json())]
    # the picked commit adds the same file version at the same path: not read again, not counted
    assert loc["commit"] in (side, picked) and loc["commits"] == 1 and loc["in_tree"] is True


def test_history_lines_and_quoted_paths(tmp_path: Path) -> None:
    """Two runs of lines added by one commit to one file each keep their line in that version;
    a path git quotes in its output (spaces, quotes, non-ASCII, a tab) is reported as it is named."""
    rng = random.Random(99)
    first, second, third = ("glpat-" + _rand(rng, 20) for _ in range(3))
    odd = 'config dir/na\u00efve "q"\tx.env'
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    body = [f"line_{i} = {i}\n" for i in range(30)]
    (repo / "settings.py").write_text("".join(body))
    _commit(repo, 1, "initial")
    body.insert(25, f'SECOND = "{second}"\n')
    body.insert(4, f'FIRST = "{first}"\n')
    (repo / "settings.py").write_text("".join(body))
    (repo / "config dir").mkdir()
    (repo / odd).write_text(f"# old\n\nTOKEN={third}\n")
    c2 = _commit(repo, 2, "two places")
    res = run_cli("scan", str(repo), "--history", "--format", "json", "--fail-on", "none", timeout=180)
    assert res.code == 0, res.stderr
    hist = sorted(
        (f["location"]["path"], f["location"]["line"], f["location"]["commit"]) for f in _history(res.json())
    )
    shown = odd.replace("\t", "\\t")  # as every path is shown: control characters escaped
    assert hist == sorted([("settings.py", 5, c2), ("settings.py", 27, c2), (shown, 3, c2)]), hist
