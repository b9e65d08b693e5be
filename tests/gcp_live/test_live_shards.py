"""Live GCP collected in N shards and merged gives the unsharded scan, grants across shards included.

Four projects on the in-process gRPC peer, with bindings that cross projects (and shards): an owner
binding in acme-build on an account of acme-ops, a token-creator binding in acme-ml on an account
of acme-build, acme-ml's Compute Engine default account (whose e-mail names no project) bound in
acme-ops, a Google service agent bound in two projects, and an account of a project nobody
collects bound in acme-ml. `nhiscan inventory --gcp-project ... --shard I/N` for N = 2 and 3, then
`nhiscan scan --input shards/`, against one unsharded scan: fingerprint for fingerprint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.cloud.iam_admin_v1 import types as iam_types
from google.iam.v1 import policy_pb2
from google.protobuf import json_format

from nhiscan.shard import shard_of
from tests.gcp_live.conftest import GCP_DIR, assert_read_only, nhiscan, scan_args
from tests.gcp_live.peer import FakeGcp

PROJECTS = ("acme-prod", "acme-build", "acme-ml", "acme-ops")
COMPUTE = "123456789012-compute@developer.gserviceaccount.com"
AGENT = "service-123456789012@gcp-sa-cloudbuild.iam.gserviceaccount.com"
FOREIGN = "deployer@acme-external.iam.gserviceaccount.com"


def sa(project: str, n: int) -> str:
    return f"svc-{n:05d}@{project}.iam.gserviceaccount.com"


def _policy(bindings: list[dict[str, Any]]) -> Any:
    return json_format.ParseDict(
        {"version": 1, "etag": "BwYk7f3x2Qs=", "bindings": bindings}, policy_pb2.Policy()
    )


def seed(peer: FakeGcp) -> None:
    peer.seed_export_dir(GCP_DIR, "acme-prod")
    for project in PROJECTS[1:]:
        peer.synthetic_project(project, 3)
    ml = peer.projects["acme-ml"]
    ml.accounts.append(
        iam_types.ServiceAccount(
            name=f"projects/acme-ml/serviceAccounts/{COMPUTE}",
            project_id="acme-ml",
            unique_id="109999999999999999999",
            email=COMPUTE,
            display_name="Compute Engine default service account",
        )
    )
    peer.projects["acme-build"].policy = _policy(
        [
            {"role": "roles/editor", "members": [f"serviceAccount:{sa('acme-build', 0)}"]},
            {"role": "roles/owner", "members": [f"serviceAccount:{sa('acme-ops', 0)}"]},
            {"role": "roles/cloudbuild.builds.builder", "members": [f"serviceAccount:{AGENT}"]},
        ]
    )
    ml.policy = _policy(
        [
            {
                "role": "roles/iam.serviceAccountTokenCreator",
                "members": [f"serviceAccount:{sa('acme-build', 1)}"],
            },
            {"role": "roles/owner", "members": [f"serviceAccount:{FOREIGN}"]},
        ]
    )
    peer.projects["acme-ops"].policy = _policy(
        [
            {"role": "roles/editor", "members": [f"serviceAccount:{COMPUTE}", f"serviceAccount:{AGENT}"]},
            {"role": "roles/viewer", "members": [f"serviceAccount:{sa('acme-ops', 1)}"]},
        ]
    )


def project_args() -> list[str]:
    return [a for p in PROJECTS for a in ("--gcp-project", p)]


def merged_scan(peer: FakeGcp, shards: int, directory: Path) -> dict[str, Any]:
    directory.mkdir()
    for i in range(shards):
        res = nhiscan(
            peer, "inventory", *project_args(), "--shard", f"{i}/{shards}", "-o", str(directory / f"{i}.json")
        )
        assert res.code == 0, res.stderr
        assert_read_only(peer.methods())
    res = nhiscan(peer, *scan_args("--input", str(directory)))
    assert res.code == 0, res.stderr
    out: dict[str, Any] = res.json()
    return out


def identities(result: dict[str, Any]) -> dict[str, Any]:
    return {i["id"]: i for i in result["identities"]}


@pytest.mark.parametrize("shards", [2, 3])
def test_merged_live_shards_equal_the_unsharded_scan(peer: FakeGcp, tmp_path: Path, shards: int) -> None:
    # the cross-project bindings do cross shards
    owner = {p: shard_of(p, shards) for p in PROJECTS}
    assert owner["acme-build"] != owner["acme-ops"]
    assert len(set(owner.values())) == shards
    seed(peer)
    full = nhiscan(peer, *scan_args(*project_args()))
    assert full.code == 0, full.stderr
    whole: dict[str, Any] = full.json()
    merged = merged_scan(peer, shards, tmp_path / "shards")

    assert [f["fingerprint"] for f in merged["findings"]] == [f["fingerprint"] for f in whole["findings"]]
    assert [f["message"] for f in merged["findings"]] == [f["message"] for f in whole["findings"]]
    assert merged["summary"] == whole["summary"]
    assert identities(merged) == identities(whole)

    # what crosses shards is there: a grant in another project, and the accounts it names
    ops0 = identities(merged)[sa("acme-ops", 0)]
    assert ("roles/owner", "projects/acme-build") in {(g["role"], g["scope"]) for g in ops0["grants"]}
    assert ops0["attributes"]["cross_project_grants"] == ["projects/acme-build"]
    compute = identities(merged)[COMPUTE]
    assert compute["scope"] == "acme-ml"
    assert {g["scope"] for g in compute["grants"]} == {"projects/acme-ops"}
    assert {g["scope"] for g in identities(merged)[AGENT]["grants"]} == {
        "projects/acme-build",
        "projects/acme-ops",
    }
    assert FOREIGN in identities(merged)


def test_a_shard_reads_other_projects_accounts_and_policy_only(peer: FakeGcp, tmp_path: Path) -> None:
    seed(peer)
    mine = [p for p in PROJECTS if shard_of(p, 2) == 0]
    res = nhiscan(peer, "inventory", *project_args(), "--shard", "0/2", "-o", str(tmp_path / "0.json"))
    assert res.code == 0, res.stderr
    keys = {c.resource for c in peer.calls if c.method.endswith("/ListServiceAccountKeys")}
    assert keys and all(k and k.split("/")[1] in mine for k in keys)
    effective = {c.resource for c in peer.calls if c.method.endswith("/GetEffectivePolicy")}
    assert effective and all(r and r.split("/")[1] in mine for r in effective)
    assert peer.count()["GetIamPolicy"] == len(PROJECTS)
    assert peer.count()["ListServiceAccounts"] == len(PROJECTS)
