"""Field values as the AWS CLIs, the console and the SDKs write them: times, flags, tags, ARNs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

PROVIDER = "aws"
OWNER_TAG_KEYS = frozenset(
    {
        "owner",
        "team",
        "contact",
        "maintainer",
        "owneremail",
        "technicalowner",
        "businessowner",
        "ownerteam",
        "teamname",
        "responsible",
        "custodian",
    }
)
ACCOUNT_RE = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):")
USER_OR_ROLE_RE = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:(user|role)/\S+$")
MISSING = frozenset({"", "n/a", "no_information", "not_supported", "none", "null"})


def parse_time(value: Any) -> datetime | None:
    """AWS timestamps in every form the CLIs write: ``2019-12-18 19:10:08+00:00``, ISO ``...T...Z``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None  # out of any datetime's range (or NaN)
    text = str(value).strip()
    if text.lower() in MISSING:
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def parse_bool(value: Any) -> bool:
    return str(value).strip().lower() == "true"


def account_of(arn: str) -> str | None:
    m = ACCOUNT_RE.match(arn or "")
    return m.group(1) if m else None


def owner_from_tags(tags: Mapping[str, str]) -> str | None:
    for key, value in tags.items():
        if re.sub(r"[^a-z]", "", key.lower()) in OWNER_TAG_KEYS and str(value).strip():
            return str(value).strip()
    return None


def tags_of(record: Mapping[str, Any]) -> dict[str, str]:
    tags = record.get("Tags") or []
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    return {
        str(t.get("Key")): str(t.get("Value", "")) for t in tags if isinstance(t, Mapping) and t.get("Key")
    }


def clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text.lower() in MISSING else text
