"""--shard I/N: parsing, the stable assignment, the environment's index, and quiet progress."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nhiscan.errors import NhiscanError
from nhiscan.model import Grant, Identity, Inventory
from nhiscan.model.serialize import inventory_from_dict, inventory_to_dict
from nhiscan.shard import Shard, complete_partials, parse_shard, shard_inventory, shard_of
from nhiscan.sources.azure import assignment_key
from tests.conftest import AS_OF, FIXTURES, run_cli


def test_assignment_is_stable_and_covers_every_shard() -> None:
    ids = [f"{100000000000 + k:012d}" for k in range(2000)]
    counts = [0] * 20
    for i in ids:
        counts[shard_of(i, 20)] += 1
    assert all(60 <= c <= 140 for c in counts), counts  # about 100 each
    # a fixed value, so a change of the hash (which would move every account) is a failing test
    assert shard_of("123456789012", 20) == shard_of("123456789012", 20) == 14
    assert [Shard(i, 20).owns("123456789012") for i in range(20)].count(True) == 1


@pytest.mark.parametrize(
    ("value", "env", "expected"),
    [
        ("3/20", {}, Shard(3, 20)),
        (" 0/1 ", {}, Shard(0, 1)),
        ("auto/8", {"JOB_COMPLETION_INDEX": "5"}, Shard(5, 8)),
        ("AUTO/8", {"NHISCAN_SHARD_INDEX": "7"}, Shard(7, 8)),
        ("auto/8", {"JOB_COMPLETION_INDEX": "2", "NHISCAN_SHARD_INDEX": "7"}, Shard(2, 8)),
    ],
)
def test_parse(value: str, env: dict[str, str], expected: Shard) -> None:
    assert parse_shard(value, env) == expected


@pytest.mark.parametrize(
    ("value", "env", "says"),
    [
        ("3", {}, "expected I/N"),
        ("20/20", {}, "between 0 and 19"),
        ("-1/4", {}, "between 0 and 3"),
        ("1/0", {}, "N must be between 1"),
        ("a/4", {}, "I must be a whole number"),
        ("1/x", {}, "N must be a whole number"),
        ("auto/4", {}, "no shard index in the environment"),
        ("auto/4", {"JOB_COMPLETION_INDEX": "4"}, "JOB_COMPLETION_INDEX must be between 0 and 3"),
    ],
)
def test_parse_errors(value: str, env: dict[str, str], says: str) -> None:
    with pytest.raises(NhiscanError, match=says):
        parse_shard(value, env)


def test_cli_auto_reads_the_job_index_and_errors_are_one_line(tmp_path: Path) -> None:
    exports = str(FIXTURES / "aws" / "acme-prod")
    explicit = run_cli("inventory", "-i", exports, "--as-of", AS_OF, "--shard", "0/2")
    auto = run_cli(
        "inventory", "-i", exports, "--as-of", AS_OF, "--shard", "auto/2", env={"JOB_COMPLETION_INDEX": "0"}
    )
    other = run_cli("inventory", "-i", exports, "--as-of", AS_OF, "--shard", "1/2")
    assert explicit.code == auto.code == other.code == 0
    assert explicit.stdout == auto.stdout
    a, b = json.loads(explicit.stdout), json.loads(other.stdout)
    # the one account is in one shard; the other shard is empty, not an error
    assert sorted((len(a["identities"]), len(b["identities"]))) == [0, 34]
    bad = run_cli("inventory", "-i", exports, "--shard", "2/2")
    assert bad.code == 2 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [
        "nhiscan: error: --shard: I must be between 0 and 1 for N=2, got 2"
    ]


def test_nothing_but_the_result_is_printed_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    """Reading inputs and the analysis show progress on a terminal only: with stderr a pipe (CI,
    Kubernetes logs) a clean scan of several inputs and a merge of shards print nothing there."""
    inputs = ("-i", str(FIXTURES / "aws" / "acme-prod"), "-i", str(FIXTURES / "kubernetes" / "prod-cluster"))
    scan = run_cli("scan", *inputs, "--as-of", AS_OF, "--format", "json", "--fail-on", "none")
    assert scan.code == 0 and scan.stderr == ""
    shards = tmp_path / "shards"
    for i in range(2):
        res = run_cli(
            "inventory", *inputs, "--as-of", AS_OF, "--shard", f"{i}/2", "-o", str(shards / f"{i}.json")
        )
        assert res.code == 0 and res.stderr == "" and res.stdout == ""
    merged = run_cli("scan", "-i", str(shards), "--as-of", AS_OF, "--format", "json", "--fail-on", "none")
    assert merged.code == 0 and merged.stderr == ""
    assert [f["fingerprint"] for f in merged.json()["findings"]] == [
        f["fingerprint"] for f in scan.json()["findings"]
    ]


def test_progress_is_drawn_on_a_terminal(tmp_path: Path) -> None:
    """The same scan under a pseudo-terminal shows the reading and analysis progress."""
    import os
    import pty
    import select
    import subprocess

    from tests.conftest import nhiscan_exe

    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [
            nhiscan_exe(),
            "scan",
            "-i",
            str(FIXTURES / "aws" / "acme-prod"),
            "--as-of",
            AS_OF,
            "--format",
            "json",
            "-o",
            str(tmp_path / "r.json"),
            "--fail-on",
            "none",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=secondary,
        env={**os.environ, "COLUMNS": "160", "TERM": "xterm"},
    )
    os.close(secondary)
    seen = b""
    while True:
        ready, _, _ = select.select([primary], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(60) == 0
    os.close(primary)
    assert b"analysing" in seen and b"identities" in seen


def test_logging_records_go_with_the_scope_they_describe() -> None:
    from nhiscan.model import Identity, Inventory, LogConfig
    from nhiscan.shard import shard_inventory

    idents = (
        Identity(id="aws:role/a", provider="aws", kind="role", name="a", scope="123456789012"),
        Identity(id="gcp:sa/b", provider="gcp", kind="service-account", name="b", scope="acme-prod"),
    )
    logs = (
        LogConfig("aws", "aws-cloudtrail", "123456789012"),
        LogConfig("gcp", "gcp-audit-configs", "projects/acme-prod"),
        LogConfig("gcp", "gcp-audit-configs", "organizations/4242"),
        LogConfig("azure", "azure-activity-log", "9c2b7e41-5d3a-4f6e-8b1c-0a9d8e7f6c5b"),
    )
    inv = Inventory(sources=(), identities=idents, secrets=(), observations=(), logging=logs)
    parts = [shard_inventory(inv, Shard(i, 7)) for i in range(7)]
    assert sorted(c.scope for p in parts for c in p.logging) == sorted(c.scope for c in logs)
    for part in parts:
        scopes = {i.scope for i in part.identities}
        for cfg in part.logging:
            if cfg.kind == "aws-cloudtrail":
                assert cfg.scope in scopes  # the account's trails are where its roles are
            if cfg.scope == "projects/acme-prod":
                assert "acme-prod" in scopes
    org = next(p for p in parts if any(c.scope == "organizations/4242" for c in p.logging))
    assert org is parts[shard_of("organizations/4242", 7)]


def _sp(pid: str, tenant: str, *grants: Grant, **attrs: object) -> Identity:
    return Identity(
        id=pid,
        provider="azure",
        kind="azure-service-principal",
        name=pid,
        scope=tenant,
        grants=grants,
        attributes=dict(attrs),
    )


def _ra(scope: str, role: str, condition: str | None = None) -> Grant:
    return Grant(
        role=role,
        scope=scope,
        resources=(scope,),
        via="role-assignment",
        condition={"expression": condition} if condition else None,
    )


def test_a_shard_keeps_the_grants_it_saw_for_other_shards_identities() -> None:
    tenant = "tenant-a"
    home = shard_of(tenant, 2)
    other = Shard(1 - home, 2)
    inv = Inventory(
        identities=(
            _sp("sp-1", tenant, _ra("/subscriptions/s2", "Reader")),
            _sp("sp-2", tenant),  # no grant here: the tenant's shard has it whole
        )
    )
    assert shard_inventory(inv, other).partial_identities == ()  # only for the providers named
    kept = shard_inventory(inv, other, ("azure",))
    assert kept.identities == ()
    assert [i.id for i in kept.partial_identities] == ["sp-1"]
    assert shard_inventory(inv, Shard(home, 2), ("azure",)).partial_identities == ()


def test_complete_partials_adds_each_grant_once_in_the_provider_order() -> None:
    mg = _ra("/providers/Microsoft.Management/managementGroups/mg", "Owner", "x == 1")
    whole = _sp("sp-1", "t", _ra("/subscriptions/s1", "Reader"), mg, credentialed=True)
    seen_b = _sp("sp-1", "t", mg, _ra("/subscriptions/s2", "Contributor"))
    seen_c = _sp("sp-1", "t", _ra("/subscriptions/s0", "Reader"))
    orphan_b = _sp("orphan", "t", _ra("/subscriptions/s2", "Owner"), in_service_principal_list=False)
    orphan_c = _sp("orphan", "t", _ra("/subscriptions/s3", "Owner"), in_service_principal_list=False)
    out = complete_partials([whole], [seen_b, orphan_b, seen_c, orphan_c])
    assert [i.id for i in out] == ["sp-1", "orphan"]
    merged, orphan = out
    assert [g.scope for g in merged.grants] == [
        "/providers/Microsoft.Management/managementGroups/mg",
        "/subscriptions/s0",
        "/subscriptions/s1",
        "/subscriptions/s2",
    ]
    assert merged.attributes == {"credentialed": True}  # the whole identity's own facts
    assert [g.scope for g in orphan.grants] == ["/subscriptions/s2", "/subscriptions/s3"]
    # the same order as one normalizer that read every subscription gives
    assert list(merged.grants) == sorted(merged.grants, key=assignment_key)


def test_partial_identities_round_trip_through_the_inventory_document() -> None:
    inv = Inventory(partial_identities=(_sp("sp-1", "t", _ra("/subscriptions/s2", "Reader")),))
    doc = inventory_to_dict(inv)
    assert [i["id"] for i in doc["partial_identities"]] == ["sp-1"]
    assert inventory_from_dict(json.loads(json.dumps(doc))).partial_identities == inv.partial_identities
    assert "partial_identities" not in inventory_to_dict(Inventory())  # unsharded documents unchanged
