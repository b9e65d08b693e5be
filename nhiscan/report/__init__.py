"""Reporters: one module per output format, each exposing ``render(report, *, terminal) -> str``.

Every format renders the same Report object, so `nhiscan report SCAN.json --format X` gives exactly
what `nhiscan scan --format X` would have. Modules load on demand (the HTML one pulls in Jinja2).
"""

from __future__ import annotations

import importlib
from enum import Enum
from typing import Protocol

from nhiscan.model import Report


class Format(str, Enum):
    table = "table"
    json = "json"
    sarif = "sarif"
    csv = "csv"
    markdown = "markdown"
    html = "html"


class Renderer(Protocol):
    def __call__(self, report: Report, *, terminal: bool = False, width: int | None = None) -> str: ...


def renderer(fmt: Format) -> Renderer:
    module = importlib.import_module(f"nhiscan.report.{fmt.value}_format")
    fn: Renderer = module.render
    return fn
