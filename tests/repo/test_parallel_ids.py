"""Worker processes name secrets with the parent's run key: a value found by two workers is one value."""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timezone
from pathlib import Path

import pytest

from nhiscan.config import ScanConfig
from nhiscan.core import run_scan


def test_reuse_is_found_when_workers_scan_the_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nhiscan.sources.repo as repo_scan

    monkeypatch.setattr(repo_scan, "PARALLEL_MIN_BYTES", 0)  # always the process pool
    monkeypatch.setenv("NHISCAN_WORKERS", "2")
    monkeypatch.delenv("NHISCAN_FINGERPRINT_KEY", raising=False)
    token = "ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))
    paths = []
    # Two batches per tree (256 files and the rest): the pool worker takes the larger, the main
    # process the smaller. The copy in `one` sorts first (the worker's batch), the one in `two`
    # last (the main process's batch): two processes find the same value.
    for name, holder in (("one", "a.py"), ("two", "z.py")):
        (tmp_path / name).mkdir()
        for i in range(300):
            (tmp_path / name / f"f{i}.txt").write_text(f"line {i}\n", encoding="utf-8")
        (tmp_path / name / holder).write_text(f'TOKEN = "{token}"\n', encoding="utf-8")
        paths.append(str(tmp_path / name))
    report = run_scan(ScanConfig(as_of=datetime(2026, 11, 1, tzinfo=timezone.utc), paths=tuple(paths)))
    reused = [f for f in report.findings if f.rule_id == "secret-reused-across-repositories"]
    assert len(reused) == 1
    assert {s.hash for s in report.inventory.secrets} == {"run:1"}
