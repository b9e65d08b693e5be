"""Denial of service and blinding through long lines: minified bundles, HAR files and one-line dumps
hold thousands of secrets on one line. Scanning must cost time linear in the line's length, and
every secret on the line must be reported (not only the first of each kind). Times are the CPU
seconds of the scan (tests/hostile/cputime.py); the wall time is bounded by the harness timeout."""

from __future__ import annotations

import secrets
import string
from pathlib import Path

import pytest

from nhiscan.sources.repo.secrets import is_placeholder
from tests.hostile.cputime import cpu_seconds
from tests.hostile.harness import HostileResult, hostile_scan
from tests.hostile.planted import fingerprint_key, found_ids, keyed_id  # noqa: F401 (fingerprint_key: a fixture)

# Planted values are recognised by their keyed fingerprint ids (tests/hostile/planted.py).
pytestmark = pytest.mark.usefixtures("fingerprint_key")

ALNUM = string.ascii_letters + string.digits


def rand(n: int, charset: str = ALNUM) -> str:
    """A random value nhiscan reports (not one that happens to spell a placeholder like "todo")."""
    while True:
        value = "".join(secrets.choice(charset) for _ in range(n))
        if is_placeholder(value) is None:
            return value


def high_entropy(n: int) -> str:
    """A random base64 string the high-entropy plugin reports (entropy above its 4.5 limit)."""
    from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString

    plugin = Base64HighEntropyString()
    while True:
        value = rand(n, ALNUM + "+/")
        if plugin.calculate_shannon_entropy(value) > plugin.entropy_limit:
            return value


def dense_line(size: int) -> tuple[str, list[str]]:
    """`password="<32 random>" ` repeated to `size` bytes, no newline; the planted values."""
    values: list[str] = []
    parts: list[str] = []
    total = 0
    while total + 44 <= size:
        values.append(rand(32))
        parts.append(f'password="{values[-1]}" ')
        total += len(parts[-1])
    return "".join(parts), values


def found_values(res: HostileResult, values: list[str]) -> set[str]:
    ids = found_ids(res.result)
    return {v for v in values if keyed_id(v) in ids}


def _scan_line(tmp_path: Path, name: str, line: str) -> tuple[HostileResult, float]:
    repo = tmp_path / name
    repo.mkdir()
    (repo / "bundle.js").write_text(line)  # (*.min.js is skipped by name)
    out = tmp_path / f"{name}-out"
    return cpu_seconds(lambda: hostile_scan(out, str(repo), "--fail-on", "none", expect_code=0, timeout=300))


def test_one_megabyte_line_without_newline_every_secret_found_in_time(tmp_path: Path) -> None:
    # 4,000 entries, each followed by minified code, make one 1 MB line with no newline at all.
    values = [rand(32) for _ in range(4000)]
    filler = "var a=b.c(d,1);" * 12
    line = "".join(f'password="{v}";{filler}' for v in values)
    line += "x" * (1_000_000 - len(line))
    assert len(line) == 1_000_000 and "\n" not in line
    res, elapsed = _scan_line(tmp_path, "mb", line)
    assert elapsed < 5, f"{elapsed:.1f} s"
    assert len(found_values(res, values)) == len(values)
    in_bundle = [f for f in res.findings() if (f["location"] or {}).get("path") == "bundle.js"]
    assert {f["location"]["line"] for f in in_bundle} == {1}


def test_time_grows_linearly_with_the_line(tmp_path: Path) -> None:
    small, small_values = dense_line(100_000)
    large, large_values = dense_line(400_000)
    times = {}
    for name, line, values in (("small", small, small_values), ("large", large, large_values)):
        best = float("inf")
        for attempt in range(2):  # the better of two runs
            res, elapsed = _scan_line(tmp_path, f"{name}{attempt}", line)
            missed = sorted(set(values) - found_values(res, values))
            # A miss names the planted value and what the scan set aside (random test values only).
            assert not missed, (
                missed,
                [s.get("attributes") for s in res.result.get("suppressed_secrets", [])],
            )
            best = min(best, elapsed)
        times[name] = best
    # Quadratic cost would make 4x the input 16x the time; linear keeps it near 4x.
    assert times["large"] <= 5 * times["small"], times


def test_many_tokens_of_other_detectors_on_one_line_all_found(tmp_path: Path) -> None:
    github = ["ghp_" + rand(36) for _ in range(300)]
    aws = ["AKIA" + rand(16, string.ascii_uppercase + string.digits) for _ in range(300)]
    line = " ".join(f"{g} {a}" for g, a in zip(github, aws, strict=True))
    res, elapsed = _scan_line(tmp_path, "tokens", line)
    assert elapsed < 30
    assert len(found_values(res, github)) == len(github)
    assert len(found_values(res, aws)) == len(aws)


def test_an_id_name_early_in_a_long_line_hides_nothing_before_it_and_costs_little(tmp_path: Path) -> None:
    # detect-secrets drops a high-entropy string preceded anywhere on its line by an id-like name
    # (`user_id=`); that check must stay cheap and keep what comes before the name.
    # (no value spells "aws": the AWS plugin's `aws.{0,20}?"<40 chars>"` form ignores id names)
    before = [v for v in (high_entropy(40) for _ in range(2100)) if "aws" not in v.lower()][:2000]
    after = [v for v in (high_entropy(40) for _ in range(2100)) if "aws" not in v.lower()][:2000]
    # each value is named a token: a high-entropy string needs a credential-like name to be reported
    line = (
        " ".join(f'token="{v}"' for v in before) + " user_id = 7 " + " ".join(f'token="{v}"' for v in after)
    )
    res, elapsed = _scan_line(tmp_path, "ids", line)
    assert elapsed < 30
    assert len(found_values(res, before)) == len(before)
    assert found_values(res, after) == set()  # what detect-secrets itself reports
