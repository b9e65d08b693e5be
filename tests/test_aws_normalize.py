"""AWS export detection and normalization: shapes the real CLIs write, merging, broken records."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from nhiscan.config import InputSpec, Settings
from nhiscan.model import Identity
from nhiscan.sources.aws import normalize, parse_time
from nhiscan.sources.aws.classify import classify_user
from nhiscan.sources.documents import RawDocument
from nhiscan.sources.exports import detect, load_input, read_parsed
from tests.conftest import AS_OF, FIXTURES, run_cli

ACME = FIXTURES / "aws" / "acme-prod"
ACCT = "111122223333"


def _doc(kind: str, data: Any, path: str = "x.json", scope: str | None = None) -> RawDocument:
    return RawDocument(kind=kind, provider="aws", path=path, data=data, scope=scope)


def _by_name(idents: list[Identity]) -> dict[str, Identity]:
    return {i.name: i for i in idents}


def test_detects_each_acme_export_by_content(tmp_path: Path) -> None:
    kinds = {p.name: detect(read_parsed(str(p))) for p in ACME.iterdir() if p.suffix in (".json", ".csv")}
    assert kinds == {
        "gaad.json": ("aws", "aws-gaad"),
        "credential-report.csv": ("aws", "aws-credential-report"),
        "list-access-keys.json": ("aws", "aws-access-keys"),
        "cloudtrail-describe-trails.json": ("aws", "aws-cloudtrail-trails"),
        "cloudtrail-event-selectors.json": ("aws", "aws-cloudtrail-event-selectors"),
        "cloudtrail-trail-status.json": ("aws", "aws-cloudtrail-trail-status"),
    }
    # the same files under misleading names are still recognised
    odd = tmp_path / "report.json"
    odd.write_text((ACME / "credential-report.csv").read_text())
    assert detect(read_parsed(str(odd))) == ("aws", "aws-credential-report")


def test_get_credential_report_json_form_is_decoded(tmp_path: Path) -> None:
    csv_bytes = (ACME / "credential-report.csv").read_bytes()
    wrapped = tmp_path / "cr.json"
    wrapped.write_text(
        json.dumps(
            {
                "Content": base64.b64encode(csv_bytes).decode(),
                "ReportFormat": "text/csv",
                "GeneratedTime": "2026-10-31T12:00:00+00:00",
            }
        )
    )
    doc = load_input(InputSpec(str(wrapped)))
    assert doc.kind == "aws-credential-report"
    result = normalize([doc], Settings())
    names = _by_name(result.identities)
    assert "<root_account>" in names and "deploy-bot" in names
    assert not result.errors


def test_files_of_one_account_merge_and_keys_match_report_slots() -> None:
    docs = [
        load_input(InputSpec(str(ACME / n)))
        for n in ("gaad.json", "credential-report.csv", "list-access-keys.json")
    ]
    result = normalize(docs, Settings())
    assert not result.errors
    names = _by_name(result.identities)
    listed = json.loads((ACME / "list-access-keys.json").read_text())["AccessKeyMetadata"]
    reporting_keys = {k["AccessKeyId"] for k in listed if k["UserName"] == "svc-reporting"}
    rep = names["svc-reporting"]
    creds = [c for c in rep.credentials if c.kind == "aws-access-key"]
    assert {c.id for c in creds} == reporting_keys
    # last-used facts came from the credential report slot matched by creation time
    assert all(c.last_used is not None and c.attributes.get("last_used_service") for c in creds)
    assert {c.attributes["last_used_service"] for c in creds} == {"athena", "s3"}
    assert rep.scope == ACCT and rep.owner == "analytics"
    # root from the <root_account> row, with its key under a synthetic id
    root = names["<root_account>"]
    assert root.kind == "aws-root-account" and not root.nonhuman
    assert any(c.id == f"arn:aws:iam::{ACCT}:root/access-key-1" and c.active for c in root.credentials)


def test_grants_inline_managed_group_and_boundary() -> None:
    docs = [load_input(InputSpec(str(ACME / "gaad.json")))]
    names = _by_name(normalize(docs, Settings()).identities)
    sync = names["svc-data-sync"]
    inherited = [g for g in sync.grants if g.inherited_from == "automation"]
    assert inherited and any("iam:CreateAccessKey" in g.actions for g in inherited)
    uploader = names["svc-app-uploader"]
    assert any(g.boundary for g in uploader.grants)
    assert any(g.actions == ("*",) and not g.boundary for g in uploader.grants)
    assert uploader.attributes["permissions_boundary"].endswith("policy/acme-app-boundary")
    # a bundled AWS managed policy resolves by ARN when the export does not include it
    reporting = names["svc-reporting"]
    assert any(g.via.endswith("policy/ReadOnlyAccess") for g in reporting.grants)
    # URL-encoded inline policy documents are decoded
    lam = names["lambda-orders-api"]
    assert any("dynamodb:PutItem" in g.actions for g in lam.grants)


def test_trusts_roles_and_attributes() -> None:
    docs = [load_input(InputSpec(str(ACME / "gaad.json")))]
    names = _by_name(normalize(docs, Settings()).identities)
    gh = names["github-actions-deploy"]
    (t,) = gh.trusts
    assert t.principal_type == "Federated" and t.principal.endswith("token.actions.githubusercontent.com")
    assert t.conditions["StringEquals"]["token.actions.githubusercontent.com:sub"].startswith("repo:acme/")
    slr = names["AWSServiceRoleForSupport"]
    assert slr.attributes["managed_by_provider"] is True
    sso = names["AWSReservedSSO_AdministratorAccess_3f1c2b7a9d8e6f05"]
    assert sso.nonhuman is False
    web = names["ec2-web-app"]
    assert web.attributes["instance_profiles"] == ["ec2-web-app"]
    assert web.last_used is not None and web.last_used.year == 2026


def test_half_broken_record_is_one_error_and_the_rest_is_kept() -> None:
    gaad = json.loads((ACME / "gaad.json").read_text())
    del gaad["UserDetailList"][3]["Arn"]
    broken_name = gaad["UserDetailList"][3]["UserName"]
    gaad["RoleDetailList"][4]["RolePolicyList"][0]["PolicyDocument"] = "%7Bnot json"
    result = normalize([_doc("aws-gaad", gaad, "gaad.json")], Settings())
    assert len(result.identities) == 18 + 15 - 1
    messages = [e.message for e in result.errors]
    assert any(broken_name in m and "Arn" in m for m in messages), messages
    assert any("inline policy" in m for m in messages), messages
    assert all(e.source == "gaad.json" for e in result.errors)


def test_broken_input_through_cli_names_the_file(tmp_path: Path) -> None:
    gaad = json.loads((ACME / "gaad.json").read_text())
    del gaad["UserDetailList"][0]["Arn"]
    path = tmp_path / "gaad.json"
    path.write_text(json.dumps(gaad))
    res = run_cli("scan", "--input", str(path), "--format", "json", "--as-of", AS_OF)
    assert res.code == 2
    assert str(path) in res.stderr and "alice.nguyen" in res.stderr
    assert len(res.json()["identities"]) == 32


def test_extras_document_adds_live_only_facts() -> None:
    gaad = {
        "UserDetailList": [
            {
                "Path": "/",
                "UserName": "build",
                "UserId": "AIDAEXAMPLEBUILD00001",
                "Arn": f"arn:aws:iam::{ACCT}:user/build",
                "CreateDate": "2024-01-01T00:00:00Z",
                "GroupList": [],
                "AttachedManagedPolicies": [],
                "UserPolicyList": [],
            }
        ]
    }
    keys = {
        "AccessKeyMetadata": [
            {
                "UserName": "build",
                "AccessKeyId": "AKIAQX7HZ3EXAMPLE2KD",
                "Status": "Active",
                "CreateDate": "2026-01-01T00:00:00Z",
            }
        ]
    }
    extras = {
        "Kind": "nhiscan-aws-iam-extras",
        "AccountId": ACCT,
        "AccountAliases": ["acme-prod"],
        "AccessKeyLastUsed": {
            "AKIAQX7HZ3EXAMPLE2KD": {
                "LastUsedDate": "2026-10-01T00:00:00Z",
                "ServiceName": "s3",
                "Region": "us-east-1",
            }
        },
        "LoginProfiles": {"build": {"CreateDate": "2024-02-01T00:00:00Z", "PasswordResetRequired": False}},
        "SSHPublicKeys": {
            "build": [
                {
                    "SSHPublicKeyId": "APKAEXAMPLE7Q2ZX3VJK",
                    "Status": "Active",
                    "UploadDate": "2024-03-01T00:00:00Z",
                }
            ]
        },
        "ServiceSpecificCredentials": {
            "build": [
                {
                    "ServiceSpecificCredentialId": "ACCAEXAMPLE5T2QW9XZ1",
                    "ServiceName": "codecommit.amazonaws.com",
                    "Status": "Active",
                    "CreateDate": "2024-04-01T00:00:00Z",
                }
            ]
        },
    }
    docs = [
        _doc("aws-gaad", gaad),
        _doc("aws-access-keys", keys, "keys.json"),
        _doc("aws-iam-extras", extras, "extras.json"),
    ]
    result = normalize(docs, Settings())
    assert not result.errors
    (build,) = result.identities
    kinds = {c.kind: c for c in build.credentials}
    assert set(kinds) == {
        "aws-access-key",
        "aws-console-password",
        "aws-ssh-key",
        "aws-service-specific-credential",
    }
    key = kinds["aws-access-key"]
    assert (
        key.id == "AKIAQX7HZ3EXAMPLE2KD"
        and key.last_used is not None
        and key.attributes["last_used_service"] == "s3"
    )
    assert build.attributes["account_alias"] == "acme-prod"
    assert build.attributes["password_enabled"] is True


def test_both_date_forms_parse_to_utc() -> None:
    a = parse_time("2019-12-18 19:10:08+00:00")
    b = parse_time("2019-12-18T19:10:08Z")
    assert a == b and a is not None and a.utcoffset() is not None
    for missing in ("N/A", "no_information", "not_supported", "", None):
        assert parse_time(missing) is None


@pytest.mark.parametrize(
    ("kwargs", "nonhuman"),
    [
        ({"name": "svc-orders"}, True),
        ({"name": "orders-svc"}, True),
        ({"name": "jenkins"}, True),
        ({"name": "GitHubDeployer"}, True),
        ({"name": "x", "path": "/bots/"}, True),
        ({"name": "x", "tags": {"Type": "Service"}}, True),
        ({"name": "svc-x", "tags": {"usage": "human"}}, False),
        ({"name": "jane.doe"}, False),
        ({"name": "jane.doe@acme.example", "active_keys": 1}, False),
        ({"name": "x", "active_keys": 1}, True),
        ({"name": "x", "has_password": True, "mfa_active": True}, False),
    ],
)
def test_classification_heuristics(kwargs: dict[str, Any], nonhuman: bool) -> None:
    args = {
        "name": "x",
        "path": "/",
        "tags": {},
        "has_password": False,
        "mfa_active": False,
        "active_keys": 0,
    }
    args.update(kwargs)
    got, reason = classify_user(**args)
    assert got is nonhuman, reason
    assert reason


def test_classification_override_from_settings() -> None:
    docs = [load_input(InputSpec(str(ACME / "gaad.json")))]
    settings = Settings(human=["arn:aws:iam::*:user/deploy-bot"], nonhuman=["carol.diaz"])
    names = _by_name(normalize(docs, settings).identities)
    assert names["deploy-bot"].nonhuman is False and "[classification]" in names["deploy-bot"].classification
    assert names["carol.diaz"].nonhuman is True


def test_access_keys_without_account_attach_to_the_account_that_has_the_user() -> None:
    docs = [load_input(InputSpec(str(ACME / n))) for n in ("list-access-keys.json", "gaad.json")]
    names = _by_name(normalize(docs, Settings()).identities)
    assert any(c.id.startswith("AKIA") for c in names["svc-backup"].credentials)


def test_no_secret_material_in_output() -> None:
    """Exports hold no secret values, and access key ids (not secrets) are the only key material shown."""
    res = run_cli(
        "scan",
        "--input",
        str(ACME / "gaad.json"),
        "--input",
        str(ACME / "credential-report.csv"),
        "--format",
        "json",
        "--as-of",
        AS_OF,
    )
    assert "SecretAccessKey" not in res.stdout


def test_truncated_gaad_without_last_page_is_reported() -> None:
    gaad = json.loads((ACME / "gaad.json").read_text())
    page1 = {**gaad, "RoleDetailList": [], "IsTruncated": True, "Marker": "AAEXAMPLEMARKER"}
    page2 = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": gaad["RoleDetailList"],
        "Policies": [],
        "IsTruncated": False,
    }
    only_first = normalize([_doc("aws-gaad", page1, "p1.json")], Settings())
    assert [e.source for e in only_first.errors] == ["p1.json"] and "truncated" in only_first.errors[
        0
    ].message
    both = normalize([_doc("aws-gaad", page1, "p1.json"), _doc("aws-gaad", page2, "p2.json")], Settings())
    assert not both.errors
    assert len(both.identities) == 18 + 15
    # group policies from page 1 still apply to users, roles from page 2 are present
    assert any(i.name == "github-actions-deploy" for i in both.identities)
