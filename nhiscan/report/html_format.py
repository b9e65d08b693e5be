"""Self-contained HTML report: one file, no external assets, no network requests.

The page is rendered server-side from a Jinja2 template shipped in the package
(``templates/report.html.j2``, autoescape on). Charts are inline SVG computed here; CSS and a small
vanilla script (search box and severity / provider / OWASP filters) are inlined from
``templates/report.css`` and ``templates/report.js``. Every ``{{ }}`` output of data also has its
control, bidi and invisible characters shown escaped (``_shown``, nhiscan.display). A
Content-Security-Policy meta tag allows only those two blocks (by SHA-256 hash) and ``default-src 'none'``, so even a browser that opened a
tampered report would make no request and run no other script. The script only reads ``data-*``
attributes and sets ``hidden`` / ``textContent``; it never builds HTML from report data.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from nhiscan import __version__
from nhiscan.display import printable_lines
from nhiscan.model import OWASP_NHI, Credential, Finding, Grant, Identity, Report, Severity
from nhiscan.report import logging_view
from nhiscan.report._common import (
    identities_by_id,
    identity_label,
    owasp_counts,
    owasp_sort_key,
    ranked_identities,
    repository_labels,
    rule_infos,
    waiver_expiry,
    waiver_reason,
    where,
)

SEVERITY_COLOR = {
    "critical": "#b91c1c",
    "high": "#ea580c",
    "medium": "#ca8a04",
    "low": "#2563eb",
    "info": "#6b7280",
}
BAR_COLOR = "#4f46e5"


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    color: str
    y: int
    width: float
    title: str


@dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    height: int
    label_width: int


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("nhiscan.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_shown,
    )
    env.filters["day"] = _day
    env.filters["wrap_id"] = _wrap_id
    return env


def _shown(value: Any) -> Any:
    """Every ``{{ }}`` output: text from data has its control, bidi and invisible characters shown
    escaped (a browser would otherwise reorder or hide it), then autoescape makes it HTML text.
    The report's own CSS and script (already Markup) pass unchanged."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return printable_lines(value)
    return value


def _asset(name: str) -> tuple[str, str]:
    env = _env()
    assert env.loader is not None
    text, _, _ = env.loader.get_source(env, name)
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return text, f"'sha256-{digest}'"


def _wrap_id(value: Any) -> Markup:
    """An id (ARN, resource path, email, file path) that may break after ``:`` ``/`` ``@`` ``.``:
    escaped as any data, then a <wbr> after each of those, so a long ARN wraps at its separators
    and never mid-word."""
    text = str(escape(printable_lines("" if value is None else str(value))))
    for sep in (":", "/", "@"):
        text = text.replace(sep, sep + "<wbr>")
    return Markup(text)


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value else "—"


def _chart(title: str, items: list[tuple[str, int, str, str]]) -> Chart:
    """Horizontal bar chart geometry: items are (label, value, colour, tooltip)."""
    top = max((v for _, v, _, _ in items), default=0) or 1
    label_width = min(260, max((len(label) for label, _, _, _ in items), default=4) * 7 + 12)
    bars = tuple(
        Bar(label=label, value=v, color=color, y=n * 26, width=round(300 * v / top, 1), title=tip)
        for n, (label, v, color, tip) in enumerate(items)
    )
    return Chart(title=title, bars=bars, height=max(26, len(bars) * 26), label_width=label_width)


_CSF_ORDER = {"GV": 0, "ID": 1, "PR": 2, "DE": 3, "RS": 4, "RC": 5}


def _control_key(cid: str) -> tuple[int, str]:
    """NIST CSF functions in their own order (Govern, Identify, Protect, Detect, Respond, Recover)."""
    return (_CSF_ORDER.get(cid.split(".")[0], 9), cid)


def _provider(f: Finding, idents: dict[str, Identity]) -> str:
    ident = idents.get(f.identity_id) if f.identity_id else None
    if ident is not None:
        return ident.provider
    return "repo" if f.location is not None else "other"


def _grant_text(g: Grant) -> str:
    parts = [g.effect]
    if g.role:
        parts.append(g.role)
    if g.actions:
        shown = ", ".join(g.actions[:8]) + (f" (+{len(g.actions) - 8})" if len(g.actions) > 8 else "")
        parts.append(shown)
    if g.not_actions:
        parts.append("NotAction " + ", ".join(g.not_actions[:8]))
    if g.resources and g.resources != ("*",):
        parts.append("on " + ", ".join(g.resources[:4]) + (" …" if len(g.resources) > 4 else ""))
    elif g.resources:
        parts.append("on *")
    if g.scope:
        parts.append(f"scope {g.scope}")
    if g.via:
        parts.append(f"via {g.via}")
    if g.boundary:
        parts.append("(permissions boundary)")
    if g.condition:
        parts.append("(conditional)")
    return " · ".join(parts)


def _cred_state(c: Credential, as_of: datetime) -> str:
    if not c.active:
        return "inactive"
    if c.expires and c.expires < as_of:
        return "expired"
    return "active"


_SCOPE_WORD = {"aws": "account", "gcp": "project", "azure": "tenant", "kubernetes": "cluster"}
_PROVIDER_NAME = {
    "aws": "AWS",
    "gcp": "GCP",
    "azure": "Azure",
    "kubernetes": "Kubernetes",
    "repo": "Repository",
}


def _static_credential(c: Credential, as_of: datetime) -> bool:
    """A secret the identity holds that works until someone revokes it (keys, passwords, client
    secrets, certificates, token Secrets); Google's own system-managed keys excluded."""
    if not c.active or (c.expires is not None and c.expires < as_of):
        return False
    return c.attributes.get("user_managed", True) is not False


def _scope_rows(report: Report) -> list[dict[str, Any]]:
    """What was scanned, one row per account, project, tenant, cluster or repository, with the
    number of exports read for it (each export's SHA-256 is in the inputs table)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    scopes_of: dict[str, set[str]] = {}
    for i in report.inventory.identities:
        if i.scope:
            scopes_of.setdefault(i.provider, set()).add(i.scope)
    for src in report.inventory.sources:
        if src.kind in ("repository", "git-history"):
            key = ("repo", src.path or "")
            row = rows.setdefault(
                key,
                {
                    "provider": "Repository",
                    "what": "",
                    "scope": src.path or "",
                    "files": 0,
                    "commit": None,
                    "history": "",
                    "live": False,
                },
            )
            if src.kind == "repository":
                row["commit"] = src.commit
            else:
                row["history"] = src.scope
            continue
        provider = src.kind.split("-")[0]
        scope = src.scope or ", ".join(sorted(scopes_of.get(provider, ()))) or "(not named)"
        row = rows.setdefault(
            (provider, scope),
            {
                "provider": _PROVIDER_NAME.get(provider, provider),
                "what": _SCOPE_WORD.get(provider, "scope"),
                "scope": scope,
                "files": 0,
                "commit": None,
                "history": "",
                "live": False,
            },
        )
        row["files"] += 1 if src.path else 0
        row["live"] = row["live"] or not src.path
    return list(rows.values())


def _executive(report: Report, active: list[Finding], idents: dict[str, Identity]) -> dict[str, Any]:
    nhis = [i for i in report.inventory.identities if i.nonhuman]
    static = [i for i in nhis if any(_static_credential(c, report.as_of) for c in i.credentials)]
    by_provider: Counter[str] = Counter(_provider(f, idents) for f in active)
    identities_by_provider: Counter[str] = Counter(i.provider for i in nhis)
    providers = sorted(set(by_provider) | set(identities_by_provider), key=lambda p: (-by_provider[p], p))
    top = [
        {"i": i, "label": identity_label(i), "risk": report.risks[i.id]}
        for i in ranked_identities(report)[:5]
    ]
    return {
        "nhis": len(nhis),
        "static": len(static),
        "static_pct": round(100 * len(static) / len(nhis)) if nhis else 0,
        "providers": [
            {
                "name": _PROVIDER_NAME.get(p, p),
                "findings": by_provider[p],
                "identities": identities_by_provider[p],
                "critical": sum(
                    1 for f in active if f.severity is Severity.CRITICAL and _provider(f, idents) == p
                ),
            }
            for p in providers
        ],
        "top": top,
    }


def _escalation_hops(report: Report, ident_id: str, by_id: dict[str, Identity]) -> list[dict[str, Any]]:
    """An identity's escalation path as the report draws it: each hop with the names people know."""
    reach = report.reach.get(ident_id)
    if reach is None:
        return []

    def name(node: Any) -> str:
        ident = by_id.get(str(node))
        return identity_label(ident) if ident is not None else str(node)

    return [{**hop, "from_name": name(hop.get("from")), "to_name": name(hop.get("to"))} for hop in reach.path]


def _context(report: Report) -> dict[str, Any]:
    idents = identities_by_id(report)
    infos = rule_infos(report.findings)
    from nhiscan.analyze.rules import controls_for, load_control_names, load_frameworks

    try:
        frameworks = load_frameworks()
        control_names = load_control_names()
    except Exception:
        frameworks, control_names = {}, {}
    counts = report.counts()
    active = [f for f in report.findings if not f.waived]
    by_owasp = owasp_counts(report.findings)
    by_provider: Counter[str] = Counter(_provider(f, idents) for f in active)

    findings = []
    repos = repository_labels(report)
    for f in report.findings:
        ident = idents.get(f.identity_id) if f.identity_id else None
        info = infos.get(f.rule_id)
        findings.append(
            {
                "f": f,
                "provider": _provider(f, idents),
                "where": where(f, repos, idents),
                "label": identity_label(ident) if ident else "",
                "identity": ident,
                "owasp": " ".join(f.owasp_nhi),
                "frameworks": info.frameworks if info else {},
                "why": info.why if info else "",
                "references": info.references if info else (),
                "waiver_reason": waiver_reason(f),
                "waiver_expiry": waiver_expiry(f),
            }
        )

    per_identity: dict[str, list[Finding]] = {}
    for f in active:
        if f.identity_id:
            per_identity.setdefault(f.identity_id, []).append(f)
    by_id = {i.id: i for i in report.inventory.identities}
    ordered = sorted(
        report.inventory.identities,
        key=lambda i: (-(report.risks[i.id].score if i.id in report.risks else 0), i.id),
    )
    identities = [
        {
            "quiet": not (i.id in report.risks and report.risks[i.id].score > 0),
            "i": i,
            "risk": report.risks.get(i.id),
            "findings": per_identity.get(i.id, []),
            "grants": [_grant_text(g) for g in i.grants if not g.boundary]
            + [_grant_text(g) for g in i.grants if g.boundary],
            "creds": [(c, _cred_state(c, report.as_of)) for c in i.credentials],
            "reach": report.reach.get(i.id),
            "path": _escalation_hops(report, i.id, by_id),
        }
        for i in ordered
    ]

    owasp_rows = []
    for oid in sorted(OWASP_NHI, key=owasp_sort_key):
        n, worst = by_owasp.get(oid, (0, None))
        controls: dict[str, tuple[str, ...]] = {
            name: controls_for(table, (oid,)) for name, table in frameworks.items()
        }
        owasp_rows.append(
            {"id": oid, "title": OWASP_NHI[oid], "count": n, "worst": worst, "controls": controls}
        )
    fw_counts: dict[str, Counter[str]] = {name: Counter() for name in frameworks}
    for f in active:
        info = infos.get(f.rule_id)
        if info:
            for name, ids in info.frameworks.items():
                fw_counts.setdefault(name, Counter()).update(ids)
    framework_tables: dict[str, list[tuple[str, int]]] = {}
    for name, table in frameworks.items():
        known = {cid for ids in table.values() for cid in ids} | set(fw_counts.get(name, {}))
        framework_tables[name] = [(cid, fw_counts[name][cid]) for cid in sorted(known, key=_control_key)]

    charts = [
        _chart(
            "Findings by severity",
            [(s.value, counts[s.value], SEVERITY_COLOR[s.value], s.value) for s in Severity],
        ),
        _chart(
            "Findings by OWASP NHI risk",
            [
                (oid, n, SEVERITY_COLOR[w.value], f"{oid} {OWASP_NHI.get(oid, oid)}")
                for oid, (n, w) in by_owasp.items()
            ],
        ),
        _chart(
            "Findings by provider",
            [(p, n, BAR_COLOR, p) for p, n in sorted(by_provider.items(), key=lambda kv: (-kv[1], kv[0]))],
        ),
    ]
    css, css_hash = _asset("report.css")
    js, js_hash = _asset("report.js")
    providers = sorted({str(row["provider"]) for row in findings})
    return {
        "report": report,
        "version": report.tool_version or __version__,
        "renderer_version": __version__,
        "generated": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "scope_rows": _scope_rows(report),
        "executive": _executive(report, active, idents),
        "by_owasp": by_owasp,
        "owasp_titles": OWASP_NHI,
        "control_names": control_names,
        "quiet_count": sum(1 for row in identities if row["quiet"]),
        "counts": counts,
        "severities": [s.value for s in Severity],
        "severity_color": SEVERITY_COLOR,
        "active_count": len(active),
        "waived_count": len(report.findings) - len(active),
        "nonhuman": sum(1 for i in report.inventory.identities if i.nonhuman),
        "charts": charts,
        "findings": findings,
        "identities": identities,
        "owasp_rows": owasp_rows,
        "framework_tables": framework_tables,
        "providers": providers,
        "owasp_ids": [oid for oid in sorted(OWASP_NHI, key=owasp_sort_key)],
        "secrets": report.inventory.secrets,
        "sources": report.inventory.sources,
        "errors": report.errors,
        "logging_rows": logging_view.rows(report),
        "css": css,
        "js": js,
        "csp": f"default-src 'none'; style-src {css_hash}; script-src {js_hash}; img-src data:; "
        "form-action 'none'; base-uri 'none'",
    }


def render(report: Report, *, terminal: bool = False, width: int | None = None) -> str:
    return _env().get_template("report.html.j2").render(**_context(report))
