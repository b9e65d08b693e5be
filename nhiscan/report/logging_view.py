"""The logging posture in the human-readable views: one row per provider scope.

Kept apart from the view modules so each of them adds one short block (terminal table, HTML
section, Markdown table) built from the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table
from rich.text import Text

from nhiscan.display import printable_or_empty
from nhiscan.model import Report

STATUS_STYLE = {"logged": "green", "partial": "yellow", "not-logged": "bold red", "unknown": "dim"}


def rows(report: Report) -> list[dict[str, str]]:
    """provider, scope, what, status, logged, not_logged (joined), for every evaluated scope."""
    out: list[dict[str, str]] = []
    for provider, entry in report.logging.items():
        if not isinstance(entry, Mapping):
            continue
        for scope in entry.get("scopes") or ():
            if not isinstance(scope, Mapping):
                continue
            raw = scope.get("details")
            details: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
            not_logged = "; ".join(str(x) for x in scope.get("not_logged") or ())
            if scope.get("status") == "unknown" and details.get("reason"):
                not_logged = str(details["reason"])
            out.append(
                {
                    "provider": str(provider),
                    "scope": str(scope.get("scope", "")),
                    "what": str(scope.get("what", "")),
                    "status": str(scope.get("status", "unknown")),
                    "logged": "; ".join(str(x) for x in scope.get("logged") or ()),
                    "not_logged": not_logged,
                }
            )
    return out


def table(report: Report, *, narrow: bool = False) -> Table | None:
    """The terminal table, or None when the scan saw no provider's logging. ``narrow`` (under the
    stacked width) puts what is and is not logged in one column, so 80 columns stay readable."""
    found = rows(report)
    if not found:
        return None
    t = Table(title="Identity activity logging", title_justify="left")
    names = (
        ("Scope", "Status", "What is recorded")
        if narrow
        else ("Provider", "Scope", "Status", "Logged", "Not logged")
    )
    for name in names:
        t.add_column(name, overflow="fold")
    for r in found:
        where = Text(printable_or_empty(r["scope"]))
        if narrow:
            where = Text(printable_or_empty(r["provider"]) + " ").append(where)
        if r["what"]:
            where.append("\n" + printable_or_empty(r["what"]), style="dim")
        status = Text(printable_or_empty(r["status"]), style=STATUS_STYLE.get(r["status"], ""))
        if narrow:
            recorded = Text()
            if r["logged"]:
                recorded.append("logged: ", style="green").append(printable_or_empty(r["logged"]))
            if r["not_logged"]:
                if recorded:
                    recorded.append("\n")
                recorded.append("not logged: ", style="red").append(printable_or_empty(r["not_logged"]))
            t.add_row(where, status, recorded)
            continue
        t.add_row(
            Text(printable_or_empty(r["provider"])),
            where,
            status,
            Text(printable_or_empty(r["logged"])),
            Text(printable_or_empty(r["not_logged"])),
        )
    return t


def markdown(report: Report, cell: Any) -> list[str]:
    """Markdown lines (``cell`` escapes one table cell), or none."""
    found = rows(report)
    if not found:
        return []
    out = [
        "",
        "### Identity activity logging",
        "",
        "| Provider | Scope | Status | Logged | Not logged |",
        "|---|---|---|---|---|",
    ]
    for r in found:
        out.append(
            "| "
            + " | ".join(cell(r[k]) for k in ("provider", "scope", "status", "logged", "not_logged"))
            + " |"
        )
    return out
