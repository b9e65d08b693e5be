"""Leaked secret -> the identity it belongs to: whoever holds the leaked key acts as its identity.

One node per leaked secret, ``secret:<fingerprint_id>`` (the id outputs already use for it, which
cannot confirm a guess of the value), joined to its identity by ``analyze/correlate.py``. Only a
credential that may still work makes an edge: an active one, or an Azure application's secret that
cannot be told apart from its enabled ones (conditional). A disabled, deleted or rotated key
lets nobody in.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from nhiscan.analyze.correlate import ACTIVE, UNVERIFIED, correlate
from nhiscan.analyze.graph.edge import Edge
from nhiscan.model import Inventory

KIND = "leaked-credential"


def node_id(fingerprint_id: str) -> str:
    return f"secret:{fingerprint_id}"


def edges(inventory: Inventory, as_of: datetime) -> Iterator[Edge]:
    del as_of  # a leak works or not today: correlation already read the credential's state
    for leak in correlate(inventory):
        if leak.status not in (ACTIVE, UNVERIFIED):
            continue
        cred = leak.credential
        what = f"{cred.kind} {cred.id.rsplit('/', 1)[-1]}" if cred else "a client secret"
        for secret in leak.secrets:
            if not secret.fingerprint_id:
                continue
            loc = secret.location
            where = loc.path + (f":{loc.line}" if loc.line else "")
            yield Edge(
                source=node_id(secret.fingerprint_id),
                target=leak.identity.id,
                kind=KIND,
                via=f"{secret.type} {secret.redacted} in {where} is {what} (matched on "
                f"{', '.join(leak.matched_on)})",
                path=loc.path,
                conditional=leak.status == UNVERIFIED,
                condition=(
                    "the application holds enabled secrets; whether this one is among them is unknown"
                    if leak.status == UNVERIFIED
                    else ""
                ),
            )
