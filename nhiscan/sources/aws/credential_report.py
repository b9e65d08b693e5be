"""The IAM credential report (CSV, or the JSON ``aws iam get-credential-report`` prints)."""

from __future__ import annotations

import csv
import io

from nhiscan.model import SourceRef
from nhiscan.sources.aws.exports import credential_report_text
from nhiscan.sources.aws.state import State
from nhiscan.sources.aws.values import FLAG
from nhiscan.sources.documents import RawDocument
from nhiscan.sources.shape import TIME, Spec, check

_SLOTS = (1, 2)
# Every column normalization reads (the rules need them all), with what each must hold.
COLUMNS: dict[str, Spec] = {
    "user": str,
    "arn": str,
    "user_creation_time": TIME,
    "password_enabled": FLAG,
    "password_last_used": TIME,
    "password_last_changed": TIME,
    "password_next_rotation": TIME,
    "mfa_active": FLAG,
    **{
        f"access_key_{n}_{suffix}": spec
        for n in _SLOTS
        for suffix, spec in (
            ("active", FLAG),
            ("last_rotated", TIME),
            ("last_used_date", TIME),
            ("last_used_region", str),
            ("last_used_service", str),
        )
    },
    **{
        f"cert_{n}_{suffix}": spec
        for n in _SLOTS
        for suffix, spec in (("active", FLAG), ("last_rotated", TIME))
    },
}


def load_report(st: State, doc: RawDocument) -> None:
    text = credential_report_text(doc.data)
    if text is None:
        raise ValueError("credential report content cannot be decoded")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    rows = list(reader)
    scope = st.scope_for(doc, (r.get("arn") or "" for r in rows))
    if scope is None:
        if rows:
            st.error(doc.path, "cannot tell the AWS account (no ARN); pass it as --input ACCOUNT=FILE")
        return
    acct = st.account(scope)
    acct.report_path = doc.path
    st.result.sources.append(SourceRef(doc.kind, scope, doc.path))
    header = {h.strip() for h in reader.fieldnames or ()}
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        st.error(
            doc.path,
            f"credential report has no column {', '.join(missing)}; the facts it holds are unknown "
            "(the rest of the report is used): export the full report",
        )
    for i, row in enumerate(rows, start=2):
        if not any(str(v or "").strip() for v in row.values()):
            continue  # a blank line (trailing whitespace after the last row): nothing to read
        user = (row.get("user") or "").strip()
        if not user or not (row.get("arn") or "").strip():
            st.error(doc.path, f"line {i}: credential report row without user or arn; skipped")
            continue
        if None in row or None in row.values():  # more or fewer cells than the header has columns
            cells = len(row) - 1 + len(row[None]) if None in row else sum(v is not None for v in row.values())
            st.error(
                doc.path,
                f"line {i} ({user[:120]}): {cells} cells, the header has {len(reader.fieldnames or ())}; row skipped",
            )
            continue
        fields = {k.strip(): v for k, v in row.items() if k is not None}
        try:
            check(fields, COLUMNS)
        except ValueError as exc:
            st.error(doc.path, f"line {i} ({user[:120]}): column {exc}; row skipped")
            continue
        acct.report[user] = fields
