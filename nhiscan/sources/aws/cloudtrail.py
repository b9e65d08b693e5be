"""CloudTrail exports: which trails an account has, whether they log, and which events they select.

Three exports, matched to each other by trail ARN (or name):

- ``aws cloudtrail describe-trails`` (``trailList``): the trails an account sees, shadow copies of
  multi-region and organization trails included. Its account is ``--input ACCOUNT=FILE``, else the
  account of the first trail that is not an organization trail, else of the first trail (an
  organization trail's ARN names the management account).
- ``aws cloudtrail get-event-selectors --trail-name X`` (``TrailARN`` with ``EventSelectors`` or
  ``AdvancedEventSelectors``).
- ``aws cloudtrail get-trail-status --name X`` (``IsLogging``): it does not name its trail, so it
  needs ``--input TRAIL_ARN=FILE`` (or ``TRAIL_NAME=FILE``).

Each account becomes one ``LogConfig`` of kind ``aws-cloudtrail`` whose ``trails`` list holds, per
trail, the facts ``analyze/logging.py`` evaluates; a fact no export gave is null (unknown).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nhiscan.model import LogConfig, SourceRef
from nhiscan.sources.aws.exports import TRAIL_STATUS_KIND
from nhiscan.sources.aws.values import PROVIDER
from nhiscan.sources.documents import RawDocument
from nhiscan.sources.shape import check, label

KIND = "aws-cloudtrail"
_TRAIL_ARN = re.compile(r"^arn:aws[\w-]*:cloudtrail:[\w-]*:(\d{12}):trail/(.+)$")
_ACCOUNT = re.compile(r"^\d{12}$")
_FLAGS = {
    "IsMultiRegionTrail": "multi_region",
    "IncludeGlobalServiceEvents": "global_service_events",
    "IsOrganizationTrail": "organization_trail",
    "LogFileValidationEnabled": "log_file_validation",
    "HasCustomEventSelectors": "has_custom_event_selectors",
}
_TRAIL_SHAPE = {"Name": str, "TrailARN": str, "HomeRegion": str, **{k: bool for k in _FLAGS}}
_SELECTOR_SHAPE = {
    "TrailARN": str,
    "EventSelectors": [
        {"ReadWriteType": str, "IncludeManagementEvents": bool, "ExcludeManagementEventSources": [str]}
    ],
    "AdvancedEventSelectors": [{"Name": str, "FieldSelectors": [{"Field": str}]}],
}


def trail_account(arn: str) -> str | None:
    m = _TRAIL_ARN.match(arn or "")
    return m.group(1) if m else None


@dataclass
class TrailState:
    """Everything the CloudTrail exports said, before they are matched to each other."""

    # account -> trail ARN (or name) -> trail facts
    trails: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    paths: dict[str, list[str]] = field(default_factory=dict)
    selectors: dict[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    statuses: dict[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)


def _place_unlisted(ts: TrailState) -> None:
    """Trails known only from get-event-selectors or get-trail-status (by ARN): recorded with what
    those say, every describe-trails fact unknown, so nothing read is dropped."""
    listed = {key for trails in ts.trails.values() for key in trails}
    listed |= {str(f.get("arn")) for trails in ts.trails.values() for f in trails.values()}
    listed |= {str(f.get("name")) for trails in ts.trails.values() for f in trails.values()}
    for arn in [*ts.selectors, *ts.statuses]:
        account = trail_account(arn)
        if account is None or arn in listed:
            continue
        listed.add(arn)
        facts: dict[str, Any] = {ours: None for ours in _FLAGS.values()}
        facts.update(
            {"name": arn.rpartition("/")[2], "arn": arn, "home_region": None, "owner_account": account}
        )
        ts.trails.setdefault(account, {})[arn] = facts


def _first_path(ts: TrailState, account: str) -> str | None:
    for arn, (path, _) in [*ts.selectors.items(), *ts.statuses.items()]:
        if trail_account(arn) == account:
            return path
    return None


def load_trails(ts: TrailState, doc: RawDocument, errors: list[tuple[str, str]]) -> None:
    """describe-trails output."""
    listed = doc.data.get("trailList")
    if not isinstance(listed, list):
        raise ValueError("trailList: expected a list")
    good: list[Mapping[str, Any]] = []
    for i, trail in enumerate(listed):
        try:
            check(trail, _TRAIL_SHAPE, nullable=False)
            if not trail.get("TrailARN") and not trail.get("Name"):
                raise ValueError("neither TrailARN nor Name")
        except ValueError as exc:
            errors.append((doc.path, f"trailList[{i}]{label(trail, 'Name')}: {exc}; skipped"))
            continue
        good.append(trail)
    scope = doc.scope.strip() if doc.scope else None
    if scope and not _ACCOUNT.match(scope):
        errors.append((doc.path, "SCOPE of describe-trails output must be a 12-digit account id; ignored"))
        scope = None
    if scope is None:
        owned = [
            trail_account(str(t.get("TrailARN") or "")) for t in good if not t.get("IsOrganizationTrail")
        ]
        anyone = [trail_account(str(t.get("TrailARN") or "")) for t in good]
        scope = next((a for a in owned if a), None) or next((a for a in anyone if a), None)
    if scope is None:
        raise ValueError(
            "describe-trails output names no account (no trail ARN); pass it as --input ACCOUNT_ID=FILE"
        )
    account = ts.trails.setdefault(scope, {})
    ts.paths.setdefault(scope, []).append(doc.path)
    for trail in good:
        arn = str(trail.get("TrailARN") or "")
        name = str(trail.get("Name") or arn.rpartition("/")[2])
        facts: dict[str, Any] = {
            "name": name,
            "arn": arn or None,
            "home_region": trail.get("HomeRegion"),
            **{ours: trail.get(theirs) for theirs, ours in _FLAGS.items()},
            "owner_account": trail_account(arn),
        }
        account.setdefault(arn or name, facts)


def load_selectors(ts: TrailState, doc: RawDocument) -> None:
    """get-event-selectors output (names its trail by ARN)."""
    check(doc.data, _SELECTOR_SHAPE, "get-event-selectors")
    arn = str(doc.data.get("TrailARN") or doc.scope or "")
    if not arn:
        raise ValueError("get-event-selectors output without TrailARN; pass it as --input TRAIL_ARN=FILE")
    ts.selectors[arn] = (doc.path, doc.data)


_STATUS_SHAPE = {"TrailARN": str, "IsLogging": bool, "LatestDeliveryError": str}


def load_status(ts: TrailState, doc: RawDocument, errors: list[tuple[str, str]]) -> None:
    """get-trail-status output (``--input TRAIL_ARN=FILE`` or ``TRAIL_NAME=FILE``), or nhiscan's
    combined form (``Trails: [{TrailARN, IsLogging, ...}]``)."""
    if doc.data.get("Kind") == TRAIL_STATUS_KIND:
        trails = doc.data.get("Trails")
        if not isinstance(trails, list):
            raise ValueError("Trails: expected a list")
        for i, item in enumerate(trails):
            try:
                check(item, _STATUS_SHAPE, nullable=False)
                if not item.get("TrailARN"):
                    raise ValueError("no TrailARN")
            except ValueError as exc:
                errors.append((doc.path, f"Trails[{i}]{label(item, 'TrailARN')}: {exc}; skipped"))
                continue
            ts.statuses[str(item["TrailARN"])] = (doc.path, item)
        return
    if not doc.scope:
        raise ValueError(
            "get-trail-status output does not name its trail; pass it as --input TRAIL_ARN=FILE "
            "(or TRAIL_NAME=FILE)"
        )
    check(doc.data, _STATUS_SHAPE, "get-trail-status")
    ts.statuses[doc.scope.strip()] = (doc.path, doc.data)


def finish(ts: TrailState, errors: list[tuple[str, str]]) -> tuple[list[LogConfig], list[SourceRef]]:
    """One LogConfig per account: its trails with their status and selectors matched in."""
    configs: list[LogConfig] = []
    sources: list[SourceRef] = []
    used: set[str] = set()
    _place_unlisted(ts)
    by_name: dict[str, list[tuple[str, str]]] = {}
    for account, trails in ts.trails.items():
        for key, facts in trails.items():
            by_name.setdefault(str(facts["name"]), []).append((account, key))
    for account in sorted(ts.trails):
        out = []
        for facts in ts.trails[account].values():
            trail = dict(facts)
            arn, name = str(trail.get("arn") or ""), str(trail["name"])
            status_key = arn if arn in ts.statuses else (name if name in ts.statuses else None)
            if status_key is not None and status_key == name and len(by_name.get(name, [])) > 1:
                status_key = None  # a name several accounts' trails share: not ours to guess
            status = ts.statuses[status_key][1] if status_key is not None else None
            if status_key is not None:
                used.add(status_key)
            trail["is_logging"] = status.get("IsLogging") if status is not None else None
            if status is not None and status.get("LatestDeliveryError"):
                trail["latest_delivery_error"] = str(status["LatestDeliveryError"])
            selected = ts.selectors.get(arn) if arn else None
            if selected is not None:
                used.add(arn)
                trail["event_selectors"] = list(selected[1].get("EventSelectors") or [])
                trail["advanced_event_selectors"] = list(selected[1].get("AdvancedEventSelectors") or [])
            else:
                trail["event_selectors"] = None
                trail["advanced_event_selectors"] = None
            out.append(trail)
        paths = ts.paths.get(account, [])
        # without describe-trails the account may have other trails: its list is not complete
        attrs = {"trails": out, "complete": bool(paths)}
        first = paths[0] if paths else _first_path(ts, account)
        configs.append(LogConfig(PROVIDER, KIND, account, attrs, first))
        sources.extend(SourceRef("aws-cloudtrail-trails", account, p) for p in paths)
    for key, (path, _) in ts.statuses.items():
        if key not in used:
            errors.append(
                (
                    path,
                    f"get-trail-status for trail {key}: no describe-trails output lists that trail "
                    "(give its ARN as SCOPE, or describe-trails alongside)",
                )
            )
        else:
            sources.append(SourceRef("aws-cloudtrail-trail-status", key, path))
    for arn, (path, _) in ts.selectors.items():
        if arn not in used:
            errors.append(
                (path, f"get-event-selectors for {arn}: no describe-trails output lists that trail")
            )
        else:
            sources.append(SourceRef("aws-cloudtrail-event-selectors", trail_account(arn), path))
    return configs, sources
