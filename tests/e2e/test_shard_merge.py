"""An organization collected in 20 shards and merged gives the findings of one unsharded scan.

Through the installed CLI: a generated 25-account AWS estate (benchmarks/aws_scale.py, roles
trusting each other across accounts) plus every bundled fixture (AWS, GCP, Azure, Kubernetes
exports and the repositories whose leaked keys correlate with their identities) is scanned once,
and collected as `nhiscan inventory --shard I/20` for I = 0..19 and scanned from that directory.
"""

from __future__ import annotations

import importlib.util
import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import AS_OF, FIXTURES, ROOT, run_cli

SHARDS = 20


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("aws_scale", ROOT / "benchmarks" / "aws_scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("estate")
    accounts = _generator().generate_estate(25, 40, base / "accounts")
    inputs = [a for d in accounts for a in ("--input", str(d))]
    inputs += [
        *("--input", str(FIXTURES / "aws" / "acme-prod")),
        *("--input", f"acme-prod={FIXTURES / 'gcp' / 'acme-prod'}"),
        *("--input", str(FIXTURES / "azure" / "contoso")),
        *("--input", str(FIXTURES / "kubernetes" / "prod-cluster")),
        *(str(FIXTURES / "repos" / r) for r in ("acme-web", "acme-infra", "pipelines")),
    ]
    common = ("--as-of", AS_OF)
    full = run_cli("scan", *inputs, *common, "--format", "json", "--fail-on", "none", timeout=600)
    assert full.code == 0, full.stderr
    shards = base / "shards"
    shards.mkdir()

    def collect(i: int) -> tuple[int, str]:
        res = run_cli(
            "inventory", *inputs, *common, "--shard", f"{i}/{SHARDS}", "-o", str(shards / f"{i}.json")
        )
        return res.code, res.stderr

    with ThreadPoolExecutor(2) as pool:
        for code, err in pool.map(collect, range(SHARDS)):
            assert code == 0, err
    merged = run_cli("scan", "--input", str(shards), *common, "--format", "json", "--fail-on", "none")
    assert merged.code == 0, merged.stderr
    return {
        "full": full.json(),
        "merged": merged.json(),
        "shards": [json.loads((shards / f"{i}.json").read_text()) for i in range(SHARDS)],
        "accounts": [d.name for d in accounts],
    }


def test_merged_scan_has_every_finding_of_the_unsharded_scan(estate: dict[str, Any]) -> None:
    full, merged = estate["full"]["findings"], estate["merged"]["findings"]
    assert len(full) > 1000
    assert [f["fingerprint"] for f in merged] == [f["fingerprint"] for f in full]
    assert estate["merged"]["summary"] == estate["full"]["summary"]

    def same(f: dict[str, Any]) -> tuple[Any, ...]:
        # run labels (…#3) number secret values within one run: shards number them apart
        message = re.sub(r"#\d+", "#", f["message"])
        return (f["rule_id"], f["severity"], f["identity_id"], f["credential_id"], message)

    assert [same(f) for f in merged] == [same(f) for f in full]
    rules = {f["rule_id"] for f in full}
    # the cross-shard relations are among them: trust between accounts, leaks linked to owners
    assert "aws-cross-account-trust-without-external-id" in rules
    assert "leaked-credential-linked" in rules


def test_merged_identities_and_risks_equal_the_unsharded_ones(estate: dict[str, Any]) -> None:
    def by_id(doc: dict[str, Any]) -> dict[str, Any]:
        return {i["id"]: i for i in doc["identities"]}

    full, merged = by_id(estate["full"]), by_id(estate["merged"])
    assert merged == full


def test_every_identity_is_in_exactly_one_shard(estate: dict[str, Any]) -> None:
    ids = [i["id"] for s in estate["shards"] for i in s["identities"]]
    assert len(ids) == len(set(ids)) == len(estate["full"]["identities"])
    scopes_per_shard = [{i["scope"] for i in s["identities"]} for s in estate["shards"]]
    for a, b in ((a, b) for n, a in enumerate(scopes_per_shard) for b in scopes_per_shard[n + 1 :]):
        assert not a & b, "a scope is split over two shards"
    assert sum(1 for s in scopes_per_shard if s) >= 10, "25 accounts should spread over most of 20 shards"


def test_logging_records_follow_their_scope_and_the_merged_posture_is_the_unsharded_one(
    estate: dict[str, Any],
) -> None:
    full = estate["full"]
    kinds = {c["kind"] for c in full["log_configs"]}
    # the bundled exports give a record of each kind: CloudTrail, audit configs, diagnostic settings
    assert {"aws-cloudtrail", "gcp-audit-configs", "azure-activity-log", "kubernetes-audit"} <= kinds

    def key(c: dict[str, Any]) -> tuple[str, str]:
        return c["kind"], c["scope"]

    held = [key(c) for s in estate["shards"] for c in s["log_configs"]]
    assert len(held) == len(set(held)), "a logging record is in two shards"
    assert sorted(held) == sorted(key(c) for c in full["log_configs"])
    for shard in estate["shards"]:
        scopes = {i["scope"] for i in shard["identities"]}
        for cfg in shard["log_configs"]:
            scope = cfg["scope"].removeprefix("projects/")
            others = [s for s in estate["shards"] if s is not shard]
            # an account's, project's or cluster's logging is in the shard that holds its identities
            assert not any(scope in {i["scope"] for i in o["identities"]} for o in others), cfg
            if cfg["kind"] in ("aws-cloudtrail", "kubernetes-audit"):
                assert scope in scopes, cfg
    merged = estate["merged"]
    assert sorted(map(key, merged["log_configs"])) == sorted(map(key, full["log_configs"]))
    assert merged["summary"]["logging"] == full["summary"]["logging"]
    assert merged["summary"]["credentials"] == full["summary"]["credentials"]
    assert merged["logging"] == full["logging"]
