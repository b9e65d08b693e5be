"""Baselines: record today's findings so CI fails only on new ones.

An nhiscan baseline holds fingerprints and enough context to review them, never a secret value
nor anything that could confirm a guess of one::

    {"schema": "nhiscan-baseline/v1", "fingerprints": "nhiscan/v2",
     "generated_at": "2026-11-03T09:14:07+00:00", "as_of": "2026-11-01T00:00:00+00:00",
     "findings": [{"fingerprint": "sha256:...", "rule_id": "...", "identity_id": "...", "location": {...}}]}

``fingerprints`` says which fingerprint form the file holds. A baseline without it was written by an
earlier nhiscan (fingerprints without the repository, secrets keyed by their plain hash): its
entries are matched against the fingerprint each finding would have had then, computed in memory
(docs/secret-ids.md, "Migrating"). ``nhiscan baseline create`` always writes the current form.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from nhiscan.errors import InputError, NhiscanError
from nhiscan.model import Finding, Inventory, Report
from nhiscan.model.serialize import dt_out, location_out
from nhiscan.sources.stream import read_input_bytes

BASELINE_SCHEMA = "nhiscan-baseline/v1"
# The fingerprint form `baseline create` writes (absent: an earlier version's form).
FINGERPRINTS = "nhiscan/v2"
LEGACY_REASON = (
    "present in baseline (written by an earlier nhiscan: run `nhiscan baseline create` to renew it)"
)


def baseline_dict(report: Report, now: datetime | None = None) -> dict[str, Any]:
    """The baseline of ``report``. ``generated_at`` is when it was made (``now``, default the
    current UTC time, to the second); ``as_of`` the day the scan evaluated ages on (``--as-of``)."""
    made = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    return {
        "schema": BASELINE_SCHEMA,
        "fingerprints": FINGERPRINTS,
        "generated_at": dt_out(made),
        "as_of": dt_out(report.as_of),
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


def load_baseline(path: str, inventory: Inventory | None = None) -> dict[str, Mapping[str, Any]]:
    """fingerprint -> waiver record for every finding the baseline accepts.

    Also accepts a detect-secrets ``.secrets.baseline``: its results name secrets by file and
    sha1, so they are matched against the scanned ``inventory``'s secrets (which keep, in memory
    only, the sha1 detect-secrets computes) and turned into the fingerprints of the findings they would raise.
    """
    try:
        data = json.loads(read_input_bytes(path).decode("utf-8"))  # a FIFO cannot hang the scan
    except InputError as exc:
        detail = "baseline file not found" if exc.detail == "file not found" else exc.detail
        raise NhiscanError(f"{path}: {detail}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NhiscanError(f"{path}: not a readable baseline: {exc}") from None
    if isinstance(data, dict) and "schema" not in data and isinstance(data.get("results"), dict):
        return _detect_secrets_waivers(path, data["results"], inventory)
    if not isinstance(data, dict) or data.get("schema") != BASELINE_SCHEMA:
        raise NhiscanError(f"{path}: not an nhiscan baseline (expected schema {BASELINE_SCHEMA!r})")
    legacy = data.get("fingerprints") != FINGERPRINTS
    record = {
        "kind": "baseline",
        "source": path,
        "reason": LEGACY_REASON if legacy else "present in baseline",
    }
    out: dict[str, Mapping[str, Any]] = {}
    for entry in data.get("findings") or ():
        fp = entry.get("fingerprint") if isinstance(entry, dict) else None
        if isinstance(fp, str):
            out[fp] = {**record, "legacy": True} if legacy else dict(record)
    return out


def baseline_matcher(table: Mapping[str, Mapping[str, Any]]) -> Callable[[Finding], Mapping[str, Any] | None]:
    """A finding's baseline record: by its fingerprint; entries of a baseline an earlier version
    wrote also by the fingerprint that version gave the finding."""

    def match(f: Finding) -> Mapping[str, Any] | None:
        rec = table.get(f.fingerprint)
        if rec is None and f.legacy_fingerprint is not None:
            old = table.get(f.legacy_fingerprint)
            rec = old if old is not None and old.get("legacy") else None
        return rec

    return match


def _detect_secrets_waivers(
    path: str, results: Mapping[str, Any], inventory: Inventory | None
) -> dict[str, Mapping[str, Any]]:
    from nhiscan.analyze.checks.secrets import rule_for_category, secret_hit
    from nhiscan.analyze.engine import fingerprint

    accepted: set[tuple[str, str]] = set()
    for filename, entries in results.items():
        if not isinstance(entries, list):
            raise NhiscanError(f"{path}: not a detect-secrets baseline (results of {filename!r})")
        name = str(filename).replace("\\", "/").removeprefix("./")
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("hashed_secret"), str):
                accepted.add((name, entry["hashed_secret"]))
    out: dict[str, Mapping[str, Any]] = {}
    for secret in inventory.secrets if inventory else ():
        # the sha1s detect-secrets records, known in memory only (no output holds them)
        if not any((secret.location.path, h) in accepted for h in secret.ds_sha1):
            continue
        rule = rule_for_category(str(secret.attributes.get("category", "")))
        if rule is None:
            continue
        fp = fingerprint(rule, secret_hit(secret, [secret.location.line or 0]))
        out[fp] = {"kind": "baseline", "source": path, "reason": "present in detect-secrets baseline"}
    return out
