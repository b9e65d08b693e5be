"""Denial of service through the workflow checks: one `run:` line (or comment) of a privileged
workflow that repeats, unclosed, every pattern the checks look for (PR refs, `pull/${{ ...`,
`fromJSON(secrets[`, `# nhiscan: ignore[`, `${VAR:`, pipes into encoders) costs linear time: a
line 4x longer costs about 4x the CPU, and the good inputs beside it are still reported."""

from __future__ import annotations

from pathlib import Path

from tests.hostile.cputime import cpu_seconds
from tests.hostile.harness import hostile_scan

PIECES = (
    "git fetch origin pull/${{ github.event.pull_request.number ",
    "echo ${{ fromJSON(secrets['X' ",
    "# nhiscan: ignore[gha-secret-echoed ",
    "echo ${TOKEN:0:4 | base64 | ",
    "gh pr checkout && cd pr && bash pr/x && ",
    "${{ secrets.A ${{ ",
)


def _workflow(repeat: int) -> str:
    line = "".join(PIECES) * repeat
    return (
        "on: [pull_request_target, workflow_run, issue_comment]\n"
        "permissions: write-all\n"
        "jobs:\n"
        "  j:\n"
        "    runs-on: ubuntu-latest\n"
        "    env:\n"
        "      TOKEN: ${{ secrets.TOKEN }}\n"
        "      REF: ${{ github.event.pull_request.head.sha }}\n"
        "    steps:\n"
        "      - uses: actions/download-artifact@v4\n"
        "        with:\n"
        "          run-id: ${{ github.event.workflow_run.id }}\n"
        "          path: pr\n"
        "      - run: |\n"
        f"          {line}\n"
        f"      # {line}\n"
        "      - run: make\n"
    )


def _cpu(tmp_path: Path, repeat: int) -> float:
    repo = tmp_path / f"r{repeat}"
    wf = repo / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "hostile.yml").write_text(_workflow(repeat))
    res, cpu = cpu_seconds(
        lambda: hostile_scan(tmp_path / f"o{repeat}", str(repo), expect_code=1, timeout=120)
    )
    assert [f for f in res.findings("gha-permissions-write-all")], res.result["findings"]
    assert res.findings("nhi-no-owner"), "the good export beside it must still be reported"
    return cpu


def test_a_long_hostile_run_line_costs_linear_time(tmp_path: Path) -> None:
    small = _cpu(tmp_path, 500)
    large = _cpu(tmp_path, 2000)
    # Process start dominates the small run; a quadratic check would make the large one 16x.
    assert large < max(8 * small, small + 10), (small, large)
