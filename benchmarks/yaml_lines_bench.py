"""YAML secret scanning against plain detect-secrets, file by file, and how often the line scan decides.

    python benchmarks/yaml_lines_bench.py TREE [TREE ...] [--no-differential]

For every .yaml/.yml file under each TREE:

* which path read it: the line scan (nhiscan/sources/repo/yaml_lines.py), or the libyaml parse
  because the line scan could not decide it (split into texts the parse accepts, and texts that
  are not one YAML document at all, e.g. Helm templates);
* that the line scan's transformed lines equal the parse's wherever the line scan decides;
* unless --no-differential: that nhiscan's findings (type, line, secret hash; nhiscan's own
  catalogue aside) equal plain detect-secrets' ``scan_file`` for the file.

Exit 1 on any difference. Without a TREE it says so and exits 0 (run_all.py runs it anywhere).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("trees", nargs="*")
    parser.add_argument("--no-differential", action="store_true")
    args = parser.parse_args()
    if not args.trees:
        print("no tree given; skipped")
        return 0
    from detect_secrets.core.potential_secret import PotentialSecret
    from detect_secrets.core.scan import scan_file

    from nhiscan.sources.repo import yaml_lines
    from nhiscan.sources.repo.detectors import TYPE_PREFIX
    from nhiscan.sources.repo.ds_text import INDIRECT_FILTER
    from nhiscan.sources.repo.engine import ds_session
    from nhiscan.sources.repo.yaml_values import _render, parsed_lines

    failed = False
    cwd = os.getcwd()
    for tree in args.trees:
        root = Path(tree).resolve()
        counts = {"line scan": 0, "parsed (valid)": 0, "parsed (not one YAML document)": 0}
        differences = 0
        findings = 0
        files = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        os.chdir(root)
        try:
            with ds_session() as scanner:
                # nhiscan's sessions disable detect-secrets' indirect-reference filter because
                # the Scanner answers it itself (same answers); plain detect-secrets runs with it.
                from detect_secrets.settings import get_filters, get_settings

                get_settings().filters.setdefault(INDIRECT_FILTER, {})
                get_filters.cache_clear()
                for p in files:
                    rel = str(p.relative_to(root))
                    text = p.read_text(encoding="utf-8", errors="replace")
                    if "\r" in text:
                        text = text.replace("\r\n", "\n").replace("\r", "\n")
                    items = yaml_lines.scan(text)
                    try:
                        parsed: list[str] | None = parsed_lines(text)
                    except ValueError:
                        parsed = None
                    if items is not None:
                        counts["line scan"] += 1
                        if _render(items, text) != parsed:
                            print(f"DIFFERENT transformed lines: {rel}")
                            differences += 1
                    else:
                        counts[
                            "parsed (valid)" if parsed is not None else "parsed (not one YAML document)"
                        ] += 1
                    if args.no_differential:
                        continue
                    expected = {(s.type, s.line_number, s.secret_hash) for s in scan_file(rel)}
                    ours = {
                        (r.type, r.line, PotentialSecret.hash_secret(r.value))
                        for r in scanner.scan_text(rel, p.read_text(encoding="utf-8", errors="replace"))
                        if not r.type.startswith(TYPE_PREFIX)
                    }
                    findings += len(expected)
                    if ours != expected:
                        differences += 1
                        print(f"DIFFERENT findings: {rel}: detect-secrets only {sorted(expected - ours)[:3]}, "
                              f"nhiscan only {sorted(ours - expected)[:3]}")  # fmt: skip
        finally:
            os.chdir(cwd)
        share = counts["line scan"] / max(1, counts["line scan"] + counts["parsed (valid)"])
        print(
            f"{tree}: {len(files)} YAML files; "
            + ", ".join(f"{k} {v}" for k, v in counts.items())
            + f"; line scan decides {share:.1%} of the valid YAML files"
        )
        if not args.no_differential:
            print(f"{tree}: detect-secrets findings {findings}, files whose findings differ {differences}")
        failed |= differences > 0
    print("FAIL" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
