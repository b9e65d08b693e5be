"""Denial of service through YAML aliases: a few hundred bytes of nested anchors (a sequence bomb)
or of merge keys (`<<: [*m, *m, ...]`) expand to billions of nodes. Each CI config kind nhiscan
reads and a kubectl YAML export must be refused quickly with one error naming the file, while the
rest of the run (a secret in another file, a finding from a good workflow) is still reported.
Legitimate anchors and merge keys keep their meaning. Times are CPU seconds of the scan
(tests/hostile/cputime.py); the harness timeout bounds the wall time."""

from __future__ import annotations

import secrets
import string
from pathlib import Path

import pytest

from tests.hostile.cputime import cpu_seconds
from tests.hostile.harness import HostileResult, hostile_scan
from tests.hostile.planted import fingerprint_key, found, found_ids, keyed_id  # noqa: F401 (fingerprint_key: a fixture)

# Planted values are recognised by their keyed fingerprint ids (tests/hostile/planted.py).
pytestmark = pytest.mark.usefixtures("fingerprint_key")

LEVELS = 9
WIDTH = 9


def seq_bomb(prefix: str = "") -> tuple[str, str]:
    """(anchor definitions as top-level keys, the alias naming the largest), ~450 bytes."""
    lines = [f'{prefix}a0: &a0 ["x", "y"]']
    for i in range(1, LEVELS):
        lines.append(f"{prefix}a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * WIDTH) + "]")
    return "\n".join(lines), f"*a{LEVELS - 1}"


def merge_bomb(prefix: str = "") -> tuple[str, str]:
    lines = [f"{prefix}m0: &m0 {{k0: v}}"]
    for i in range(1, LEVELS):
        lines.append(f"{prefix}m{i}: &m{i}")
        lines.append(f"{prefix}  k{i}: v")
        lines.append(f"{prefix}  <<: [" + ",".join([f"*m{i - 1}"] * WIDTH) + "]")
    return "\n".join(lines), f"*m{LEVELS - 1}"


# Where each kind is read, and a document using the bomb where that kind's checks walk.
def _github(defs: str, alias: str, merge: bool) -> str:
    use = f"    <<: {alias}\n" if merge else f"    steps: {alias}\n"
    return f"on: push\n{defs}\njobs:\n  b:\n    runs-on: ubuntu-latest\n{use}"


def _gitlab(defs: str, alias: str, merge: bool) -> str:
    use = f"  variables: {alias}\n" if merge else f"  script: {alias}\n"
    return f"{defs}\nbuild:\n{use}"


def _generic(defs: str, alias: str, merge: bool) -> str:
    use = f"  variables: {alias}\n" if merge else f"  - script: {alias}\n"
    return f"{defs}\nsteps:\n{use}" if not merge else f"{defs}\npipeline:\n{use}"


KINDS = {
    "github": (".github/workflows/bomb.yml", _github),
    "azure": ("azure-pipelines.yml", _generic),
    "gitlab": (".gitlab-ci.yml", _gitlab),
    "circleci": (".circleci/config.yml", _generic),
    "bitbucket": ("bitbucket-pipelines.yml", _generic),
}

GOOD_WORKFLOW = """on: push
permissions: write-all
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
"""


def github_token() -> str:
    return "ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))


def _repo(tmp_path: Path, rel: str, text: str) -> tuple[Path, str]:
    repo = tmp_path / "repo"
    (repo / rel).parent.mkdir(parents=True, exist_ok=True)
    (repo / rel).write_text(text)
    (repo / ".github" / "workflows").mkdir(parents=True, exist_ok=True)
    (repo / ".github" / "workflows" / "good.yml").write_text(GOOD_WORKFLOW)
    token = github_token()
    (repo / "src").mkdir()
    (repo / "src" / "settings.py").write_text(f'GITHUB_TOKEN = "{token}"\n')
    return repo, token


def _assert_rest_reported(res: HostileResult, token: str) -> None:
    assert [f["location"]["path"] for f in res.findings("gha-permissions-write-all")] == [
        ".github/workflows/good.yml"
    ]
    assert found(res.result, token)


@pytest.mark.parametrize("merge", [False, True], ids=["sequence-bomb", "merge-key-bomb"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_ci_config_bomb_is_refused_quickly(tmp_path: Path, kind: str, merge: bool) -> None:
    rel, build = KINDS[kind]
    defs, alias = merge_bomb() if merge else seq_bomb()
    text = build(defs, alias, merge)
    assert len(text.encode()) < 1000
    # A secret in the bomb file itself: secret scanning reads lines and must still report it.
    api_key = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    repo, token = _repo(tmp_path, rel, f'{text}settings:\n  api_key: "{api_key}"\n')
    res, cpu = cpu_seconds(lambda: hostile_scan(tmp_path, str(repo), expect_code=2, timeout=60))
    assert cpu < 5, f"{kind}: {cpu:.1f} s"
    assert len(res.errors) == 1, res.errors
    assert f"repo/{rel}:" in res.errors[0]
    assert "not read" in res.errors[0] and "line 1 column 1" in res.errors[0]
    assert [e["source"] for e in res.result["errors"]] == [f"{repo}/{rel}"]
    _assert_rest_reported(res, token)
    assert found_ids(res.result, rel) == {keyed_id(api_key)}


@pytest.mark.parametrize("merge", [False, True], ids=["sequence-bomb", "merge-key-bomb"])
def test_kubectl_yaml_export_bomb_is_refused_quickly(tmp_path: Path, merge: bool) -> None:
    defs, alias = merge_bomb("  ") if merge else seq_bomb("  ")
    rules = f"  rules:\n  - <<: {alias}\n" if merge else f"  rules: {alias}\n"
    export = tmp_path / "rbac.yaml"
    export.write_text(
        f"apiVersion: v1\nkind: List\njunk:\n{defs}\nitems:\n- apiVersion: rbac.authorization.k8s.io/v1\n"
        f"  kind: Role\n  metadata: {{name: bomb, namespace: default}}\n{rules}"
    )
    repo, token = _repo(tmp_path, "README.md", "# nothing here\n")
    res, cpu = cpu_seconds(
        lambda: hostile_scan(tmp_path, str(repo), "--input", str(export), expect_code=2, timeout=60)
    )
    assert cpu < 5, f"{cpu:.1f} s"
    assert len(res.errors) == 1 and f"{export}:" in res.errors[0], res.errors
    assert "alias" in res.errors[0]
    _assert_rest_reported(res, token)


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    repo, token = _repo(tmp_path, ".gitlab-ci.yml", "loop: &l [1, *l]\nbuild:\n  script: *l\n")
    res = hostile_scan(tmp_path, str(repo), expect_code=2, timeout=60)
    assert len(res.errors) == 1 and "recursive alias" in res.errors[0], res.errors
    assert "line 1 column 7" in res.errors[0]
    _assert_rest_reported(res, token)


LEGIT_GITLAB = """.defaults: &defaults
  image: alpine
  variables:
    DB_PASSWORD: {password}
build:
  <<: *defaults
  script: [make]
deploy:
  <<: *defaults
  variables:
    API_TOKEN: {token}
  script: [make deploy]
"""


def test_legitimate_anchors_and_merge_keys_are_still_analysed(tmp_path: Path) -> None:
    password = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(24))
    token = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    repo, _ = _repo(tmp_path, ".gitlab-ci.yml", LEGIT_GITLAB.format(password=password, token=token))
    res = hostile_scan(tmp_path, str(repo), expect_code=1, timeout=60, forbidden=(password, token))
    assert res.errors == []
    found = sorted(
        (f["location"]["line"], f["message"].split("'")[1])
        for f in res.findings("gitlab-literal-secret-variable")
    )
    # The anchor's variable (merged into build; deploy's own variables replace it) and deploy's own.
    assert found == [(4, "DB_PASSWORD"), (11, "API_TOKEN")], found
