"""Live Azure collected in N shards and merged gives the unsharded scan, grants across shards included.

On the HTTPS peer: the contoso tenant (its subscription, and a management-group assignment that
ARM lists in every subscription) plus four more subscriptions, a service principal with role
assignments in two subscriptions, and a principal missing from the service-principal list that
holds roles in two subscriptions. The tenant's identities belong to one shard; the role
assignments are listed by the shards of their subscriptions. `nhiscan inventory
--azure-subscription ... --shard I/N` for N = 2 and 3, then `nhiscan scan --input shards/`,
against one unsharded scan: fingerprint for fingerprint.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from nhiscan.shard import shard_of
from tests.azure_live.conftest import AZURE_DIR, assert_read_only, nhiscan, scan_args
from tests.azure_live.peer import CONTOSO_SUBSCRIPTION, FakeAzure, arm_form

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
ORPHAN = "0e0e0e0e-1111-4222-8333-444444444444"
SP0 = str(uuid.UUID(int=0x5B0 << 96))  # the peer's first synthetic service principal


def assignment(sub: str, principal: str, role: str, n: int, scope: str | None = None) -> dict[str, Any]:
    name = str(uuid.UUID(int=0xE77 << 96 | n))
    return arm_form(
        {
            "id": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/{name}",
            "name": name,
            "roleDefinitionId": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}",
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "scope": scope or f"/subscriptions/{sub}",
            "createdOn": "2024-01-01T00:00:00Z",
        }
    )


def seed(peer: FakeAzure) -> list[str]:
    peer.seed_export_dir(AZURE_DIR)
    subs = peer.synthetic_tenant(8, subscriptions=4)
    t = peer.tenant
    # one principal, owner in a second subscription (a resource group of it)
    t.subscriptions[subs[1]].append(
        assignment(subs[1], SP0, OWNER, 1, f"/subscriptions/{subs[1]}/resourceGroups/rg-data")
    )
    # a principal the service-principal list does not hold (deleted, or filtered), in two subscriptions
    t.subscriptions[subs[2]].append(assignment(subs[2], ORPHAN, OWNER, 2))
    t.subscriptions[subs[3]].append(assignment(subs[3], ORPHAN, OWNER, 3))
    return [CONTOSO_SUBSCRIPTION, *subs]


def sub_args(subs: list[str]) -> list[str]:
    return [a for s in subs for a in ("--azure-subscription", s)]


def identities(result: dict[str, Any]) -> dict[str, Any]:
    return {i["id"]: i for i in result["identities"]}


@pytest.mark.parametrize("shards", [2, 3])
def test_merged_live_shards_equal_the_unsharded_scan(peer: FakeAzure, tmp_path: Path, shards: int) -> None:
    subs = seed(peer)
    full = nhiscan(peer, *scan_args(*sub_args(subs)))
    assert full.code == 0, full.stderr
    whole: dict[str, Any] = full.json()
    tenant = next(i["scope"] for i in whole["identities"] if i["provider"] == "azure")
    home = shard_of(tenant, shards)
    # the grants do cross shards: subscriptions outside the tenant's shard hold some
    assert any(shard_of(s, shards) != home for s in subs)
    directory = tmp_path / "shards"
    directory.mkdir()
    for i in range(shards):
        res = nhiscan(
            peer, "inventory", *sub_args(subs), "--shard", f"{i}/{shards}", "-o", str(directory / f"{i}.json")
        )
        assert res.code == 0, res.stderr
        assert_read_only(peer)
    partial = [
        p["id"]
        for i in range(shards)
        for p in json.loads((directory / f"{i}.json").read_text()).get("partial_identities", [])
    ]
    assert ORPHAN in partial or shard_of(subs[3], shards) == shard_of(subs[4], shards) == home
    res = nhiscan(peer, *scan_args("--input", str(directory)))
    assert res.code == 0, res.stderr
    merged: dict[str, Any] = res.json()

    assert [f["fingerprint"] for f in merged["findings"]] == [f["fingerprint"] for f in whole["findings"]]
    assert [f["message"] for f in merged["findings"]] == [f["message"] for f in whole["findings"]]
    assert merged["summary"] == whole["summary"]
    assert identities(merged) == identities(whole)
    assert merged["logging"] == whole["logging"]

    # the management-group assignment (listed in every subscription) is one grant, and the
    # principal with roles in two subscriptions has both
    mg = [
        g
        for i in merged["identities"]
        for g in i["grants"]
        if str(g["scope"]).startswith("/providers/Microsoft.Management/managementGroups/")
    ]
    assert len(mg) == 1
    assert len(identities(merged)[SP0]["grants"]) == 2
    assert {g["scope"] for g in identities(merged)[ORPHAN]["grants"]} == {
        f"/subscriptions/{s}" for s in subs[3:5]
    }
