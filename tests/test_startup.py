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
