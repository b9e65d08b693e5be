"""What naming secrets safely costs: a scan with thousands of secret findings, and one guess.

    python benchmarks/secret_ids_bench.py [--tokens 3000] [--passwords 1000] [--before main]

1. Generates a tree (benchmarks/.work/secret-ids) with --tokens distinct random tokens and
   --passwords distinct hard-coded passwords, 50 per file, and times `nhiscan scan TREE --format
   json` with this checkout; with --before REF also with the code of git REF (exported to a
   temporary directory and put first on PYTHONPATH), so the difference is what the ids cost.
2. Times what an attacker pays per guess against one finding, without a fingerprint key: the
   salted scrypt nhiscan uses for machine-made values (passwords people choose have no value-derived
   id to guess against), next to the plain sha256 the previous version wrote.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work" / "secret-ids"
sys.path.insert(0, str(ROOT))

from nhiscan import secret_ids  # noqa: E402

ALNUM = string.ascii_letters + string.digits


def generate(root: Path, tokens: int, passwords: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    lines: list[str] = []
    for i in range(tokens):
        lines.append(f'TOKEN_{i} = "ghp_{"".join(rnd.choice(ALNUM) for _ in range(36))}"')
    for i in range(passwords):
        word = rnd.choice(("Summer", "Winter", "Autumn", "Spring", "Welcome", "Dragon"))
        lines.append(f'DB_PASSWORD_{i} = "{word}{rnd.randint(1000, 99999)}!"')
    rnd.shuffle(lines)
    for n in range(0, len(lines), 50):
        (root / f"settings_{n // 50:04d}.py").write_text(
            "\n".join(lines[n : n + 50]) + "\n", encoding="utf-8"
        )


def timed_scan(tree: Path, pythonpath: str | None) -> tuple[float, int]:
    env = {**os.environ, "NHISCAN_WORKERS": os.environ.get("NHISCAN_WORKERS", "2")}
    env.pop(secret_ids.KEY_ENV, None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    exe = Path(sys.executable).parent / "nhiscan"
    start = time.perf_counter()
    proc = subprocess.run(
        [str(exe), "scan", str(tree), "--format", "json", "--fail-on", "none"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"scan failed ({proc.returncode}): {proc.stderr.strip()[:400]}")
    findings = json.loads(proc.stdout)["findings"]
    return elapsed, sum(1 for f in findings if f["rule_id"].startswith("secret-"))


def per_guess() -> dict[str, float]:
    d = hashlib.sha256(b"Summer2024!").digest()
    salt = b"nhiscan/fingerprint/v2\x1ftoken\x1facme-web\x1fapp/settings.py"
    n = 300
    start = time.perf_counter()
    for i in range(n):
        hashlib.scrypt(
            d + bytes([i % 256]), salt=salt, n=secret_ids.SCRYPT_N, r=secret_ids.SCRYPT_R, p=1, dklen=16
        )
    scrypt_ms = (time.perf_counter() - start) / n * 1000
    m = 200_000
    start = time.perf_counter()
    for i in range(m):
        hashlib.sha256(b"Summer%d!" % i).digest()
    sha_us = (time.perf_counter() - start) / m * 1e6
    return {
        "scrypt_ms_per_guess_per_finding": round(scrypt_ms, 3),
        "plain_sha256_us_per_guess": round(sha_us, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=3000)
    ap.add_argument("--passwords", type=int, default=1000)
    ap.add_argument("--before", help="a git ref to time too (e.g. main)")
    args = ap.parse_args()
    generate(WORK, args.tokens, args.passwords)
    out: dict[str, object] = {"tokens": args.tokens, "passwords": args.passwords}
    after, count = timed_scan(WORK, None)
    out["after_seconds"], out["secret_findings"] = round(after, 2), count
    if args.before:
        with tempfile.TemporaryDirectory() as tmp:
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", args.before], capture_output=True, check=True
            )
            subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
            before, count_before = timed_scan(WORK, tmp)
        out["before_seconds"], out["secret_findings_before"] = round(before, 2), count_before
        out["added_seconds"] = round(after - before, 2)
    out.update(per_guess())
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
