"""Timestamps in every form the cloud CLIs, SDKs and PowerShell write them, read once for all sources.

Accepted (all become aware UTC datetimes):

- ISO 8601 / RFC 3339 with ``T``, ``t`` or a space between date and time (the AWS CLI v1 writes
  ``2019-12-18 19:10:08+00:00``), with or without seconds, with any number of fractional digits
  (``.`` or ``,``; Graph and gcloud write up to 9, PowerShell 7), and a zone ``Z``, ``UTC``, ``GMT``,
  ``+01:00``, ``+0100`` or ``+01``, or none (read as UTC); a bare date ``2019-12-18`` (midnight UTC);
- epoch seconds or milliseconds, as a JSON number or a string of digits (boto3 ``json.dumps`` with
  ``default=str`` of a timestamp, JavaScript tools, the CLI's ``cli_timestamp_format = wire``): a
  magnitude of 10^11 or more is milliseconds (10^11 seconds is the year 5138, 10^11 ms is 1973);
- Windows PowerShell 5.1 ``ConvertTo-Json`` of a DateTime: ``/Date(1576696208000)/``;
- a ``datetime`` (live collectors).

``parse_time`` never raises: missing, the "no value" markers the AWS credential report writes
(``N/A``, ``no_information``, ``not_supported``) and unreadable values are None. ``read_time`` is
the same except that a value which is present but unreadable raises ValueError, so a normalizer can
name the record and field instead of losing the fact quietly (see ``shape.TIME``).
"""

from __future__ import annotations

import functools
import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

# What exports write where a time does not apply: read as "no time", never as an error.
MISSING_MARKERS = frozenset({"", "n/a", "na", "no_information", "not_supported", "none", "null", "-"})

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[Tt ](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d+))?)?)?"
    r"\s*(?P<zone>[Zz]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$"
)
_EPOCH = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_DOTNET = re.compile(r"^/?Date\((?P<ms>-?\d+)(?P<offset>[+-]\d{4})?\)/?$")
_MS_THRESHOLD = 1e11  # at or above: milliseconds since the epoch


class UnreadableTime(ValueError):
    """A value that is present but is no date and time in any accepted form."""


def read_time(value: Any) -> datetime | None:
    """An aware UTC datetime; None when missing or a no-value marker; UnreadableTime otherwise."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, bool):
        raise UnreadableTime("expected a date and time, got true or false")
    if isinstance(value, (int, float)):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        raise UnreadableTime(f"expected a date and time, got {type(value).__name__}")
    return _read_text(value)


@functools.lru_cache(maxsize=1 << 16)
def _read_text(value: str) -> datetime | None:
    """A date written as text; exports repeat the same few dates thousands of times (creation
    dates, "N/A", report times), so each distinct text is parsed once and its (immutable) datetime
    shared by every record that holds it."""
    text = value.strip()
    if text.lower() in MISSING_MARKERS:
        return None
    m = _ISO.match(text)
    if m:
        return _from_iso(m)
    if _EPOCH.match(text):
        return _from_epoch(float(text))
    d = _DOTNET.match(text)
    if d:
        return _from_epoch(int(d.group("ms")) / 1000.0, already_seconds=True)
    raise UnreadableTime("expected a date and time (ISO 8601 or epoch seconds/milliseconds)")


def parse_time(value: Any) -> datetime | None:
    """Like ``read_time``, but None for an unreadable value (for callers that checked the record)."""
    try:
        return read_time(value)
    except UnreadableTime:
        return None


def _from_epoch(number: float, *, already_seconds: bool = False) -> datetime:
    if not math.isfinite(number):
        raise UnreadableTime("expected a date and time, got a number that is not finite")
    seconds = number
    if not already_seconds and abs(number) >= _MS_THRESHOLD:
        seconds = number / 1000.0
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise UnreadableTime("expected a date and time, got a number out of range") from None


def _from_iso(m: re.Match[str]) -> datetime:
    frac = (m.group("frac") or "")[:6].ljust(6, "0")
    try:
        base = datetime.fromisoformat(m.group("date")).replace(
            hour=int(m.group("h") or 0),
            minute=int(m.group("m") or 0),
            second=int(m.group("s") or 0),
            microsecond=int(frac),
        )
    except ValueError:
        raise UnreadableTime("expected a date and time, got an impossible date or time") from None
    zone = m.group("zone")
    offset = timedelta(0)
    if zone and zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            raise UnreadableTime("expected a date and time, got an impossible zone offset")
        offset = timedelta(hours=hours, minutes=minutes) * (-1 if zone[0] == "-" else 1)
    try:
        return (base - offset).replace(tzinfo=timezone.utc)
    except OverflowError:
        raise UnreadableTime("expected a date and time, got one out of range") from None
