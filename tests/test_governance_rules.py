"""Issue 15: environment isolation through grants, third parties named and graded, short-lived
credentials (organization policies, federated credentials, session length) and the estate's
credential posture in the summary."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from nhiscan.config import InputSpec, ScanConfig, load_settings
from nhiscan.core import run_scan
from nhiscan.errors import NhiscanError
from nhiscan.model import Credential, Identity
from nhiscan.model.posture import credential_posture
from nhiscan.sources.exports import load_input
from tests.conftest import FIXTURES, run_cli
from tests.test_rule_fixtures import RULES_FIXTURES, scan_case

ENVIRONMENTS = FIXTURES / "environments"
AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _findings(report: Any, rule_id: str) -> list[Any]:
    return [f for f in report.findings if f.rule_id == rule_id]


# --- NHI8: where an identity holds grants --------------------------------------------------------

FIRES = {
    "gcp-grant": "orders-etl@acme-orders-prod.iam.gserviceaccount.com",
    "aws-trust": "arn:aws:iam::222233334444:role/dev-deployer",
    "azure-subscriptions": "e4b19c27-6d3f-4a85-9e02-1c7b5a8d3f60",
    "k8s-federation": "k8s:staging-eks:orders/orders-api",
}


@pytest.mark.parametrize("scenario", sorted(FIRES))
def test_identity_holding_grants_in_another_environment_is_reported(scenario: str) -> None:
    report = scan_case(ENVIRONMENTS / scenario / "fires")
    assert not report.errors, report.errors
    hits = _findings(report, "nhi-cross-environment")
    assert [f.identity_id for f in hits] == [FIRES[scenario]]
    assert "NHI8:2025" in hits[0].owasp_nhi
    assert hits[0].evidence["prod"] and hits[0].evidence["non_prod"]


@pytest.mark.parametrize("scenario", sorted(FIRES))
def test_grants_within_one_environment_stay_silent(scenario: str) -> None:
    report = scan_case(ENVIRONMENTS / scenario / "silent")
    assert not report.errors, report.errors
    assert _findings(report, "nhi-cross-environment") == []


def test_gcp_grant_evidence_names_the_role_and_project() -> None:
    hit = _findings(scan_case(ENVIRONMENTS / "gcp-grant" / "fires"), "nhi-cross-environment")[0]
    assert any("roles/storage.admin on projects/acme-orders-dev" in e for e in hit.evidence["non_prod"])


def test_environments_setting_decides_where_names_say_nothing(tmp_path: Path) -> None:
    """Azure subscriptions are GUIDs: without [environments] nothing is known, so nothing fires."""
    case = tmp_path / "case"
    case.mkdir()
    for name in ("sp-list.json", "role-assignments.json"):
        (case / name).write_bytes((ENVIRONMENTS / "azure-subscriptions" / "fires" / name).read_bytes())
    assert _findings(scan_case(case), "nhi-cross-environment") == []
    (case / "nhiscan.toml").write_text(
        (ENVIRONMENTS / "azure-subscriptions" / "fires" / "nhiscan.toml").read_text()
    )
    assert len(_findings(scan_case(case), "nhi-cross-environment")) == 1


def test_environments_setting_rejects_unknown_names(tmp_path: Path) -> None:
    cfg = tmp_path / "nhiscan.toml"
    cfg.write_text('[environments]\n"111122223333" = "qa-ish"\n')
    with pytest.raises(NhiscanError, match=r"\[environments\] 111122223333: expected one of"):
        load_settings(str(cfg))


def test_environments_setting_wins_over_names(tmp_path: Path) -> None:
    """A project named *-dev that the settings call production is production."""
    case = tmp_path / "case"
    case.mkdir()
    (case / "asset-iam-policies.json").write_bytes(
        (ENVIRONMENTS / "gcp-grant" / "fires" / "asset-iam-policies.json").read_bytes()
    )
    (case / "nhiscan.toml").write_text('[environments]\n"projects/acme-orders-dev" = "prod"\n')
    assert _findings(scan_case(case), "nhi-cross-environment") == []


# --- NHI3: named third parties ---------------------------------------------------------------------


def test_aws_trusts_are_graded_by_vendor_and_external_id() -> None:
    report = scan_case(RULES_FIXTURES / "aws-third-party-access" / "fires")
    graded = {
        f.evidence["account"]: (f.severity.value, f.evidence["vendor"])
        for f in _findings(report, "aws-third-party-access")
    }
    assert graded == {"464622532012": ("info", "Datadog"), "731480295561": ("low", None)}


def test_trust_without_external_id_is_one_finding_listing_nhi3() -> None:
    report = scan_case(RULES_FIXTURES / "aws-cross-account-trust-without-external-id" / "fires")
    (hit,) = _findings(report, "aws-cross-account-trust-without-external-id")
    assert hit.owasp_nhi == ("NHI6:2025", "NHI3:2025")
    assert hit.severity.value == "high"  # unknown account: raised from medium
    assert "unknown account 999988887777" in hit.message
    assert _findings(report, "aws-third-party-access") == []  # not reported twice


def _gaad_trusting(account: str, external_id: bool) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "sts:AssumeRole",
    }
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": "e5a0c3f9b21d4786a9c0e3b5d7f1a248"}}
    return {
        "UserDetailList": [],
        "GroupDetailList": [],
        "Policies": [],
        "RoleDetailList": [
            {
                "Path": "/",
                "RoleName": "vendor-role",
                "RoleId": "AROA4WKGWZUCJ2L4N6Q8S",
                "Arn": "arn:aws:iam::210987654321:role/vendor-role",
                "CreateDate": "2024-05-02T11:00:00Z",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
                "InstanceProfileList": [],
                "RolePolicyList": [],
                "AttachedManagedPolicies": [],
                "Tags": [],
            }
        ],
    }


def test_known_vendor_without_external_id_keeps_medium(tmp_path: Path) -> None:
    gaad = tmp_path / "gaad.json"
    gaad.write_text(json.dumps(_gaad_trusting("464622532012", external_id=False)))
    report = run_scan(ScanConfig(as_of=AS_OF, inputs=(InputSpec(str(gaad)),)))
    (hit,) = _findings(report, "aws-cross-account-trust-without-external-id")
    assert hit.severity.value == "medium" and "Datadog (464622532012)" in hit.message
    assert hit.evidence["vendor"] == "Datadog"


def test_vendor_list_is_replaceable_without_a_release(tmp_path: Path) -> None:
    """known_vendors_file takes the upstream accounts.yaml as is; the environment variable too."""
    gaad = tmp_path / "gaad.json"
    gaad.write_text(json.dumps(_gaad_trusting("731480295561", external_id=True)))
    vendors = tmp_path / "accounts.yaml"
    vendors.write_text(
        "- name: 'Costwise'\n  source: ['https://example.com/costwise-aws-setup']\n"
        "  accounts: ['731480295561']\n"
        "- name: 'Retired'\n  source: ['https://example.com/retired']\n"
        "  accounts: ['210987654321']\n  enabled: false\n"
    )
    (tmp_path / "nhiscan.toml").write_text('known_vendors_file = "accounts.yaml"\n')
    res = run_cli("scan", "--input", str(gaad), "--format", "json", "--fail-on", "none", cwd=tmp_path)
    assert res.code == 0, res.stderr
    hits = [f for f in res.json()["findings"] if f["rule_id"] == "aws-third-party-access"]
    assert [(h["severity"], h["evidence"]["vendor"]) for h in hits] == [("info", "Costwise")]
    (tmp_path / "nhiscan.toml").unlink()
    env_res = run_cli(
        "scan", "--input", str(gaad), "--format", "json", "--fail-on", "none",
        cwd=tmp_path, env={"NHISCAN_KNOWN_VENDORS": str(vendors)},
    )  # fmt: skip
    assert [
        f["evidence"]["vendor"]
        for f in env_res.json()["findings"]
        if f["rule_id"] == "aws-third-party-access"
    ] == ["Costwise"]


def test_unreadable_vendor_list_is_one_error_before_scanning(tmp_path: Path) -> None:
    (tmp_path / "nhiscan.toml").write_text('known_vendors_file = "missing.yaml"\n')
    res = run_cli("scan", "--input", str(FIXTURES / "aws" / "acme-prod"), cwd=tmp_path)
    assert res.code == 2
    assert res.stderr.strip().splitlines() == [
        f"nhiscan: error: {tmp_path / 'missing.yaml'}: known vendors file: cannot read: No such file or directory"
    ]


def test_bundled_vendor_list_records_its_source_and_date() -> None:
    from importlib import resources

    data = json.loads(resources.files("nhiscan.analyze").joinpath("data/known_aws_accounts.json").read_text())
    assert data["source"].startswith("https://github.com/fwdcloudsec/known_aws_accounts/")
    assert data["retrieved"] == "2026-12-06"
    datadog = next(v for v in data["vendors"] if v["name"] == "Datadog")
    assert "464622532012" in datadog["accounts"]


def test_gcp_outside_principals_and_inferred_org_domain() -> None:
    report = scan_case(RULES_FIXTURES / "gcp-external-principal" / "fires")
    hits = _findings(report, "gcp-external-principal")
    keys = sorted((f.evidence.get("member") or f.identity_id, f.severity.value) for f in hits)
    assert keys == [
        ("exporter@finsight-vendor-391204.iam.gserviceaccount.com", "medium"),
        ("user:j.doe.consulting@gmail.com", "medium"),
    ]
    assert all("acme-corp.com" in f.message for f in hits if f.evidence.get("member"))


def test_gcp_org_domains_parameter_overrides_inference(tmp_path: Path) -> None:
    case = tmp_path / "case"
    case.mkdir()
    src = RULES_FIXTURES / "gcp-external-principal" / "fires"
    for name in ("project-policy.json", "scopes.yaml"):
        (case / name).write_bytes((src / name).read_bytes())
    (case / "nhiscan.toml").write_text(
        '[params.gcp-external-principal]\norg_domains = ["acme-corp.com", "gmail.com"]\n'
        'own_projects = ["finsight-vendor-391204"]\n'
    )
    assert _findings(scan_case(case), "gcp-external-principal") == []


def test_azure_vendor_app_names_its_publisher() -> None:
    report = scan_case(RULES_FIXTURES / "azure-third-party-app" / "fires")
    (hit,) = _findings(report, "azure-third-party-app")
    assert "unverified publisher" in hit.message and hit.severity.value == "low"
    silent = scan_case(RULES_FIXTURES / "azure-third-party-app" / "silent")
    assert _findings(silent, "azure-third-party-app") == []
    assert len(_findings(silent, "azure-third-party-app-privileged")) == 1  # reported there, once


# --- short-lived credentials -----------------------------------------------------------------------


def test_org_policy_exports_are_recognised_in_every_form(tmp_path: Path) -> None:
    v2 = {
        "name": "projects/acme-analytics-dev/policies/iam.disableServiceAccountKeyCreation",
        "spec": {"etag": "CLj3p8oGEMDx/KgB", "rules": [{"enforce": True}]},
    }
    v1 = {
        "constraint": "constraints/iam.disableServiceAccountKeyCreation",
        "booleanPolicy": {"enforced": True},
    }
    for n, data in enumerate(([v2], {"policies": [v2]}, v2, [v1], v1)):
        path = tmp_path / f"p{n}.json"
        path.write_text(json.dumps(data))
        doc = load_input(InputSpec(str(path), "acme-analytics-dev"))
        assert (doc.provider, doc.kind) == ("gcp", "gcp-org-policies"), data


def test_v1_org_policies_without_scope_are_one_error(tmp_path: Path) -> None:
    path = tmp_path / "org-policies.json"
    path.write_bytes(
        (RULES_FIXTURES / "gcp-sa-key-creation-allowed" / "fires" / "org-policies.json").read_bytes()
    )
    res = run_cli("scan", "--input", str(path), "--format", "json")
    assert res.code == 2
    assert (
        f"nhiscan: error: {path}: a `gcloud resource-manager org-policies` export does not name its project"
        in res.stderr
    )


def test_key_creation_rule_is_low_without_keys_and_silent_without_policies(tmp_path: Path) -> None:
    src = RULES_FIXTURES / "gcp-sa-key-creation-allowed" / "fires"
    case = tmp_path / "case"
    case.mkdir()
    for name in ("service-accounts.json", "org-policies.json", "scopes.yaml"):
        (case / name).write_bytes((src / name).read_bytes())
    (hit,) = _findings(scan_case(case), "gcp-sa-key-creation-allowed")
    assert hit.severity.value == "low" and hit.evidence["user_managed_keys"] == []
    (case / "org-policies.json").unlink()
    (case / "scopes.yaml").unlink()
    assert _findings(scan_case(case), "gcp-sa-key-creation-allowed") == []


def test_organization_policy_applies_to_the_projects_under_it(tmp_path: Path) -> None:
    src = RULES_FIXTURES / "gcp-sa-key-creation-allowed" / "fires"
    case = tmp_path / "case"
    case.mkdir()
    for name in ("service-accounts.json", "keys.json"):
        (case / name).write_bytes((src / name).read_bytes())
    (case / "org.json").write_text(
        json.dumps(
            [
                {
                    "name": "organizations/903118772650/policies/iam.disableServiceAccountKeyCreation",
                    "spec": {"rules": [{"enforce": True}]},
                }
            ]
        )
    )
    assert _findings(scan_case(case), "gcp-sa-key-creation-allowed") == []


def test_federated_credential_lists_by_scope(tmp_path: Path) -> None:
    empty = tmp_path / "fic.json"
    empty.write_text("[]")
    app = "db5b5fab-8f4d-4e27-9da1-494c73cf256d"
    doc = load_input(InputSpec(str(empty), f"applications/{app}"))
    assert (doc.provider, doc.kind) == ("azure", "azure-federated-credentials")
    # a bare GUID could be a tenant or subscription: an empty list stays an empty export
    assert load_input(InputSpec(str(empty), app)).kind == "empty-export"
    page = tmp_path / "page.json"
    page.write_text(
        json.dumps(
            {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications('ff769e37-4ddc-44c8-97bd-d982cdac6046')/federatedIdentityCredentials",
                "value": [],
            }
        )
    )
    assert load_input(InputSpec(str(page))).kind == "azure-federated-credentials"


def test_graph_page_names_the_application_by_object_id(tmp_path: Path) -> None:
    """The app list's object id (not its appId) joins a Graph page to its application."""
    src = RULES_FIXTURES / "azure-app-secret-without-federation" / "fires"
    case = tmp_path / "case"
    case.mkdir()
    for name in ("sp-list.json", "app-list.json"):
        (case / name).write_bytes((src / name).read_bytes())
    (case / "page.json").write_text(
        json.dumps(
            {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications('ff769e37-4ddc-44c8-97bd-d982cdac6046')/federatedIdentityCredentials",
                "value": [],
            }
        )
    )
    (hit,) = _findings(scan_case(case), "azure-app-secret-without-federation")
    assert hit.evidence["client_secrets"] == [
        "f9903b72-f88e-4e64-9d44-fd3645114889"
    ]  # the expired one is not counted
    (case / "page.json").unlink()
    assert _findings(scan_case(case), "azure-app-secret-without-federation") == []  # unknown: not judged


def test_long_session_needs_list_roles_data() -> None:
    report = scan_case(RULES_FIXTURES / "aws-role-long-session" / "fires")
    (hit,) = _findings(report, "aws-role-long-session")
    assert hit.identity_id == "arn:aws:iam::210987654321:role/service/batch-worker"
    assert hit.evidence["max_session_seconds"] == 43200


# --- the estate's credential posture ---------------------------------------------------------------


def test_credential_posture_counts_each_nhi_once_per_provider() -> None:
    key = Credential(id="AKIAWWI577QXBZ3K9M2T", kind="aws-access-key")
    idents = (
        Identity(id="u1", provider="aws", kind="aws-iam-user", name="u1", scope="1", credentials=(key,)),
        Identity(id="u2", provider="aws", kind="aws-iam-user", name="u2", scope="1"),
        Identity(id="r1", provider="aws", kind="aws-iam-role", name="r1", scope="1"),
        Identity(
            id="r2",
            provider="aws",
            kind="aws-iam-role",
            name="r2",
            scope="1",
            attributes={"managed_by_provider": True},
        ),
        Identity(
            id="h",
            provider="aws",
            kind="aws-iam-user",
            name="h",
            scope="1",
            nonhuman=False,
            credentials=(key,),
        ),
        Identity(
            id="a1",
            provider="azure",
            kind="azure-service-principal",
            name="a1",
            scope="t",
            credentials=(
                Credential(
                    id="s", kind="azure-client-secret", expires=datetime(2026, 1, 1, tzinfo=timezone.utc)
                ),
            ),
            attributes={"federated_credentials": [{"name": "gh"}]},
        ),
    )
    assert credential_posture(idents, AS_OF) == {
        "aws": {"static": 1, "short_lived": 1, "none": 1, "static_share": 0.333},
        "azure": {"static": 0, "short_lived": 1, "none": 0, "static_share": 0.0},
    }


def test_summary_and_table_show_the_credential_posture() -> None:
    args = (
        "scan",
        "--input",
        str(FIXTURES / "aws" / "acme-prod"),
        "--as-of",
        "2026-11-01",
        "--fail-on",
        "none",
    )
    res = run_cli(*args, "--format", "json")
    posture = res.json()["summary"]["credentials"]
    assert posture == {"aws": {"static": 12, "short_lived": 12, "none": 0, "static_share": 0.5}}
    table = run_cli(*args)
    assert any(
        line.split()[2:8] == ["aws", "12", "static", "12", "short-lived", "0"]
        for line in table.stdout.splitlines()
        if "credentials" in line
    )


@pytest.mark.parametrize("list_first", [True, False])
def test_list_roles_adds_session_length_and_keeps_gaad_tags(tmp_path: Path, list_first: bool) -> None:
    """list-roles beside a GAAD export, in either order: MaxSessionDuration from the one, tags (and
    so the owner) from the other."""
    gaad_src = RULES_FIXTURES / "aws-role-long-session" / "silent" / "gaad.json"
    gaad = json.loads(gaad_src.read_text())
    record = {k: v for k, v in gaad["RoleDetailList"][0].items() if k not in ("Tags", "RoleLastUsed")}
    record = {**record, "MaxSessionDuration": 28800}
    for k in ("InstanceProfileList", "RolePolicyList", "AttachedManagedPolicies"):
        record.pop(k)
    (tmp_path / "gaad.json").write_text(gaad_src.read_text())
    (tmp_path / "list-roles.json").write_text(json.dumps({"Roles": [record]}))
    order = ["list-roles.json", "gaad.json"] if list_first else ["gaad.json", "list-roles.json"]
    report = run_scan(ScanConfig(as_of=AS_OF, inputs=tuple(InputSpec(str(tmp_path / n)) for n in order)))
    role = next(i for i in report.inventory.identities if i.name == "reporting")
    assert role.owner == "platform"
    assert role.attributes["max_session_duration"] == 28800
    assert [f.identity_id for f in _findings(report, "aws-role-long-session")] == [role.id]
    assert _findings(report, "nhi-no-owner") == []


def test_own_accounts_are_shared_by_both_trust_rules(tmp_path: Path) -> None:
    """An account named as one's own in either rule is not a third party for the other."""
    gaad = tmp_path / "gaad.json"
    gaad.write_text(json.dumps(_gaad_trusting("731480295561", external_id=False)))
    cfg = tmp_path / "nhiscan.toml"
    cfg.write_text('[params.aws-third-party-access]\nown_accounts = ["731480295561"]\n')
    config = ScanConfig(as_of=AS_OF, inputs=(InputSpec(str(gaad)),), settings=load_settings(str(cfg)))
    (hit,) = _findings(run_scan(config), "aws-cross-account-trust-without-external-id")
    assert hit.owasp_nhi == ("NHI6:2025",) and hit.severity.value == "medium"
    gaad.write_text(json.dumps(_gaad_trusting("731480295561", external_id=True)))
    cfg.write_text(
        '[params.aws-cross-account-trust-without-external-id]\ntrusted_accounts = ["731480295561"]\n'
    )
    config = ScanConfig(as_of=AS_OF, inputs=(InputSpec(str(gaad)),), settings=load_settings(str(cfg)))
    assert _findings(run_scan(config), "aws-third-party-access") == []
