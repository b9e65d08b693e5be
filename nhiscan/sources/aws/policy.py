"""IAM policy documents: decoding, statements, and the grants and trusts they make."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Mapping
from importlib import resources
from typing import Any
from urllib.parse import unquote

from nhiscan.model import Grant, Trust


def policy_document(value: Any) -> dict[str, Any]:
    """A policy document given decoded, as JSON text, or URL-encoded JSON text."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("{"):
            text = unquote(text)
        doc = json.loads(text)
        if isinstance(doc, dict):
            return doc
    raise ValueError("policy document is neither an object nor JSON text")


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return (str(value),)


def _names(value: Any) -> tuple[str, ...]:
    """An Action / NotAction list, each name interned: the same few hundred action names recur in
    the inline policies of thousands of identities, and are then held once."""
    return tuple(sys.intern(v) for v in _as_tuple(value))


def statements(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    stmts = doc.get("Statement", [])
    if isinstance(stmts, Mapping):
        stmts = [stmts]
    return [s for s in stmts if isinstance(s, Mapping)]


def grants_from(
    doc: Mapping[str, Any],
    *,
    scope: str,
    via: str,
    inherited_from: str | None = None,
    boundary: bool = False,
) -> tuple[Grant, ...]:
    out = []
    for st in statements(doc):
        not_resources = _as_tuple(st.get("NotResource"))
        resources_ = _as_tuple(st.get("Resource")) if "Resource" in st else (() if not_resources else ("*",))
        cond = st.get("Condition")
        out.append(
            Grant(
                effect=str(st.get("Effect", "Allow")),
                actions=_names(st.get("Action")),
                not_actions=_names(st.get("NotAction")),
                resources=resources_,
                not_resources=not_resources,
                scope=scope,
                via=sys.intern(via),
                inherited_from=inherited_from,
                boundary=boundary,
                condition=dict(cond) if isinstance(cond, Mapping) and cond else None,
            )
        )
    return tuple(out)


def trusts_from(doc: Mapping[str, Any]) -> tuple[Trust, ...]:
    out: list[Trust] = []
    for st in statements(doc):
        actions = _as_tuple(st.get("Action"))
        cond = st.get("Condition") or {}
        if not isinstance(cond, Mapping):
            # an unreadable condition is neither "no condition" nor a safe one: say so
            raise ValueError(f"trust policy Condition is not an object (got {type(cond).__name__})")
        conditions = dict(cond)
        effect = str(st.get("Effect", "Allow"))
        principal = st.get("Principal", st.get("NotPrincipal"))
        if "NotPrincipal" in st and "Principal" not in st:
            out.append(Trust("*", "*", actions, effect, {**conditions, "nhiscan:NotPrincipal": principal}))
            continue
        if principal == "*" or principal is None:
            out.append(Trust("*", "*", actions, effect, conditions))
            continue
        if isinstance(principal, Mapping):
            for ptype, values in principal.items():
                for value in _as_tuple(values):
                    out.append(Trust(str(ptype), value, actions, effect, conditions))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def bundled_managed_policies() -> Mapping[str, Mapping[str, Any]]:
    """Well-known AWS managed policies shipped with nhiscan, by ARN."""
    text = (
        resources.files("nhiscan.sources.aws").joinpath("data/aws_managed_policies.json").read_text("utf-8")
    )
    data: Mapping[str, Mapping[str, Any]] = json.loads(text)["policies"]
    return data
