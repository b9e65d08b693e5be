"""Crashes: a bad config, rule parameter or waiver is one `nhiscan: error:` line naming the file and
the key (and the line, where YAML gives one), exit 2, never a traceback, and never accepted silently.

A bad settings or waivers file stops the whole command (it decides what every finding means), so no
result is written: each case runs with `good_export=False` and checks the one line instead.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.hostile.harness import GOOD_EXPORT, HostileResult, hostile_scan

TIMEOUT = 60


def _scan_with(tmp_path: Path, *args: str) -> HostileResult:
    return hostile_scan(
        tmp_path, "--input", str(GOOD_EXPORT), *args, expect_code=2, timeout=TIMEOUT, good_export=False
    )


def _one_error(res: HostileResult, *needles: str) -> str:
    assert len(res.errors) == 1, res.cli.stderr
    (line,) = res.errors
    assert len(res.cli.stderr.strip().splitlines()) == 1, res.cli.stderr  # nothing else on stderr
    for needle in needles:
        assert needle in line, (needle, line)
    return line


# (case id, nhiscan.toml text, what the one error line must name besides the file)
CONFIG_CASES = [
    (
        "param-wrong-type",
        '[params.aws-access-key-too-old]\nmax_age_days = "sixty"\n',
        ["max_age_days", "integer"],
    ),
    ("param-negative", "[params.aws-access-key-too-old]\nmax_age_days = -5\n", ["max_age_days", "-5"]),
    ("param-zero", "[params.gcp-sa-key-too-old]\nmax_age_days = 0\n", ["max_age_days", "from 1"]),
    (
        "param-too-big",
        "[params.azure-secret-long-lived]\nmax_lifetime_days = 99999999\n",
        ["max_lifetime_days"],
    ),
    ("param-boolean", "[params.aws-credential-unused]\nunused_days = true\n", ["unused_days", "boolean"]),
    (
        "param-decimal",
        "[params.aws-two-active-keys]\nrecent_use_days = 30.5\n",
        ["recent_use_days", "decimal"],
    ),
    ("param-list-of-numbers", "[params.nhi-no-owner]\nowner_tags = [1, 2]\n", ["owner_tags", "list"]),
    ("param-string-not-list", '[params.nhi-no-owner]\nowner_tags = "owner"\n', ["owner_tags", "list"]),
    (
        "param-empty-list",
        "[params.nhi-cross-environment]\nprod_markers = []\n",
        ["prod_markers", "at least 1"],
    ),
    ("param-choice", '[params.secret-generic]\ncategory = "other"\n', ["category", "generic"]),
    ("param-unknown", "[params.aws-access-key-too-old]\nmax_age = 60\n", ["max_age", "max_age_days"]),
    ("params-not-a-table", "[params]\naws-access-key-too-old = 5\n", ["aws-access-key-too-old", "table"]),
    ("params-unknown-rule", "[params.no-such-rule]\nx = 1\n", ["no-such-rule"]),
    ("unknown-key", 'fail_onn = "high"\n', ["fail_onn"]),
    ("unknown-rule-disabled", 'disable = ["no-such-rule"]\n', ["disable", "no-such-rule"]),
    ("unknown-rule-severity", '[severity]\nno-such-rule = "low"\n', ["severity", "no-such-rule"]),
    ("severity-bad-level", '[severity]\naws-two-active-keys = "huge"\n', ["aws-two-active-keys", "huge"]),
    ("severity-not-a-level", "[severity]\naws-two-active-keys = 3\n", ["aws-two-active-keys"]),
    ("severity-not-a-table", "severity = 5\n", ["severity", "table"]),
    ("classification-unknown", '[classification]\nnonhumans = ["x"]\n', ["classification", "nonhumans"]),
    ("classification-not-a-list", "[classification]\nhuman = 5\n", ["classification", "human"]),
    ("fail-on-bad", 'fail_on = "sometimes"\n', ["fail_on"]),
    ("fail-on-number", "fail_on = 3\n", ["fail_on"]),
    ("waivers-not-a-path", "waivers = 3\n", ["waivers"]),
    ("exclude-not-strings", "exclude = [1]\n", ["exclude"]),
    ("invalid-toml", "fail_on = = 1\n", ["invalid TOML", "line 1"]),
]


@pytest.mark.parametrize(("text", "needles"), [c[1:] for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES])
def test_bad_setting_is_one_line_naming_file_and_key(tmp_path: Path, text: str, needles: list[str]) -> None:
    cfg = tmp_path / "nhiscan.toml"
    cfg.write_text(text, encoding="utf-8")
    line = _one_error(_scan_with(tmp_path, "--config", str(cfg)), str(cfg), *needles)
    assert "Traceback" not in line


def test_binary_config_is_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "nhiscan.toml"
    cfg.write_bytes(b"\x7fELF\x02\x01\x01\x00" + os.urandom(256) + b"\xd0\x00\xff")
    _one_error(_scan_with(tmp_path, "--config", str(cfg)), str(cfg), "not UTF-8")


def test_pyproject_with_a_tool_that_is_not_a_table(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('tool = "nhiscan"\n', encoding="utf-8")
    _one_error(_scan_with(tmp_path, "--config", str(pyproject)), str(pyproject), "tool")


def test_bad_setting_in_pyproject_names_the_section(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        "[tool.nhiscan.params.aws-access-key-too-old]\nmax_age_days = -1\n", encoding="utf-8"
    )
    _one_error(_scan_with(tmp_path, "--config", str(pyproject)), "[tool.nhiscan]", "max_age_days", "-1")


def test_a_fitting_override_is_still_accepted(tmp_path: Path) -> None:
    """The checks refuse what is wrong, not what is unusual: the range ends are allowed."""
    cfg = tmp_path / "nhiscan.toml"
    cfg.write_text(
        "[params.aws-access-key-too-old]\nmax_age_days = 3650\n[params.aws-access-key-never-used]\n"
        'min_age_days = 0\n[params.nhi-no-owner]\nowner_tags = ["cost-center"]\n',
        encoding="utf-8",
    )
    res = hostile_scan(tmp_path, "--config", str(cfg), expect_code=0, timeout=TIMEOUT)
    assert res.errors == []
    assert res.findings("nhi-no-owner")  # the good export's identity has no cost-center tag either


WAIVER = "waivers:\n  - rule: nhi-no-owner\n    identity: '*'\n    reason: accepted\n    owner: team-a\n"

# (case id, waivers file text, the 1-based line the error must name or None, what else it must name)
WAIVER_CASES = [
    ("day-that-does-not-exist", WAIVER + "    expires: 2026-02-30\n", 6, ["expires", "day is out of range"]),
    ("month-13", WAIVER + "    expires: 2026-13-01\n", 6, ["expires", "month"]),
    ("not-a-date", WAIVER + "    expires: soon\n", 6, ["expires", "YYYY-MM-DD"]),
    ("date-as-number", WAIVER + "    expires: 20261231\n", 6, ["expires"]),
    ("missing-expiry", WAIVER, 2, ["expires", "required"]),
    ("unknown-key", WAIVER + "    expires: 2026-12-31\n    colour: red\n", 7, ["colour"]),
    (
        "unknown-rule",
        WAIVER.replace("nhi-no-owner", "no-such-rule") + "    expires: 2026-12-31\n",
        2,
        ["no-such-rule"],
    ),
    ("owner-not-text", WAIVER.replace("team-a", "[a, b]") + "    expires: 2026-12-31\n", 5, ["owner"]),
    (
        "bad-fingerprint",
        "waivers:\n  - fingerprint: abc\n    reason: r\n    owner: o\n    expires: 2026-12-31\n",
        2,
        ["fingerprint"],
    ),
    (
        "truncated-fingerprint",  # a copy-paste slip: it would never match, so the waiver would do nothing
        "waivers:\n  - fingerprint: 'sha256:2455855480309611289921c71bf62f1fec632a'\n    reason: r\n"
        "    owner: o\n    expires: 2026-12-31\n",
        2,
        ["fingerprint", "64 hex"],
    ),
    ("entry-not-a-mapping", "waivers:\n  - just a string\n", 2, ["must be a mapping"]),
    ("unknown-top-level-key", "waiver:\n  - {}\n", None, ["waiver"]),
    ("invalid-yaml", "waivers: [\n", 2, ["invalid YAML"]),
    ("control-character", "waivers:\n  - reason: a\x01b\n", 2, ["invalid YAML"]),
]


@pytest.mark.parametrize(
    ("text", "line", "needles"), [c[1:] for c in WAIVER_CASES], ids=[c[0] for c in WAIVER_CASES]
)
def test_bad_waiver_is_one_line_naming_file_line_and_key(
    tmp_path: Path, text: str, line: int | None, needles: list[str]
) -> None:
    waivers = tmp_path / ".nhiscan-waivers.yaml"
    waivers.write_text(text, encoding="utf-8")
    err = _one_error(_scan_with(tmp_path, "--waivers", str(waivers)), str(waivers), *needles)
    if line is not None:  # file:LINE: for an entry's field; YAML syntax as "at line LINE column C"
        where = rf"{re.escape(str(waivers))}(:{line}(:\d+)?: |: invalid YAML at line {line} column \d+: )"
        assert re.search(where, err), err


def test_binary_waivers_file_is_one_line(tmp_path: Path) -> None:
    waivers = tmp_path / ".nhiscan-waivers.yaml"
    waivers.write_bytes(b"\x00\x01\xfe\xff" + os.urandom(200))
    _one_error(_scan_with(tmp_path, "--waivers", str(waivers)), str(waivers))


def test_a_real_date_and_a_timestamp_still_load(tmp_path: Path) -> None:
    waivers = tmp_path / ".nhiscan-waivers.yaml"
    waivers.write_text(WAIVER + "    expires: 2026-12-31T10:00:00Z\n", encoding="utf-8")
    res = hostile_scan(tmp_path, "--waivers", str(waivers), expect_code=0, timeout=TIMEOUT)
    assert res.errors == []
    (finding,) = res.findings("nhi-no-owner")
    assert finding["waived"] and finding["waiver"]["expires"] == "2026-12-31"
