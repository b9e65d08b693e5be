"""Through the installed CLI: leaks joined to their owners, agents marked, waivers applied."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from nhiscan.secret_ids import REDACTED
from tests.conftest import AS_OF, FIXTURES, run_cli

COMBINED = FIXTURES / "correlate" / "combined"
INV = str(COMBINED / "inventory.json")


def scan_json(*extra: str, cwd: Path | None = None) -> tuple[int, dict[str, Any], str]:
    res = run_cli("scan", "--input", INV, "--as-of", AS_OF, "--format", "json", *extra, cwd=cwd)
    assert "Traceback" not in res.stderr
    return res.code, res.json(), res.stderr


def linked(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in data["findings"] if f["rule_id"] == "leaked-credential-linked"]


def test_leak_names_owning_identity_credential_locations_and_blast_radius() -> None:
    code, data, _ = scan_json()
    assert code == 1
    expected = json.loads((COMBINED / "expected.json").read_text())
    assert {(f["identity_id"], f["credential_id"]) for f in linked(data)} == {
        (p["identity_id"], p["credential_id"]) for p in expected["planted"]
    }
    (ci,) = [f for f in linked(data) if f["identity_id"].endswith(":user/ci-deployer")]
    assert ci["severity"] == "critical"
    assert ci["credential_id"].startswith("AKIA")
    ev = ci["evidence"]
    assert ev["credential_status"] == "active" and ev["credential_last_used"].startswith("2026-10-25")
    assert ev["privilege"] == "admin"
    assert sorted(ev["repositories"]) == ["infra-tools", "web-app"]
    assert ci["location"] == ev["locations"][0] and len(ev["locations"]) == 4
    assert "ci-deployer" in ci["message"] and "6 day(s) ago" in ci["message"]
    ident = next(i for i in data["identities"] if i["id"] == ci["identity_id"])
    assert "leaked-credential" in ident["risk_factors"] and ident["risk_level"] == "critical"
    # Nothing but redacted previews of secrets in the output: the current form, even for an
    # inventory an earlier version wrote (its previews held 8 hex digits of a plain sha256).
    inventory = json.loads(Path(INV).read_text())
    old_ids = {s["hash"].removeprefix("sha256:")[:8] for s in inventory["secrets"]}
    for f in linked(data):
        assert f["evidence"]["redacted"]
        for preview in f["evidence"]["redacted"]:
            assert REDACTED.fullmatch(preview), preview
            assert not any(h in preview for h in old_ids)


def test_agent_identities_are_marked_in_json() -> None:
    _, data, _ = scan_json()
    agents = {
        i["name"]: i["attributes"]["agent_reason"] for i in data["identities"] if i["attributes"].get("agent")
    }
    assert agents == {"release-helper": "credential used by agent config .cursor/mcp.json"}
    (f,) = [f for f in data["findings"] if f["rule_id"] == "agent-identity-privileged"]
    assert f["severity"] == "critical" and f["identity_id"].endswith(":user/release-helper")


def _write(path: Path, entries: list[dict[str, Any]]) -> Path:
    import yaml

    path.write_text(yaml.safe_dump({"waivers": entries}), encoding="utf-8")
    return path


def test_waivers_valid_expired_and_default_file(tmp_path: Path) -> None:
    _, data, _ = scan_json()
    (ci,) = [f for f in linked(data) if f["identity_id"].endswith(":user/ci-deployer")]
    entries = [
        {"fingerprint": ci["fingerprint"], "reason": "break-glass", "owner": "sec", "expires": "2027-01-31"},
        {
            "rule": "leaked-credential-linked",
            "identity": "*:user/legacy-*",
            "reason": "disabled",
            "owner": "data",
            "expires": "2026-10-01",
        },
    ]
    waivers = _write(tmp_path / "w.yaml", entries)
    code, data, err = scan_json("--waivers", str(waivers))
    by_ident = {f["identity_id"].rsplit("/", 1)[-1]: f for f in linked(data)}
    assert by_ident["ci-deployer"]["waived"] is True
    assert by_ident["ci-deployer"]["waiver"] == {
        "kind": "waiver",
        "source": str(waivers),
        "entry": 1,
        "reason": "break-glass",
        "owner": "sec",
        "expires": "2027-01-31",
        "expired": False,
        "fingerprint": ci["fingerprint"],
    }
    legacy = by_ident["legacy-etl"]
    assert legacy["waived"] is False and legacy["waiver"]["expired"] is True
    assert f"nhiscan: warning: {waivers}: waiver entry #2 expired on 2026-10-01" in err
    assert data["summary"]["waived"] == 1 and code == 1
    ident = next(i for i in data["identities"] if i["name"] == "ci-deployer")
    assert "leaked-credential" not in ident["risk_factors"]  # a waived finding no longer scores
    # Default file in the working directory.
    _write(tmp_path / ".nhiscan-waivers.yaml", entries[:1])
    _, data, err = scan_json(cwd=tmp_path)
    assert [f["waived"] for f in linked(data) if f["identity_id"].endswith("ci-deployer")] == [True]
    assert "warning" not in err


def test_malformed_waivers_exit_2_naming_file_and_entry(tmp_path: Path) -> None:
    bad = _write(
        tmp_path / "bad.yaml",
        [
            {
                "fingerprint": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                "reason": "r",
                "owner": "o",
                "expires": "2027-01-01",
            },
            {"rule": "leaked-credential-linked", "identity": "*", "owner": "o", "expires": "2027-01-01"},
        ],
    )
    res = run_cli("scan", "--input", INV, "--waivers", str(bad), "--as-of", AS_OF)
    assert res.code == 2 and "Traceback" not in res.stderr
    # the line of the entry is named too (YAML gives it)
    assert re.fullmatch(
        rf"nhiscan: error: {re.escape(str(bad))}:\d+: waiver entry #2: 'reason' is required and must be a "
        "non-empty string",
        res.stderr.strip(),
    ), res.stderr
    res = run_cli("scan", "--input", INV, "--waivers", str(tmp_path / "missing.yaml"))
    assert res.code == 2 and "missing.yaml: waivers file not found" in res.stderr
    toml = tmp_path / "nhiscan.toml"
    toml.write_text('waivers = "bad.yaml"\n', encoding="utf-8")
    res = run_cli("scan", "--input", INV, "--config", str(toml))
    assert res.code == 2 and re.search(r"bad\.yaml:\d+: waiver entry #2", res.stderr)
