"""Cost of reading job `if:` conditions and GCP attribute conditions, side by side in one process.

    python benchmarks/oidc_conditions_bench.py [--repeat N] [--max-share S] [--max-growth G]

1. Share of the workflow checks: every GitHub workflow under fixtures/ is scanned by the workflow
   checks (`scan_config_file`, which includes the `if:` evaluation of each OIDC job), and, apart,
   each of its jobs' `if:` is parsed and decided for every kind of run the workflow has. Prints both
   CPU times and the share; fails when the `if:` work exceeds --max-share (default 0.10) of the scan.
2. Growth: an `if:` and a CEL attribute condition of 1x and 10x the size (chained tests just
   under the length bounds, the costliest shape that is still decided). Prints the time per
   condition and the ratio of 10x to 1x; fails when it exceeds --max-growth (default 15: linear is
   10).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nhiscan.analyze import ci_oidc_gcp  # noqa: E402
from nhiscan.safeyaml import compose  # noqa: E402
from nhiscan.sources.repo import gha_if  # noqa: E402
from nhiscan.sources.repo._yaml import get, scalar  # noqa: E402
from nhiscan.sources.repo.configs import scan_config_file  # noqa: E402
from nhiscan.sources.repo.gha_identity import _runs  # noqa: E402
from nhiscan.sources.repo.gha_model import build  # noqa: E402


def cpu(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def workflows() -> list[tuple[str, str]]:
    out = []
    for p in sorted((ROOT / "fixtures").rglob(".github/workflows/*.y*ml")):
        out.append((".github/workflows/" + p.name, p.read_text(encoding="utf-8", errors="replace")))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--max-share", type=float, default=0.10)
    parser.add_argument("--max-growth", type=float, default=15.0)
    args = parser.parse_args()
    files = workflows()
    jobs: list[tuple[str, list[tuple[str, str, str]]]] = []
    for path, text in files:
        try:
            docs = compose(text).documents
        except Exception:  # the fixtures include YAML nhiscan refuses, on purpose
            continue
        wf = build(path, docs[0]) if docs else None
        for job in wf.jobs if wf else ():
            cond = scalar(get(job.node, "if"))
            if cond:
                jobs.append((cond, _runs(wf)))

    def scan_all() -> None:
        for path, text in files:
            scan_config_file(path, text)

    def decide_all() -> None:
        for text, runs in jobs:
            c = gha_if.parse(text)
            if c is None:
                continue
            for event, ref, _ in runs:
                for part in gha_if.split_ref(ref, c):
                    c.admits(event, part)

    scan = cpu(scan_all, args.repeat)
    decide = cpu(decide_all, args.repeat * 5)
    share = decide / scan if scan else 0.0
    print(f"workflows: {len(files)} files, {len(jobs)} job conditions")
    print(f"  workflow checks       {scan * 1000:8.2f} ms CPU")
    print(f"  if: parse + decide    {decide * 1000:8.2f} ms CPU  ({share:.1%} of the checks)")
    ok = share <= args.max_share

    def if_text(n: int) -> str:
        return " || ".join(f"(github.event_name == 'e{i}' && github.ref_type == 'tag')" for i in range(n))

    def cel_text(n: int) -> str:
        return " || ".join(f"assertion.repository == 'acme/r{i}'" for i in range(n))

    def decide(text: str) -> None:
        c = gha_if.parse(text)
        assert c is not None
        for part in gha_if.split_ref("refs/heads/*", c):
            c.admits("push", part)

    mapping = {"google.subject": "assertion.sub"}
    for name, make, run in (
        ("if:", if_text, decide),
        (
            "CEL",
            cel_text,
            lambda t: [ci_oidc_gcp.sub_patterns(x) for x in ci_oidc_gcp.parse_condition(t, mapping)],
        ),
    ):
        small, big = make(6), make(60)
        t_small = cpu(lambda r=run, t=small: [r(t) for _ in range(50)], args.repeat) / 50
        t_big = cpu(lambda r=run, t=big: [r(t) for _ in range(50)], args.repeat) / 50
        growth = t_big / t_small if t_small else 0.0
        print(
            f"{name:4} condition of {len(small):5} chars: {t_small * 1e6:8.1f} us; "
            f"{len(big):5} chars: {t_big * 1e6:8.1f} us; ratio {growth:.1f}x"
        )
        ok = ok and growth <= args.max_growth
    # The costliest if: still decided: 4 KB comparing github.ref with as many literals as are split
    # out of a glob (32), each part deciding the whole condition again.
    worst = " || ".join(f"github.ref == 'refs/heads/b{i:02d}'" for i in range(120))[: gha_if.MAX_LENGTH - 10]
    worst = worst.rsplit(" || ", 1)[0]
    t_worst = cpu(lambda: decide(worst), args.repeat)
    print(f"if:  worst case ({len(worst)} chars, 32 refs split out): {t_worst * 1e3:.2f} ms per job")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
