"""JSON form of a scan result (`nhiscan/v1`): what `scan --format json` writes and `nhiscan report`
and `nhiscan diff` read back unchanged. The records it is made of (identities, secrets, sources...)
and the inventory document are in ``serialize``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from nhiscan import secret_ids
from nhiscan.model import (
    INVENTORY_SCHEMA,
    SCHEMA,
    Finding,
    Inventory,
    Reachable,
    Report,
    Risk,
    Secret,
    Severity,
    SourceError,
)
from nhiscan.model.fields import _dict, bool_in, dt_in, dt_out
from nhiscan.model.jsonstream import Lazy
from nhiscan.model.posture import credential_posture
from nhiscan.model.serialize import (
    built,
    identity_in,
    identity_out,
    location_in,
    location_out,
    log_config_in,
    log_config_out,
    observation_in,
    observation_out,
    secret_in,
    secret_out,
    source_in,
    source_out,
)


def finding_out(f: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule_id": f.rule_id,
        "title": f.title,
        "severity": f.severity.value,
        "owasp_nhi": list(f.owasp_nhi),
        "identity_id": f.identity_id,
        "credential_id": f.credential_id,
        "location": location_out(f.location),
        "message": f.message,
        "remediation": f.remediation,
        "fingerprint": f.fingerprint,
        "evidence": dict(f.evidence),
        "waived": f.waived,
    }
    if f.waiver is not None:
        out["waiver"] = dict(f.waiver)
    return out


def finding_in(d: Mapping[str, Any], forms: secret_ids.LegacyForms | None = None) -> Finding:
    """A finding record; ``forms`` when written by an earlier version, whose redacted forms and
    secret-based fingerprints could confirm guesses: they are replaced (secret_ids.py)."""
    message = str(d.get("message", ""))
    evidence = dict(d.get("evidence") or {})
    fingerprint = str(d["fingerprint"])
    if forms is not None:
        message = forms.scrub(message)
        evidence = _scrubbed(evidence, forms)
        if str(d["rule_id"]).startswith("secret-"):
            loc = d.get("location") or {}
            # never the line (fingerprints survive lines moving): which secret, by its new label
            place = (
                *(str(loc.get(k) or "") for k in ("repository", "path", "commit")),
                json.dumps(evidence.get("redacted"), sort_keys=True),
            )
            fingerprint = secret_ids.rekey_legacy_fingerprint(
                str(d["rule_id"]), str(d.get("identity_id") or ""), str(d.get("credential_id") or ""), place
            )
    return Finding(
        rule_id=str(d["rule_id"]),
        title=str(d.get("title", d["rule_id"])),
        severity=Severity.parse(str(d["severity"])),
        owasp_nhi=tuple(d.get("owasp_nhi") or ()),
        message=message,
        remediation=str(d.get("remediation", "")),
        fingerprint=fingerprint,
        identity_id=d.get("identity_id"),
        credential_id=d.get("credential_id"),
        location=location_in(d.get("location")),
        evidence=evidence,
        waived=bool_in(d.get("waived"), "waived", False),
        waiver=d.get("waiver"),
    )


def _scrubbed(value: Any, forms: secret_ids.LegacyForms) -> Any:
    if isinstance(value, str):
        return forms.scrub(value)
    if isinstance(value, list):
        return [_scrubbed(v, forms) for v in value]
    if isinstance(value, dict):
        return {
            k: _scrubbed(v, forms) for k, v in value.items() if k not in ("sha1", "sha1_also", "secret_hash")
        }
    return value


def _labelled(s: Secret, forms: secret_ids.LegacyForms | None) -> Secret:
    """An earlier version's secret, re-rendered: named by the label its redacted form now carries
    (the same in every rendering), not by a run id."""
    if forms is None or "#" not in s.redacted:
        return s
    return replace(s, hash="run:" + s.redacted.rpartition("#")[2])


def _legacy_secrets(d: Mapping[str, Any]) -> bool:
    """Whether a document holds secret records in an earlier version's form (plain sha256 hashes)."""
    for s in d.get("secrets") or ():
        if isinstance(s, Mapping) and secret_ids.legacy_digest(str(s.get("hash", ""))) is not None:
            return True
    return False


def report_document(report: Report, *, encoded: bool = False) -> dict[str, Any]:
    """The ``nhiscan/v1`` result with its lists as ``Lazy`` values (see ``inventory_document``)."""
    from nhiscan.model.identity_text import GrantTexts

    inv = report.inventory
    texts = GrantTexts()
    out = identity_out if not encoded else texts.identity
    return {
        "schema": SCHEMA,
        "tool": {"name": "nhiscan", "version": report.tool_version},
        "as_of": dt_out(report.as_of),
        "sources": Lazy(source_out(s) for s in inv.sources),
        "identities": Lazy(
            out(i, report.risks.get(i.id), reach=report.reach.get(i.id)) for i in inv.identities
        ),
        "findings": Lazy(finding_out(f) for f in report.findings),
        "secrets": Lazy(secret_out(s) for s in inv.secrets),
        "suppressed_secrets": Lazy(secret_out(s) for s in inv.suppressed),
        "observations": Lazy(observation_out(o) for o in inv.observations),
        "errors": [{"source": e.source, "message": e.message} for e in report.errors],
        "logging": dict(report.logging),
        "log_configs": Lazy(log_config_out(c) for c in inv.logging),
        "summary": {
            "identities": len(inv.identities),
            "nonhuman_identities": sum(1 for i in inv.identities if i.nonhuman),
            "findings": report.counts(),
            "waived": sum(1 for f in report.findings if f.waived),
            "logging": {p: str(v.get("status", "unknown")) for p, v in report.logging.items()},
            "credentials": credential_posture(inv.identities, report.as_of),
        },
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    return built(report_document(report))


def report_from_dict(d: Mapping[str, Any]) -> Report:
    if d.get("schema") == INVENTORY_SCHEMA:
        raise ValueError("an inventory, not a scan result; scan it with `nhiscan scan --input FILE`")
    if "sarif" in str(d.get("$schema", "")).lower():
        raise ValueError("a SARIF log, which cannot be re-rendered; save the scan with `--format json`")
    if d.get("schema") != SCHEMA:
        raise ValueError(
            f"schema {d.get('schema')!r}, expected {SCHEMA!r} (save one with `scan --format json`)"
        )
    as_of = dt_in(d.get("as_of"), "as_of") or datetime.now(timezone.utc)
    forms = secret_ids.LegacyForms() if _legacy_secrets(d) else None
    identities = []
    risks: dict[str, Risk] = {}
    reach: dict[str, Reachable] = {}
    for raw in d.get("identities") or ():
        ident = identity_in(raw)
        identities.append(ident)
        if isinstance(raw.get("reachable_privilege"), str):
            reach[ident.id] = reachable_in(raw)
        if "risk_score" in raw:
            risks[ident.id] = Risk(
                score=int(raw["risk_score"]),
                level=str(raw.get("risk_level", "")),
                factors=tuple(raw.get("risk_factors") or ()),
            )
    inv = Inventory(
        sources=tuple(source_in(s) for s in d.get("sources") or ()),
        identities=tuple(identities),
        secrets=tuple(_labelled(secret_in(s, forms), forms) for s in d.get("secrets") or ()),
        observations=tuple(observation_in(o) for o in d.get("observations") or ()),
        logging=tuple(log_config_in(c) for c in d.get("log_configs") or ()),
        suppressed=tuple(_labelled(secret_in(s, forms), forms) for s in d.get("suppressed_secrets") or ()),
    )
    from nhiscan.analyze.priority import prioritize  # a result saved by an earlier version: same order

    findings = prioritize((finding_in(f, forms) for f in d.get("findings") or ()), identities, risks)
    return Report(
        as_of=as_of,
        inventory=inv,
        findings=tuple(findings),
        risks=risks,
        errors=tuple(SourceError(str(e["source"]), str(e["message"])) for e in d.get("errors") or ()),
        tool_version=str((d.get("tool") or {}).get("version", "")),
        logging=_logging_in(d.get("logging")),
        reach=reach,
    )


_HOP_FIELDS = ("from", "to", "kind", "via", "file", "conditional", "condition")


def reachable_in(raw: Mapping[str, Any]) -> Reachable:
    """An identity's ``reachable_privilege`` and ``escalation_path`` as a saved result has them."""
    hops = raw.get("escalation_path") or []
    if not isinstance(hops, list) or not all(isinstance(h, Mapping) for h in hops):
        raise ValueError("escalation_path: expected a list of hops")
    return Reachable(
        str(raw["reachable_privilege"]),
        tuple({k: h.get(k) for k in _HOP_FIELDS} for h in hops),
    )


def _logging_in(value: Any) -> dict[str, Any]:
    """The result's logging posture: ``{provider: {status, scopes}}``; absent in earlier versions."""
    if value is None:
        return {}
    posture = _dict(value, "logging")
    for provider, entry in posture.items():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("status"), str):
            raise ValueError(f"logging.{provider}: expected an object with a status")
    return posture
