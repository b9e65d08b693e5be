"""Terminal view: summary by severity and OWASP NHI category, identities by risk, then findings.

Findings come in the order to fix them (nhiscan.analyze.priority); repeated low and info findings of
one rule share a row with their count (_common.grouped). Wide terminals get a findings table; below
STACKED_BELOW columns each finding is a short block (severity and rule id on one line, the place on
the next, the message wrapped at the full width), so rule ids are never cut and messages never
squeezed into a narrow column.
"""

from __future__ import annotations

import io
import os
from collections import Counter

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from nhiscan.display import printable_or_empty
from nhiscan.model import OWASP_NHI, Finding, Identity, Report, Severity
from nhiscan.model.posture import credential_posture
from nhiscan.report import logging_view
from nhiscan.report._common import (
    group_summary,
    grouped,
    identities_by_id,
    identity_label,
    repository_labels,
    where,
)

STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
    "none": "dim",
}
MAX_IDENTITIES = 25
MAX_FINDINGS = 200
STACKED_BELOW = 140  # columns: narrower terminals get one block per finding instead of a table


def _sev(level: str) -> Text:
    return Text(printable_or_empty(level.upper()), style=STYLE.get(level, ""))


def _data(value: object, style: str = "") -> Text:
    """A cell holding text from data: control, bidi and invisible characters escaped, and a Text,
    never a str, so rich does not read console markup (``[link=...]``, ``[/]``) in it."""
    return Text(printable_or_empty(value), style=style, overflow="fold")


def _identity_cell(ident: Identity) -> Text:
    """The name people know an identity by, and under it where it lives (account, project, ...)."""
    cell = _data(identity_label(ident), style="bold")
    if ident.scope:
        cell.append("\n" + printable_or_empty(ident.scope), style="dim")
    return cell


def _pipe_width() -> int:
    """Width when the table goes to a file or a pipe: $COLUMNS when set (CI logs, `| less`), else 160."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return 160
    return columns if 40 <= columns <= 1000 else 160


def _credential_rows(report: Report) -> list[Table]:
    """Per provider: how many NHIs hold static credentials, short-lived ones only, or none."""
    posture = credential_posture(report.inventory.identities, report.as_of)
    if not posture:
        return []
    grid = Table.grid(padding=(0, 2))
    for justify in ("left", "left", "right", "right", "right", "right"):
        grid.add_column(justify=justify)
    for n, (provider, c) in enumerate(posture.items()):
        share = f"{c['static_share']:.0%} static" if c["static_share"] is not None else ""
        grid.add_row(
            Text("credentials" if n == 0 else ""),
            Text(provider),
            Text(f"{c['static']} static"),
            Text(f"{c['short_lived']} short-lived"),
            Text(f"{c['none']} none"),
            Text(share),
        )
    return [grid]


def render(report: Report, *, terminal: bool = False, width: int | None = None) -> str:
    buf = io.StringIO()
    console = Console(
        file=buf,
        force_terminal=terminal,
        no_color=not terminal,
        width=width or (None if terminal else _pipe_width()),
        highlight=False,
        soft_wrap=False,
    )
    active = [f for f in report.findings if not f.waived]
    counts = report.counts()
    inv = report.inventory

    waived = len(report.findings) - len(active)
    head = Text(
        "  ".join(
            (
                f"{len(inv.identities)} identities ({sum(1 for i in inv.identities if i.nonhuman)} non-human)",
                f"{len(inv.secrets)} secrets in files",
                f"{len(active)} findings" + (f", {waived} waived" if waived else ""),
                f"as of {report.as_of.date().isoformat()}",
            )
        )
    )
    sev = Table.grid(padding=(0, 2))
    sev.add_row(*[Text.assemble(_sev(s.value), f" {counts[s.value]}") for s in Severity])
    console.print(Panel(Group(head, sev, *_credential_rows(report)), title="nhiscan", title_align="left"))

    if active:
        by_cat: Counter[str] = Counter()
        worst: dict[str, Severity] = {}
        for f in active:
            for cat in f.owasp_nhi:
                by_cat[cat] += 1
                if cat not in worst or f.severity.rank > worst[cat].rank:
                    worst[cat] = f.severity
        owasp = Table(title="OWASP Non-Human Identities Top 10 (2025)", title_justify="left")
        owasp.add_column("Risk")
        owasp.add_column("Title")
        owasp.add_column("Findings", justify="right")
        owasp.add_column("Worst")
        for cat in sorted(by_cat, key=lambda c: int(c[3:].split(":")[0])):
            owasp.add_row(_data(cat), _data(OWASP_NHI.get(cat, "")), str(by_cat[cat]), _sev(worst[cat].value))
        console.print(owasp)

    narrow = console.width < STACKED_BELOW
    logging_table = logging_view.table(report, narrow=narrow)
    if logging_table is not None:
        console.print(logging_table)

    ranked = sorted(
        (i for i in inv.identities if report.risks.get(i.id) and report.risks[i.id].score > 0),
        key=lambda i: (-report.risks[i.id].score, i.id),
    )
    if ranked:
        idt = Table(title="Identities by risk", title_justify="left")
        idt.add_column("Score", justify="right")
        idt.add_column("Level")
        idt.add_column("Identity")
        if not narrow:
            idt.add_column("Kind")
            idt.add_column("Creds", justify="right")
            idt.add_column("Factors")
        for ident in ranked[:MAX_IDENTITIES]:
            risk = report.risks[ident.id]
            cell = _identity_cell(ident)
            cells: list[Text | str] = [str(risk.score), _sev(risk.level), cell]
            if narrow:  # the factors under the name: three columns leave the name room at 80
                cell.append("\n" + printable_or_empty(", ".join(risk.factors)), style="italic")
            else:
                cells += [
                    _data(ident.kind),
                    str(sum(1 for c in ident.credentials if c.active)),
                    _data(", ".join(risk.factors)),
                ]
            idt.add_row(*cells)
        if len(ranked) > MAX_IDENTITIES:
            idt.caption = (
                f"{len(ranked) - MAX_IDENTITIES} more identities with risk; use --format json/html for all"
            )
        console.print(idt)

    if active:
        repos = repository_labels(report)
        idents = identities_by_id(report)
        rows = grouped(active[:MAX_FINDINGS])
        title = Text("Findings, in the order to fix them", style="italic")
        if narrow:
            console.print(title)
            for n, row in enumerate(rows, 1):
                console.print(_stacked(n, row, repos, idents))
        else:
            ft = Table(title=title.plain, title_justify="left")
            ft.add_column("#", justify="right")
            ft.add_column("Severity")
            ft.add_column("Rule", no_wrap=True)
            ft.add_column("OWASP")
            ft.add_column("Where", overflow="fold")
            ft.add_column("Message", overflow="fold")
            for n, row in enumerate(rows, 1):
                f = row[0]
                if len(row) > 1:
                    place, message = group_summary(row, idents)
                    rule = _data(f.rule_id)
                    rule.append(f"\n\u00d7{len(row)}", style="bold")
                else:
                    place, message, rule = where(f, repos, idents), f.message, _data(f.rule_id)
                ft.add_row(
                    str(n),
                    _sev(f.severity.value),
                    rule,
                    Text("\n").join(_data(o) for o in f.owasp_nhi),
                    _data(place),
                    _data(message),
                )
            console.print(ft)
        if len(active) > MAX_FINDINGS:
            console.print(
                Text(f"{len(active) - MAX_FINDINGS} more findings; use --format json/csv/html for all")
            )
    else:
        console.print(Text("No findings.", style="green"))

    if report.errors:
        et = Table(title="Inputs that could not be scanned", title_justify="left", style="red", min_width=40)
        et.add_column("Source")
        et.add_column("Problem", overflow="fold")
        for e in report.errors:
            et.add_row(_data(e.source), _data(e.message))
        console.print(et)
    out = buf.getvalue()
    if terminal:
        return out
    return "\n".join(line.rstrip() for line in out.split("\n"))


def _stacked(n: int, row: tuple[Finding, ...], repos: dict[str, str], idents: dict[str, Identity]) -> Table:
    """One finding as a block: number, severity, rule id (whole) and OWASP ids on the first line;
    the place, then the message, each wrapped at the terminal's width under it."""
    f = row[0]
    if len(row) > 1:
        place, message = group_summary(row, idents)
    else:
        place, message = where(f, repos, idents), f.message
    head = Text.assemble(_sev(f.severity.value), "  ", _data(f.rule_id, style="bold"))
    if len(row) > 1:
        head.append(f" \u00d7{len(row)}", style="bold")
    if f.owasp_nhi:
        head.append("  " + printable_or_empty(" ".join(f.owasp_nhi)), style="dim")
    grid = Table.grid(padding=(0, 1), pad_edge=False)
    grid.add_column(justify="right", min_width=4, no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(f"{n}.", head)
    grid.add_row("", _data(place, style="cyan"))
    grid.add_row("", _data(message))
    grid.add_row("", "")
    return grid
