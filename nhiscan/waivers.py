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

Every entry needs ``reason``, ``owner`` and ``expires``, and either ``fingerprint`` or both
``rule`` and ``identity``; anything else is an error naming the file and the entry (exit 2). A
waiver past its expiry date (compared with the scan's ``--as-of`` day) no longer waives: the finding
counts again and its ``waiver`` record says ``expired: true``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from nhiscan.errors import NhiscanError
from nhiscan.model import Finding

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


def _entry_error(path: str, index: int, message: str) -> NhiscanError:
    return NhiscanError(f"{path}: waiver entry #{index}: {message}")


def _text(entry: Mapping[str, Any], key: str, path: str, index: int) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _entry_error(path, index, f"{key!r} is required and must be a non-empty string")
    return value.strip()


def _expiry(value: Any, path: str, index: int) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _entry_error(path, index, f"'expires' must be a date YYYY-MM-DD (got {value!r})")


def parse_waivers(data: Any, path: str, today: date, known_rules: Iterable[str] = ()) -> WaiverSet:
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
            raise _entry_error(path, n, "must be a mapping")
        unknown = set(entry) - _KEYS
        if unknown:
            raise _entry_error(path, n, f"unknown key(s): {', '.join(sorted(map(str, unknown)))}")
        reason = _text(entry, "reason", path, n)
        owner = _text(entry, "owner", path, n)
        if "expires" not in entry:
            raise _entry_error(path, n, "'expires' is required (a date YYYY-MM-DD)")
        expires = _expiry(entry["expires"], path, n)
        if "fingerprint" in entry:
            if "rule" in entry or "identity" in entry:
                raise _entry_error(path, n, "give either 'fingerprint' or 'rule' + 'identity', not both")
            fp = _text(entry, "fingerprint", path, n)
            if not fp.startswith("sha256:"):
                raise _entry_error(path, n, "'fingerprint' must be a finding fingerprint (sha256:...)")
            out.append(Waiver(n, reason, owner, expires, fingerprint=fp))
            continue
        if "rule" not in entry or "identity" not in entry:
            raise _entry_error(path, n, "needs 'fingerprint', or both 'rule' and 'identity'")
        rule = _text(entry, "rule", path, n)
        identity = _text(entry, "identity", path, n)
        if known and not any(c in rule for c in "*?[") and rule not in known:
            raise _entry_error(path, n, f"unknown rule {rule!r} (see `nhiscan rules`)")
        out.append(Waiver(n, reason, owner, expires, rule=rule, identity=identity))
    return WaiverSet(path, tuple(out), today)


def load_waivers(path: str, today: date, known_rules: Iterable[str] = ()) -> WaiverSet:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NhiscanError(f"{path}: waivers file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NhiscanError(f"{path}: cannot read waivers: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise NhiscanError(f"{path}: invalid YAML: {exc}".replace("\n", " ")) from None
    return parse_waivers(data, path, today, known_rules)


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
