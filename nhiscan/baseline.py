"""Baselines: record today's findings so CI fails only on new ones.

An nhiscan baseline holds fingerprints and enough context to review them, never a secret value::

    {"schema": "nhiscan-baseline/v1", "generated_at": "...", "findings": [
        {"fingerprint": "sha256:...", "rule_id": "...", "identity_id": "...", "location": {...}}]}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nhiscan.errors import NhiscanError
from nhiscan.model import Report
from nhiscan.model.serialize import dt_out, location_out

BASELINE_SCHEMA = "nhiscan-baseline/v1"


def baseline_dict(report: Report) -> dict[str, Any]:
    return {
        "schema": BASELINE_SCHEMA,
        "generated_at": dt_out(report.as_of),
        "findings": [
            {
                "fingerprint": f.fingerprint,
                "rule_id": f.rule_id,
                "severity": f.severity.value,
                "identity_id": f.identity_id,
                "credential_id": f.credential_id,
                "location": location_out(f.location),
            }
            for f in report.findings
        ],
    }


def load_baseline(path: str) -> dict[str, Mapping[str, Any]]:
    """fingerprint -> waiver record for every finding the baseline accepts."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NhiscanError(f"{path}: baseline file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NhiscanError(f"{path}: not a readable baseline: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != BASELINE_SCHEMA:
        raise NhiscanError(f"{path}: not an nhiscan baseline (expected schema {BASELINE_SCHEMA!r})")
    out: dict[str, Mapping[str, Any]] = {}
    for entry in data.get("findings") or ():
        fp = entry.get("fingerprint") if isinstance(entry, dict) else None
        if isinstance(fp, str):
            out[fp] = {"kind": "baseline", "source": path, "reason": "present in baseline"}
    return out
