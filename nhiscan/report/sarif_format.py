"""SARIF 2.1.0 for GitHub code scanning (and any other SARIF consumer).

Shape:

- ``tool.driver.rules[]``: one entry per rule that has a finding, with the rule's why, remediation
  and OWASP NHI ids in ``help``; ``properties.security-severity`` is the numeric score GitHub uses
  to rank alerts (critical 9.5, high 7.5, medium 5.0, low 2.0; info rules carry none) and
  ``properties.tags`` holds ``security``, the OWASP ids and the framework controls.
- ``results[]``: one per finding. ``level`` is error (critical, high), warning (medium) or note.
  ``message.text`` is the finding's message, which never holds a secret value (secrets appear only
  as their redacted preview). ``partialFingerprints["nhiscan/v1"]`` is the finding's fingerprint
  exactly as in the JSON result, baselines and waivers (``sha256:...``; rule, identity, credential,
  path, commit, secret hash — never the line), so an alert survives edits above it and re-runs.
- Waived findings (baseline or waiver file) carry ``suppressions[{kind: "external", status:
  "accepted", justification: <reason>}]``, which code scanning shows as dismissed; a finding an
  inline ignore in its CI file accepts has ``kind: "inSource"``.

Locations:

- A finding in a file gets a physical location whose ``artifactLocation.uri`` is relative to the
  repository root (``uriBaseId: "%SRCROOT%"``) with ``region.startLine``. Paths are those the
  repository scan recorded; when the scanned PATH is not the current directory its relative form is
  prefixed, and absolute paths are made relative to the current directory (GitHub runs the action
  from the repository root). A path outside the current directory stays an absolute ``file://`` URI.
- A finding about a cloud identity has no file. It gets a logical location
  ``{name, fullyQualifiedName: <identity id / ARN>, kind: "resource"}`` and, because GitHub code
  scanning drops results without a physical location, a physical location at line 1 of the export
  file the identity was read from, when the result records it (an identity's
  ``attributes.source_path``, else the first ``--input`` export of the identity's provider and
  scope, the export listing the identities first, e.g. the GAAD export for an AWS account; an
  identity of another scope known only from a grant, such as a service account of another project
  bound in this project's policy, is anchored to the export of the scope it is granted in, else to
  an export of its provider, so every result read from a file has one). A finding about a scope
  rather than an identity (the logging posture of an account, project, tenant or cluster) gets the
  scope as its logical location and line 1 of the export that told (the result's ``logging``
  names it). Identities collected live
  have no file: their results carry the
  logical location only, are valid SARIF and are listed by every SARIF viewer, but GitHub will not
  show them; scan a saved export (``nhiscan inventory -o inv.json`` then ``scan --input inv.json``)
  to anchor them to a file.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from nhiscan import __version__
from nhiscan.model import Finding, Location, Report, Severity
from nhiscan.report._common import (
    RuleInfo,
    identities_by_id,
    identity_source,
    owasp_title,
    rule_infos,
    waiver_expiry,
    waiver_reason,
)

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/nhiscan/nhiscan"
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "7.5",
    Severity.MEDIUM: "5.0",
    Severity.LOW: "2.0",
}
LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
SRCROOT = "%SRCROOT%"


def render(report: Report, *, terminal: bool = False, width: int | None = None) -> str:
    from nhiscan.model.serialize import dumps_document

    # runs > run > results > one result per line
    return dumps_document(to_sarif(report), depth=4, ensure_ascii=False)


def to_sarif(report: Report, cwd: str | None = None) -> dict[str, Any]:
    base = Path(cwd or os.getcwd())
    infos = rule_infos(report.findings)
    index = {rid: n for n, rid in enumerate(infos)}
    idents = identities_by_id(report)
    results = [_result(report, f, index[f.rule_id], idents, base) for f in report.findings]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "nhiscan",
                "version": report.tool_version or __version__,
                "semanticVersion": report.tool_version or __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_rule(info) for info in infos.values()],
            }
        },
        "automationDetails": {"id": "nhiscan/"},
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {"as_of": report.as_of.isoformat()},
    }
    if report.errors:
        run["invocations"] = [
            {
                "executionSuccessful": False,
                "toolExecutionNotifications": [
                    {"level": "error", "message": {"text": f"{e.source}: {e.message}"}} for e in report.errors
                ],
            }
        ]
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _rule(info: RuleInfo) -> dict[str, Any]:
    owasp = ", ".join(f"{o} {owasp_title(o)}" for o in info.owasp_nhi)
    text = [info.title, ""]
    md = [f"**{info.title}**", ""]
    if info.why:
        text += ["Why it matters:", info.why, ""]
        md += ["### Why it matters", "", info.why, ""]
    text += ["Remediation:", info.remediation, "", f"OWASP NHI Top 10 (2025): {owasp}"]
    md += ["### Remediation", "", info.remediation, "", f"**OWASP NHI Top 10 (2025):** {owasp}"]
    for name, ids in info.frameworks.items():
        text.append(f"{name}: {', '.join(ids)}")
        md.append(f"**{name}:** {', '.join(ids)}")
    if info.references:
        text += ["", "References:", *(f"- {r}" for r in info.references)]
        md += ["", "### References", "", *(f"- <{r}>" for r in info.references)]
    props: dict[str, Any] = {
        "tags": ["security", "non-human-identity", *info.owasp_nhi],
        "precision": "high",
        "problem.severity": LEVEL[info.severity],
        "severity": info.severity.value,
        "owasp_nhi": list(info.owasp_nhi),
    }
    if info.severity in SECURITY_SEVERITY:
        props["security-severity"] = SECURITY_SEVERITY[info.severity]
    if info.frameworks:
        props["frameworks"] = {k: list(v) for k, v in info.frameworks.items()}
    out: dict[str, Any] = {
        "id": info.id,
        "name": _pascal(info.id),
        "shortDescription": {"text": info.title},
        "fullDescription": {"text": info.why or info.title},
        "defaultConfiguration": {"level": LEVEL[info.severity]},
        "help": {"text": "\n".join(text).strip(), "markdown": "\n".join(md).strip()},
        "properties": props,
    }
    if info.references:
        out["helpUri"] = info.references[0]
    return out


def _pascal(rule_id: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in rule_id.replace("_", "-").split("-") if part)


def _result(
    report: Report, f: Finding, rule_index: int, idents: dict[str, Any], base: Path
) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if f.location is not None:
        location["physicalLocation"] = _physical(f.location, base)
    ident = idents.get(f.identity_id) if f.identity_id else None
    if f.identity_id:
        location["logicalLocations"] = [
            {
                "name": ident.name if ident else f.identity_id,
                "fullyQualifiedName": f.identity_id,
                "kind": "resource",
            }
        ]
        if f.location is None:
            src = identity_source(report, ident)
            if src is not None and src.path:
                location["physicalLocation"] = _physical(Location(path=src.path, line=1), base)
    elif f.location is None and f.evidence.get("scope") and f.evidence.get("provider"):
        # a fact of a scope, not of an identity (logging posture): the export that told
        from nhiscan.analyze.logging import scope_source

        provider, scope = str(f.evidence["provider"]), str(f.evidence["scope"])
        location["logicalLocations"] = [
            {"name": scope, "fullyQualifiedName": f"{provider}:{scope}", "kind": "resource"}
        ]
        told = scope_source(report.logging, provider, scope)
        if told:
            location["physicalLocation"] = _physical(Location(path=told, line=1), base)
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": LEVEL[f.severity],
        "message": {"text": _message(f)},
        "partialFingerprints": {"nhiscan/v1": f.fingerprint},
        "properties": {
            "severity": f.severity.value,
            "owasp_nhi": list(f.owasp_nhi),
            "identity_id": f.identity_id,
            "credential_id": f.credential_id,
        },
    }
    if location:
        result["locations"] = [location]
    if f.location is not None and f.location.commit:
        result["properties"]["commit"] = f.location.commit
    if f.waived:
        # An inline ignore lives in the source file itself: SARIF's "inSource" kind.
        kind = "inSource" if (f.waiver or {}).get("kind") == "inline-ignore" else "external"
        sup: dict[str, Any] = {"kind": kind, "status": "accepted", "justification": waiver_reason(f)}
        expiry = waiver_expiry(f)
        if expiry:
            sup["properties"] = {"expires": expiry}
        result["suppressions"] = [sup]
    return result


def _message(f: Finding) -> str:
    text = f.message or f.title
    if f.location is not None and f.location.commit:
        text += f" (in git history, commit {f.location.commit[:12]})"
    return text


def _physical(loc: Location, base: Path) -> dict[str, Any]:
    artifact = _artifact(loc, base)
    out: dict[str, Any] = {"artifactLocation": artifact}
    if loc.line:
        out["region"] = {"startLine": int(loc.line)}
    return out


def _artifact(loc: Location, base: Path) -> dict[str, Any]:
    path = Path(loc.path)
    if loc.repository and PurePosixPath(loc.repository).name == loc.path:
        path = Path(loc.repository)  # a single file given as PATH is its own "repository"
    elif not path.is_absolute() and loc.repository and loc.repository not in (".", ""):
        path = Path(loc.repository) / path
    if path.is_absolute():
        try:
            rel = path.resolve().relative_to(base.resolve())
        except ValueError:
            return {"uri": path.as_uri()}
        return {"uri": quote(PurePosixPath(*rel.parts).as_posix()), "uriBaseId": SRCROOT}
    parts = [p for p in PurePosixPath(path.as_posix()).parts if p not in (".", "")]
    return {"uri": quote("/".join(parts)) or ".", "uriBaseId": SRCROOT}
