"""The `nhiscan/v1` JSON result (the contract in docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Iterator

from nhiscan.model import Report
from nhiscan.model.jsonstream import iter_document
from nhiscan.model.serialize import dumps_document
from nhiscan.model.serialize_report import report_document


def render(report: Report, *, terminal: bool = False, width: int | None = None) -> str:
    return dumps_document(report_document(report))


def render_pieces(report: Report) -> Iterator[str]:
    """The text ``render`` returns, record by record (written as it is encoded)."""
    return iter_document(report_document(report, encoded=True))
