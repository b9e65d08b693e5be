"""Issue 15's checks on hostile sizes: one service account bound on thousands of projects, thousands
of outside members, and key-policy lists, cost CPU time linear in the input (bounded by the CPU
seconds the scan used, so a busy machine does not fail it; the harness timeout bounds wall time)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.hostile.cputime import cpu_seconds


def _asset_policies(n: int) -> list[dict[str, object]]:
    sa = "serviceAccount:etl@acme-orders-prod.iam.gserviceaccount.com"
    out: list[dict[str, object]] = []
    for i in range(n):
        env = "dev" if i % 2 else "prod"
        out.append(
            {
                "assetType": "cloudresourcemanager.googleapis.com/Project",
                "organization": "organizations/903118772650",
                "project": f"projects/{100000000000 + i}",
                "resource": f"//cloudresourcemanager.googleapis.com/projects/acme-{env}-{i:06d}",
                "policy": {
                    "bindings": [
                        {"role": "roles/storage.admin", "members": [sa]},
                        {"role": "roles/owner", "members": ["group:admins@acme-corp.com"]},
                        {"role": "roles/viewer", "members": [f"user:contractor{i}@outside{i % 97}.example"]},
                    ]
                },
            }
        )
    return out


def _scan(tmp_path: Path, n: int) -> tuple[dict[str, object], float]:
    path = tmp_path / f"assets-{n}.json"
    path.write_text(json.dumps(_asset_policies(n)))

    def run() -> dict[str, object]:
        res = run_cli("scan", "--input", str(path), "--format", "json", "--fail-on", "none", timeout=240)
        assert res.code == 0, res.stderr
        out: dict[str, object] = res.json()
        return out

    return cpu_seconds(run)


def test_grant_and_member_checks_scale_linearly(tmp_path: Path) -> None:
    _, small_cpu = _scan(tmp_path, 1500)
    large, large_cpu = _scan(tmp_path, 6000)
    rules = [f["rule_id"] for f in large["findings"]]  # type: ignore[index]
    assert rules.count("nhi-cross-environment") == 1
    # every outside user, and the service account itself: its project acme-orders-prod was not scanned
    assert rules.count("gcp-external-principal") == 6001
    # four times the input: well under sixteen times the CPU (a quadratic walk would be that)
    assert large_cpu < max(8 * small_cpu, 30.0), (small_cpu, large_cpu)
    message = next(f["message"] for f in large["findings"] if f["rule_id"] == "nhi-cross-environment")  # type: ignore[index]
    assert len(message) < 1000
