"""Recognise nhiscan's own inventory document (`nhiscan inventory` output) and scan results."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nhiscan.model import INVENTORY_SCHEMA, SCHEMA

if TYPE_CHECKING:
    from nhiscan.sources.documents import Parsed


def detect(parsed: Parsed) -> str | None:
    data = parsed.data if parsed.is_structured else None
    if isinstance(data, dict):
        if data.get("schema") == INVENTORY_SCHEMA:
            return "nhiscan-inventory"
        if data.get("schema") == SCHEMA:
            return "nhiscan-result"
    return None
