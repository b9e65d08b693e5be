"""AccountCollector in-process: paths moto cannot serve (recorded responses through botocore's
Stubber, only for APIs moto does not implement) and the credential-report wait/fallback path."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from nhiscan.config import Settings
from nhiscan.sources.aws import normalize
from nhiscan.sources.aws.calls import AwsCallError, check_read_only, json_safe
from nhiscan.sources.aws.live import AccountCollector
from nhiscan.sources.documents import RawDocument
from nhiscan.sources.feedback import Feedback
from tests.aws_live.conftest import build_account
from tests.aws_live.moto_peer import Fault, MotoPeer

ACCT = "123456789012"
STARTED = (
    '<GenerateCredentialReportResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
    "<GenerateCredentialReportResult><State>STARTED</State><Description>started</Description>"
    "</GenerateCredentialReportResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
    "</GenerateCredentialReportResponse>"
)


def session(peer: MotoPeer | None = None) -> Any:
    import boto3

    return boto3.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="moto-test-secret-not-real",
        region_name="us-east-1",
    )


@pytest.fixture
def peer_env(peer: MotoPeer, monkeypatch: pytest.MonkeyPatch) -> MotoPeer:
    for k, v in peer.env().items():
        monkeypatch.setenv(k, v)
    return peer


def test_service_specific_credentials_from_recorded_pages(capsys: pytest.CaptureFixture[str]) -> None:
    """moto lacks ListServiceSpecificCredentials: two recorded pages (AllUsers, Marker paging)."""
    from botocore.stub import Stubber

    collector = AccountCollector(session(), ACCT, Feedback(False))
    created = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    with Stubber(collector.iam.client) as stub:
        stub.add_response(
            "list_service_specific_credentials",
            {
                "ServiceSpecificCredentials": [
                    {
                        "UserName": "build-bot",
                        "Status": "Active",
                        "ServiceUserName": "build-bot-at-123456789012",
                        "CreateDate": created,
                        "ServiceSpecificCredentialId": "ACCAQWERTYUIOPASDFGH1",
                        "ServiceName": "codecommit.amazonaws.com",
                    }
                ],
                "IsTruncated": True,
                "Marker": "page-2",
            },
            {"AllUsers": True},
        )
        stub.add_response(
            "list_service_specific_credentials",
            {
                "ServiceSpecificCredentials": [
                    {
                        "UserName": "agent",
                        "Status": "Inactive",
                        "CreateDate": created,
                        "ServiceSpecificCredentialId": "ACCAZXCVBNMASDFGHJKL2",
                        "ServiceName": "bedrock.amazonaws.com",
                        "ExpirationDate": datetime(2026, 1, 2, tzinfo=timezone.utc),
                    }
                ],
                "IsTruncated": False,
            },
            {"AllUsers": True, "Marker": "page-2"},
        )
        collector.service_specific_credentials()
        stub.assert_no_pending_responses()
    assert collector.extras["ServiceSpecificCredentials"] == {
        "build-bot": [
            {
                "ServiceSpecificCredentialId": "ACCAQWERTYUIOPASDFGH1",
                "ServiceName": "codecommit.amazonaws.com",
                "Status": "Active",
                "CreateDate": "2025-01-02T03:04:05+00:00",
            }
        ],
        "agent": [
            {
                "ServiceSpecificCredentialId": "ACCAZXCVBNMASDFGHJKL2",
                "ServiceName": "bedrock.amazonaws.com",
                "Status": "Inactive",
                "CreateDate": "2025-01-02T03:04:05+00:00",
                "ExpirationDate": "2026-01-02T00:00:00+00:00",
            }
        ],
    }
    # the offline normalize reads the document nhiscan emits: the credentials land on their users
    gaad = {
        "UserDetailList": [
            {"UserName": "build-bot", "Arn": f"arn:aws:iam::{ACCT}:user/build-bot", "Path": "/"},
            {"UserName": "agent", "Arn": f"arn:aws:iam::{ACCT}:user/agent", "Path": "/"},
        ]
    }
    docs = [
        RawDocument("aws-gaad", "aws", f"aws:{ACCT}", gaad, ACCT),
        RawDocument("aws-iam-extras", "aws", f"aws:{ACCT}", collector.extras, ACCT),
    ]
    result = normalize(docs, Settings())
    assert not result.errors
    creds = {c.id: c for i in result.identities for c in i.credentials}
    assert creds["ACCAQWERTYUIOPASDFGH1"].kind == "aws-service-specific-credential"
    assert creds["ACCAQWERTYUIOPASDFGH1"].active is True
    assert creds["ACCAZXCVBNMASDFGHJKL2"].active is False


@pytest.mark.parametrize(("code", "status"), [("NotImplemented", 501), ("InvalidAction", 400)])
def test_unsupported_api_is_one_warning_not_an_error(
    code: str, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    from botocore.stub import Stubber

    collector = AccountCollector(session(), ACCT, Feedback(False))
    with Stubber(collector.iam.client) as stub:
        stub.add_client_error(
            "list_service_specific_credentials", service_error_code=code, http_status_code=status
        )
        collector._optional(collector.service_specific_credentials)
    assert collector.result.errors == []
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"nhiscan: warning: aws:{ACCT}: iam:ListServiceSpecificCredentials is not supported by this "
        f"endpoint ({code}); skipped"
    ]


def test_report_never_ready_waits_bounded_then_falls_back(peer_env: MotoPeer) -> None:
    peer = peer_env
    acct = build_account(peer.client("iam"))
    peer.recorder.faults.append(Fault("iam", "GenerateCredentialReport", "", status=200, body=STARTED))
    peer.recorder.calls.clear()
    slept: list[float] = []
    collector = AccountCollector(session(), ACCT, Feedback(False), report_wait=10, sleep=slept.append)
    with pytest.raises(AwsCallError) as info:
        collector.credential_report()
    assert info.value.category == "not-ready"
    assert slept == [0.5, 1.0, 2.0, 4.0]  # bounded exponential backoff, under report_wait
    assert peer.recorder.ops().count("iam:GenerateCredentialReport") == 5

    slept.clear()
    result = AccountCollector(session(), ACCT, Feedback(False), report_wait=1, sleep=slept.append).run()
    assert result.errors == []
    kinds = [d.kind for d in result.docs]
    # CloudTrail comes last; the account has no trail, so there is no status or selectors document
    assert kinds == [
        "aws-gaad",
        "aws-list-roles",
        "aws-access-keys",
        "aws-iam-extras",
        "aws-cloudtrail-trails",
    ]
    by_kind = {d.kind: d.data for d in result.docs}
    keys = by_kind["aws-access-keys"]["AccessKeyMetadata"]
    assert sorted(k["AccessKeyId"] for k in keys) == sorted(k for ks in acct.key_users.values() for k in ks)
    extras = by_kind["aws-iam-extras"]
    assert set(extras["LoginProfiles"]) == {"svc-legacy", "alice"}
    assert set(extras["AccessKeyLastUsed"]) == {k["AccessKeyId"] for k in keys}
    assert set(extras["SigningCertificates"]) == {"svc-legacy"}
    assert set(extras["MFADevices"]) == {"alice"}
    # and normalize turns the fallback into the same credentials the report would have given
    ids = normalize(result.docs, Settings()).identities
    legacy = next(i for i in ids if i.name == "svc-legacy")
    assert {c.kind for c in legacy.credentials} >= {"aws-access-key", "aws-console-password"}


def test_report_expired_is_regenerated(peer_env: MotoPeer) -> None:
    peer = peer_env
    build_account(peer.client("iam"))
    expired = Fault("iam", "GetCredentialReport", "ReportExpired", status=410)
    peer.recorder.faults.append(expired)
    slept: list[float] = []
    collector = AccountCollector(
        session(), ACCT, Feedback(False), sleep=lambda s: (slept.append(s), peer.recorder.faults.clear())
    )
    text = collector.credential_report()
    assert text.startswith("user,arn,user_creation_time")
    assert slept == [0.5]


@pytest.mark.parametrize(
    "api",
    [
        "iam:CreateUser",
        "iam:DeleteAccessKey",
        "iam:UpdateAssumeRolePolicy",
        "sts:AssumeRoleWithSAML",
        "organizations:CreateAccount",
    ],
)
def test_read_only_guard_refuses_writes(api: str) -> None:
    with pytest.raises(AssertionError, match="read-only"):
        check_read_only(api)


def test_json_safe_matches_cli_json() -> None:
    page = {
        "UserDetailList": [{"CreateDate": datetime(2019, 12, 18, 19, 10, 8, tzinfo=timezone.utc)}],
        "ResponseMetadata": {"RequestId": "x"},
    }
    assert json_safe(page) == {"UserDetailList": [{"CreateDate": "2019-12-18T19:10:08+00:00"}]}
