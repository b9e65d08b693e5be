"""Secret <-> identity correlation: which inventoried identity and credential a leaked secret belongs to.

The secret scanner records, next to a secret's redacted preview and hash, the public facts that
identify a credential without revealing it (``Secret.attributes``):

- AWS: ``key_id`` (the ``AKIA``/``ASIA`` access key id, found alone or next to its secret key);
- GCP service-account key JSON: ``private_key_id`` and ``client_email``;
- Azure client secret: ``client_id`` (an application id found nearby) and ``hint`` (the first three
  characters of the secret, which Entra ID keeps for every password credential).

The inventory names credentials the same way (``aws-access-key`` id = key id, ``gcp-sa-key`` id =
key id or its full resource name, ``azure-client-secret`` with a ``hint`` attribute on an identity
whose ``appId`` attribute is the client id). ``correlate(inventory)`` joins the two and groups every
leaked copy of one credential into one ``Leak``. Matching is exact on identifiers; nothing is
attributed on a guess (an Azure hint without a client id is never enough).

A match has a ``status``:
- ``active``: the credential exists and is enabled;
- ``inactive``: the credential exists but is disabled/deactivated;
- ``not-found``: the identity is known (GCP ``client_email``, Azure ``client_id``) but the leaked key
  is not among its current credentials: deleted or rotated since, or the inventory is partial;
- ``unverified``: an Azure client id without a hint: the application is known and holds enabled
  secrets, but which one leaked cannot be told, so it is treated as possibly active.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from nhiscan.model import Credential, Identity, Inventory, Location, Secret

ACTIVE = "active"
INACTIVE = "inactive"
NOT_FOUND = "not-found"
UNVERIFIED = "unverified"


@dataclass(frozen=True)
class Match:
    identity: Identity
    credential: Credential | None  # None: the identity is known, the exact credential is not
    status: str  # active | inactive | not-found | unverified
    matched_on: tuple[str, ...]  # e.g. ("key_id",), ("client_id", "hint")


@dataclass
class Leak:
    """Every leaked copy of one credential, joined to the identity that owns it."""

    identity: Identity
    credential: Credential | None
    status: str
    matched_on: tuple[str, ...]
    secrets: list[Secret] = field(default_factory=list)

    @property
    def locations(self) -> list[Location]:
        seen: dict[tuple[str, str, int, str], Location] = {}
        for s in self.secrets:
            loc = s.location
            seen.setdefault((loc.repository or "", loc.path, loc.line or 0, loc.commit or ""), loc)
        return [seen[k] for k in sorted(seen)]

    @property
    def secret_types(self) -> list[str]:
        return sorted({s.type for s in self.secrets})


def _last_segment(value: str) -> str:
    return value.rstrip("/").rsplit("/", 1)[-1].lower()


def _ci(value: object) -> str:
    return str(value).strip().lower()


@dataclass
class _Index:
    aws_keys: dict[str, tuple[Identity, Credential]] = field(default_factory=dict)
    gcp_keys: dict[str, tuple[Identity, Credential]] = field(default_factory=dict)
    gcp_emails: dict[str, Identity] = field(default_factory=dict)
    azure_apps: dict[str, list[Identity]] = field(default_factory=dict)


def _gcp_emails(ident: Identity) -> set[str]:
    out = {_ci(ident.attributes[k]) for k in ("email", "client_email") if ident.attributes.get(k)}
    for candidate in (ident.name, ident.id, _last_segment(ident.id)):
        if "@" in candidate and candidate.endswith(".gserviceaccount.com"):
            out.add(_ci(candidate))
    return out


def build_index(identities: Iterable[Identity]) -> _Index:
    idx = _Index()
    for ident in identities:
        for cred in ident.credentials:
            if cred.kind == "aws-access-key":
                idx.aws_keys.setdefault(cred.id.strip().upper(), (ident, cred))
            elif cred.kind == "gcp-sa-key":
                idx.gcp_keys.setdefault(_last_segment(cred.id), (ident, cred))
        if ident.provider == "gcp":
            for email in _gcp_emails(ident):
                idx.gcp_emails.setdefault(email, ident)
        if ident.provider == "azure":
            for key in ("appId", "app_id", "client_id"):
                app_id = ident.attributes.get(key)
                if app_id:
                    idx.azure_apps.setdefault(_ci(app_id), []).append(ident)
    return idx


def _status(cred: Credential) -> str:
    if cred.attributes.get("deleted") or str(cred.attributes.get("status", "")).lower() == "deleted":
        return NOT_FOUND
    return ACTIVE if cred.active else INACTIVE


def _placeholder(key_id: str, kind: str) -> Credential:
    """The leaked credential as far as the leak tells: its id, not present in the inventory."""
    return Credential(id=key_id, kind=kind, active=False, attributes={"in_inventory": False})


def match_secret(secret: Secret, idx: _Index) -> Match | None:
    attrs: Mapping[str, str] = secret.attributes
    key_id = attrs.get("key_id")
    if key_id:
        hit = idx.aws_keys.get(key_id.strip().upper())
        if hit:
            return Match(hit[0], hit[1], _status(hit[1]), ("key_id",))
    pkid = attrs.get("private_key_id")
    if pkid:
        hit = idx.gcp_keys.get(_last_segment(pkid))
        if hit:
            return Match(hit[0], hit[1], _status(hit[1]), ("private_key_id",))
    email = attrs.get("client_email")
    if email:
        owner = idx.gcp_emails.get(_ci(email))
        if owner is not None:
            # The service account is known but this key is not among its keys: deleted or rotated.
            cred = _placeholder(pkid.strip().lower(), "gcp-sa-key") if pkid else None
            return Match(owner, cred, NOT_FOUND, ("client_email",))
    client_id = attrs.get("client_id")
    if client_id:
        apps = idx.azure_apps.get(_ci(client_id), [])
        hint = attrs.get("hint")
        if hint:
            for ident in apps:
                for cred in ident.credentials:
                    if cred.kind == "azure-client-secret" and cred.attributes.get("hint") == hint:
                        return Match(ident, cred, _status(cred), ("client_id", "hint"))
        if apps:
            # The application is known, the secret is not (no hint, or no secret with that hint).
            # The application registration and its service principal may both carry the app id:
            # the owner is the one that holds client secrets.
            owner = next(
                (i for i in apps if any(c.kind == "azure-client-secret" for c in i.credentials)), apps[0]
            )
            live = any(c.kind == "azure-client-secret" and c.active for c in owner.credentials)
            status = UNVERIFIED if live and not hint else NOT_FOUND
            return Match(owner, None, status, ("client_id",))
    return None


def correlate(inventory: Inventory) -> list[Leak]:
    """One Leak per leaked credential (all its copies grouped), in a stable order."""
    idx = build_index(inventory.identities)
    leaks: dict[tuple[str, str], Leak] = {}
    for secret in inventory.secrets:
        m = match_secret(secret, idx)
        if m is None:
            continue
        key = (m.identity.id, m.credential.id if m.credential else "")
        leak = leaks.get(key)
        if leak is None:
            leak = leaks[key] = Leak(m.identity, m.credential, m.status, m.matched_on)
        elif len(m.matched_on) > len(leak.matched_on):
            leak.matched_on = m.matched_on
        leak.secrets.append(secret)
    return [leaks[k] for k in sorted(leaks)]


def leaks_by_identity(leaks: Iterable[Leak]) -> dict[str, list[Leak]]:
    out: dict[str, list[Leak]] = {}
    for leak in leaks:
        out.setdefault(leak.identity.id, []).append(leak)
    return out
