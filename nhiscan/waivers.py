"""Waivers: accepted risks, each with a reason, an owner and an expiry date.

``.nhiscan-waivers.yaml`` (default: in the current directory; or ``--waivers FILE``; or the
``waivers`` key of nhiscan.toml)::

    waivers:
      - fingerprint: "sha256:3f1c..."          # one finding exactly
        reason: Break-glass key kept offline, rotated quarterly
        owner: platform-security@example.com
        expires: 2027-03-31                     # last day the waiver applies
      - rule: leaked-credential-linked          # a rule id (glob allowed) ...
        identity: "arn:aws:iam::*:user/ci-*"    # ... plus an identity id (glob allowed)
        reason: Test account, keys rotated nightly
        owner: ci-team
        expires: 2026-12-31

Every entry needs ``reason``, ``owner`` and ``expires`` (a real calendar date), and either
``fingerprint`` (complete: ``sha256:`` and 64 hex digits) or both ``rule`` and ``identity``;
anything else (an unknown key, a rule id the catalog does not know, a date such as 2026-02-30) is an error naming the file, the line, the entry
and the key (exit 2). A
waiver past its expiry date (compared with the scan's ``--as-of`` day) no longer waives: the finding
counts again and its ``waiver`` record says ``expired: true``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from nhiscan.display import printable
from nhiscan.errors import InputError, NhiscanError
from nhiscan.model import Finding
from nhiscan.safeyaml import YamlProblem, construct, single_document
from nhiscan.sources.stream import read_input_bytes

DEFAULT_FILE = ".nhiscan-waivers.yaml"
_KEYS = {"fingerprint", "rule", "identity", "reason", "owner", "expires"}

# A waiver source answers, for one finding, the record that applies to it (or None). The record
# may say ``expired: true``: the finding is then shown with the record but not waived.
Matcher = Callable[[Finding], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Waiver:
    index: int
    reason: str
    owner: str
    expires: date
    fingerprint: str | None = None
    rule: str | None = None
    identity: str | None = None

    def matches(self, f: Finding) -> bool:
        if self.fingerprint is not None:
            # a fingerprint copied from an earlier version's report still names its finding
            return self.fingerprint in (f.fingerprint, f.legacy_fingerprint)
        assert self.rule is not None and self.identity is not None
        return (
            fnmatch.fnmatchcase(f.rule_id, self.rule)
            and f.identity_id is not None
            and fnmatch.fnmatchcase(f.identity_id, self.identity)
        )

    def selector(self) -> str:
        return (
            f"fingerprint {self.fingerprint}"
            if self.fingerprint
            else f"rule {self.rule} identity {self.identity}"
        )


@dataclass(frozen=True)
class WaiverSet:
    path: str
    waivers: tuple[Waiver, ...]
    today: date

    def record(self, w: Waiver) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "waiver",
            "source": self.path,
            "entry": w.index,
            "reason": w.reason,
            "owner": w.owner,
            "expires": w.expires.isoformat(),
            "expired": self.today > w.expires,
        }
        if w.fingerprint:
            out["fingerprint"] = w.fingerprint
        else:
            out["rule"] = w.rule
            out["identity"] = w.identity
        return out

    def match(self, f: Finding) -> Mapping[str, Any] | None:
        """The first valid waiver matching ``f``; else the first expired one (shown, not applied)."""
        expired: Mapping[str, Any] | None = None
        for w in self.waivers:
            if w.matches(f):
                rec = self.record(w)
                if not rec["expired"]:
                    return rec
                expired = expired or rec
        return expired

    def expired(self) -> list[Waiver]:
        return [w for w in self.waivers if self.today > w.expires]


# Line numbers of a loaded file: entry index -> {"": the entry's line, key: that key's line}.
Lines = Mapping[int, Mapping[str, int]]
_FINGERPRINT = re.compile(r"sha256:[0-9a-f]{64}")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[Tt ][0-9:.]+(?:[Zz]|[+-]\d{2}:?\d{2})?)?")


class _Loader(yaml.SafeLoader):
    """Safe YAML that leaves dates as text: PyYAML would raise on a date that does not exist
    (2026-02-30) while loading, before nhiscan could say which entry holds it."""


def _date_as_text(loader: _Loader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _date_as_text)


class _Errors:
    """Builds the one-line errors of a waivers file: file[:line]: waiver entry #N: message."""

    def __init__(self, path: str, lines: Lines | None) -> None:
        self.path = path
        self.lines = lines or {}

    def entry(self, index: int, message: str, key: str | None = None) -> NhiscanError:
        at = self.lines.get(index, {})
        line = (at.get(key) if key else None) or at.get("")
        where = f"{self.path}:{line}" if line else self.path
        return NhiscanError(f"{where}: waiver entry #{index}: {message}")


def _text(entry: Mapping[str, Any], key: str, index: int, errors: _Errors) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise errors.entry(index, f"{key!r} is required and must be a non-empty string", key)
    return value.strip()


def _expiry(value: Any, index: int, errors: _Errors) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    m = _DATE.fullmatch(value.strip()) if isinstance(value, str) else None
    if m is None:
        raise errors.entry(index, "'expires' must be a date YYYY-MM-DD", "expires")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:  # "day is out of range for month", "month must be in 1..12"
        raise errors.entry(index, f"'expires' is not a calendar date: {exc}", "expires") from None


def parse_waivers(
    data: Any, path: str, today: date, known_rules: Iterable[str] = (), lines: Lines | None = None
) -> WaiverSet:
    errors = _Errors(path, lines)
    entries = data.get("waivers") if isinstance(data, Mapping) else data
    if data is None:
        entries = []
    if isinstance(data, Mapping) and set(data) - {"waivers"}:
        raise NhiscanError(f"{path}: unknown top-level key(s): {', '.join(sorted(set(data) - {'waivers'}))}")
    if not isinstance(entries, list):
        raise NhiscanError(f"{path}: expected a list of waivers (or a mapping with a 'waivers' list)")
    known = set(known_rules)
    out: list[Waiver] = []
    for n, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping):
            raise errors.entry(n, "must be a mapping")
        unknown = sorted(map(str, set(entry) - _KEYS))
        if unknown:
            raise errors.entry(n, f"unknown key(s): {', '.join(unknown)}", unknown[0])
        reason = _text(entry, "reason", n, errors)
        owner = _text(entry, "owner", n, errors)
        if "expires" not in entry:
            raise errors.entry(n, "'expires' is required (a date YYYY-MM-DD)")
        expires = _expiry(entry["expires"], n, errors)
        if "fingerprint" in entry:
            if "rule" in entry or "identity" in entry:
                raise errors.entry(n, "give either 'fingerprint' or 'rule' + 'identity', not both")
            fp = _text(entry, "fingerprint", n, errors)
            if not _FINGERPRINT.fullmatch(fp):  # a typo would never match: silently no waiver at all
                raise errors.entry(
                    n,
                    "'fingerprint' must be a finding fingerprint (sha256: and 64 hex digits)",
                    "fingerprint",
                )
            out.append(Waiver(n, reason, owner, expires, fingerprint=fp))
            continue
        if "rule" not in entry or "identity" not in entry:
            raise errors.entry(n, "needs 'fingerprint', or both 'rule' and 'identity'")
        rule = _text(entry, "rule", n, errors)
        identity = _text(entry, "identity", n, errors)
        if known and not any(c in rule for c in "*?[") and rule not in known:
            raise errors.entry(n, f"unknown rule {printable(rule)!r} (see `nhiscan rules`)", "rule")
        out.append(Waiver(n, reason, owner, expires, rule=rule, identity=identity))
    return WaiverSet(path, tuple(out), today)


def load_waivers(path: str, today: date, known_rules: Iterable[str] = ()) -> WaiverSet:
    try:
        text = read_input_bytes(path).decode("utf-8")  # a FIFO cannot hang the scan
    except InputError as exc:
        detail = "waivers file not found" if exc.detail == "file not found" else exc.detail
        raise NhiscanError(f"{path}: {detail}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NhiscanError(f"{path}: cannot read waivers: {exc}") from None
    try:
        node = single_document(text)  # bounded: an alias bomb or a duplicate key is an error
        data = construct(node, _Loader) if node is not None else None
    except YamlProblem as exc:
        raise NhiscanError(f"{path}: {exc.detail}") from None
    return parse_waivers(data, path, today, known_rules, _entry_lines(node))


def _entry_lines(node: yaml.Node | None) -> dict[int, dict[str, int]]:
    """Where each entry and each of its keys starts (1-based lines), from the composed YAML."""
    if isinstance(node, yaml.MappingNode):
        node = next((v for k, v in node.value if getattr(k, "value", None) == "waivers"), None)
    if not isinstance(node, yaml.SequenceNode):
        return {}
    out: dict[int, dict[str, int]] = {}
    for n, item in enumerate(node.value, start=1):
        at = {"": item.start_mark.line + 1}
        if isinstance(item, yaml.MappingNode):
            at.update({str(k.value): k.start_mark.line + 1 for k, _ in item.value})
        out[n] = at
    return out


def resolve_path(explicit: str | None, from_settings: str | None, cwd: Path | None = None) -> str | None:
    """--waivers, else nhiscan.toml's ``waivers``, else ./.nhiscan-waivers.yaml when it exists."""
    if explicit:
        return explicit
    if from_settings:
        return from_settings
    default = (cwd or Path.cwd()) / DEFAULT_FILE
    return str(default) if default.is_file() else None


def first_match(matchers: Sequence[Matcher]) -> Matcher:
    """One matcher from several: the first active (non-expired) record wins; an expired record is
    returned only when no source waives the finding, so that reports can say it expired."""

    def match(f: Finding) -> Mapping[str, Any] | None:
        fallback: Mapping[str, Any] | None = None
        for m in matchers:
            rec = m(f)
            if rec is None:
                continue
            if not rec.get("expired"):
                return rec
            fallback = fallback or rec
        return fallback

    return match
