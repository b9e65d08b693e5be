"""Timestamps as the cloud CLIs write them (RFC 3339 with `Z`, up to 9 fractional digits)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

_FRACTION = re.compile(r"\.(\d+)")


def parse_time(value: Any) -> datetime | None:
    """An aware UTC datetime, or None for missing or unparseable values (never raises)."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python < 3.11 accepts only 3 or 6 fractional digits; Graph and gcloud write up to 9.
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
