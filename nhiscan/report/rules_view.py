"""`nhiscan rules`: the catalog as a table, JSON or Markdown, and one rule explained."""

from __future__ import annotations

import dataclasses
import io
import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from nhiscan.analyze.rules import Rule, get_rule, load_catalog
from nhiscan.display import printable, printable_lines
from nhiscan.model import OWASP_NHI
from nhiscan.report.markdown_format import code


def _rule_dict(rule: Rule) -> dict[str, object]:
    return {
        "id": rule.id,
        "title": rule.title,
        "severity": rule.severity.value,
        "owasp_nhi": list(rule.owasp_nhi),
        "provider": rule.provider,
        "params": dict(rule.params),
        "param_spec": {k: dataclasses.asdict(v) for k, v in rule.param_spec.items()},
        "why": rule.why,
        "remediation": rule.remediation,
        "references": list(rule.references),
        "frameworks": {k: list(v) for k, v in rule.frameworks.items()},
    }


def _md(text: str) -> str:
    """A catalog cell: the catalog ships with nhiscan, so its titles keep their Markdown (the README
    table is this output); only what could hide text or split the row is escaped."""
    return printable(text).replace("|", "\\|")


def render_catalog(fmt: str = "table", *, terminal: bool = False) -> str:
    catalog = load_catalog()
    if fmt == "json":
        return json.dumps([_rule_dict(r) for r in catalog], indent=2) + "\n"
    if fmt == "markdown":
        lines = ["| Rule | Severity | OWASP NHI | Title |", "|---|---|---|---|"]
        lines += [
            f"| {code(r.id)} | {r.severity.value} | {_md(', '.join(r.owasp_nhi))} | {_md(r.title)} |"
            for r in catalog
        ]
        return "\n".join(lines) + "\n"
    buf = io.StringIO()
    console = Console(
        file=buf, force_terminal=terminal, no_color=not terminal, width=None if terminal else 160
    )
    table = Table(title=f"nhiscan rules ({len(catalog)})", title_justify="left")
    for col in ("Rule", "Severity", "OWASP NHI", "Provider", "Title"):
        table.add_column(col)
    for r in catalog:
        table.add_row(
            *(
                Text(printable(v))
                for v in (r.id, r.severity.value, " ".join(r.owasp_nhi), r.provider, r.title)
            )
        )
    console.print(table)
    return buf.getvalue()


def render_rule(rule_id: str, fmt: str = "table") -> str:
    rule = get_rule(rule_id)
    if fmt == "json":
        return json.dumps(_rule_dict(rule), indent=2) + "\n"
    if fmt == "markdown":
        return _rule_markdown(rule)
    owasp = ", ".join(f"{x} {OWASP_NHI.get(x, '')}".strip() for x in rule.owasp_nhi)
    out = [
        f"{rule.id}: {rule.title}",
        "",
        f"Severity:  {rule.severity.value}",
        f"OWASP NHI: {owasp}",
        f"Provider:  {rule.provider}",
    ]
    if rule.params:
        # as the config file writes them (TOML: true / false)
        shown = {k: (str(v).lower() if isinstance(v, bool) else repr(v)) for k, v in rule.params.items()}
        out.append("Params:    " + ", ".join(f"{k}={v}" for k, v in shown.items()))
        out += [f"           {k}: {spec.describe()}" for k, spec in rule.param_spec.items()]
    for name, ids in rule.frameworks.items():
        out.append(f"{name}: {', '.join(ids)}")
    out += ["", "Why it matters:", rule.why, "", "Remediation:", rule.remediation]
    if rule.references:
        out += ["", "References:"] + [f"  - {r}" for r in rule.references]
    return printable_lines("\n".join(out)) + "\n"


def _link(url: str) -> str:
    """A reference as a Markdown link when it is a plain http(s) URL, else as inline code."""
    shown = printable(url)
    if shown.startswith(("https://", "http://")) and not any(c in shown for c in " <>()[]`"):
        return f"[{shown}](<{shown}>)"
    return code(url)


def _rule_markdown(rule: Rule) -> str:
    """One rule as Markdown: a heading, a table of its facts, why and remediation as paragraphs,
    references as links. The catalog ships with nhiscan; its text is still made printable and
    kept out of table syntax."""
    from nhiscan.analyze.rules import load_control_names

    names = load_control_names()
    rows = [
        ("Severity", rule.severity.value),
        ("OWASP NHI", "<br>".join(f"{x} {OWASP_NHI.get(x, '')}".strip() for x in rule.owasp_nhi)),
        ("Provider", rule.provider),
    ]
    for name, ids in rule.frameworks.items():
        rows.append((name, "<br>".join(f"{c} {names.get(name, {}).get(c, '')}".strip() for c in ids)))
    if rule.params:
        rows.append(
            (
                "Parameters",
                "<br>".join(
                    f"`{k}` = `{v!r}`"
                    + (f": {rule.param_spec[k].describe()}" if k in rule.param_spec else "")
                    for k, v in rule.params.items()
                ),
            )
        )
    out = [f"## `{rule.id}`: {_md(rule.title)}", "", "| | |", "|---|---|"]
    out += [f"| **{label}** | {_md(value)} |" for label, value in rows]
    out += ["", "### Why it matters", "", printable(" ".join(rule.why.split()))]
    out += ["", "### Remediation", "", printable(" ".join(rule.remediation.split()))]
    if rule.references:
        out += ["", "### References", ""] + [f"- {_link(r)}" for r in rule.references]
    return "\n".join(out) + "\n"
