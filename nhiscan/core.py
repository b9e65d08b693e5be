"""The library entry points the CLI calls: collect -> normalize -> analyze.

Kept separate from cli.py so that a test, a notebook or another tool can run a scan without Typer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nhiscan.analyze.engine import analyze
from nhiscan.config import ScanConfig
from nhiscan.model import Inventory, Report, SourceError
from nhiscan.sources import collect


def collect_inventory(config: ScanConfig) -> tuple[Inventory, list[SourceError]]:
    return collect(config)


def run_scan(config: ScanConfig) -> Report:
    inventory, errors = collect(config)
    waive: dict[str, Mapping[str, Any]] = {}
    if config.baseline:
        from nhiscan.baseline import load_baseline

        waive.update(load_baseline(config.baseline, inventory))
    return analyze(inventory, config.as_of, config.settings, errors=errors, waive=waive)
