"""Fixtures for the live Kubernetes tests: one HTTPS API-server peer per worker, emptied for each test."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import AS_OF, FIXTURES, CliResult, run_cli
from tests.k8s_live.peer import TOKEN, FakeK8s, fake_k8s

K8S_EXPORT = FIXTURES / "kubernetes" / "prod-cluster" / "rbac-and-serviceaccounts.json"


@pytest.fixture(scope="session")
def k8s_server() -> Iterator[FakeK8s]:
    with fake_k8s() as peer:
        yield peer


@pytest.fixture
def peer(k8s_server: FakeK8s) -> Iterator[FakeK8s]:
    k8s_server.reset()
    yield k8s_server
    k8s_server.reset()


@pytest.fixture
def kubeconfig(peer: FakeK8s, tmp_path: Path) -> Path:
    return peer.kubeconfig(tmp_path / "kubeconfig")


def nhiscan(kubeconfig: Path, *args: str, env: dict[str, str] | None = None) -> CliResult:
    """The installed console script with KUBECONFIG pointing at the peer's kubeconfig."""
    return run_cli(*args, env={"KUBECONFIG": str(kubeconfig), **(env or {})}, timeout=120)


def scan_args(*extra: str) -> tuple[str, ...]:
    return ("scan", *extra, "--format", "json", "--as-of", AS_OF, "--fail-on", "none")


def export_scan(context: str = "prod") -> dict[str, object]:
    """The same cluster scanned offline from its kubectl export, scoped to the same context name."""
    return json.loads(_export_scan(context))  # a fresh copy each time


@functools.lru_cache(maxsize=4)
def _export_scan(context: str) -> str:
    res = run_cli(*scan_args("--input", f"{context}={K8S_EXPORT}"))
    assert res.code == 0, res.stderr
    return res.stdout


def secret_values() -> list[str]:
    """Every Secret value in the export (base64 as served, and decoded), and the kubeconfig token."""
    values = [TOKEN]
    for item in json.loads(K8S_EXPORT.read_text())["items"]:
        if item["kind"] == "Secret":
            for encoded in (item.get("data") or {}).values():
                values.append(encoded)
                decoded = base64.b64decode(encoded).decode()
                if len(decoded) >= 12:  # ca.crt / token / password; short ones ("ci") are not secret
                    values.append(decoded.strip().splitlines()[-1] if "\n" in decoded else decoded)
    return values


def assert_no_secret(*texts: str) -> None:
    for value in secret_values():
        for text in texts:
            assert value not in text, f"a secret value ({value[:6]}...) reached the output"
