"""Waiver file parsing and matching."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from nhiscan.errors import NhiscanError
from nhiscan.model import Finding, Severity
from nhiscan.waivers import first_match, load_waivers, parse_waivers, resolve_path

TODAY = date(2026, 11, 1)
BASE = {"reason": "accepted", "owner": "team-a", "expires": "2026-12-31"}


def finding(
    rule: str = "leaked-credential-linked", ident: str | None = "arn:aws:iam::1:user/ci-a"
) -> Finding:
    return Finding(
        rule,
        "t",
        Severity.HIGH,
        ("NHI2:2025",),
        "m",
        "r",
        "sha256:abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabca",
        identity_id=ident,
    )


def test_fingerprint_and_rule_identity_glob_entries() -> None:
    ws = parse_waivers(
        {
            "waivers": [
                {
                    **BASE,
                    "fingerprint": "sha256:abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabca",
                },
                {**BASE, "rule": "leaked-*", "identity": "*:user/ci-*"},
            ]
        },
        "w.yaml",
        TODAY,
    )
    rec = ws.match(finding())
    assert rec is not None and rec["entry"] == 1 and rec["expired"] is False and rec["owner"] == "team-a"
    other = Finding(
        "leaked-credential-linked",
        "t",
        Severity.HIGH,
        (),
        "m",
        "r",
        "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        identity_id="arn:aws:iam::1:user/ci-b",
    )
    rec = ws.match(other)
    assert rec is not None and rec["entry"] == 2
    assert (
        ws.match(
            Finding(
                "x",
                "t",
                Severity.HIGH,
                (),
                "m",
                "r",
                "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            )
        )
        is None
    )


def test_expired_waiver_is_reported_not_applied_and_a_valid_one_wins() -> None:
    expired = {
        **BASE,
        "expires": date(2026, 10, 31),
        "fingerprint": "sha256:abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabca",
    }
    ws = parse_waivers([expired], "w.yaml", TODAY)
    rec = ws.match(finding())
    assert rec is not None and rec["expired"] is True and rec["expires"] == "2026-10-31"
    ws = parse_waivers(
        [
            expired,
            {
                **BASE,
                "fingerprint": "sha256:abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabca",
            },
        ],
        "w.yaml",
        TODAY,
    )
    rec = ws.match(finding())
    assert rec is not None and rec["expired"] is False and rec["entry"] == 2
    # Expiry is inclusive: the waiver still applies on its last day.
    assert (
        parse_waivers(
            [
                {
                    **BASE,
                    "expires": "2026-11-01",
                    "fingerprint": "sha256:abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabca",
                }
            ],
            "w",
            TODAY,
        ).match(finding())["expired"]
        is False
    )  # type: ignore[index]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {
                "fingerprint": "sha256:abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabca",
                "owner": "o",
                "expires": "2027-01-01",
            },
            "'reason' is required",
        ),
        (
            {
                "fingerprint": "sha256:abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabca",
                "reason": "r",
                "expires": "2027-01-01",
            },
            "'owner' is required",
        ),
        (
            {
                "fingerprint": "sha256:abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabca",
                "reason": "r",
                "owner": "o",
            },
            "'expires' is required",
        ),
        (
            {
                **BASE,
                "expires": "next year",
                "fingerprint": "sha256:abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabca",
            },
            "'expires' must be a date",
        ),
        ({**BASE, "rule": "leaked-credential-linked"}, "needs 'fingerprint', or both"),
        (
            {
                **BASE,
                "fingerprint": "sha256:abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabca",
                "rule": "x",
                "identity": "y",
            },
            "not both",
        ),
        ({**BASE, "fingerprint": "abc"}, "sha256:"),
        ({**BASE, "rule": "no-such-rule", "identity": "*"}, "unknown rule 'no-such-rule'"),
        (
            {
                **BASE,
                "fingerprint": "sha256:abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabca",
                "comment": "x",
            },
            "unknown key(s): comment",
        ),
        ("just a string", "must be a mapping"),
    ],
)
def test_malformed_entries_name_file_and_entry(entry: object, message: str) -> None:
    with pytest.raises(NhiscanError) as exc:
        parse_waivers(
            {
                "waivers": [
                    {
                        **BASE,
                        "fingerprint": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                    },
                    entry,
                ]
            },
            "w.yaml",
            TODAY,
            ["leaked-credential-linked"],
        )
    assert exc.value.message.startswith("w.yaml: waiver entry #2: ")
    assert message in exc.value.message


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(NhiscanError, match="waivers file not found"):
        load_waivers(str(tmp_path / "none.yaml"), TODAY)
    bad = tmp_path / "bad.yaml"
    bad.write_text("waivers: [\n", encoding="utf-8")
    with pytest.raises(NhiscanError, match="invalid YAML"):
        load_waivers(str(bad), TODAY)
    bad.write_text("waivers: {a: 1}\n", encoding="utf-8")
    with pytest.raises(NhiscanError, match="expected a list"):
        load_waivers(str(bad), TODAY)
    bad.write_text("", encoding="utf-8")
    assert load_waivers(str(bad), TODAY).waivers == ()


def test_resolve_path_precedence(tmp_path: Path) -> None:
    assert resolve_path(None, None, tmp_path) is None
    (tmp_path / ".nhiscan-waivers.yaml").write_text("[]", encoding="utf-8")
    assert resolve_path(None, None, tmp_path) == str(tmp_path / ".nhiscan-waivers.yaml")
    assert resolve_path(None, "from-toml.yaml", tmp_path) == "from-toml.yaml"
    assert resolve_path("cli.yaml", "from-toml.yaml", tmp_path) == "cli.yaml"


def test_first_match_prefers_an_active_record_over_an_expired_one() -> None:
    expired = {"kind": "waiver", "expired": True}
    active = {"kind": "baseline"}
    assert first_match([lambda f: expired, lambda f: active])(finding()) == active
    assert first_match([lambda f: expired, lambda f: None])(finding()) == expired
    assert first_match([lambda f: None])(finding()) is None
