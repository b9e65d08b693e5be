"""The cross-provider fixture sets (fixtures/escalation/cross/) give the hops their README names."""

from __future__ import annotations

from nhiscan.analyze.graph import edges_gcp, edges_kubernetes
from nhiscan.analyze.privilege import assess
from nhiscan.config import InputSpec, ScanConfig
from nhiscan.core import collect_inventory
from nhiscan.model import Inventory
from tests.conftest import run_cli
from tests.graph.xcloud_fixtures import AS_OF, ESCALATION

CROSS = ESCALATION / "cross"


def _load(where: str) -> Inventory:
    specs = []
    for line in (CROSS / where / "inputs.txt").read_text("utf-8").splitlines():
        scope, _, name = line.rpartition("=")
        specs.append(InputSpec(str(CROSS / where / name), scope or None))
    inventory, errors = collect_inventory(ScanConfig(as_of=AS_OF, inputs=tuple(specs)))
    assert errors == []
    return inventory


def test_k8s_irsa_admin_first_hop_and_admin_at_the_end() -> None:
    inventory = _load("k8s-irsa-admin")
    hops = {(e.source, e.target, e.kind) for e in edges_kubernetes.edges(inventory, AS_OF)}
    irsa = "arn:aws:iam::444455556666:role/payments-api-irsa"
    assert hops == {("k8s:lab:payments/payments-api", irsa, "k8s-irsa")}
    by_id = {i.id: i for i in inventory.identities}
    admin = by_id["arn:aws:iam::444455556666:role/platform-admin"]
    assert assess(admin, {}).level == "admin"
    assert any(t.principal == irsa for t in admin.trusts)
    assert assess(by_id[irsa], {}).level != "admin"


def test_gcp_leaked_key_links_to_ci_runner_which_mints_tokens_for_an_owner() -> None:
    inventory = _load("gcp-leaked-key/exports")
    hops = {(e.source, e.target, e.kind) for e in edges_gcp.edges(inventory, AS_OF)}
    ci = "ci-runner@acme-lab.iam.gserviceaccount.com"
    owner = "prod-owner@acme-lab.iam.gserviceaccount.com"
    # (the owner can act as every account of its project, ci-runner included)
    assert hops == {(ci, owner, "gcp-token-creator"), (owner, ci, "gcp-owner")}
    assert assess(next(i for i in inventory.identities if i.id == owner), {}).level == "admin"

    where = CROSS / "gcp-leaked-key"
    res = run_cli(
        "scan",
        str(where / "repo"),
        "--input",
        str(where / "exports" / "service-accounts.json"),
        "--input",
        str(where / "exports" / "asset-iam-policies.json"),
        "--input",
        f"acme-lab={where / 'exports' / 'project-iam-policy.json'}",
        "--as-of",
        "2026-11-01",
        "--format",
        "json",
    )
    linked = [f for f in res.json()["findings"] if f["rule_id"] == "leaked-credential-linked"]
    assert [f["identity_id"] for f in linked] == [ci]
