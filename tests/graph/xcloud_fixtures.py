"""Load fixtures/escalation/<provider>/<technique>/<case>/ through the real source loaders.

Each case directory lists its exports in ``inputs.txt``, one ``[SCOPE=]FILE`` a line (the form
``nhiscan scan --input`` takes), so the same files drive the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone

from nhiscan.analyze.graph.edge import Edge
from nhiscan.config import InputSpec, ScanConfig
from nhiscan.core import collect_inventory
from nhiscan.model import Identity, Inventory
from tests.conftest import FIXTURES

ESCALATION = FIXTURES / "escalation"
AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)


def case_inputs(provider: str, technique: str, case: str) -> tuple[InputSpec, ...]:
    where = ESCALATION / provider / technique / case
    specs = []
    for line in (where / "inputs.txt").read_text("utf-8").splitlines():
        if not line.strip():
            continue
        scope, _, name = line.rpartition("=")
        specs.append(InputSpec(str(where / name), scope or None))
    return tuple(specs)


def load(provider: str, technique: str, case: str) -> Inventory:
    config = ScanConfig(as_of=AS_OF, inputs=case_inputs(provider, technique, case))
    inventory, errors = collect_inventory(config)
    assert errors == [], errors
    return inventory


def label(identity: Identity) -> str:
    """A readable, stable name for an identity in expected-edge tables."""
    if identity.provider == "kubernetes":
        return f"{identity.attributes.get('namespace')}/{identity.name}"
    if identity.provider == "aws":
        return identity.id.rsplit("/", 1)[-1]
    if identity.provider == "gcp":
        return identity.id.split("@", 1)[0] if "@" in identity.id else identity.id
    return identity.name


def named(inventory: Inventory, found: Iterator[Edge]) -> set[tuple[str, str, str]]:
    names = {i.id: label(i) for i in inventory.identities}
    return {(names.get(e.source, e.source), names.get(e.target, e.target), e.kind) for e in found}


def run(builder: Callable[[Inventory, datetime], Iterator[Edge]], inventory: Inventory) -> list[Edge]:
    return list(builder(inventory, AS_OF))
