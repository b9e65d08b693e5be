"""Fixtures for the live Azure tests: one HTTPS Graph + ARM peer per worker, emptied for each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.azure_live.peer import FakeAzure, fake_azure
from tests.conftest import AS_OF, FIXTURES, CliResult, run_cli

AZURE_DIR = FIXTURES / "azure" / "contoso"


@pytest.fixture(scope="session")
def azure_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeAzure]:
    with fake_azure(tmp_path_factory.mktemp("azure-peer")) as peer:
        yield peer


@pytest.fixture
def peer(azure_server: FakeAzure) -> Iterator[FakeAzure]:
    azure_server.reset()
    yield azure_server
    azure_server.reset()


def nhiscan(peer: FakeAzure, *args: str, env: dict[str, str] | None = None) -> CliResult:
    """The installed console script against the peer (its record cleared first)."""
    with peer._lock:
        peer.calls.clear()
    return run_cli(*args, env={**peer.env(), **(env or {})}, timeout=120)


def scan_args(*extra: str) -> tuple[str, ...]:
    return ("scan", *extra, "--format", "json", "--as-of", AS_OF, "--fail-on", "none")


def finding_keys(result: Any) -> set[tuple[str, str | None, str | None]]:
    return {(f["rule_id"], f["identity_id"], f["credential_id"]) for f in result["findings"]}


def assert_read_only(peer: FakeAzure) -> None:
    methods = peer.methods()
    assert methods, "the peer received no request"
    assert set(methods) == {"GET"}, sorted(set(methods))


def stderr_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]
