"""A user's credentials: console password, access keys (list-access-keys and the credential report's
two slots matched by creation time), signing certificates, SSH keys, service-specific credentials."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nhiscan.model import Credential
from nhiscan.sources.aws.state import Account, State
from nhiscan.sources.aws.values import clean, is_active, parse_bool
from nhiscan.sources.timeparse import parse_time


@dataclass
class _Key:
    id: str | None
    created: datetime | None
    active: bool
    last_used: datetime | None = None
    service: str | None = None
    region: str | None = None
    slot: int | None = None


def user_credentials(
    st: State, acct: Account, name: str, arn: str, row: Mapping[str, str]
) -> tuple[list[Credential], dict[str, Any]]:
    creds: list[Credential] = []
    facts: dict[str, Any] = {}
    extras = acct.extras
    login = (extras.get("LoginProfiles") or {}).get(name)
    mfa_devices = (extras.get("MFADevices") or {}).get(name) or []
    mfa_active = parse_bool(row.get("mfa_active")) or bool(mfa_devices)
    pw_field = str(row.get("password_enabled", "")).strip().lower()
    password = (
        pw_field == "true" or login is not None or (name == "<root_account>" and pw_field == "not_supported")
    )
    facts["mfa_active"] = mfa_active
    facts["password_enabled"] = password
    if password:
        created = parse_time(row.get("password_last_changed")) or parse_time((login or {}).get("CreateDate"))
        attrs: dict[str, Any] = {"mfa_active": mfa_active}
        nxt = parse_time(row.get("password_next_rotation"))
        if login and "PasswordResetRequired" in login:
            attrs["password_reset_required"] = bool(login["PasswordResetRequired"])
        creds.append(
            Credential(
                id=f"{arn}/console-password",
                kind="aws-console-password",
                created=created,
                last_used=parse_time(row.get("password_last_used")),
                expires=nxt,
                active=True,
                attributes=attrs,
            )
        )
    creds.extend(access_keys(st, acct, name, arn, row))
    creds.extend(certificates(st, acct, name, arn, row))
    for item in (extras.get("SSHPublicKeys") or {}).get(name) or []:
        creds.append(
            Credential(
                id=str(item.get("SSHPublicKeyId")),
                kind="aws-ssh-key",
                created=parse_time(item.get("UploadDate")),
                active=is_active(item.get("Status")),
            )
        )
    for item in (extras.get("ServiceSpecificCredentials") or {}).get(name) or []:
        creds.append(
            Credential(
                id=str(item.get("ServiceSpecificCredentialId")),
                kind="aws-service-specific-credential",
                created=parse_time(item.get("CreateDate")),
                active=is_active(item.get("Status")),
                attributes={"service": str(item.get("ServiceName", ""))},
            )
        )
    return creds, facts


def access_keys(st: State, acct: Account, name: str, arn: str, row: Mapping[str, str]) -> list[Credential]:
    last_used_extra = acct.extras.get("AccessKeyLastUsed") or {}
    listed = [
        _Key(
            id=str(k),
            created=parse_time(item.get("CreateDate")),
            active=is_active(item.get("Status")),
            last_used=parse_time(item.get("LastUsedDate")),
            service=clean(item.get("ServiceName")),
            region=clean(item.get("Region")),
        )
        for k, item in (acct.keys.get(name) or {}).items()
    ]
    slots = []
    for n, created, active in _report_slots(row, "access_key"):
        slots.append(
            _Key(
                id=None,
                created=created,
                active=active,
                last_used=parse_time(row.get(f"access_key_{n}_last_used_date")),
                service=clean(row.get(f"access_key_{n}_last_used_service")),
                region=clean(row.get(f"access_key_{n}_last_used_region")),
                slot=n,
            )
        )
    merged: list[_Key] = []
    remaining = list(listed)
    for slot in slots:
        match = _closest(slot, remaining)
        if match is not None:
            remaining.remove(match)
            merged.append(
                _Key(
                    id=match.id,
                    created=match.created or slot.created,
                    active=match.active,
                    last_used=match.last_used or slot.last_used,
                    service=match.service or slot.service,
                    region=match.region or slot.region,
                    slot=slot.slot,
                )
            )
        else:
            merged.append(slot)
    merged.extend(remaining)
    out = []
    for key in merged:
        extra = last_used_extra.get(key.id) if key.id else None
        if extra:
            key.last_used = key.last_used or parse_time(extra.get("LastUsedDate"))
            key.service = key.service or clean(extra.get("ServiceName"))
            key.region = key.region or clean(extra.get("Region"))
        attrs: dict[str, Any] = {}
        if key.service:
            attrs["last_used_service"] = key.service
        if key.region:
            attrs["last_used_region"] = key.region
        if key.slot:
            attrs["report_slot"] = key.slot
        out.append(
            Credential(
                id=key.id or f"{arn}/access-key-{key.slot}",
                kind="aws-access-key",
                created=key.created,
                last_used=key.last_used,
                active=key.active,
                attributes=attrs,
            )
        )
    return out


def certificates(st: State, acct: Account, name: str, arn: str, row: Mapping[str, str]) -> list[Credential]:
    listed = (acct.extras.get("SigningCertificates") or {}).get(name) or []
    if listed:
        return [
            Credential(
                id=str(c.get("CertificateId")),
                kind="aws-signing-certificate",
                created=parse_time(c.get("UploadDate")),
                active=is_active(c.get("Status")),
            )
            for c in listed
        ]
    out = []
    for n, created, active in _report_slots(row, "cert"):
        out.append(
            Credential(
                id=f"{arn}/signing-certificate-{n}",
                kind="aws-signing-certificate",
                created=created,
                active=active,
            )
        )
    return out


def _report_slots(row: Mapping[str, str], prefix: str) -> Iterator[tuple[int, datetime | None, bool]]:
    """The credential report's two slots of ``prefix`` (access_key, cert) that hold a credential:
    (slot, last rotated, active)."""
    for n in (1, 2):
        created = parse_time(row.get(f"{prefix}_{n}_last_rotated"))
        active = parse_bool(row.get(f"{prefix}_{n}_active"))
        if created is not None or active:
            yield n, created, active


def _closest(slot: _Key, candidates: Sequence[_Key]) -> _Key | None:
    """The listed key whose creation time matches the report slot's last-rotated time (to 2 minutes)."""
    if not candidates:
        return None
    if slot.created is None:
        return None
    best = min(
        candidates,
        key=lambda k: abs((k.created - slot.created).total_seconds()) if k.created and slot.created else 1e18,
    )
    if best.created and abs((best.created - slot.created).total_seconds()) <= 120:
        return best
    return None
