"""Fixtures for the live GCP tests: one in-process gRPC peer per worker, emptied for each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nhiscan.sources.gcp.live import CALLS
from tests.conftest import AS_OF, FIXTURES, CliResult, run_cli
from tests.gcp_live.peer import FakeGcp, fake_gcp

GCP_DIR = FIXTURES / "gcp" / "acme-prod"
WRITE_WORDS = (
    "Create",
    "Delete",
    "Update",
    "Set",
    "Enable",
    "Disable",
    "Patch",
    "Upload",
    "Undelete",
    "Sign",
)


@pytest.fixture(scope="session")
def gcp_server() -> Iterator[FakeGcp]:
    with fake_gcp() as peer:
        yield peer


@pytest.fixture
def peer(gcp_server: FakeGcp) -> Iterator[FakeGcp]:
    gcp_server.reset()
    yield gcp_server
    gcp_server.reset()


def no_adc_env(tmp: Path) -> dict[str, str]:
    """An environment where Application Default Credentials cannot be found, quickly."""
    return {
        "GOOGLE_APPLICATION_CREDENTIALS": "",
        "CLOUDSDK_CONFIG": str(tmp / "gcloud"),
        "NO_GCE_CHECK": "true",
        "GCE_METADATA_HOST": "127.0.0.1:9",
        "GCE_METADATA_IP": "127.0.0.1:9",
    }


def nhiscan(peer: FakeGcp, *args: str, env: dict[str, str] | None = None) -> CliResult:
    """The installed console script against the peer (its record cleared first)."""
    peer.calls.clear()
    return run_cli(*args, env={**peer.env(), **(env or {})}, timeout=120)


def export_inputs(directory: Path = GCP_DIR, project: str = "acme-prod") -> list[str]:
    """``--input`` arguments for the exports the live collector reproduces (everything but asset search)."""
    args: list[str] = []
    for p in sorted(directory.glob("*.json")):
        if p.name == "asset-iam-policies.json":
            continue
        args += ["--input", f"{project}={p}" if p.name == "project-iam-policy.json" else str(p)]
    return args


def scan_args(*extra: str) -> tuple[str, ...]:
    return ("scan", *extra, "--format", "json", "--as-of", AS_OF, "--fail-on", "none")


def assert_read_only(methods: list[str]) -> None:
    """Every RPC the server received is one nhiscan declares, and each of them is a List/Get call."""
    assert methods, "the server received no call"
    names = {m.rsplit("/", 1)[-1] for m in methods}
    writes = sorted(n for n in names if n.startswith(WRITE_WORDS))
    assert not writes, f"nhiscan made write calls: {writes}"
    assert all(n.startswith(("List", "Get")) for n in names), names
    assert set(methods) <= set(CALLS), sorted(set(methods) - set(CALLS))


def findings_of(result: Any) -> list[Any]:
    return list(result["findings"])
