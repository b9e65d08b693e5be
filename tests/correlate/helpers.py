"""Small builders for correlation tests (model objects, never real secrets)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

from nhiscan.config import Settings
from nhiscan.model import Credential, Grant, Identity, Inventory, Location, Secret, Trust

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)


def secret(
    value: str, path: str = "app/settings.py", repo: str | None = "web-app", line: int = 1, **attrs: str
) -> Secret:
    digest = hashlib.sha256(value.encode()).hexdigest()
    return Secret(
        type="test",
        provider=None,
        location=Location(path=path, line=line, repository=repo),
        redacted=f"{value[:4]}…#{digest[:8]}",
        hash="sha256:" + digest,
        attributes=attrs,
    )


def aws_user(
    name: str, key: str, *, active: bool = True, grants: tuple[Grant, ...] = (), **kw: Any
) -> Identity:
    return Identity(
        id=f"arn:aws:iam::111122223333:user/{name}",
        provider="aws",
        kind="aws-iam-user",
        name=name,
        scope="111122223333",
        credentials=(
            Credential(
                id=key,
                kind="aws-access-key",
                active=active,
                last_used=datetime(2026, 10, 25, tzinfo=timezone.utc),
            ),
        ),
        grants=grants,
        **kw,
    )


def role(name: str, *, trusts: tuple[Trust, ...] = (), grants: tuple[Grant, ...] = (), **kw: Any) -> Identity:
    return Identity(
        id=f"arn:aws:iam::111122223333:role/{name}",
        provider="aws",
        kind="aws-iam-role",
        name=name,
        scope="111122223333",
        trusts=trusts,
        grants=grants,
        **kw,
    )


def scan(inv: Inventory, settings: Settings | None = None):  # type: ignore[no-untyped-def]
    from nhiscan.analyze.agents import mark_agents
    from nhiscan.analyze.engine import analyze

    s = settings or Settings()
    return analyze(mark_agents(inv, s), AS_OF, s)
