"""Helpers for the GCP, Azure and Kubernetes source tests: load fixture exports into an inventory."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from nhiscan.config import InputSpec, ScanConfig, Settings
from nhiscan.core import collect_inventory, run_scan
from nhiscan.model import Identity, Inventory, Report
from tests.conftest import FIXTURES

GCP_DIR = FIXTURES / "gcp" / "acme-prod"
AZURE_DIR = FIXTURES / "azure" / "contoso"
K8S_DIR = FIXTURES / "kubernetes" / "prod-cluster"
AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)


def gcp_inputs() -> list[str]:
    """Every acme-prod export; the project policy names no project, so it gets SCOPE=."""
    out = []
    for p in sorted(GCP_DIR.glob("*.json")):
        out.append(f"acme-prod={p}" if p.name == "project-iam-policy.json" else str(p))
    return out


def azure_inputs() -> list[str]:
    return [str(p) for p in sorted(AZURE_DIR.glob("*.json"))]


def k8s_inputs() -> list[str]:
    return [f"gke-prod={p}" for p in sorted(K8S_DIR.glob("*.json"))]


def config(inputs: list[str]) -> ScanConfig:
    return ScanConfig(as_of=AS_OF, inputs=tuple(InputSpec.parse(v) for v in inputs), settings=Settings())


def inventory(inputs: list[str]) -> Inventory:
    inv, errors = collect_inventory(config(inputs))
    assert not errors, errors
    return inv


def scan(inputs: list[str]) -> Report:
    return run_scan(config(inputs))


def by_id(inv: Inventory) -> dict[str, Identity]:
    return {i.id: i for i in inv.identities}


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)
