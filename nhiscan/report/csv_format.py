"""CSV: one row per finding, for spreadsheets and GRC tools.

Formula (CSV) injection is neutralised as OWASP recommends: a text cell that a spreadsheet would
evaluate (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, also after leading
spaces or as a full-width form (U+FF1D and kin)) gets a leading apostrophe, and every text cell is
quoted, so a ``;`` or ``,`` inside a crafted identity name, path or message cannot start a new cell
in a locale whose separator it is. The one numeric column, ``line``, is written as a bare number.
Control, bidi and invisible characters show escaped (nhiscan.display), as in every text view.
"""

from __future__ import annotations

import csv
import io
import unicodedata

from nhiscan.display import printable
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
_FORMULA_START = frozenset("=+-@\t\r")


def _starts_formula(text: str) -> bool:
    """Whether a spreadsheet would read the cell as a formula: its first character, after spaces
    (ASCII, no-break, ideographic), is one of ``= + - @`` tab or CR, or a full-width form of one."""
    head = text.lstrip(" \u00a0\u3000")[:1]
    if not head or head.isascii():
        return head in _FORMULA_START
    return unicodedata.normalize("NFKC", head)[:1] in _FORMULA_START  # full-width forms are ASCII


def safe_cell(value: object) -> str | int:
    """A CSV cell: an int stays a number; text is escaped for display and cannot start a formula
    (an escaped control starts with a backslash, so the raw text alone decides)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raw = "" if value is None else str(value)
    text = printable(raw)
    return "'" + text if _starts_formula(raw) else text


def render(report: Report, *, terminal: bool = False, width: int | None = None) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_NONNUMERIC)
    buf.write(",".join(COLUMNS) + "\r\n")  # constant names: unquoted, as tools sniffing the header expect
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
            int(loc.line) if loc and loc.line else "",
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
