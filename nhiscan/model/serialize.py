"""JSON form of the model: the `nhiscan inventory` document and the `nhiscan/v1` scan result.

Both directions live here so that what `inventory` writes, `scan --input` reads back unchanged,
and what `scan --format json` writes, `nhiscan report` re-renders unchanged.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar

from nhiscan import secret_ids
from nhiscan.model import (
    INVENTORY_SCHEMA,
    Credential,
    Grant,
    Identity,
    Inventory,
    Location,
    LogConfig,
    Observation,
    Reachable,
    Risk,
    Secret,
    SourceRef,
    Trust,
)
from nhiscan.model.fields import _dict as _dict
from nhiscan.model.fields import _list as _list
from nhiscan.model.fields import _opt_str as _opt_str
from nhiscan.model.fields import _strs as _strs
from nhiscan.model.fields import bool_in as bool_in
from nhiscan.model.fields import dt_in as dt_in
from nhiscan.model.fields import dt_out as dt_out
from nhiscan.model.jsonstream import Lazy
from nhiscan.model.jsonstream import dumps_document as dumps_document  # its callers' import

T = TypeVar("T")


def location_out(loc: Location | None) -> dict[str, Any] | None:
    if loc is None:
        return None
    out: dict[str, Any] = {"path": loc.path, "line": loc.line}
    if loc.commit:
        out["commit"] = loc.commit
    if loc.repository:
        out["repository"] = loc.repository
    if loc.repository_name:
        out["repository_name"] = loc.repository_name
    if loc.author_date is not None:
        out["author_date"] = dt_out(loc.author_date)
    if loc.in_tree is not None:
        out["in_tree"] = loc.in_tree
    if loc.commits is not None:
        out["commits"] = loc.commits
    return out


def location_in(data: Mapping[str, Any] | None) -> Location | None:
    if not data:
        return None
    if not isinstance(data, Mapping):
        raise ValueError(f"location: expected an object, got {type(data).__name__}")
    line = data.get("line")
    if line is not None and (isinstance(line, bool) or not isinstance(line, int)):
        raise ValueError("location.line: expected a number")
    return Location(
        path=str(data["path"]),
        line=line,
        commit=_opt_str(data.get("commit"), "location.commit"),
        repository=_opt_str(data.get("repository"), "location.repository"),
        repository_name=_opt_str(data.get("repository_name"), "location.repository_name"),
        author_date=dt_in(data.get("author_date"), "location.author_date"),
        in_tree=None
        if data.get("in_tree") is None
        else bool_in(data.get("in_tree"), "location.in_tree", False),
        commits=_opt_count(data.get("commits"), "location.commits"),
    )


def _opt_count(value: Any, field_name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{field_name}: expected a count")
    return value


def _word(value: Any) -> str:
    """``str(value)``, one shared object for each distinct value: the few words every record repeats
    (provider, kind, scope, effect) are then held once, not once per identity read back, and the
    analysis, which compares them for every identity, reads one string instead of hundreds of
    thousands of copies scattered over the heap."""
    return sys.intern(str(value))


def credential_out(c: Credential) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": c.id,
        "kind": c.kind,
        "created": dt_out(c.created),
        "last_used": dt_out(c.last_used),
        "expires": dt_out(c.expires),
        "active": c.active,
    }
    if c.attributes:
        out["attributes"] = dict(c.attributes)
    return out


def credential_in(d: Mapping[str, Any]) -> Credential:
    return Credential(
        id=str(d["id"]),
        kind=_word(d["kind"]),
        created=dt_in(d.get("created"), "created"),
        last_used=dt_in(d.get("last_used"), "last_used"),
        expires=dt_in(d.get("expires"), "expires"),
        active=bool_in(d.get("active"), "active", True),
        attributes=_dict(d.get("attributes"), "credential.attributes"),
    )


def grant_out(g: Grant) -> dict[str, Any]:
    out: dict[str, Any] = {"effect": g.effect, "scope": g.scope, "via": g.via}
    for name in ("actions", "not_actions", "resources", "not_resources"):
        value = getattr(g, name)
        if value:
            out[name] = list(value)
    if g.inherited_from:
        out["inherited_from"] = g.inherited_from
    if g.role:
        out["role"] = g.role
    if g.boundary:
        out["boundary"] = True
    if g.condition:
        out["condition"] = dict(g.condition)
    return out


def grant_in(d: Mapping[str, Any]) -> Grant:
    return Grant(
        effect=_word(d.get("effect", "Allow")),
        actions=_strs(d.get("actions"), "grant.actions"),
        not_actions=_strs(d.get("not_actions"), "grant.not_actions"),
        resources=_strs(d.get("resources"), "grant.resources"),
        not_resources=_strs(d.get("not_resources"), "grant.not_resources"),
        scope=_word(d.get("scope", "")),
        via=str(d.get("via", "")),
        inherited_from=_opt_str(d.get("inherited_from"), "grant.inherited_from"),
        role=_opt_str(d.get("role"), "grant.role"),
        boundary=bool_in(d.get("boundary"), "boundary", False),
        condition=_dict(d.get("condition"), "grant.condition") or None,
    )


def shared_grant_in(d: Any, cache: dict[tuple[Any, ...], Grant]) -> Grant:
    """``grant_in``, one Grant for every record of the same content: an inventory repeats a managed
    policy's statements (hundreds of actions each) in every identity it is attached to, and read
    back they are held once, as normalization holds them."""
    if not isinstance(d, Mapping) or d.get("condition"):
        return grant_in(d)
    try:  # by value and type (true and 1 are equal keys but not equally valid)
        key = tuple((k, type(v), tuple(v) if isinstance(v, list) else v) for k, v in d.items())
        hit = cache.get(key)
    except TypeError:  # something unhashable in a field: read it alone
        return grant_in(d)
    if hit is None:
        hit = cache[key] = grant_in(d)
    return hit


def trust_out(t: Trust) -> dict[str, Any]:
    return {
        "principal_type": t.principal_type,
        "principal": t.principal,
        "actions": list(t.actions),
        "effect": t.effect,
        "conditions": dict(t.conditions),
    }


def trust_in(d: Mapping[str, Any]) -> Trust:
    return Trust(
        principal_type=_word(d["principal_type"]),
        principal=str(d["principal"]),
        actions=_strs(d.get("actions"), "trust.actions"),
        effect=_word(d.get("effect", "Allow")),
        conditions=_dict(d.get("conditions"), "trust.conditions"),
    )


def identity_out(
    i: Identity, risk: Risk | None = None, *, grants: bool = True, reach: Reachable | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": i.id,
        "provider": i.provider,
        "kind": i.kind,
        "name": i.name,
        "scope": i.scope,
        "owner": i.owner,
        "nonhuman": i.nonhuman,
        "classification": i.classification,
    }
    if risk is not None:
        out["risk_score"] = risk.score
        out["risk_level"] = risk.level
        out["risk_factors"] = list(risk.factors)
    if reach is not None:
        out["reachable_privilege"] = reach.level
        out["escalation_path"] = [dict(h) for h in reach.path]
    out.update(
        {
            "created": dt_out(i.created),
            "last_used": dt_out(i.last_used),
            "tags": dict(i.tags),
            "credentials": [credential_out(c) for c in i.credentials],
            **({"grants": [grant_out(g) for g in i.grants]} if grants else {}),
            "trusts": [trust_out(t) for t in i.trusts],
            "attributes": dict(i.attributes),
        }
    )
    return out


def _each(read: Callable[[Any], T], items: list[Any], field_name: str) -> Iterator[T]:
    """Each item read; a ValueError names the item's index (``credentials[1].created: ...``)."""
    for i, item in enumerate(items):
        try:
            yield read(item)
        except ValueError as exc:
            raise ValueError(f"{field_name}[{i}].{exc}") from None


def identity_in(d: Mapping[str, Any], grants: dict[tuple[Any, ...], Grant] | None = None) -> Identity:
    """An identity record; ``grants``: a cache shared by the records of a document."""
    read_grant = grant_in if grants is None else functools.partial(shared_grant_in, cache=grants)
    return Identity(
        id=str(d["id"]),
        provider=_word(d["provider"]),
        kind=_word(d["kind"]),
        name=str(d.get("name") or d["id"]),
        scope=_word(d.get("scope") or ""),
        owner=_opt_str(d.get("owner"), "owner"),
        nonhuman=bool_in(d.get("nonhuman"), "nonhuman", True),
        classification=_word(d.get("classification") or ""),
        created=dt_in(d.get("created"), "created"),
        last_used=dt_in(d.get("last_used"), "last_used"),
        tags={k: str(v) for k, v in _dict(d.get("tags"), "tags").items()},
        credentials=tuple(_each(credential_in, _list(d.get("credentials"), "credentials"), "credentials")),
        grants=tuple(read_grant(g) for g in _list(d.get("grants"), "grants")),
        trusts=tuple(trust_in(t) for t in _list(d.get("trusts"), "trusts")),
        attributes=_dict(d.get("attributes"), "attributes"),
    )


def secret_out(s: Secret) -> dict[str, Any]:
    return {
        "type": s.type,
        "provider": s.provider,
        "location": location_out(s.location),
        "redacted": s.redacted,
        "hash": s.hash,
        "fingerprint_id": s.fingerprint_id or None,
        "attributes": dict(s.attributes),
    }


def secret_in(d: Mapping[str, Any], forms: secret_ids.LegacyForms | None = None) -> Secret:
    """A secret record, also as earlier versions wrote it: their plain sha256 ``hash`` and
    detect-secrets ``sha1`` attributes move to memory (for matching their baselines) and are
    replaced by a run id and a redacted form that cannot confirm a guess (secret_ids.py)."""
    loc = location_in(d.get("location"))
    if loc is None:
        raise ValueError("secret without location")
    attrs = {k: str(v) for k, v in _dict(d.get("attributes"), "secret.attributes").items()}
    sha1s = tuple(h for h in (attrs.pop("sha1", ""), *attrs.pop("sha1_also", "").split()) if h)
    stored = str(d["hash"])
    redacted = str(d["redacted"])
    digest = secret_ids.legacy_digest(stored)
    fingerprint_id = str(d.get("fingerprint_id") or "")
    if digest is not None:
        stored = secret_ids.run_id(digest)
        redacted = (forms or secret_ids.LegacyForms()).scrub(redacted)
        detector = attrs.get("detector", "")
        if not fingerprint_id and (detector not in secret_ids.HUMAN_CHOSEN or secret_ids.persistent_key()):
            # the id a fresh scan gives this value (a human-chosen one without a key rests on its
            # line, which an old record does not hold: the run id stands in for it)
            fingerprint_id = secret_ids.fingerprint_id(
                digest,
                detector=detector,
                category=attrs.get("category", ""),
                repository=loc.repository_name or loc.repository or "",
                path=loc.path,
                context="",
            )
    return Secret(
        type=str(d["type"]),
        provider=_opt_str(d.get("provider"), "secret.provider"),
        location=loc,
        redacted=redacted,
        hash=stored,
        attributes=attrs,
        fingerprint_id=fingerprint_id,
        digest=digest or b"",
        ds_sha1=sha1s,
    )


def observation_out(o: Observation) -> dict[str, Any]:
    return {
        "rule_id": o.rule_id,
        "location": location_out(o.location),
        "message": o.message,
        "attributes": dict(o.attributes),
    }


def observation_in(d: Mapping[str, Any]) -> Observation:
    loc = location_in(d.get("location"))
    if loc is None:
        raise ValueError("observation without location")
    attrs = _dict(d.get("attributes"), "observation.attributes")
    digest = secret_ids.legacy_digest(str(attrs.get("secret_hash", "")))
    if digest is not None:  # an earlier version's plain sha256 and redacted form
        attrs["secret_hash"] = secret_ids.run_id(digest)
        attrs["redacted"] = secret_ids.LegacyForms().scrub(str(attrs.get("redacted", "")))
    return Observation(rule_id=str(d["rule_id"]), location=loc, message=str(d["message"]), attributes=attrs)


def log_config_out(c: LogConfig) -> dict[str, Any]:
    return {
        "provider": c.provider,
        "kind": c.kind,
        "scope": c.scope,
        "path": c.path,
        "attributes": dict(c.attributes),
    }


def log_config_in(d: Mapping[str, Any]) -> LogConfig:
    return LogConfig(
        provider=str(d["provider"]),
        kind=str(d["kind"]),
        scope=str(d["scope"]),
        path=_opt_str(d.get("path"), "logging.path"),
        attributes=_dict(d.get("attributes"), "logging.attributes"),
    )


def source_out(s: SourceRef) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": s.kind, "scope": s.scope, "path": s.path}
    if s.skipped:
        out["skipped"] = list(s.skipped)
    if s.nhiscan_files:
        out["nhiscan_files"] = list(s.nhiscan_files)
    if s.links_not_followed:
        out["links_not_followed"] = list(s.links_not_followed)
    if s.sha256:
        out["sha256"] = s.sha256
    if s.commit:
        out["commit"] = s.commit
    return out


def source_in(d: Mapping[str, Any]) -> SourceRef:
    return SourceRef(
        kind=str(d["kind"]),
        scope=_opt_str(d.get("scope"), "source.scope"),
        path=_opt_str(d.get("path"), "source.path"),
        skipped=_strs(d.get("skipped"), "source.skipped"),
        nhiscan_files=_strs(d.get("nhiscan_files"), "source.nhiscan_files"),
        links_not_followed=_strs(d.get("links_not_followed"), "source.links_not_followed"),
        sha256=_opt_str(d.get("sha256"), "source.sha256"),
        commit=_opt_str(d.get("commit"), "source.commit"),
    )


# --- documents ------------------------------------------------------------------------------------


def inventory_document(
    inv: Inventory, as_of: datetime | None = None, version: str = "", *, encoded: bool = False
) -> dict[str, Any]:
    """The inventory document with its lists as ``Lazy`` values: records are encoded one at a time
    as ``jsonstream.iter_document`` writes them (``inventory_to_dict`` is the same, built);
    ``encoded``: identities come as their JSON text (``GrantTexts``)."""
    from nhiscan.model.identity_text import GrantTexts

    texts = GrantTexts()
    doc: dict[str, Any] = {
        "schema": INVENTORY_SCHEMA,
        "generator": f"nhiscan {version}".strip(),
        "as_of": dt_out(as_of),
        "sources": Lazy(source_out(s) for s in inv.sources),
        "identities": Lazy(texts.identity(i) if encoded else identity_out(i) for i in inv.identities),
        "secrets": Lazy(secret_out(s) for s in inv.secrets),
        "suppressed_secrets": Lazy(secret_out(s) for s in inv.suppressed),
        "observations": Lazy(observation_out(o) for o in inv.observations),
        "log_configs": Lazy(log_config_out(c) for c in inv.logging),
    }
    if inv.partial_identities:  # a shard's view of other shards' identities (nhiscan.shard)
        doc["partial_identities"] = Lazy(
            texts.identity(i) if encoded else identity_out(i) for i in inv.partial_identities
        )
    return doc


def inventory_to_dict(inv: Inventory, as_of: datetime | None = None, version: str = "") -> dict[str, Any]:
    return built(inventory_document(inv, as_of, version))


def built(doc: dict[str, Any]) -> dict[str, Any]:
    """A document's ``Lazy`` lists made lists."""
    return {k: list(v.items) if isinstance(v, Lazy) else v for k, v in doc.items()}


def inventory_from_dict(d: Mapping[str, Any]) -> Inventory:
    forms = secret_ids.LegacyForms()
    return Inventory(
        sources=tuple(source_in(s) for s in d.get("sources") or ()),
        identities=tuple(identity_in(i) for i in d.get("identities") or ()),
        secrets=tuple(secret_in(s, forms) for s in d.get("secrets") or ()),
        observations=tuple(observation_in(o) for o in d.get("observations") or ()),
        logging=tuple(log_config_in(c) for c in d.get("log_configs") or ()),
        partial_identities=tuple(identity_in(i) for i in d.get("partial_identities") or ()),
        suppressed=tuple(secret_in(s, forms) for s in d.get("suppressed_secrets") or ()),
    )
