"""Which planted secrets a scan found. Outputs never show a value nor anything that confirms a guess
of one, so these tests run nhiscan with a fingerprint key they know (NHISCAN_FINGERPRINT_KEY, see
docs/secret-ids.md) and recognise each planted value by its keyed fingerprint id."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

KEY = "hostile-suite-fingerprint-key-7f3a9c"


@pytest.fixture
def fingerprint_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every nhiscan this test runs (run_cli passes os.environ on) uses the suite's key."""
    monkeypatch.setenv("NHISCAN_FINGERPRINT_KEY", KEY)
    return KEY


def keyed_id(value: str) -> str:
    """The fingerprint id nhiscan gives ``value`` under KEY (the formula docs/secret-ids.md gives)."""
    data = b"nhiscan/fingerprint\0" + hashlib.sha256(value.encode("utf-8")).digest()
    return "hmac:" + hmac.new(KEY.encode("utf-8"), data, hashlib.sha256).hexdigest()[:32]


def found_ids(result: dict[str, Any], path: str | None = None) -> set[str]:
    """The fingerprint ids of the secrets a result reports (at ``path``, when given)."""
    return {
        str(s.get("fingerprint_id"))
        for s in result.get("secrets", [])
        if path is None or (s.get("location") or {}).get("path") == path
    }


def found(result: dict[str, Any], value: str, path: str | None = None) -> bool:
    return keyed_id(value) in found_ids(result, path)
