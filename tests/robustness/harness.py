"""Shared machinery for the robustness tests: the fixture exports, a scan run in-process, and
structural mutations of one export (the others are given alongside untouched)."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

from nhiscan.cli import _encodable
from nhiscan.config import InputSpec, ScanConfig, Settings
from nhiscan.core import run_scan
from nhiscan.model import Report
from nhiscan.report import Format, renderer
from tests.conftest import FIXTURES

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Export:
    provider: str
    path: Path
    scope: str | None = None

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.path.name}"


def _exports() -> list[Export]:
    out: list[Export] = []
    for p in sorted((FIXTURES / "aws" / "acme-prod").glob("*")):
        if p.suffix in (".json", ".csv"):
            out.append(Export("aws", p))
    for p in sorted((FIXTURES / "gcp" / "acme-prod").glob("*.json")):
        out.append(Export("gcp", p, "acme-prod" if p.name == "project-iam-policy.json" else None))
    for p in sorted((FIXTURES / "azure" / "contoso").glob("*.json")):
        out.append(Export("azure", p))
    for p in sorted((FIXTURES / "kubernetes" / "prod-cluster").glob("*.json")):
        out.append(Export("kubernetes", p, "gke-prod"))
    out.append(Export("inventory", FIXTURES / "correlate" / "combined" / "inventory.json"))
    return out


EXPORTS: tuple[Export, ...] = tuple(_exports())


def spec(export: Export, path: Path | None = None) -> InputSpec:
    return InputSpec(path=str(path or export.path), scope=export.scope)


def scan(inputs: list[InputSpec]) -> Report:
    """The library path the CLI takes, plus rendering as JSON (serialisation must not fail either)."""
    report = run_scan(ScanConfig(as_of=AS_OF, inputs=tuple(inputs), settings=Settings()))
    for fmt in RENDER:
        text = renderer(fmt)(report)
        _encodable(text).encode("utf-8")  # what the CLI writes to --output or stdout
        if fmt is Format.json:
            json.loads(text)
    return report


# Every format renders the same report; rendering all of them on each mutated input is slow, so
# the property tests check JSON (the contract) and, with NHISCAN_FUZZ_ALL_FORMATS=1, all of them.
RENDER = tuple(Format) if os.environ.get("NHISCAN_FUZZ_ALL_FORMATS") else (Format.json,)


def others(export: Export) -> list[Export]:
    """The exports given alongside a mutated one, untouched: its siblings of the same provider (so
    exports that merge, such as list-access-keys into a GAAD account, still do) and every other
    provider's."""
    return [e for e in EXPORTS if e != export]


def siblings(export: Export) -> list[Export]:
    return [e for e in EXPORTS if e.provider == export.provider and e != export]


@cache
def clean_ids(provider_of_excluded: str) -> frozenset[str]:
    """Identity ids a clean scan of every export except `provider_of_excluded`'s gives."""
    report = scan([spec(e) for e in EXPORTS if e.provider != provider_of_excluded])
    assert not report.errors, report.errors
    return frozenset(i.id for i in report.inventory.identities)


# --- structural mutations of JSON values -----------------------------------------------------------

Path_ = tuple[Any, ...]


def node_paths(value: Any, prefix: Path_ = (), depth: int = 0) -> Iterator[Path_]:
    yield prefix
    if depth >= 12:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from node_paths(v, (*prefix, k), depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from node_paths(v, (*prefix, i), depth + 1)


@cache
def loaded(path: Path) -> tuple[Any, tuple[Path_, ...]]:
    data = json.loads(path.read_text("utf-8"))
    return data, tuple(node_paths(data))


def _deep(n: int) -> Any:
    v: Any = "x"
    for _ in range(n):
        v = [v]
    return v


# Values of the wrong type, or the right type with odd content.
ODD_VALUES: tuple[Any, ...] = (
    None,
    "",
    "garbage",
    0,
    -1,
    1.5e308,
    10**40,
    True,
    [],
    {},
    ["x", 1, None],
    {"unexpected": {"nested": [1, 2]}},
    "not-a-date",
    "2026-13-45T99:99:99Z",
    "0000-00-00",
    1767225600,  # a date given as epoch seconds
    -(10**20),  # out of range for any datetime
    "\udcff\x00lone surrogate and NUL",
    "x" * 5000,
    _deep(150),
)

OPS = ("drop", "replace", "wrap-list", "wrap-dict", "stringify", "duplicate", "null-parent-list")


def mutate(data: Any, path: Path_, op: str, odd: Any) -> Any:
    """A deep copy of `data` with `op` applied at `path` (the root itself when path is ())."""
    root = copy.deepcopy(data)
    if not path:
        if op == "drop":
            return {} if isinstance(root, dict) else []
        if op in ("replace", "null-parent-list"):
            return copy.deepcopy(odd)
        if op == "wrap-list":
            return [root]
        if op == "wrap-dict":
            return {"value": root}
        if op == "stringify":
            return json.dumps(root)
        return root
    parent = root
    for step in path[:-1]:
        parent = parent[step]
    key = path[-1]
    current = parent[key]
    if op == "drop":
        del parent[key]
    elif op == "replace":
        parent[key] = copy.deepcopy(odd)
    elif op == "wrap-list":
        parent[key] = [current]
    elif op == "wrap-dict":
        parent[key] = {"value": current}
    elif op == "stringify":
        parent[key] = json.dumps(current)
    elif op == "duplicate":
        if isinstance(parent, list):
            parent.insert(key, copy.deepcopy(current))
        else:
            parent[f"{key}Extra"] = copy.deepcopy(current)  # an unknown key
    elif op == "null-parent-list":
        if isinstance(parent, list):
            parent[key] = None
        else:
            parent[key] = copy.deepcopy(odd)
    return root


# --- CSV (credential report) mutations -------------------------------------------------------------

CSV_OPS = (
    "drop-column",
    "extra-column",
    "short-row",
    "long-row",
    "garble-cell",
    "duplicate-row",
    "blank-row",
)


def mutate_csv(text: str, op: str, row: int, col: int, odd: str) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    r = row % len(rows)
    c = col % len(rows[0])
    if op == "drop-column":
        rows = [x[:c] + x[c + 1 :] for x in rows]
    elif op == "extra-column":
        rows = [x[:c] + ([f"extra_{c}"] if i == 0 else [odd]) + x[c:] for i, x in enumerate(rows)]
    elif op == "short-row":
        rows[max(r, 1) % len(rows)] = rows[max(r, 1) % len(rows)][:c]
    elif op == "long-row":
        rows[r] = [*rows[r], odd, odd]
    elif op == "garble-cell":
        rows[max(r, 1) % len(rows)][c] = odd
    elif op == "duplicate-row":
        rows.insert(r, list(rows[r]))
    elif op == "blank-row":
        rows.insert(max(r, 1), [])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()
