"""detect-secrets' plugins are imported against a stand-in for `requests` (nhiscan/sources/repo/
deferred_imports.py): a repository scan must not load `requests`, whatever uses it afterwards must
get the real package, and detect-secrets' own uses of it must reach the real package."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
from nhiscan.sources.repo import _Runner
with _Runner(1, False) as runner:
    scanner = runner._local_scanner()
    found = scanner.scan_text("deploy.yml", "aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\\n")
    print("found", len(found) > 0)
    print("loaded while scanning", "requests" in sys.modules or "urllib3" in sys.modules)
import requests
print("real after", type(requests.Response).__name__, requests.Response.__module__)
from detect_secrets.plugins import base
print("through detect-secrets", base.requests.exceptions.RequestException is requests.exceptions.RequestException)
print("same module", sys.modules["requests"] is requests)
"""


def test_scan_without_requests_then_the_real_package() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [
        "found True",
        "loaded while scanning False",
        "real after type requests.models",
        "through detect-secrets True",
        "same module True",
    ]


PRELOADED = """
import sys
import requests
from nhiscan.sources.repo.deferred_imports import requests_deferred
with requests_deferred():
    import requests as inside
print(inside is requests)
"""


def test_a_loaded_requests_is_left_alone() -> None:
    out = subprocess.run([sys.executable, "-c", PRELOADED], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_scan_through_the_cli_does_not_load_requests(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GITHUB_TOKEN=ghp_G6e1EL2CNOpWPTBI5ZATMSnDtyvYxSgdSoC9\n")
    probe = (
        "import sys\n"
        "from nhiscan import cli\n"
        f"sys.argv = ['nhiscan', 'scan', {str(tmp_path)!r}, '-f', 'json', '-o', {str(tmp_path / 'r.json')!r}]\n"
        "try:\n    cli.main()\nexcept SystemExit as e:\n    code = e.code\n"
        "print(code, 'requests' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "False"]  # the token is found (exit 1), requests never loaded
    result = json.loads((tmp_path / "r.json").read_text())
    assert [s["location"]["path"] for s in result["secrets"]] == [".env"]


MP_PROBE = """
import sys
from nhiscan.sources.repo import _Runner
with _Runner(1, False) as runner:
    scanner = runner._local_scanner()
    found = scanner.scan_text("deploy.yml", "aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\\n")
    print("found", len(found) > 0)
    print("loaded while scanning", "multiprocessing" in sys.modules)
import multiprocessing
from detect_secrets.core import secrets_collection
print("through detect-secrets", secrets_collection.mp.cpu_count() == multiprocessing.cpu_count())
print("real after", sys.modules["multiprocessing"] is multiprocessing, hasattr(multiprocessing, "Pool"))
"""


def test_scan_without_multiprocessing_then_the_real_package() -> None:
    """detect-secrets' module-level `import multiprocessing` (its own pool, never used by nhiscan)
    is deferred too; a use through detect-secrets, or any later import, gets the real package."""
    out = subprocess.run([sys.executable, "-c", MP_PROBE], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [
        "found True",
        "loaded while scanning False",
        "through detect-secrets True",
        "real after True True",
    ]
