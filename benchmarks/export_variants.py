"""How many findings survive each export variant: the figures behind tests/hostile/test_export_variants.py.

    python benchmarks/export_variants.py [--nhiscan "COMMAND"] [--kinds aws,gcp,...]

For every export kind (the fixtures of tests/hostile/test_export_variants.py) this scans the
canonical exports, then each variant (PowerShell encodings, CLI date forms, epoch seconds and
milliseconds, re-cased enums), and prints the (rule id, identity id) pairs of the canonical scan
each variant still finds, with its exit code and error lines; for AWS also how many of the 21
problems planted in fixtures/aws/acme-prod survive. Then the unreadable values: exit code and error
lines (2 and 1 is right). COMMAND runs nhiscan (default: the `nhiscan` next to this interpreter);
to measure another checkout: --nhiscan "env PYTHONPATH=/path/to/checkout python -m nhiscan".
Fails (exit 1) when a variant loses a finding of the canonical scan.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hostile import test_export_variants as tv  # noqa: E402

AS_OF = "2026-11-01"


def scan(cmd: list[str], files: dict[str, bytes], scopes: dict[str, str]) -> tuple[int, set, int]:
    with tempfile.TemporaryDirectory() as tmp:
        args = tv.write_set(Path(tmp) / "in", files, scopes)
        out = Path(tmp) / "result.json"
        proc = subprocess.run(
            [*cmd, "scan", *args, "--as-of", AS_OF, "--format", "json", "--output", str(out)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        result = json.loads(out.read_text("utf-8")) if out.exists() and out.stat().st_size else {}
    found = {(f["rule_id"], f["identity_id"]) for f in result.get("findings", [])}
    errors = sum(1 for ln in proc.stderr.splitlines() if ln.startswith("nhiscan: error:"))
    return proc.returncode, found, errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nhiscan", default=str(Path(sys.executable).parent / "nhiscan"))
    ap.add_argument("--kinds", default=",".join(tv.KINDS))
    opts = ap.parse_args()
    cmd = shlex.split(opts.nhiscan)
    lost_any = False
    print(f"{'kind':<11} {'variant':<28} {'found/canonical':>15} {'planted':>8} {'exit':>4} {'errors':>6}")
    for kind in opts.kinds.split(","):
        files, scopes = tv.set_files(kind)
        code, canonical, errors = scan(cmd, files, scopes)
        planted = f"{len(tv.ACME_PROBLEMS & canonical)}/21" if kind == "aws" else ""
        print(
            f"{kind:<11} {'(canonical)':<28} {len(canonical):>7}/{len(canonical):<7} {planted:>8} {code:>4} {errors:>6}"
        )
        for variant in (*tv.VARIANTS, *tv.KIND_VARIANTS.get(kind, {})):
            vfiles, vscopes = tv.variant_files(kind, variant)
            code, found, errors = scan(cmd, vfiles, vscopes)
            kept = len(found & canonical)
            lost_any |= kept < len(canonical)
            planted = f"{len(tv.ACME_PROBLEMS & found)}/21" if kind == "aws" else ""
            print(
                f"{kind:<11} {variant:<28} {kept:>7}/{len(canonical):<7} {planted:>8} {code:>4} {errors:>6}"
            )
    print("\nunreadable values (right: exit 2, 1 error line, the other records' findings kept)")
    for case, u in tv.UNREADABLE.items():
        if u.kind not in opts.kinds.split(","):
            continue
        files, scopes = tv.set_files(u.kind)
        lost = tv._lost(case, u, files)
        _code, canonical, _errors = scan(cmd, files, scopes)
        keep = {p for p in canonical if lost is None or not str(p[1]).endswith(lost)}
        tv._edit_json(files, u.file, u.edit)
        code, found, errors = scan(cmd, files, scopes)
        print(f"  {case:<36} exit {code}  errors {errors}  kept {len(keep & found)}/{len(keep)}")
    if "aws" in opts.kinds.split(","):
        files, scopes = tv.set_files("aws")
        lines = files["credential-report.csv"].decode("utf-8").splitlines()
        col = lines[0].split(",").index("access_key_1_last_used_date")
        cut = [",".join(c for i, c in enumerate(ln.split(",")) if i != col) for ln in lines]
        files["credential-report.csv"] = ("\n".join(cut) + "\n").encode("utf-8")
        code, found, errors = scan(cmd, files, scopes)
        planted = len(tv.ACME_PROBLEMS & found)
        print(f"  {'report-without-column':<36} exit {code}  errors {errors}  planted {planted}/21")
    return 1 if lost_any else 0


if __name__ == "__main__":
    sys.exit(main())
