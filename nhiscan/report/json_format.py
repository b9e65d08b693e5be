"""The `nhiscan/v1` JSON result (the contract in docs/architecture.md)."""

from __future__ import annotations

from nhiscan.model import Report
from nhiscan.model.serialize import dumps_document, report_to_dict


def render(report: Report, *, terminal: bool = False, width: int | None = None) -> str:
    return dumps_document(report_to_dict(report))
