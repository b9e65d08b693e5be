"""The `nhiscan/v1` JSON result (the contract in docs/architecture.md)."""

from __future__ import annotations

import json

from nhiscan.model import Report
from nhiscan.model.serialize import report_to_dict


def render(report: Report, *, terminal: bool = False, width: int | None = None) -> str:
    return json.dumps(report_to_dict(report), indent=2, sort_keys=False) + "\n"
