"""The hostile-input suite's one assertion: a scan given hostile inputs beside good ones ends in
time, prints no traceback, names each bad input in one `nhiscan: error:` line that quotes no content,
exits with the code that says what happened, and still reports every good input in full.

Each test file in tests/hostile/ covers one class of attack (denial of service, blinding,
exfiltration, spoofing, crashes) and drives the installed `nhiscan` command through `hostile_scan`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import AS_OF, FIXTURES, CliResult, run_cli

# A good export and a good repository given beside every hostile input: both must still be reported.
GOOD_EXPORT = FIXTURES / "rules" / "nhi-no-owner" / "fires" / "inventory.json"
GOOD_EXPORT_ID: str = json.loads(GOOD_EXPORT.read_text("utf-8"))["identities"][0]["id"]
ERROR_LINE = re.compile(r"^nhiscan: error: (?P<source>.+?): \S.*$")


@dataclass
class HostileResult:
    cli: CliResult
    result: dict[str, Any]

    @property
    def errors(self) -> list[str]:
        return [ln for ln in self.cli.stderr.splitlines() if ln.startswith("nhiscan: error:")]

    def findings(self, rule_id: str | None = None) -> list[dict[str, Any]]:
        return [f for f in self.result.get("findings", []) if rule_id is None or f["rule_id"] == rule_id]


def hostile_scan(
    tmp_path: Path,
    *args: str,
    expect_code: int,
    timeout: float = 60,
    good_export: bool = True,
    env: dict[str, str] | None = None,
    forbidden: tuple[str, ...] = (),
) -> HostileResult:
    """Run `nhiscan scan ARGS --format json --output OUT` (plus a good export unless told not to)
    and check the invariants every hostile case shares. `forbidden` lists strings (secret values,
    planted content) that must appear nowhere: not on stdout, stderr, nor in the written result."""
    out = tmp_path / "hostile-out" / "result.json"
    full = ["scan", *args, "--as-of", AS_OF, "--format", "json", "--output", str(out)]
    if good_export:
        full += ["--input", str(GOOD_EXPORT)]
    res = run_cli(*full, env=env, timeout=int(timeout))
    assert "Traceback" not in res.stderr, res.stderr
    assert res.code == expect_code, (res.code, res.stderr)
    for line in res.stderr.splitlines():
        if line.startswith("nhiscan: error:"):
            assert ERROR_LINE.match(line), line
    written = out.read_text("utf-8") if out.exists() else ""
    result: dict[str, Any] = json.loads(written) if written else {}
    if good_export:
        assert GOOD_EXPORT_ID in {i["id"] for i in result.get("identities", [])}, res.stderr
    for value in forbidden:
        assert value not in res.stdout, f"{value!r} on stdout"
        assert value not in res.stderr, f"{value!r} on stderr"
        assert value not in written, f"{value!r} in the result"
    return HostileResult(res, result)
