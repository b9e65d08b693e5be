"""CSV: one row per finding, for spreadsheets and GRC tools.

Cells that a spreadsheet would evaluate as a formula (starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) get a leading apostrophe, so a crafted identity name, path or message
cannot run anything when the file is opened (CSV/formula injection).
"""

from __future__ import annotations

import csv
import io

from nhiscan.model import Report
from nhiscan.report._common import identities_by_id, waiver_expiry, waiver_reason

COLUMNS = (
    "severity",
    "rule_id",
    "title",
    "owasp_nhi",
    "identity_id",
    "provider",
    "identity_kind",
    "credential_id",
    "path",
    "line",
    "commit",
    "message",
    "remediation",
    "fingerprint",
    "waived",
    "waiver_reason",
    "waiver_expires",
    "repository",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def render(report: Report, *, terminal: bool = False, width: int | None = None) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    idents = identities_by_id(report)
    for f in report.findings:
        ident = idents.get(f.identity_id) if f.identity_id else None
        loc = f.location
        row = (
            f.severity.value,
            f.rule_id,
            f.title,
            ";".join(f.owasp_nhi),
            f.identity_id,
            ident.provider if ident else "",
            ident.kind if ident else "",
            f.credential_id,
            loc.path if loc else "",
            loc.line if loc and loc.line else "",
            loc.commit if loc and loc.commit else "",
            f.message,
            f.remediation,
            f.fingerprint,
            "true" if f.waived else "false",
            waiver_reason(f) if f.waived else "",
            waiver_expiry(f) if f.waived else "",
            loc.repository if loc and loc.repository else "",
        )
        writer.writerow([safe_cell(v) for v in row])
    return buf.getvalue()
