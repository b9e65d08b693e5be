"""Logging posture: exports read by content into LogConfigs, evaluated per provider and scope.

Each case scans real-shaped exports through the same core the CLI uses and asserts the status, what
is and is not logged, and which rules fire; tests/e2e/test_logging_cli.py drives the console script.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from nhiscan.config import InputSpec, ScanConfig, Settings
from nhiscan.core import run_scan
from nhiscan.model import Report
from tests.conftest import FIXTURES

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
ACCOUNT = "111122223333"
ARN = f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/main"


def scan(tmp_path: Path, files: dict[str, Any], scopes: dict[str, str] | None = None) -> Report:
    inputs = []
    for name, data in files.items():
        path = tmp_path / name
        path.write_text(json.dumps(data) if not isinstance(data, str) else data)
        inputs.append(InputSpec(str(path), (scopes or {}).get(name)))
    return run_scan(ScanConfig(as_of=AS_OF, inputs=tuple(inputs), settings=Settings()))


def trail(**over: Any) -> dict[str, Any]:
    base = {
        "Name": "main",
        "TrailARN": ARN,
        "HomeRegion": "eu-west-1",
        "IsMultiRegionTrail": True,
        "IncludeGlobalServiceEvents": True,
        "LogFileValidationEnabled": True,
        "HasCustomEventSelectors": True,
        "IsOrganizationTrail": False,
    }
    return {**base, **over}


def logging_status(status: bool = True) -> dict[str, Any]:
    return {"Kind": "nhiscan-aws-cloudtrail-status", "Trails": [{"TrailARN": ARN, "IsLogging": status}]}


def aws_case(tmp_path: Path, selectors: dict[str, Any], **over: Any) -> tuple[dict[str, Any], set[str]]:
    report = scan(
        tmp_path,
        {
            "trails.json": {"trailList": [trail(**over)]},
            "selectors.json": {"TrailARN": ARN, **selectors},
            "status.json": logging_status(),
        },
    )
    assert not report.errors, report.errors
    [scope] = report.logging["aws"]["scopes"]
    return scope, {f.rule_id for f in report.findings}


def test_all_management_events_validated_is_logged(tmp_path: Path) -> None:
    scope, rules = aws_case(
        tmp_path, {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]}
    )
    assert scope["status"] == "logged"
    assert scope["logged"] == ["IAM read calls", "IAM write calls", "STS read calls", "STS write calls"]
    assert not rules & {"aws-identity-calls-not-logged", "aws-trail-no-log-validation"}


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ({"Field": "eventSource", "NotEquals": ["iam.amazonaws.com", "sts.amazonaws.com"]}, "no"),
        ({"Field": "eventSource", "NotStartsWith": ["sts."]}, "iam-only"),
        ({"Field": "readOnly", "Equals": ["false"]}, "write-only"),
        ({"Field": "eventName", "NotEquals": ["GetCallerIdentity"]}, "some"),
    ],
)
def test_advanced_selectors(tmp_path: Path, field: dict[str, Any], expected: str) -> None:
    selectors = {
        "AdvancedEventSelectors": [
            {"Name": "mgmt", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, field]}
        ]
    }
    scope, rules = aws_case(tmp_path, selectors)
    captured = scope["details"]["captured"]
    if expected == "no":
        assert scope["status"] == "not-logged"
        assert captured["iam.amazonaws.com"] == {"read": "no", "write": "no"}
    elif expected == "iam-only":
        assert captured["iam.amazonaws.com"] == {"read": "yes", "write": "yes"}
        assert captured["sts.amazonaws.com"] == {"read": "no", "write": "no"}
    elif expected == "write-only":
        assert captured["sts.amazonaws.com"] == {"read": "no", "write": "yes"}
    else:
        assert captured["sts.amazonaws.com"] == {"read": "some", "write": "some"}
    assert scope["status"] != "logged"
    assert "aws-identity-calls-not-logged" in rules


def test_data_event_selector_alone_logs_no_identity_call(tmp_path: Path) -> None:
    selectors = {
        "AdvancedEventSelectors": [
            {
                "Name": "s3",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                ],
            }
        ]
    }
    scope, rules = aws_case(tmp_path, selectors)
    assert scope["status"] == "not-logged"
    assert "aws-identity-calls-not-logged" in rules


def test_basic_selector_excluding_management_or_sources(tmp_path: Path) -> None:
    scope, _ = aws_case(
        tmp_path, {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False}]}
    )
    assert scope["status"] == "not-logged"
    scope, _ = aws_case(
        tmp_path,
        {
            "EventSelectors": [
                {"ReadWriteType": "All", "ExcludeManagementEventSources": ["sts.amazonaws.com"]}
            ]
        },
    )
    assert scope["details"]["captured"]["sts.amazonaws.com"] == {"read": "no", "write": "no"}
    assert scope["status"] == "partial"


def test_single_region_without_global_events_and_no_validation(tmp_path: Path) -> None:
    report = scan(
        tmp_path,
        {
            "trails.json": {
                "trailList": [
                    trail(
                        IsMultiRegionTrail=False,
                        IncludeGlobalServiceEvents=False,
                        LogFileValidationEnabled=False,
                        HasCustomEventSelectors=False,
                    )
                ]
            },
            "status.json": logging_status(),
        },
    )
    [scope] = report.logging["aws"]["scopes"]
    assert scope["details"]["captured"]["iam.amazonaws.com"] == {"read": "no", "write": "no"}
    assert scope["details"]["captured"]["sts.amazonaws.com"] == {"read": "some", "write": "some"}
    [finding] = [f for f in report.findings if f.rule_id == "aws-identity-calls-not-logged"]
    assert "single-region" in finding.message and "global service events" in finding.message
    assert [f.rule_id for f in report.findings if f.rule_id == "aws-trail-no-log-validation"]


def test_stopped_trail_and_empty_trail_list(tmp_path: Path) -> None:
    report = scan(
        tmp_path,
        {
            "trails.json": {"trailList": [trail(HasCustomEventSelectors=False)]},
            "status.json": logging_status(False),
        },
    )
    [scope] = report.logging["aws"]["scopes"]
    assert scope["status"] == "not-logged"
    [finding] = [f for f in report.findings if f.rule_id == "aws-identity-calls-not-logged"]
    assert finding.severity.value == "high" and "IsLogging false" in finding.message
    assert "Denied calls are management events" in finding.message
    empty = scan(tmp_path, {"none.json": {"trailList": []}}, {"none.json": ACCOUNT})
    assert empty.logging["aws"]["scopes"][0]["status"] == "not-logged"
    unnamed = scan(tmp_path, {"none.json": {"trailList": []}})
    assert unnamed.errors and "ACCOUNT_ID=FILE" in unnamed.errors[0].message


def test_status_unknown_without_trail_status(tmp_path: Path) -> None:
    report = scan(tmp_path, {"trails.json": {"trailList": [trail(HasCustomEventSelectors=False)]}})
    [scope] = report.logging["aws"]["scopes"]
    assert scope["status"] == "unknown"
    assert "get-trail-status" in scope["details"]["reason"]
    assert not [f for f in report.findings if f.rule_id.startswith("aws-")]


def test_organization_trail_account_and_status_by_scope(tmp_path: Path) -> None:
    org_arn = "arn:aws:cloudtrail:us-east-1:999988887777:trail/org"
    org = trail(Name="org", TrailARN=org_arn, IsOrganizationTrail=True, HasCustomEventSelectors=False)
    own = trail(
        Name="local", TrailARN=f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/local", IsMultiRegionTrail=False
    )
    status = {"IsLogging": True, "LatestDeliveryTime": "2026-10-31T23:00:00Z"}
    report = scan(tmp_path, {"trails.json": {"trailList": [org, own]}, "s.json": status}, {"s.json": org_arn})
    assert not report.errors, report.errors
    [scope] = report.logging["aws"]["scopes"]
    assert scope["scope"] == ACCOUNT  # not the management account the organization trail names
    assert scope["status"] == "logged"
    # a status of a trail no describe-trails lists: kept, in the trail's own account, as unknown
    orphan = scan(tmp_path, {"trails.json": {"trailList": [own]}, "s.json": status}, {"s.json": org_arn})
    assert not orphan.errors
    scopes = {s["scope"]: s for s in orphan.logging["aws"]["scopes"]}
    assert scopes["999988887777"]["status"] == "unknown"
    assert "describe-trails" in scopes["999988887777"]["details"]["reason"]
    by_name = scan(tmp_path, {"s.json": status}, {"s.json": "org"})
    assert by_name.errors and "give its ARN as SCOPE" in by_name.errors[0].message
    unscoped = scan(tmp_path, {"s.json": status})
    assert unscoped.errors and "TRAIL_ARN=FILE" in unscoped.errors[0].message


def test_account_with_identities_and_no_cloudtrail_export_is_unknown() -> None:
    report = run_scan(
        ScanConfig(
            as_of=AS_OF, inputs=(InputSpec(str(FIXTURES / "aws/acme-prod/gaad.json")),), settings=Settings()
        )
    )
    [scope] = report.logging["aws"]["scopes"]
    assert scope["status"] == "unknown" and "describe-trails" in scope["details"]["reason"]


# -- GCP ---------------------------------------------------------------------------------------------

SA = "batch@acme-dev.iam.gserviceaccount.com"


def policy(*configs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "bindings": [{"role": "roles/viewer", "members": [f"serviceAccount:{SA}"]}],
        "etag": "x",
        "version": 1,
    }
    if configs:
        out["auditConfigs"] = list(configs)
    return out


def all_types(service: str, exempt: list[str] | None = None) -> dict[str, Any]:
    logs: list[dict[str, Any]] = [{"logType": t} for t in ("ADMIN_READ", "DATA_READ", "DATA_WRITE")]
    if exempt:
        logs[1]["exemptedMembers"] = exempt
    return {"service": service, "auditLogConfigs": logs}


def test_gcp_services_and_exemptions(tmp_path: Path) -> None:
    report = scan(tmp_path, {"p.json": policy()}, {"p.json": "acme-dev"})
    [scope] = report.logging["gcp"]["scopes"]
    assert scope["status"] == "not-logged"
    [f] = [f for f in report.findings if f.rule_id == "gcp-iam-data-access-not-logged"]
    assert f.severity.value == "high"
    both = scan(
        tmp_path,
        {"p.json": policy(all_types("iam.googleapis.com"), all_types("sts.googleapis.com"))},
        {"p.json": "acme-dev"},
    )
    assert both.logging["gcp"]["scopes"][0]["status"] == "logged"
    assert not [f for f in both.findings if f.rule_id.startswith("gcp-iam-data")]
    iam_only = scan(tmp_path, {"p.json": policy(all_types("iam.googleapis.com"))}, {"p.json": "acme-dev"})
    [f] = [f for f in iam_only.findings if f.rule_id == "gcp-iam-data-access-not-logged"]
    assert f.severity.value == "medium" and "STS token exchanges" in f.message and "signJwt" not in f.message
    exempt = scan(
        tmp_path,
        {"p.json": policy(all_types("allServices", [f"serviceAccount:{SA}", "user:a@acme.example"]))},
        {"p.json": "acme-dev"},
    )
    assert exempt.logging["gcp"]["scopes"][0]["status"] == "partial"
    [f] = [f for f in exempt.findings if f.rule_id == "gcp-audit-log-exempts-service-account"]
    assert f.identity_id == SA and f.severity.value == "high"
    other = scan(
        tmp_path,
        {
            "p.json": policy(
                all_types("allServices"), all_types("storage.googleapis.com", [f"serviceAccount:{SA}"])
            )
        },
        {"p.json": "acme-dev"},
    )
    [f] = [f for f in other.findings if f.rule_id == "gcp-audit-log-exempts-service-account"]
    assert f.severity.value == "medium"


def test_gcp_organization_configs_are_taken_as_ancestors(tmp_path: Path) -> None:
    report = scan(
        tmp_path,
        {
            "p.json": policy(),
            "org.json": {"bindings": [], "etag": "y", "auditConfigs": [all_types("allServices")]},
        },
        {"p.json": "acme-dev", "org.json": "organizations/123456789012"},
    )
    scopes = {s["scope"]: s for s in report.logging["gcp"]["scopes"]}
    assert scopes["projects/acme-dev"]["status"] == "logged"
    assert scopes["projects/acme-dev"]["details"]["inherited_from"] == ["organizations/123456789012"]


# -- Azure -------------------------------------------------------------------------------------------

SUB = "4d8e2a61-7c3b-4f09-9e15-b2a6c8d0f3e7"
TENANT = "0b6f5c2e-3a4d-4c8e-9f1a-2d7e6b5c4a39"


def setting(ident: str, cats: dict[str, bool], flat: bool, **dest: str) -> dict[str, Any]:
    props = {"logs": [{"category": c, "enabled": on} for c, on in cats.items()], **dest}
    return (
        {"id": ident, "name": ident.rsplit("/", 1)[1], **props}
        if flat
        else {"id": ident, "name": ident.rsplit("/", 1)[1], "properties": props}
    )


@pytest.mark.parametrize("flat", [True, False])
def test_azure_activity_log_both_shapes(tmp_path: Path, flat: bool) -> None:
    ident = f"/subscriptions/{SUB}/providers/microsoft.insights/diagnosticSettings/to-law"
    good = setting(
        ident,
        {"Administrative": True, "Security": True, "Policy": True},
        flat,
        workspaceId="/subscriptions/x/w",
    )
    nowhere = setting(ident, {"Administrative": True}, flat)
    report = scan(tmp_path, {"a.json": [good] if flat else {"value": [good]}})
    assert report.logging["azure"]["scopes"][0] | {} and report.logging["azure"]["status"] == "logged"
    report = scan(tmp_path, {"a.json": [nowhere] if flat else {"value": [nowhere]}})
    assert report.logging["azure"]["status"] == "not-logged"
    assert [f for f in report.findings if f.rule_id == "azure-activity-log-not-exported"]


def test_azure_empty_list_needs_a_scope(tmp_path: Path) -> None:
    report = scan(tmp_path, {"a.json": {"value": []}})
    assert report.errors and "subscriptions/SUBSCRIPTION_ID=FILE" in report.errors[0].message
    report = scan(tmp_path, {"a.json": {"value": []}}, {"a.json": f"subscriptions/{SUB}"})
    assert not report.errors and report.logging["azure"]["scopes"][0]["scope"] == SUB
    assert [f for f in report.findings if f.rule_id == "azure-activity-log-not-exported"]
    report = scan(tmp_path, {"e.json": {"value": []}}, {"e.json": f"tenants/{TENANT}"})
    [f] = [f for f in report.findings if f.rule_id == "azure-identity-signin-logs-not-exported"]
    assert TENANT in f.message


def test_entra_settings_take_the_tenant_of_the_service_principals() -> None:
    inputs = tuple(InputSpec(str(p)) for p in sorted((FIXTURES / "azure/contoso").iterdir()))
    report = run_scan(ScanConfig(as_of=AS_OF, inputs=inputs, settings=Settings()))
    scopes = {s["scope"]: s for s in report.logging["azure"]["scopes"]}
    assert scopes[TENANT]["not_logged"] == ["ServicePrincipalSignInLogs", "ManagedIdentitySignInLogs"]
    assert scopes["9c2b7e41-5d3a-4f6e-8b1c-0a9d8e7f6c5b"]["status"] == "logged"


def test_aks_diagnostic_settings_tell_the_cluster_audit(tmp_path: Path) -> None:
    aks = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-prod"
    off = setting(
        f"{aks}/providers/microsoft.insights/diagnosticSettings/d",
        {"kube-apiserver": True, "kube-audit": False},
        False,
        workspaceId="w",
    )
    report = scan(tmp_path, {"d.json": {"value": [off]}})
    [scope] = report.logging["kubernetes"]["scopes"]
    assert scope["scope"] == "aks-prod" and scope["status"] == "not-logged"
    on = setting(
        f"{aks}/providers/microsoft.insights/diagnosticSettings/d",
        {"kube-audit-admin": True},
        False,
        workspaceId="w",
    )
    assert scan(tmp_path, {"d.json": {"value": [on]}}).logging["kubernetes"]["status"] == "logged"


# -- Kubernetes --------------------------------------------------------------------------------------


def apiserver(*flags: str) -> dict[str, Any]:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "kube-apiserver-cp-1",
            "namespace": "kube-system",
            "labels": {"component": "kube-apiserver"},
        },
        "spec": {
            "containers": [
                {"name": "kube-apiserver", "command": ["kube-apiserver", "--secure-port=6443", *flags]}
            ]
        },
    }
    return {"apiVersion": "v1", "kind": "List", "items": [pod]}


@pytest.mark.parametrize(
    ("flags", "status"),
    [
        ((), "not-logged"),
        (("--audit-policy-file=/etc/kubernetes/audit.yaml",), "not-logged"),
        (("--audit-policy-file=/etc/kubernetes/audit.yaml", "--audit-log-path=/var/log/audit.log"), "logged"),
        (("--audit-policy-file=/p.yaml", "--audit-webhook-config-file=/w.yaml"), "logged"),
    ],
)
def test_kube_apiserver_flags(tmp_path: Path, flags: tuple[str, ...], status: str) -> None:
    report = scan(tmp_path, {"pods.json": apiserver(*flags)}, {"pods.json": "cp-cluster"})
    assert not report.errors
    [scope] = report.logging["kubernetes"]["scopes"]
    assert (scope["scope"], scope["status"]) == ("cp-cluster", status)
    assert bool([f for f in report.findings if f.rule_id == "k8s-audit-logging-off"]) == (
        status == "not-logged"
    )


def test_gke_reads_depend_on_the_project_k8s_data_access(tmp_path: Path) -> None:
    gke = {
        "name": "gke-prod",
        "selfLink": "https://container.googleapis.com/v1/projects/acme-dev/locations/europe-west1/clusters/gke-prod",
        "loggingConfig": {"componentConfig": {"enableComponents": ["SYSTEM_COMPONENTS", "WORKLOADS"]}},
    }
    alone = scan(tmp_path, {"gke.json": gke}, {"gke.json": "gke-prod"})
    [scope] = alone.logging["kubernetes"]["scopes"]
    assert scope["status"] == "partial" and not [
        f for f in alone.findings if f.rule_id == "k8s-audit-logging-off"
    ]
    with_reads = scan(
        tmp_path,
        {"gke.json": gke, "p.json": policy(all_types("k8s.io"))},
        {"gke.json": "gke-prod", "p.json": "acme-dev"},
    )
    assert with_reads.logging["kubernetes"]["scopes"][0]["status"] == "logged"


def test_cluster_with_identities_and_nothing_telling_is_unknown() -> None:
    path = FIXTURES / "kubernetes/prod-cluster/rbac-and-serviceaccounts.json"
    report = run_scan(ScanConfig(as_of=AS_OF, inputs=(InputSpec(str(path)),), settings=Settings()))
    [scope] = report.logging["kubernetes"]["scopes"]
    assert scope["status"] == "unknown"
    assert not [f for f in report.findings if f.rule_id == "k8s-audit-logging-off"]


def test_malformed_cluster_and_pod_fields_are_one_error_or_ignored(tmp_path: Path) -> None:
    eks = json.loads((FIXTURES / "kubernetes/prod-cluster/eks-describe-cluster.json").read_text())
    eks["cluster"]["logging"]["clusterLogging"][1]["types"] = "audit"
    report = scan(tmp_path, {"eks.json": eks})
    assert [e.message for e in report.errors] == [
        "cluster.logging.clusterLogging[1]: expected types (a list) and enabled; not read"
    ]
    assert "kubernetes" not in report.logging  # nothing was learnt, nothing is claimed
    pods = apiserver("--audit-policy-file=/p.yaml")
    pods["items"][0]["spec"]["containers"][0]["args"] = "--audit-log-path=/var/log/a.log"
    report = scan(tmp_path, {"pods.json": pods})
    assert not report.errors
    assert report.logging["kubernetes"]["scopes"][0]["status"] == "not-logged"  # a string is no argv


def test_posture_does_not_depend_on_the_order_records_were_read() -> None:
    """Shards merged in any order (or --input given in any order) give one posture."""
    from nhiscan.analyze.logging import posture
    from nhiscan.model import Inventory, LogConfig

    trails = {"trails": [], "status": {}}
    records = (
        LogConfig("aws", "aws-cloudtrail", "222233334444", dict(trails)),
        LogConfig("aws", "aws-cloudtrail", "111122223333", dict(trails)),
        LogConfig("gcp", "gcp-audit-configs", "projects/b"),
        LogConfig("gcp", "gcp-audit-configs", "projects/a"),
    )
    one = posture(Inventory(logging=records))
    other = posture(Inventory(logging=tuple(reversed(records))))
    assert one == other
    assert [s["scope"] for s in one["aws"]["scopes"]] == ["111122223333", "222233334444"]
    assert [s["scope"] for s in one["gcp"]["scopes"]] == ["projects/a", "projects/b"]
