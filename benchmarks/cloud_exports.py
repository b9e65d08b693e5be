"""Scale of the offline GCP, Azure and Kubernetes sources: synthetic exports of N identities each.

Usage: python benchmarks/cloud_exports.py [--n 5000]
Writes a GCP project (N service accounts, one user-managed key each, a project policy binding
each to a role), an Azure tenant (N service principals, N app registrations with a secret, N role
assignments) and a kubectl List (N service accounts, N RoleBindings, N/10 legacy token Secrets)
into a temporary directory, then times `nhiscan scan --format json` on each through the console
script (process start, read, normalize, all rules, JSON rendering).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path


def gcp(d: Path, n: int) -> list[str]:
    sas, keys, bindings = [], [], []
    for i in range(n):
        email = f"sa-{i}@bench-proj.iam.gserviceaccount.com"
        sas.append(
            {
                "email": email,
                "name": f"projects/bench-proj/serviceAccounts/{email}",
                "projectId": "bench-proj",
                "uniqueId": str(10**20 + i),
                "displayName": f"sa {i}",
            }
        )
        keys.append(
            {
                "keyAlgorithm": "KEY_ALG_RSA_2048",
                "keyOrigin": "GOOGLE_PROVIDED",
                "keyType": "USER_MANAGED",
                "name": f"projects/bench-proj/serviceAccounts/{email}/keys/{uuid.uuid4().hex}{i:08x}",
                "validAfterTime": "2025-01-01T00:00:00Z",
                "validBeforeTime": "9999-12-31T23:59:59Z",
            }
        )
        role = ("roles/editor", "roles/iam.serviceAccountUser", "roles/storage.objectViewer")[i % 3]
        bindings.append({"role": role, "members": [f"serviceAccount:{email}"]})
    (d / "sa.json").write_text(json.dumps(sas))
    (d / "keys.json").write_text(json.dumps(keys))
    (d / "policy.json").write_text(json.dumps({"bindings": bindings, "etag": "BwX=", "version": 1}))
    return ["-i", str(d / "sa.json"), "-i", str(d / "keys.json"), "-i", f"bench-proj={d / 'policy.json'}"]


def azure(d: Path, n: int) -> list[str]:
    tenant = str(uuid.uuid4())
    sps, apps, ras = [], [], []
    for i in range(n):
        app_id, oid = str(uuid.uuid4()), str(uuid.uuid4())
        sps.append(
            {
                "id": oid,
                "appId": app_id,
                "displayName": f"app-{i}",
                "servicePrincipalType": "Application",
                "appOwnerOrganizationId": tenant,
                "passwordCredentials": [],
                "keyCredentials": [],
                "tags": [],
            }
        )
        apps.append(
            {
                "appId": app_id,
                "displayName": f"app-{i}",
                "signInAudience": "AzureADMyOrg",
                "keyCredentials": [],
                "passwordCredentials": [
                    {
                        "keyId": str(uuid.uuid4()),
                        "hint": "abc",
                        "displayName": "s",
                        "startDateTime": "2025-01-01T00:00:00Z",
                        "endDateTime": "2027-06-01T00:00:00Z",
                    }
                ],
            }
        )
        ras.append(
            {
                "principalId": oid,
                "principalType": "ServicePrincipal",
                "roleDefinitionName": "Contributor",
                "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
                "scope": f"/subscriptions/{tenant}/resourceGroups/rg-{i % 50}",
            }
        )
    for name, data in (("sp.json", sps), ("app.json", apps), ("ra.json", ras)):
        (d / name).write_text(json.dumps(data))
    return ["-i", str(d / "sp.json"), "-i", str(d / "app.json"), "-i", str(d / "ra.json")]


def kubernetes(d: Path, n: int) -> list[str]:
    items: list[dict[str, object]] = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "worker", "namespace": f"ns-{j}"},
            "rules": [{"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get", "list"]}],
        }
        for j in range(100)
    ]
    for i in range(n):
        ns, name = f"ns-{i % 100}", f"sa-{i}"
        items.append(
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}}
        )
        items.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": name, "namespace": ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "worker"},
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
            }
        )
        if i % 10 == 0:
            items.append(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "type": "kubernetes.io/service-account-token",
                    "metadata": {
                        "name": f"{name}-token",
                        "namespace": ns,
                        "annotations": {"kubernetes.io/service-account.name": name},
                    },
                    "data": {"token": "c2VjcmV0"},
                }
            )
    (d / "k8s.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    return ["-i", f"bench={d / 'k8s.json'}"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    exe = Path(sys.executable).parent / "nhiscan"
    nhiscan = str(exe) if exe.exists() else shutil.which("nhiscan") or "nhiscan"
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in (("gcp", gcp), ("azure", azure), ("kubernetes", kubernetes)):
            d = Path(tmp) / name
            d.mkdir()
            inputs = build(d, args.n)
            start = time.perf_counter()
            proc = subprocess.run(
                [nhiscan, "scan", *inputs, "--format", "json", "--as-of", "2026-11-01", "--fail-on", "none"],
                capture_output=True,
                text=True,
                check=False,
            )
            took = time.perf_counter() - start
            if proc.returncode != 0:
                sys.exit(f"{name}: exit {proc.returncode}: {proc.stderr.strip()}")
            data = json.loads(proc.stdout)
            print(
                f"{name:<11} identities={data['summary']['identities']:>6} findings={len(data['findings']):>6} "
                f"wall={took:.2f}s"
            )


if __name__ == "__main__":
    main()
