"""The IAM credential report (CSV, or the JSON ``aws iam get-credential-report`` prints)."""

from __future__ import annotations

import csv
import io

from nhiscan.model import SourceRef
from nhiscan.sources import RawDocument
from nhiscan.sources.aws.exports import credential_report_text
from nhiscan.sources.aws.state import State


def load_report(st: State, doc: RawDocument) -> None:
    text = credential_report_text(doc.data)
    if text is None:
        raise ValueError("credential report content cannot be decoded")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    scope = st.scope_for(doc, (r.get("arn") or "" for r in rows))
    if scope is None:
        if rows:
            st.error(doc.path, "cannot tell the AWS account (no ARN); pass it as --input ACCOUNT=FILE")
        return
    acct = st.account(scope)
    acct.report_path = doc.path
    st.result.sources.append(SourceRef(doc.kind, scope, doc.path))
    for i, row in enumerate(rows, start=2):
        if not any(str(v or "").strip() for v in row.values()):
            continue  # a blank line (trailing whitespace after the last row): nothing to read
        user = (row.get("user") or "").strip()
        if not user or not (row.get("arn") or "").strip():
            st.error(doc.path, f"line {i}: credential report row without user or arn; skipped")
            continue
        acct.report[user] = row
