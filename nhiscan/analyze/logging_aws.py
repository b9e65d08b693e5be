"""AWS: does CloudTrail record an account's identity calls (IAM and STS), read and write, denied too?

A trail records them when it is multi-region (STS has regional endpoints), includes global service
events (IAM's), is logging, and its selectors take management events of ``iam.amazonaws.com`` and
``sts.amazonaws.com`` for both read and write. Denied calls (``errorCode`` AccessDenied) are
management events like any other: whatever a trail leaves out of them, it leaves out denied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nhiscan.model import LogConfig

if TYPE_CHECKING:
    from nhiscan.analyze.logging import ScopeVerdict

IDENTITY_SOURCES = ("iam.amazonaws.com", "sts.amazonaws.com")
MODES = ("read", "write")
_RANK = {"no": 0, "some": 1, "yes": 2}
NOT_LOGGED_RULE = "aws-identity-calls-not-logged"
VALIDATION_RULE = "aws-trail-no-log-validation"
# The fields of a management event an advanced selector may test that nhiscan evaluates.
_KNOWN_FIELDS = ("eventCategory", "eventSource", "readOnly")


def _field_test(selector: Mapping[str, Any], value: str) -> bool:
    """Whether one field selector's operators all accept ``value`` (AND of its operators)."""
    v = value.lower()

    def vals(key: str) -> list[str]:
        raw = selector.get(key) or []
        return [str(x).lower() for x in raw] if isinstance(raw, list) else [str(raw).lower()]

    tests: tuple[tuple[str, Callable[[list[str]], bool]], ...] = (
        ("Equals", lambda xs: v in xs),
        ("NotEquals", lambda xs: v not in xs),
        ("StartsWith", lambda xs: any(v.startswith(x) for x in xs)),
        ("NotStartsWith", lambda xs: not any(v.startswith(x) for x in xs)),
        ("EndsWith", lambda xs: any(v.endswith(x) for x in xs)),
        ("NotEndsWith", lambda xs: not any(v.endswith(x) for x in xs)),
    )
    return all(test(vals(key)) for key, test in tests if selector.get(key) is not None)


def advanced_capture(selectors: Sequence[Any], source: str, mode: str) -> str:
    """yes / some / no: do these advanced selectors take management events of ``source`` in ``mode``?

    Selectors are ORed, the field selectors of one are ANDed. A condition on a field nhiscan does
    not evaluate (eventName, userIdentity.arn, ...) makes a matching selector take only ``some``.
    """
    event = {"eventcategory": "management", "eventsource": source, "readonly": str(mode == "read")}
    best = "no"
    for sel in selectors:
        fields = sel.get("FieldSelectors") if isinstance(sel, Mapping) else None
        if not isinstance(fields, list):
            continue
        names = {str(f.get("Field", "")).lower() for f in fields if isinstance(f, Mapping)}
        if "eventcategory" not in names:
            continue  # no category: not a management-event selector
        verdict = "yes"
        for fs in fields:
            if not isinstance(fs, Mapping):
                continue
            name = str(fs.get("Field", "")).lower()
            if name in event:
                if not _field_test(fs, event[name]):
                    verdict = "no"
                    break
            else:
                verdict = "some"
        if _RANK[verdict] > _RANK[best]:
            best = verdict
    return best


def basic_capture(selectors: Sequence[Any], source: str, mode: str) -> str:
    best = "no"
    for sel in selectors:
        if not isinstance(sel, Mapping) or sel.get("IncludeManagementEvents") is False:
            continue
        rw = str(sel.get("ReadWriteType") or "All").lower()
        if rw == "all" or (rw == "readonly") == (mode == "read"):
            excluded = [str(x).lower() for x in sel.get("ExcludeManagementEventSources") or []]
            if source not in excluded:
                return "yes"
    return best


def capture(trail: Mapping[str, Any]) -> dict[str, dict[str, str | None]]:
    """``{source: {read|write: yes|some|no|None}}`` by the trail's selectors (None: unknown)."""
    basic, advanced = trail.get("event_selectors"), trail.get("advanced_event_selectors")
    out: dict[str, dict[str, str | None]] = {}
    for source in IDENTITY_SOURCES:
        out[source] = {}
        for mode in MODES:
            value: str | None
            if not basic and not advanced:
                # no selectors known (no get-event-selectors, or empty lists): a trail without custom
                # selectors takes every management event, read and write (CloudTrail's default)
                custom = trail.get("has_custom_event_selectors")
                value = "yes" if custom is False else ("no" if custom and basic is not None else None)
            elif advanced:
                value = advanced_capture(advanced, source, mode)
            else:
                value = basic_capture(basic or [], source, mode)
            out[source][mode] = value
    return out


def _trail_reasons(trail: Mapping[str, Any], cap: Mapping[str, Mapping[str, str | None]]) -> list[str]:
    """Why this trail falls short of recording every identity call (empty: it does not)."""
    name = str(trail.get("name"))
    out: list[str] = []
    if trail.get("is_logging") is False:
        out.append(f"trail {name} is not logging (IsLogging false)")
    if trail.get("multi_region") is False:
        out.append(
            f"trail {name} is single-region ({trail.get('home_region') or 'its home region'}): STS calls to other regions' endpoints are not captured"
        )
    if trail.get("global_service_events") is False:
        out.append(f"trail {name} excludes global service events: IAM calls are not captured")
    for source in IDENTITY_SOURCES:
        short = source.split(".")[0].upper()
        for mode in MODES:
            value = cap[source][mode]
            if value == "no":
                out.append(f"trail {name}'s event selectors leave out {short} {mode} calls")
            elif value == "some":
                out.append(f"trail {name}'s event selectors take only some {short} {mode} calls")
    return out


def _effective(
    trail: Mapping[str, Any], cap: Mapping[str, Mapping[str, str | None]]
) -> dict[str, dict[str, str | None]]:
    """What the trail actually records, once logging state, region and global events are applied."""
    out: dict[str, dict[str, str | None]] = {}
    for source in IDENTITY_SOURCES:
        out[source] = {}
        for mode in MODES:
            value = cap[source][mode]
            if trail.get("is_logging") is False:
                value = "no"
            elif value is not None and trail.get("is_logging") is None:
                value = None if value != "no" else "no"
            if value == "yes" and trail.get("multi_region") is not True:
                value = "some" if trail.get("multi_region") is False else None
            if (
                value in ("yes", "some")
                and source == "iam.amazonaws.com"
                and trail.get("global_service_events") is False
            ):
                value = "no"
            out[source][mode] = value
    return out


def _best(values: Sequence[str | None]) -> str | None:
    known = [v for v in values if v is not None]
    top = max(known, key=lambda v: _RANK[v], default=None)
    if top == "yes":
        return "yes"
    if any(v is None for v in values):
        return None
    return top


def evaluate_account(cfg: LogConfig) -> ScopeVerdict:
    from nhiscan.analyze.logging import ScopeVerdict

    trails = [t for t in cfg.attributes.get("trails") or () if isinstance(t, Mapping)]
    verdict = ScopeVerdict(scope=cfg.scope, status="unknown", what="CloudTrail", source=cfg.path)
    if not trails:
        verdict.status = "not-logged"
        verdict.not_logged.append("IAM and STS calls, denied calls included (no trail)")
        verdict.gaps.append(
            _gap(
                NOT_LOGGED_RULE,
                "high",
                f"Account {cfg.scope} has no CloudTrail trail: its identity calls (IAM, STS), denied calls "
                "included, are kept only in the 90-day Event history, which cannot be retained, "
                "validated or sent to a SIEM.",
                cfg.scope,
            )
        )
        return verdict
    per_trail = []
    for trail in trails:
        cap = capture(trail)
        per_trail.append((trail, cap, _effective(trail, cap)))
    matrix: dict[str, dict[str, str | None]] = {
        s: {m: _best([eff[s][m] for _, _, eff in per_trail]) for m in MODES} for s in IDENTITY_SOURCES
    }
    verdict.details = {
        "captured": matrix,
        "trails": [
            {
                "name": t.get("name"),
                "arn": t.get("arn"),
                "organization_trail": t.get("organization_trail"),
                "multi_region": t.get("multi_region"),
                "is_logging": t.get("is_logging"),
                "log_file_validation": t.get("log_file_validation"),
            }
            for t, _, _ in per_trail
        ],
    }
    cells = [matrix[s][m] for s in IDENTITY_SOURCES for m in MODES]
    full = [t for t, _, eff in per_trail if all(eff[s][m] == "yes" for s in IDENTITY_SOURCES for m in MODES)]
    for source in IDENTITY_SOURCES:
        short = source.split(".")[0].upper()
        for mode in MODES:
            value = matrix[source][mode]
            text = f"{short} {mode} calls"
            if value == "yes":
                verdict.logged.append(text)
            elif value == "some":
                verdict.not_logged.append(f"{text}, denied ones included (only some are taken)")
            elif value == "no":
                verdict.not_logged.append(f"{text}, denied ones included")
    reasons = [r for t, cap, _ in per_trail for r in _trail_reasons(t, cap)]
    read_missing = any(matrix[s]["read"] != "yes" and matrix[s]["read"] is not None for s in IDENTITY_SOURCES)
    if full:
        if any(t.get("log_file_validation") is True for t in full):
            verdict.status = "logged"
        else:
            verdict.status = "partial"
            verdict.not_logged.append("log file integrity (no log file validation)")
    elif all(c == "no" for c in cells):
        verdict.status = "not-logged"
    elif any(c in ("some", "no") for c in cells):
        verdict.status = "partial"  # something is left out for certain; the rest may be unknown
    else:
        verdict.status = "unknown"
        missing = [
            str(t.get("name"))
            for t, cap, _ in per_trail
            if t.get("is_logging") is None or any(v is None for s in cap.values() for v in s.values())
        ]
        verdict.details["reason"] = (
            "whether trail(s) " + ", ".join(missing) + " log identity calls is unknown: add "
            "get-trail-status (--input TRAIL_ARN=FILE) and get-event-selectors"
        )
    if not full and cfg.attributes.get("complete") is False:
        # only get-trail-status / get-event-selectors were given: other trails may record the rest
        verdict.status = "unknown"
        verdict.details["reason"] = (
            "no describe-trails output lists the account's trails; the trails known here do not "
            "record every identity call, others may (add aws cloudtrail describe-trails)"
        )
    if verdict.status in ("not-logged", "partial") and not full:
        denied = (
            "Denied calls are management events: they are not captured either."
            if verdict.status == "not-logged"
            else "Denied calls are management events: denied read calls (an identity probing its "
            "permissions with List/Get calls) are not captured."
            if read_missing
            else "Denied calls are management events: those the gaps above leave out are not captured."
        )
        lead = (
            f"Account {cfg.scope}: no trail records its identity calls."
            if verdict.status == "not-logged"
            else f"Account {cfg.scope}: no trail records every identity call (IAM and STS, read and write, every region)."
        )
        verdict.gaps.append(
            _gap(
                NOT_LOGGED_RULE,
                "high" if verdict.status == "not-logged" else "medium",
                " ".join([lead, "; ".join(reasons) + "." if reasons else "", denied]).replace("  ", " "),
                cfg.scope,
                {"captured": matrix, "reasons": reasons},
            )
        )
    for trail, _, eff in per_trail:
        records = any(eff[s][m] in ("yes", "some") for s in IDENTITY_SOURCES for m in MODES)
        if records and trail.get("log_file_validation") is False:
            verdict.gaps.append(
                _gap(
                    VALIDATION_RULE,
                    None,
                    f"Trail {trail.get('name')} (account {cfg.scope}) records identity calls without "
                    "log file validation: a deleted or edited log file cannot be detected.",
                    f"{cfg.scope}:{trail.get('arn') or trail.get('name')}",
                    {"trail": trail.get("arn") or trail.get("name")},
                )
            )
    return verdict


def _gap(
    rule: str, severity: str | None, message: str, key: str, evidence: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"rule": rule, "message": message, "key": key}
    if severity:
        out["severity"] = severity
    if evidence:
        out["evidence"] = dict(evidence)
    return out
