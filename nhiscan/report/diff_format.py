"""Renderings of a diff (nhiscan/diff.py): versioned JSON, a plain-text view and Markdown.

The text and Markdown views pass every data-derived string through nhiscan.display (text) or the
Markdown cell escapes (markdown_format.cell / code), so names, paths and messages cannot drive a
terminal or inject markup. JSON keeps values as the results hold them: redacted forms only, since a
result never holds more (docs/secret-ids.md).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from nhiscan import __version__
from nhiscan.diff import DIFF_SCHEMA, Diff, FindingChange, IdentityChange, Side
from nhiscan.display import printable
from nhiscan.model import Finding, Identity, Risk, Severity
from nhiscan.model.serialize import dt_out, dumps_document
from nhiscan.model.serialize_report import finding_out
from nhiscan.report.markdown_format import ICON, cell, code

MAX_ROWS = 100  # per Markdown table (a job summary is capped at 1 MiB)


def where(f: Finding) -> str:
    """repository/path:line @commit, or the identity id; the repository by its stable name."""
    loc = f.location
    if loc is None:
        return f.identity_id or ""
    repo = loc.repository_name or ""
    text = f"{repo}/{loc.path}" if repo and repo != loc.path else loc.path
    text += f":{loc.line}" if loc.line else ""
    return text + (f" @{loc.commit[:10]}" if loc.commit else "")


def counts_lines(diff: Diff) -> list[str]:
    worse = sum(1 for c in diff.changed_findings if c.worse)
    return [
        f"Findings: {len(diff.new_findings)} new, {len(diff.resolved_findings)} resolved, "
        f"{len(diff.changed_findings)} changed ({worse} worse)",
        f"Identities: {len(diff.new_identities)} new, {len(diff.removed_identities)} removed, "
        f"{len(diff.changed_identities)} with another risk",
    ]


def gate_line(diff: Diff, fail_on: Severity | None) -> str:
    if fail_on is None:
        return "Fail on: none (the exit code ignores findings)"
    n = len(diff.failing(fail_on))
    if not n:
        return f"Fail on {fail_on.value}: no new or worse finding at or above {fail_on.value}"
    return f"Fail on {fail_on.value}: {n} new or worse finding(s) at or above {fail_on.value}"


def _side(side: Side) -> str:
    return f"{side.path} (as of {side.report.as_of.date().isoformat()})"


# -- JSON -------------------------------------------------------------------------------------------


def _risk(risk: Risk | None) -> dict[str, Any]:
    if risk is None:
        return {"risk_score": None, "risk_level": None, "risk_factors": []}
    return {"risk_score": risk.score, "risk_level": risk.level, "risk_factors": list(risk.factors)}


def _identity(i: Identity, risk: Risk | None) -> dict[str, Any]:
    return {
        "id": i.id,
        "provider": i.provider,
        "kind": i.kind,
        "name": i.name,
        "scope": i.scope,
        "nonhuman": i.nonhuman,
        **_risk(risk),
    }


def _changed_finding(c: FindingChange) -> dict[str, Any]:
    return {
        "fingerprint": c.new.fingerprint,
        "changes": list(c.changes),
        "worse": c.worse,
        "old": {"severity": c.old.severity.value, "waived": c.old.waived},
        "new": {"severity": c.new.severity.value, "waived": c.new.waived},
        "finding": finding_out(c.new),
    }


def _changed_identity(c: IdentityChange) -> dict[str, Any]:
    return {
        **{k: v for k, v in _identity(c.new, c.new_risk).items() if not k.startswith("risk_")},
        "old": _risk(c.old_risk),
        "new": _risk(c.new_risk),
    }


def _by_severity(findings: Sequence[Finding]) -> dict[str, int]:
    out = {s.value: 0 for s in Severity}
    for f in findings:
        out[f.severity.value] += 1
    return out


def to_dict(diff: Diff, fail_on: Severity | None) -> dict[str, Any]:
    failing = diff.failing(fail_on)
    return {
        "schema": DIFF_SCHEMA,
        "tool": {"name": "nhiscan", "version": __version__},
        "old": {"path": diff.old.path, "as_of": dt_out(diff.old.report.as_of)},
        "new": {"path": diff.new.path, "as_of": dt_out(diff.new.report.as_of)},
        "findings": {
            "new": [finding_out(f) for f in diff.new_findings],
            "resolved": [finding_out(f) for f in diff.resolved_findings],
            "changed": [_changed_finding(c) for c in diff.changed_findings],
        },
        "identities": {
            "new": [_identity(i, diff.new.report.risks.get(i.id)) for i in diff.new_identities],
            "removed": [_identity(i, diff.old.report.risks.get(i.id)) for i in diff.removed_identities],
            "changed": [_changed_identity(c) for c in diff.changed_identities],
        },
        "failing": [f.fingerprint for f in failing],
        "warnings": list(diff.warnings),
        "summary": {
            "new": len(diff.new_findings),
            "resolved": len(diff.resolved_findings),
            "changed": len(diff.changed_findings),
            "worse": sum(1 for c in diff.changed_findings if c.worse),
            "new_by_severity": _by_severity(diff.new_findings),
            "resolved_by_severity": _by_severity(diff.resolved_findings),
            "identities": {
                "new": len(diff.new_identities),
                "removed": len(diff.removed_identities),
                "changed": len(diff.changed_identities),
            },
            "fail_on": fail_on.value if fail_on else "none",
            "failing": len(failing),
        },
    }


def render_json(diff: Diff, fail_on: Severity | None) -> str:
    return dumps_document(to_dict(diff, fail_on), depth=3)


# -- plain text -------------------------------------------------------------------------------------


def render_text(diff: Diff, fail_on: Severity | None, width: int = 80) -> str:
    width = max(width, 40)
    out = [
        printable(f"nhiscan diff: {_side(diff.old)} -> {_side(diff.new)}"),
        *counts_lines(diff),
        gate_line(diff, fail_on),
    ]
    wrap = textwrap.TextWrapper(
        width=width, initial_indent=" " * 12, subsequent_indent=" " * 12, break_on_hyphens=False
    )

    def finding(f: Finding, label: str) -> None:
        waived = " (waived)" if f.waived else ""
        out.append(f"  {label:<9} {printable(f.rule_id)}{waived}")
        out.extend(wrap.wrap(printable(where(f))) or [])
        out.extend(wrap.wrap(printable(f.message)) or [])

    sections: list[tuple[str, Sequence[Any]]] = [
        ("New findings", diff.new_findings),
        ("Changed findings", diff.changed_findings),
        ("Resolved findings", diff.resolved_findings),
    ]
    for title, items in sections:
        if not items:
            continue
        out += ["", f"{title} ({len(items)})"]
        for item in items:
            if isinstance(item, FindingChange):
                finding(item.new, item.new.severity.value.upper())
                out.extend(wrap.wrap(_change_text(item)))
            else:
                finding(item, item.severity.value.upper())
    idents = _identity_rows(diff)
    if idents:
        out += ["", f"Identities ({len(idents)})"]
        for change, ident, risk in idents:
            out.append(
                f"  {change:<9} {printable(ident.name)} ({printable(ident.kind)}, {printable(ident.scope)})"
            )
            out.extend(wrap.wrap(printable(f"{ident.id}; {risk}")))
    if diff.warnings:
        out.append("")
        out += [printable(f"warning: {w}") for w in diff.warnings]
    if diff.empty:
        out += ["", "No change."]
    return "\n".join(out) + "\n"


def _change_text(c: FindingChange) -> str:
    parts = []
    if "severity" in c.changes:
        parts.append(f"severity {c.old.severity.value} -> {c.new.severity.value}")
    if "waived" in c.changes:
        parts.append("now waived")
    if "unwaived" in c.changes:
        parts.append("no longer waived")
    return "changed: " + ", ".join(parts)


def _risk_text(risk: Risk | None) -> str:
    return "no risk score" if risk is None else f"risk {risk.score} {risk.level}"


def _identity_rows(diff: Diff, arrow: str = "->") -> list[tuple[str, Identity, str]]:
    rows = [("new", i, _risk_text(diff.new.report.risks.get(i.id))) for i in diff.new_identities]
    rows += [("removed", i, _risk_text(diff.old.report.risks.get(i.id))) for i in diff.removed_identities]
    rows += [
        ("risk", c.new, f"{_risk_text(c.old_risk)} {arrow} {_risk_text(c.new_risk)}")
        for c in diff.changed_identities
    ]
    return rows


# -- Markdown ---------------------------------------------------------------------------------------


def render_markdown(diff: Diff, fail_on: Severity | None) -> str:
    out = [
        "## nhiscan diff: what changed",
        "",
        f"{code(diff.old.path)} (as of {diff.old.report.as_of.date().isoformat()}) → "
        f"{code(diff.new.path)} (as of {diff.new.report.as_of.date().isoformat()})",
        "",
        f"**{len(diff.new_findings)}** new, **{len(diff.resolved_findings)}** resolved, "
        f"**{len(diff.changed_findings)}** changed findings; identities: {len(diff.new_identities)} new, "
        f"{len(diff.removed_identities)} removed, {len(diff.changed_identities)} with another risk",
        "",
    ]
    failing = diff.failing(fail_on)
    if fail_on is None:
        out.append("Fail on: none.")
    elif failing:
        out.append(f"\u274c **{len(failing)} new or worse finding(s) at or above {fail_on.value}**")
    else:
        out.append(f"\u2705 No new or worse finding at or above {fail_on.value}.")

    def table(title: str, header: str, rows: list[str]) -> None:
        if not rows:
            return
        out.extend(
            ["", f"### {title} ({len(rows)})", "", header, "|" + "---|" * header.count(" | ") + "---|"]
        )
        out.extend(rows[:MAX_ROWS])
        if len(rows) > MAX_ROWS:
            out.extend(
                ["", f"_Showing {MAX_ROWS} of {len(rows)}; all of them in `nhiscan diff --format json`._"]
            )

    def sev(s: Severity) -> str:
        return f"{ICON[s.value]} {s.value}"

    def waived(f: Finding) -> str:
        return " (waived)" if f.waived else ""

    table(
        "New findings",
        "| Severity | Rule | Where | Message |",
        [
            f"| {sev(f.severity)}{waived(f)} | {code(f.rule_id)} | {code(where(f))} | {cell(f.message)} |"
            for f in diff.new_findings
        ],
    )
    table(
        "Changed findings",
        "| Severity | Change | Rule | Where | Message |",
        [
            f"| {sev(c.new.severity)}{waived(c.new)} | {cell(_change_text(c).removeprefix('changed: '))} | "
            f"{code(c.new.rule_id)} | {code(where(c.new))} | {cell(c.new.message)} |"
            for c in diff.changed_findings
        ],
    )
    table(
        "Resolved findings",
        "| Severity | Rule | Where | Message |",
        [
            f"| {sev(f.severity)} | {code(f.rule_id)} | {code(where(f))} | {cell(f.message)} |"
            for f in diff.resolved_findings
        ],
    )
    table(
        "Identities",
        "| Change | Identity | Kind | Scope | Risk |",
        [
            f"| {change} | {code(i.id)} | {cell(i.kind)} | {cell(i.scope)} | {cell(risk)} |"
            for change, i, risk in _identity_rows(diff, "\u2192")
        ],
    )
    if diff.warnings:
        out += ["", "### Warnings", ""]
        out += [f"- {cell(w)}" for w in diff.warnings]
    if diff.empty:
        out += ["", "No change."]
    return "\n".join(out) + "\n"


def render(diff: Diff, fmt: str, fail_on: Severity | None, width: int = 80) -> str:
    if fmt == "json":
        return render_json(diff, fail_on)
    if fmt == "markdown":
        return render_markdown(diff, fail_on)
    return render_text(diff, fail_on, width)
