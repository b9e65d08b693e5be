"""Recognise the standard AWS IAM exports by their content (pure; no SDK).

Kinds (the live collector emits exactly these, with the same shapes):

- ``aws-gaad``: ``aws iam get-account-authorization-details`` (UserDetailList, GroupDetailList,
  RoleDetailList, Policies; any subset, several pages as several files).
- ``aws-credential-report``: the credential report CSV (header ``user,arn,user_creation_time,...``),
  or the JSON ``aws iam get-credential-report`` prints (``Content`` holds the base64 CSV).
- ``aws-access-keys``: ``aws iam list-access-keys`` output (``AccessKeyMetadata``).
- ``aws-list-users`` / ``aws-list-roles``: ``aws iam list-users`` / ``list-roles`` output (``Users`` /
  ``Roles``), or ``get-user`` / ``get-role`` (``User`` / ``Role``): the subset of a GAAD record
  those calls return (no policies; list calls no tags); merged under a GAAD record of the same name.
- ``aws-iam-extras``: nhiscan's own document for facts only live APIs give
  (``"Kind": "nhiscan-aws-iam-extras"``).
- ``aws-service-last-accessed``: ``aws iam get-service-last-accessed-details --job-id ID`` output
  (``JobStatus`` and ``ServicesLastAccessed``; it does not name its identity, so it needs
  ``--input ARN=FILE``), or nhiscan's combined form for many identities
  (``"Kind": "nhiscan-aws-service-last-accessed"``, ``Identities: [{Arn, JobStatus, ...}]``).
- ``aws-cloudtrail-trails``: ``aws cloudtrail describe-trails`` output (``trailList``).
- ``aws-cloudtrail-event-selectors``: ``aws cloudtrail get-event-selectors --trail-name X``
  (``TrailARN`` with ``EventSelectors`` and/or ``AdvancedEventSelectors``).
- ``aws-cloudtrail-trail-status``: ``aws cloudtrail get-trail-status --name X`` (``IsLogging``; it
  does not name its trail, so it needs ``--input TRAIL_ARN=FILE``), or nhiscan's combined form for
  many trails (``"Kind": "nhiscan-aws-cloudtrail-status"``, ``Trails: [{TrailARN, IsLogging, ...}]``),
  which the live collector writes.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nhiscan.sources.documents import Parsed

GAAD_KEYS = frozenset({"UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"})
CREDENTIAL_REPORT_HEADER = ("user", "arn", "user_creation_time")
EXTRAS_KIND = "nhiscan-aws-iam-extras"
LAST_ACCESSED_KIND = "nhiscan-aws-service-last-accessed"
TRAIL_STATUS_KIND = "nhiscan-aws-cloudtrail-status"
# Every field get-trail-status writes starts with one of these (IsLogging, LatestDeliveryTime, ...).
_STATUS_PREFIXES = ("Is", "Latest", "Start", "Stop", "TimeLogging", "ResponseMetadata")


def detect(parsed: Parsed) -> str | None:
    data = parsed.data if parsed.is_structured else None
    if data is None:
        header = parsed.csv_header()
        if header and tuple(h.strip() for h in header[:3]) == CREDENTIAL_REPORT_HEADER:
            return "aws-credential-report"
        return None
    if not isinstance(data, dict):
        return None
    if data.get("Kind") == EXTRAS_KIND:
        return "aws-iam-extras"
    if data.get("Kind") == LAST_ACCESSED_KIND:
        return "aws-service-last-accessed"
    if data.get("Kind") == TRAIL_STATUS_KIND:
        return "aws-cloudtrail-trail-status"
    if "JobStatus" in data and ("ServicesLastAccessed" in data or "JobType" in data):
        return "aws-service-last-accessed"  # an unfinished job's output may lack the list
    if isinstance(data.get("trailList"), list):
        return "aws-cloudtrail-trails"
    if "TrailARN" in data and ("EventSelectors" in data or "AdvancedEventSelectors" in data):
        return "aws-cloudtrail-event-selectors"
    if isinstance(data.get("IsLogging"), bool) and all(k.startswith(_STATUS_PREFIXES) for k in data):
        return "aws-cloudtrail-trail-status"
    if GAAD_KEYS & data.keys():
        return "aws-gaad"
    if _names_records(data, "Users", "User", "UserName"):
        return "aws-list-users"
    if _names_records(data, "Roles", "Role", "RoleName"):
        return "aws-list-roles"
    if isinstance(data.get("AccessKeyMetadata"), list):
        return "aws-access-keys"
    if "Content" in data and str(data.get("ReportFormat", "text/csv")) == "text/csv":
        text = credential_report_text(data)
        if text is not None and text.lstrip("\ufeff").startswith(",".join(CREDENTIAL_REPORT_HEADER)):
            return "aws-credential-report"
    return None


def _names_records(data: dict[str, Any], many: str, one: str, name_key: str) -> bool:
    """list-users / list-roles (``many``) or get-user / get-role (``one``) output of IAM records."""
    listed = data.get(many)
    records: list[Any] = listed if isinstance(listed, list) else [data.get(one)]
    first = next((r for r in records if isinstance(r, dict)), None)
    return first is not None and name_key in first and str(first.get("Arn", "")).startswith("arn:aws")


def credential_report_text(data: Any) -> str | None:
    """The CSV text of a credential report given as CSV text, bytes or the get-credential-report JSON."""
    if isinstance(data, str):
        return data
    if isinstance(data, bytes):
        return data.decode("utf-8-sig", errors="replace")
    if isinstance(data, dict):
        content = data.get("Content")
        if isinstance(content, bytes):
            return content.decode("utf-8-sig", errors="replace")
        if isinstance(content, str):
            if content.startswith("user,arn"):
                return content
            try:
                return base64.b64decode(content, validate=False).decode("utf-8-sig", errors="replace")
            except (binascii.Error, ValueError):
                return None
    return None
