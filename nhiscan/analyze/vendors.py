"""Known AWS vendor accounts: which company an account id outside the scanned set belongs to.

The bundled list (``data/known_aws_accounts.json``) is a copy of the public list maintained in the
fwdcloudsec/known_aws_accounts repository; its ``source`` and ``retrieved`` fields say where and
when it was taken. A newer list needs no nhiscan release: ``known_vendors_file`` in the settings, or
the ``NHISCAN_KNOWN_VENDORS`` environment variable, names a file that replaces the bundled one,
either in this JSON form or as the upstream ``accounts.yaml`` itself (a list of ``name``,
``source``, ``accounts``). Entries with ``enabled: false`` are skipped, as upstream intends.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nhiscan.config import Settings
from nhiscan.errors import NhiscanError

ENV_VAR = "NHISCAN_KNOWN_VENDORS"
_ACCOUNT = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class VendorList:
    accounts: Mapping[str, str] = field(default_factory=dict)  # account id -> vendor name
    source: str = ""
    retrieved: str = ""
    path: str = "bundled"

    def name_of(self, account: str) -> str | None:
        return self.accounts.get(account)


def _entries(data: Any, where: str) -> list[Any]:
    if isinstance(data, Mapping):
        data = data.get("vendors")
    if not isinstance(data, list):
        raise NhiscanError(f"{where}: known vendors: expected a list of {{name, accounts}} entries")
    return data


def parse(data: Any, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, entry in enumerate(_entries(data, where)):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise NhiscanError(f"{where}: known vendors [{i}]: expected a name and accounts")
        if entry.get("enabled") is False:
            continue
        accounts = entry.get("accounts") or []
        if not isinstance(accounts, list):
            raise NhiscanError(f"{where}: known vendors [{i}] {entry['name']}: accounts: expected a list")
        for acct in accounts:
            text = str(acct).strip()
            if _ACCOUNT.match(text):
                out.setdefault(text, str(entry["name"]))
    return out


def load(settings: Settings) -> VendorList:
    """The configured list (settings, then the environment variable), else the bundled one."""
    chosen = settings.known_vendors_file or os.environ.get(ENV_VAR) or None
    if chosen:
        path = Path(chosen)
        try:
            text = path.read_text("utf-8-sig")
        except OSError as exc:
            raise NhiscanError(f"{chosen}: known vendors file: cannot read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise NhiscanError(f"{chosen}: known vendors file: not UTF-8 text") from None
        data: Any
        try:
            data = json.loads(text)
        except ValueError:
            from nhiscan import safeyaml

            try:
                data = safeyaml.safe_load(text)
            except Exception as exc:
                raise NhiscanError(f"{chosen}: known vendors file: not JSON or YAML ({exc})") from None
        meta = data if isinstance(data, Mapping) else {}
        return VendorList(
            parse(data, chosen), str(meta.get("source") or chosen), str(meta.get("retrieved") or ""), chosen
        )
    from importlib import resources  # here: importing it costs more than most scans need

    raw = resources.files("nhiscan.analyze").joinpath("data/known_aws_accounts.json").read_text("utf-8")
    data = json.loads(raw)
    return VendorList(parse(data, "bundled known vendors"), str(data["source"]), str(data["retrieved"]))
