"""What the GCP, Azure and Kubernetes escalation-edge builders cost next to reading the exports.

    python benchmarks/graph_xcloud_bench.py [--n 50000]

For each provider, writes a synthetic export set of N identities in the real CLI shapes (kubectl
List with RBAC over namespaces of 20 service accounts, one in ten of which may create pods there,
20 cluster-wide editors, legacy token secrets and IRSA annotations plus a GAAD; gcloud service-account list
and Cloud Asset Inventory policies over many projects; az sp list, Graph applications with owners,
app role assignments and role assignments), scans it (``run_scan``: reading, rules, scores) and runs
the provider's edge builder on the same inventory, side by side in this one process. Prints the
wall time and the tracemalloc peak (measured in separate runs) of each, their ratio (edges /
scan), and the number of edges. Broad grants (cluster-wide pod creation, project-wide actAs, tenant-wide
Application.ReadWrite.All) are in every set, so the per-source cap is exercised. Fails (exit 1)
when building edges takes more than half the scan's time or memory.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nhiscan.analyze.graph import edges_azure, edges_gcp, edges_kubernetes  # noqa: E402
from nhiscan.config import InputSpec, ScanConfig  # noqa: E402
from nhiscan.core import collect_inventory, run_scan  # noqa: E402

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
TS = "2025-09-14T08:21:37Z"
ACCOUNT = "444455556666"
NAMESPACE_SIZE = 20  # service accounts per namespace; one in ten may create pods in its namespace
OIDC = "oidc.eks.eu-west-1.amazonaws.com/id/5C3F0A1B8E2D4C6A9F7B1E3D5A7C9B2F"


def _guid(i: int, kind: int) -> str:
    return f"{kind:08x}-{i >> 16 & 0xFFFF:04x}-4{i & 0xFFF:03x}-8{kind & 0xFFF:03x}-{i:012x}"


def kubernetes(n: int, where: Path) -> list[InputSpec]:
    items: list[dict[str, Any]] = []
    roles = []
    for i in range(n):
        ns = _ns(i, n)
        md: dict[str, Any] = {
            "name": f"sa{i:06d}",
            "namespace": ns,
            "creationTimestamp": TS,
            "uid": _guid(i, 1),
        }
        if i % 100 == 0:
            md["annotations"] = {"eks.amazonaws.com/role-arn": f"arn:aws:iam::{ACCOUNT}:role/irsa-{i}"}
            sub = f"system:serviceaccount:{ns}:sa{i:06d}"
            roles.append(_irsa_role(f"irsa-{i}", sub))
        items.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": md})
        if i % 10 == 0:
            items.append(_binding("RoleBinding", f"rb{i}", ns, "Role", "pod-creator", ns, f"sa{i:06d}"))
        if i % 20 == 0:
            items.append(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "type": "kubernetes.io/service-account-token",
                    "metadata": {
                        "name": f"sa{i:06d}-token",
                        "namespace": ns,
                        "annotations": {"kubernetes.io/service-account.name": f"sa{i:06d}"},
                    },
                }
            )
    for ns in {str(x["metadata"].get("namespace")) for x in items if x["kind"] == "ServiceAccount"}:
        items.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "pod-creator", "namespace": ns},
                "rules": [{"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["create", "get"]}],
            }
        )
    for j in range(20):
        items.append(
            _binding("ClusterRoleBinding", f"crb{j}", "", "ClusterRole", "edit", _ns(j, n), f"sa{j:06d}")
        )
    (where / "k8s.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    gaad = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles, "Policies": []}
    (where / "gaad.json").write_text(json.dumps(gaad))
    return [InputSpec(str(where / "k8s.json"), "bench"), InputSpec(str(where / "gaad.json"))]


def _ns(i: int, n: int) -> str:
    return f"ns{i % max(1, n // NAMESPACE_SIZE):05d}"


def _binding(kind: str, name: str, ns: str, ref_kind: str, ref: str, sa_ns: str, sa: str) -> dict[str, Any]:
    md = {"name": name, **({"namespace": ns} if ns else {})}
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": md,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": ref_kind, "name": ref},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": sa_ns}],
    }


def _irsa_role(name: str, sub: str) -> dict[str, Any]:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{OIDC}:sub": sub, f"{OIDC}:aud": "sts.amazonaws.com"}},
            }
        ],
    }
    return {
        "Path": "/",
        "RoleName": name,
        "RoleId": f"AROA{abs(hash(name)) % 10**17:017d}",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "CreateDate": "2025-03-11T09:42:17+00:00",
        "AssumeRolePolicyDocument": trust,
        "InstanceProfileList": [],
        "RolePolicyList": [],
        "AttachedManagedPolicies": [],
        "Tags": [],
    }


def gcp(n: int, where: Path) -> list[InputSpec]:
    projects = max(1, n // 500)
    accounts = []
    results = []
    for i in range(n):
        project = f"proj-{i % projects:05d}"
        email = f"sa{i:06d}@{project}.iam.gserviceaccount.com"
        accounts.append(
            {
                "email": email,
                "name": f"projects/{project}/serviceAccounts/{email}",
                "projectId": project,
                "uniqueId": f"{10**20 + i}",
                "displayName": f"sa {i}",
            }
        )
        if i % 50 == 0:
            member = f"serviceAccount:sa{(i + 1) % n:06d}@{f'proj-{(i + 1) % n % projects:05d}'}.iam.gserviceaccount.com"
            results.append(
                {
                    "assetType": "iam.googleapis.com/ServiceAccount",
                    "resource": f"//iam.googleapis.com/projects/{project}/serviceAccounts/{10**20 + i}",
                    "project": f"projects/{100000 + i % projects}",
                    "folders": ["folders/1"],
                    "organization": "organizations/2",
                    "policy": {
                        "bindings": [{"role": "roles/iam.serviceAccountTokenCreator", "members": [member]}]
                    },
                }
            )
    for p in range(projects):
        members = [
            f"serviceAccount:sa{p + k * projects:06d}@proj-{p:05d}.iam.gserviceaccount.com" for k in range(3)
        ]
        results.append(
            {
                "assetType": "cloudresourcemanager.googleapis.com/Project",
                "resource": f"//cloudresourcemanager.googleapis.com/projects/proj-{p:05d}",
                "project": f"projects/{100000 + p}",
                "folders": ["folders/1"],
                "organization": "organizations/2",
                "policy": {
                    "bindings": [
                        {"role": "roles/iam.serviceAccountUser", "members": members[:2]},
                        {"role": "roles/editor", "members": members[2:]},
                    ]
                },
            }
        )
    results.append(
        {
            "assetType": "cloudresourcemanager.googleapis.com/Folder",
            "resource": "//cloudresourcemanager.googleapis.com/folders/1",
            "organization": "organizations/2",
            "policy": {
                "bindings": [{"role": "roles/iam.serviceAccountKeyAdmin", "members": [accounts[0]["email"]]}]
            },
        }
    )
    (where / "sa.json").write_text(json.dumps(accounts))
    (where / "assets.json").write_text(json.dumps(results))
    return [InputSpec(str(where / "sa.json")), InputSpec(str(where / "assets.json"))]


def azure(n: int, where: Path) -> list[InputSpec]:
    tenant = "3f9a1c7e-52d4-4b8a-9e6f-0c2d7b1a4e58"
    sub = "6d1e8b3a-4c7f-4a92-b5e0-9f2c3d8a1b47"
    sps, apps, assignments, app_roles = [], [], [], []
    for i in range(n):
        managed = i % 10 == 0
        sp: dict[str, Any] = {
            "id": _guid(i, 2),
            "appId": _guid(i, 3),
            "displayName": f"sp{i}",
            "servicePrincipalType": "ManagedIdentity" if managed else "Application",
            "appOwnerOrganizationId": None if managed else tenant,
            "alternativeNames": [
                f"/subscriptions/{sub}/resourceGroups/rg{i % 100}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi{i}"
            ]
            if managed
            else [],
        }
        sps.append(sp)
        if not managed:
            owner = {"@odata.type": "#microsoft.graph.servicePrincipal", "id": _guid((i + 1) % n, 2)}
            apps.append(
                {"appId": sp["appId"], "id": _guid(i, 4), "signInAudience": "AzureADMyOrg", "owners": [owner]}
            )
        if i % 500 == 1:
            assignments.append(
                {
                    "principalId": sp["id"],
                    "principalType": "ServicePrincipal",
                    "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                    "roleDefinitionName": "Owner",
                    "scope": f"/subscriptions/{sub}/resourceGroups/rg{i % 100}",
                }
            )
        if i % 5000 == 3:
            app_roles.append(
                {
                    "appRoleId": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
                    "principalId": sp["id"],
                    "resourceId": _guid(0, 9),
                }
            )
    for name, data in (
        ("sp.json", sps),
        ("apps.json", apps),
        ("ra.json", assignments),
        ("approles.json", app_roles),
    ):
        (where / name).write_text(json.dumps(data))
    return [InputSpec(str(where / n)) for n in ("sp.json", "apps.json", "ra.json", "approles.json")]


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def peak(fn: Callable[[], Any]) -> int:
    """tracemalloc's peak while ``fn`` runs (a separate run: tracing slows the timed one)."""
    tracemalloc.start()
    fn()
    top = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return top


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=50_000, help="identities per provider")
    args = parser.parse_args()
    worst = 0.0
    print(
        f"{'provider':<11}{'scan s':>9}{'edges s':>9}{'time x':>8}{'scan MB':>9}{'edges MB':>9}{'mem x':>7}{'edges':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name, write, builder in (
            ("kubernetes", kubernetes, edges_kubernetes),
            ("gcp", gcp, edges_gcp),
            ("azure", azure, edges_azure),
        ):
            where = Path(tmp) / name
            where.mkdir()
            config = ScanConfig(as_of=AS_OF, inputs=tuple(write(args.n, where)))
            inventory, errors = collect_inventory(config)
            if errors:
                print(f"{name}: {len(errors)} errors reading the synthetic exports: {errors[0]}")
                return 1
            _, t_scan = timed(lambda c=config: run_scan(c))
            found, t_edges = timed(lambda b=builder, i=inventory: list(b.edges(i, AS_OF)))
            m_scan = peak(lambda c=config: run_scan(c))
            m_edges = peak(lambda b=builder, i=inventory: list(b.edges(i, AS_OF)))
            worst = max(worst, t_edges / t_scan, m_edges / m_scan)
            print(
                f"{name:<11}{t_scan:>9.2f}{t_edges:>9.2f}{t_edges / t_scan:>8.2f}{m_scan / 2**20:>9.1f}"
                f"{m_edges / 2**20:>9.1f}{m_edges / m_scan:>7.2f}{len(found):>9}"
            )
    if worst > 0.5:
        print(f"FAIL: building edges took {worst:.2f}x the scan's time or memory (limit 0.5)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
