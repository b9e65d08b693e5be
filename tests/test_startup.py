"""`nhiscan --help` / `--version` must not pay for cloud SDK imports."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("boto3", "botocore", "google", "azure", "detect_secrets", "jinja2", "grpc", "kubernetes", "urllib3")

PROBE = """
import sys
from nhiscan.cli import app
for argv in (["--version"], ["--help"], ["scan", "--help"]):
    try:
        app(argv, standalone_mode=False)
    except SystemExit:
        pass
print(",".join(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_help_and_version_import_no_cloud_sdk() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    loaded = set(out.strip().splitlines()[-1].split(","))
    assert "nhiscan" in loaded
    assert not loaded & set(HEAVY), f"startup imported {sorted(loaded & set(HEAVY))}"


def test_version_through_console_script(cli) -> None:  # type: ignore[no-untyped-def]
    from nhiscan import __version__

    res = cli("--version")
    assert res.code == 0
    assert res.stdout.strip() == f"nhiscan {__version__}"


SCAN_PROBE = """
import sys
from nhiscan import cli
sys.argv = ["nhiscan", *sys.argv[1:]]
try:
    cli.main()
except SystemExit:
    pass
from nhiscan.sources.repo.detectors import load_detectors
compiled = sum("regex" in d.__dict__ for d in load_detectors())
print(",".join(sorted({m.split(".")[0] for m in sys.modules})), compiled, len(load_detectors()))
"""
# What a repository scan does not need: Typer's pydantic conversion (nhiscan/cli_values.py), the
# multiprocessing detect-secrets imports for its own pool (sources/repo/deferred_imports.py).
SCAN_LAZY = ("pydantic", "pydantic_core", "multiprocessing", "requests", "rich", "jinja2", *HEAVY[:4])


def test_repository_scan_stays_lazy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import FIXTURES

    args = [
        "scan",
        str(FIXTURES / "repos" / "acme-web"),
        "--format",
        "json",
        "-o",
        str(tmp_path / "r.json"),
        "--as-of",
        "2026-11-01",
    ]
    out = subprocess.run(
        [sys.executable, "-c", SCAN_PROBE, *args], capture_output=True, text=True, check=True
    )
    modules, compiled, total = out.stdout.split()
    loaded = set(modules.split(","))
    assert "nhiscan" in loaded and "detect_secrets" in loaded  # the scan ran
    assert not loaded & set(SCAN_LAZY), f"scan imported {sorted(loaded & set(SCAN_LAZY))}"
    # the detector catalogue's regexes are compiled on first use: a few, not the whole catalogue
    assert 0 < int(compiled) < int(total) // 4
    assert (tmp_path / "r.json").stat().st_size > 0
