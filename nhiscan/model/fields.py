"""The field readers and writers every JSON record of the model shares: dates, flags, strings,
lists and objects, each checked as it is read (a ValueError names the field, never the value)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from nhiscan.sources.timeparse import UnreadableTime, read_time


def dt_out(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


def dt_in(value: Any, field_name: str = "date") -> datetime | None:
    """A date and time in any form nhiscan reads (see nhiscan.sources.timeparse); ValueError naming
    the field (never quoting the value) when it is present but unreadable."""
    try:
        return read_time(value)
    except UnreadableTime as exc:
        raise ValueError(f"{field_name}: {exc}") from None


def bool_in(value: Any, field_name: str, default: bool) -> bool:
    """A JSON boolean (or ``"true"`` / ``"false"`` in any case); ValueError naming the field otherwise.

    ``bool("false")`` is True: reading a flag with ``bool()`` would turn a quoted false into true.
    """
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"{field_name}: expected true or false")


# --- leaves -------------------------------------------------------------------------------------
# The readers check types as they go: a document that was edited by hand or by another tool gives a
# ValueError naming the field, never a wrong-typed model that breaks the analysis later.


def _strs(value: Any, field_name: str) -> tuple[str, ...]:
    """A list of strings (a lone string is taken as a list of one)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"{field_name}: expected a list of strings")


def _dict(value: Any, field_name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    raise ValueError(f"{field_name}: expected an object, got {type(value).__name__}")


def _opt_str(value: Any, field_name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"{field_name}: expected a string, got {type(value).__name__}")


def _list(value: Any, field_name: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise ValueError(f"{field_name}: expected a list, got {type(value).__name__}")
