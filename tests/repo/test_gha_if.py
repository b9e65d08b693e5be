"""Per-job `if:` conditions decide which `sub` claims a job's OIDC tokens carry (gha_if and
gha_identity.job_subjects): a run kind is dropped only when the condition is false for every run
of that kind; anything unknown keeps it."""

from __future__ import annotations

import signal
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from nhiscan.sources.repo import gha_if
from nhiscan.sources.repo.configs import scan_config_file

WF = """\
on:
  push:
  pull_request:
  workflow_dispatch:
permissions:
  id-token: write
jobs:
  deploy:
    runs-on: ubuntu-latest
{extra}    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: arn:aws:iam::318274650912:role/gh-deploy
"""


def subjects(condition: str | None, extra: str = "") -> list[str]:
    lines = extra
    if condition is not None:
        lines += f"    if: {condition}\n"
    found = scan_config_file(".github/workflows/w.yml", WF.format(extra=lines))
    (fact,) = [o for o in found if o.attributes.get("fact") == "ci-oidc-assume"]
    return list(fact.attributes["subjects"])


ALL = ["*", "pull_request", "ref:refs/heads/*", "ref:refs/tags/*"]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (None, ALL),
        ("github.event_name == 'push'", ["ref:refs/heads/*", "ref:refs/tags/*"]),
        ("${{ github.event_name != 'pull_request' }}", ["*", "ref:refs/heads/*", "ref:refs/tags/*"]),
        ("github.event_name == 'PUSH'", ["ref:refs/heads/*", "ref:refs/tags/*"]),  # ignores case
        ("github.ref == 'refs/heads/main'", ["ref:refs/heads/main"]),
        (
            "github.event_name == 'push' && github.ref == 'refs/heads/main'",
            ["ref:refs/heads/main"],
        ),
        ("startsWith(github.ref, 'refs/tags/v')", ["ref:refs/tags/v*"]),
        ("github.ref_type == 'tag'", ["*", "ref:refs/tags/*"]),
        # no pull_request object on push: null == false is true (both are 0); unknown on pull_request
        ("github.event.pull_request.head.repo.fork == false", ALL),
        ("github.event.pull_request.head.repo.fork == true", ["pull_request"]),
        (
            'contains(fromJSON(\'["push", "schedule"]\'), github.event_name)',
            ["ref:refs/heads/*", "ref:refs/tags/*"],
        ),
        ("${{ !contains(github.event_name, 'pull') }}", ["*", "ref:refs/heads/*", "ref:refs/tags/*"]),
        (
            "github.event_name == 'push' || github.event_name == 'workflow_dispatch'",
            ["*", "ref:refs/heads/*", "ref:refs/tags/*"],
        ),
        ("false", []),
        ("github.event_name == 'release'", []),
        # unknown: every run kept
        ("success()", ALL),
        ("github.actor == 'dependabot[bot]'", ALL),
        ("needs.build.outputs.deploy == 'true'", ALL),
        ("vars.DEPLOY && github.event_name == 'push'", ["ref:refs/heads/*", "ref:refs/tags/*"]),
        ("github.event_name == 'push' && ${{ vars.X }}", ALL),  # interpolated into a string
        ("github.event_name == ", ALL),  # syntax error
        ("format('{0}', github.ref) == 'x' || (", ALL),
    ],
)
def test_job_condition_narrows_the_subjects(condition: str | None, expected: list[str]) -> None:
    assert subjects(condition) == expected


def test_environment_job_keeps_its_environment_unless_it_never_runs() -> None:
    env = "    environment: prod\n"
    assert subjects("github.event_name == 'push'", env) == ["environment:prod"]
    assert subjects("github.event_name == 'schedule'", env) == []


def test_called_workflow_sees_the_callers_event() -> None:
    text = WF.replace("  push:\n  pull_request:\n  workflow_dispatch:\n", "  workflow_call:\n").format(
        extra="    if: github.event_name == 'push'\n"
    )
    (fact,) = [
        o
        for o in scan_config_file(".github/workflows/w.yml", text)
        if o.attributes.get("fact") == "ci-oidc-assume"
    ]
    assert fact.attributes["subjects"] == ["*"]


def test_values_follow_github_comparison_rules() -> None:
    def value(text: str) -> object:
        cond = gha_if.parse(text)
        assert cond is not None
        return cond.value("push", "refs/heads/main")

    assert value("null == 0") is True
    assert value("'' == false") is True
    assert value("'1' == 1") is True
    assert value("'abc' == 0") is False  # NaN
    assert value("1 < 2 && 'b' > 'A'") is True
    assert value("github.ref_name == 'main'") is True
    assert value("endsWith(github.ref, '/MAIN')") is True
    assert value("github.head_ref == ''") is True
    assert value("always()") is True
    assert value("github.repository == 'acme/x'") is gha_if.UNKNOWN
    assert gha_if.parse("") is None and gha_if.parse(None) is None


@pytest.mark.parametrize(
    "hostile",
    [
        "(" * 200_000,
        "!" * 200_000 + "true",
        "a." * 100_000 + "b",
        "'" * 200_001,
        "x == " * 50_000 + "1",
        "f(" * 100_000,
        "a && " * 1_000 + "github.ref == 'refs/heads/main'",
        "github.ref == 'refs/heads/a' || " * 500 + "false",
        # under the length bound, nested past the interpreter's recursion limit if chains nested
        "a||" * 1300 + "a",
        "a && " * 1000 + "a",
        "x" + ".y" * 2000,
        "f()" + ".y" * 1300,
        "1==" * 1300 + "1",
    ],
)
def test_hostile_conditions_end_in_linear_time(hostile: str) -> None:
    def too_slow(signum: int, frame: object) -> None:
        raise TimeoutError("hostile condition took over 10 s")

    old = signal.signal(signal.SIGALRM, too_slow)
    signal.setitimer(signal.ITIMER_REAL, 10)
    try:
        _decide(hostile)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _decide(hostile: str) -> None:
    start = time.process_time()
    cond = gha_if.parse(hostile)
    assert cond is not None
    for ref in gha_if.split_ref("refs/heads/*", cond):
        cond.value("push", ref)
    assert time.process_time() - start < 2.0


PR_ROLE_WF = """\
on:
  push:
    branches: [main]
  pull_request:
permissions:
  id-token: write
jobs:
  preview:
    runs-on: ubuntu-latest
    env:
      ONLY_HERE: ${{{{ github.repository == 'acme/repo' }}}}
{cond}    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: arn:aws:iam::318274650912:role/gh-pr
"""


@pytest.mark.parametrize(
    ("cond", "conditional"),
    [
        ("", False),  # the job runs for pull requests: the trust's `pull_request` admits it
        ("    if: github.event_name == 'pull_request'\n", False),
        ("    if: github.event_name == 'push'\n", True),  # never a pull_request run
        ("    if: github.ref == 'refs/heads/main'\n", True),  # pull request refs are refs/pull/N/merge
        ("    if: vars.PREVIEW == 'on'\n", False),  # unknown: every run kept
    ],
)
def test_the_edge_to_a_pull_request_role_follows_the_jobs_condition(
    tmp_path: Path, cond: str, conditional: bool
) -> None:
    from nhiscan.analyze.graph.edges_ci import edges
    from nhiscan.config import InputSpec, ScanConfig, Settings
    from nhiscan.core import collect_inventory
    from tests.conftest import FIXTURES

    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "preview.yml").write_text(PR_ROLE_WF.format(cond=cond))
    gaad = FIXTURES / "rules" / "oidc-trust-too-broad" / "fires" / "gaad.json"
    config = ScanConfig(
        as_of=datetime(2026, 11, 1, tzinfo=timezone.utc),
        inputs=(InputSpec(str(gaad)),),
        paths=(str(repo),),
        settings=Settings(),
    )
    inventory, errors = collect_inventory(config)
    assert not errors
    (edge,) = [e for e in edges(inventory, config.as_of) if e.target.endswith(":role/gh-pr")]
    assert edge.conditional is conditional, edge.condition
    if conditional:
        assert "the trust admits pull_request while the job runs as ref:refs/heads/main" in edge.condition


def test_a_hostile_if_through_the_cli_ends_in_time(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    conditions = [
        "(" * 300_000,
        "github.ref == 'refs/heads/a' || " * 20_000 + "false",
        "startsWith(github.ref, 'refs/heads/x') && " * 20_000 + "true",
    ]
    for i, cond in enumerate(conditions):
        text = WF.format(extra=f"    if: ${{{{ {cond} }}}}\n")
        (repo / ".github" / "workflows" / f"w{i}.yml").write_text(text)
    start = time.monotonic()
    res = run_cli("scan", str(repo), "--format", "json", timeout=120)
    assert time.monotonic() - start < 60
    assert "Traceback" not in res.stderr and res.code in (0, 1), res.stderr


def test_a_job_that_never_runs_says_so_on_its_edge(tmp_path: Path) -> None:
    from nhiscan.analyze.graph.edges_ci import edges
    from nhiscan.config import InputSpec, ScanConfig, Settings
    from nhiscan.core import collect_inventory
    from tests.conftest import FIXTURES

    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    text = PR_ROLE_WF.format(cond="    if: github.event_name == 'release'\n")
    (repo / ".github" / "workflows" / "preview.yml").write_text(text)
    gaad = FIXTURES / "rules" / "oidc-trust-too-broad" / "fires" / "gaad.json"
    config = ScanConfig(
        as_of=datetime(2026, 11, 1, tzinfo=timezone.utc),
        inputs=(InputSpec(str(gaad)),),
        paths=(str(repo),),
        settings=Settings(),
    )
    inventory, _ = collect_inventory(config)
    (edge,) = [e for e in edges(inventory, config.as_of) if e.target.endswith(":role/gh-pr")]
    assert edge.conditional and "runs as nothing (its if: is false for every run" in edge.condition
