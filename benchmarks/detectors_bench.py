"""Recall of the detector catalogue per syntax family, nhiscan vs gitleaks, plus look-alike negatives.

    python benchmarks/detectors_bench.py [--gitleaks GITLEAKS-BINARY] [--tree DIR ...]

Every catalogue detector's positive example is written in each syntax (one secret per file) and
every negative example likewise; a file counts as found when the tool reports anything in it.
gitleaks is only run when its binary is given (--gitleaks, or $NHISCAN_BENCH_GITLEAKS; install it
in a separate venv, never as a dependency). --tree times `nhiscan scan DIR` and `gitleaks dir DIR`
one after the other on a real tree and prints the ratio.

Fails (exit 1) when nhiscan's recall is under 95% in any syntax, or when nhiscan hits more
look-alike negatives than gitleaks.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from nhiscan.sources.repo.detectors import load_detectors
from nhiscan.sources.repo.engine import ds_session
from nhiscan.sources.repo.secrets import to_secrets

SYNTAXES = {
    "ini": ("settings.ini", "[service]\n{key} = {value}\n"),
    "json": ("config.json", '{{"{key}": "{value}"}}\n'),
    "xml": ("app.config", '<configuration>\n  <add key="{key}" value="{value}" />\n</configuration>\n'),
    "xml-multiline": ("settings.xml", "<settings>\n  <{key}>\n    {value}\n  </{key}>\n</settings>\n"),
    "yaml": ("values.yaml", "service:\n  {key}: {value}\n"),
    "go": ("main.go", 'package main\n\nconst {key} = "{value}"\n'),
    "go-backtick": ("conf.go", "package main\n\nvar {key} = `{value}`\n"),
    "java": ("App.java", 'class App {{\n  static final String {key} = "{value}";\n}}\n'),
    "python": ("conf.py", '{key} = "{value}"\n'),
    "php": ("conf.php", "<?php\n$config = ['{key}' => '{value}'];\n"),
    "makefile": ("Makefile", "{key} ?= {value}\n"),
    "raw": ("notes.txt", "{value}\n"),
    "env-unquoted": (".env", "{key}={value}\n"),
}


def write_corpus(root: Path) -> list[tuple[str, str, bool, Path]]:
    cases = []
    for det in load_detectors():
        for i, ex in enumerate(det.examples):
            key = (ex.key or det.id.replace("-", "_")).upper()
            for syntax, (name, template) in SYNTAXES.items():
                if syntax == "raw" and ex.key:
                    continue  # context formats need their name
                d = root / det.id / f"{i}-{syntax}"
                d.mkdir(parents=True)
                (d / name).write_text(template.format(key=key, value=ex.value))
                cases.append((det.id, syntax, ex.positive, d / name))
    return cases


def nhiscan_hits(cases: list[tuple[str, str, bool, Path]], root: Path) -> set[Path]:
    hits: set[Path] = set()
    with ds_session() as scanner:
        for *_, path in cases:
            text = path.read_text()
            rel = str(path.relative_to(root))
            reported, _ = to_secrets(scanner.scan_text(rel, text), text, rel)
            if reported:
                hits.add(path)
    return hits


def gitleaks_hits(binary: str, root: Path) -> set[Path]:
    with tempfile.NamedTemporaryFile(suffix=".json") as rep:
        subprocess.run([binary, "dir", str(root), "--report-format", "json", "--report-path", rep.name,
                        "--no-banner", "-l", "error", "--exit-code", "0"], check=True)  # fmt: skip
        return {Path(f["File"]).resolve() for f in json.loads(Path(rep.name).read_text() or "[]")}


def time_tree(tree: str, gitleaks: str | None) -> None:
    nhiscan = shutil.which("nhiscan") or str(Path(sys.executable).with_name("nhiscan"))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(
            [nhiscan, "scan", tree, "-f", "json", "-o", f"{tmp}/n.json", "--fail-on", "none"], check=False
        )
        ours = time.perf_counter() - start
        line = f"tree {tree}: nhiscan {ours:.1f} s"
        if gitleaks:
            start = time.perf_counter()
            subprocess.run([gitleaks, "dir", tree, "--report-format", "json", "--report-path", f"{tmp}/g.json",
                            "--no-banner", "-l", "error", "--exit-code", "0"], check=True)  # fmt: skip
            theirs = time.perf_counter() - start
            line += f", gitleaks {theirs:.1f} s, ratio nhiscan/gitleaks {ours / theirs:.2f}"
        print(line, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gitleaks", default=os.environ.get("NHISCAN_BENCH_GITLEAKS"))
    ap.add_argument("--tree", action="append", default=[])
    args = ap.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        cases = write_corpus(root)
        tools = {"nhiscan": nhiscan_hits(cases, root)}
        if args.gitleaks:
            tools["gitleaks"] = gitleaks_hits(args.gitleaks, root)
        print(f"{len({c[0] for c in cases})} detectors, {len(cases)} files")
        negatives: dict[str, int] = {}
        for tool, hits in tools.items():
            pos, found, neg_hits = Counter(), Counter(), 0
            for _det, syntax, positive, path in cases:
                if positive:
                    pos[syntax] += 1
                    found[syntax] += path in hits
                else:
                    neg_hits += path in hits
            negatives[tool] = neg_hits
            per = ", ".join(f"{s} {100 * found[s] / pos[s]:.1f}%" for s in SYNTAXES)
            total = 100 * sum(found.values()) / sum(pos.values())
            print(f"{tool}: recall {total:.1f}% ({per}); negative hits {neg_hits}", flush=True)
            if tool == "nhiscan" and any(found[s] < 0.95 * pos[s] for s in SYNTAXES):
                print("FAIL: nhiscan recall under 95% in a syntax family")
                failed = True
        if "gitleaks" in negatives and negatives["nhiscan"] > negatives["gitleaks"]:
            print("FAIL: nhiscan hits more look-alike negatives than gitleaks")
            failed = True
    for tree in args.tree:
        time_tree(tree, args.gitleaks)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
