"""Markdown for a pull-request comment or ``$GITHUB_STEP_SUMMARY``.

GitHub-flavoured Markdown: summary by severity, OWASP NHI table, top identities by risk, then the
findings table in the order to fix them (at most MAX_FINDINGS findings, with a note saying how many
were left out; repeated low and info findings of one rule share a row with their count). Every cell
holding data goes through :func:`cell` or :func:`code`: control, bidi and invisible characters show
escaped (nhiscan.display), newlines cannot end a row, pipes cannot split a cell, and Markdown and HTML
syntax (links, images, emphasis, tags, entities) show literally, so a crafted identity name, message
or path cannot break the table, plant a link or image, or inject markup.
"""

from __future__ import annotations

from nhiscan.display import printable_or_empty
from nhiscan.model import Report, Severity
from nhiscan.report import logging_view
from nhiscan.report._common import (
    group_summary,
    grouped,
    identities_by_id,
    identity_label,
    owasp_counts,
    owasp_title,
    ranked_identities,
    repository_labels,
    where,
)

MAX_FINDINGS = 100
MAX_IDENTITIES = 10
ICON = {
    "critical": "\U0001f7e5",  # red square
    "high": "\U0001f7e7",  # orange square
    "medium": "\U0001f7e8",  # yellow square
    "low": "\U0001f7e6",  # blue square
    "info": "\u2b1c",  # white square
}


# What CommonMark / GitHub read as inline syntax in a table cell: escapes, code, emphasis, link and
# image brackets (no `[`, no link or image), strikethrough, math and the cell separator. Each is
# shown with a backslash escape, so it renders as itself; HTML-significant characters become
# entities, so no tag or autolink `<...>` forms. Bare URLs stay text that shows its own target.
_MARKDOWN_SYNTAX = frozenset("\\`*_[]|~$")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def cell(value: object) -> str:
    """Literal text in a table cell: nothing in it is read as Markdown or HTML."""
    text = printable_or_empty(value)
    return "".join(_HTML.get(c) or ("\\" + c if c in _MARKDOWN_SYNTAX else c) for c in text)


def code(value: object) -> str:
    """Inline code span in a table cell: a fence longer than any run of backticks inside, so it
    cannot be closed early; pipes still escaped (GitHub splits cells on them even in code). A
    backslash right before a pipe would escape the escape, so such text is a plain cell instead."""
    text = printable_or_empty(value)
    if "\\|" in text:
        return cell(value)
    text = text.replace("|", "\\|")
    run = longest = 0
    for c in text:
        run = run + 1 if c == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if longest or text.startswith(" ") or text.endswith(" ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render(report: Report, *, terminal: bool = False, width: int | None = None) -> str:
    inv = report.inventory
    counts = report.counts()
    active = [f for f in report.findings if not f.waived]
    waived = len(report.findings) - len(active)
    out: list[str] = ["## nhiscan: non-human identity scan", ""]
    out.append(
        f"**{len(inv.identities)}** identities ({sum(1 for i in inv.identities if i.nonhuman)} non-human), "
        f"**{len(inv.secrets)}** secrets in files, **{len(active)}** findings"
        + (f", **{waived}** waived" if waived else "")
        + f" — as of {report.as_of.date().isoformat()}"
    )
    out += ["", "| Severity | Findings |", "|---|---:|"]
    out += [f"| {ICON[s.value]} {s.value} | {counts[s.value]} |" for s in Severity]
    if waived:
        out.append(f"| waived | {waived} |")

    by_cat = owasp_counts(report.findings)
    if by_cat:
        out += ["", "### OWASP Non-Human Identities Top 10 (2025)", ""]
        out += ["| Risk | Title | Findings | Worst |", "|---|---|---:|---|"]
        for oid, (n, worst) in by_cat.items():
            out.append(f"| {oid} | {cell(owasp_title(oid))} | {n} | {ICON[worst.value]} {worst.value} |")

    out += logging_view.markdown(report, cell)

    ranked = ranked_identities(report)
    if ranked:
        out += ["", "### Top identities by risk", ""]
        out += [
            "| Score | Level | Identity | Kind | Active credentials | Factors |",
            "|---:|---|---|---|---:|---|",
        ]
        for ident in ranked[:MAX_IDENTITIES]:
            risk = report.risks[ident.id]
            name = identity_label(ident)
            scope = ident.scope if ident.scope.startswith("(") else f"({ident.scope})"
            shown = code(name) + (f" {cell(scope)}" if ident.scope and ident.scope != name else "")
            if ident.id != name:  # and the exact id, to search for or paste into a console
                shown += f" {code(ident.id)}"
            out.append(
                f"| {risk.score} | {cell(risk.level)} | {shown} | {cell(ident.kind)} | "
                f"{sum(1 for c in ident.credentials if c.active)} | {cell(', '.join(risk.factors))} |"
            )
        if len(ranked) > MAX_IDENTITIES:
            out += ["", f"_{len(ranked) - MAX_IDENTITIES} more identities with risk are not shown._"]

    if active:
        repos = repository_labels(report)
        idents = identities_by_id(report)
        out += ["", "### Findings, in the order to fix them", ""]
        out += ["| # | Severity | Rule | OWASP | Where | Message |", "|---:|---|---|---|---|---|"]
        for n, row in enumerate(grouped(active[:MAX_FINDINGS]), 1):
            f = row[0]
            if len(row) > 1:
                place, message = group_summary(row, idents)
                rule = f"{code(f.rule_id)} \u00d7{len(row)}"
            else:
                place, message, rule = where(f, repos, idents), f.message, code(f.rule_id)
            out.append(
                f"| {n} | {ICON[f.severity.value]} {f.severity.value} | {rule} | "
                f"{cell(' '.join(f.owasp_nhi))} | {code(place)} | {cell(message)} |"
            )
        if len(active) > MAX_FINDINGS:
            out += [
                "",
                f"_Showing {MAX_FINDINGS} of {len(active)} findings; "
                "{} more in the full report (`--format html`, `csv` or `json`)._".format(
                    len(active) - MAX_FINDINGS
                ),
            ]
    else:
        out += ["", "No findings. :white_check_mark:"]
    if waived:
        out += ["", f"{waived} finding(s) waived by baseline or waiver file (not counted above)."]

    if report.errors:
        out += ["", "### Inputs that could not be scanned", "", "| Source | Problem |", "|---|---|"]
        out += [f"| {code(e.source)} | {cell(e.message)} |" for e in report.errors]
    return "\n".join(out) + "\n"
