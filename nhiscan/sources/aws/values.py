"""Field values as the AWS CLIs, the console and the SDKs write them: times, flags, tags, ARNs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nhiscan.sources.shape import OneOf

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
# IAM credential, key and certificate status (compared without regard to case).
STATUS = OneOf("Active", "Inactive", "Expired")
# A credential report flag: true / false, or a no-value marker where the flag does not apply.
FLAG = OneOf("true", "false", "not_supported", "N/A", "no_information")


def parse_bool(value: Any) -> bool:
    """A credential-report flag: ``true`` in any case (``TRUE`` once a spreadsheet re-saved it)."""
    return str(value).strip().lower() == "true"


def is_active(value: Any) -> bool:
    """An IAM ``Status`` (``Active`` / ``Inactive`` / ``Expired``, any case); missing means Active."""
    return STATUS.canonical(value, "Active") == "Active"


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
