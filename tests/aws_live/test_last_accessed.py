"""--aws-last-accessed: GenerateServiceLastAccessedDetails + GetServiceLastAccessedDetails per identity.

moto does not implement service last accessed, so the collector's paths are driven with botocore's
Stubber and responses recorded in the shapes IAM returns; the CLI test against the moto peer checks
that everything else is still collected when the endpoint lacks the API.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from nhiscan.config import Settings
from nhiscan.sources.aws import normalize
from nhiscan.sources.aws.live import AccountCollector
from nhiscan.sources.documents import RawDocument
from nhiscan.sources.feedback import Feedback
from tests.aws_live.conftest import AS_OF, build_account, nhiscan
from tests.aws_live.moto_peer import MotoPeer
from tests.aws_live.test_collector import session
from tests.aws_live.test_live_cli import GRANTED, assert_read_only

ACCT = "123456789012"
WORKER = f"arn:aws:iam::{ACCT}:role/orders-worker"
BOT = f"arn:aws:iam::{ACCT}:user/build-bot"
CREATED = datetime(2026, 10, 31, 8, 15, 2, tzinfo=timezone.utc)
FINISHED = datetime(2026, 10, 31, 8, 15, 4, tzinfo=timezone.utc)
USED = datetime(2026, 10, 30, 11, 2, 13, tzinfo=timezone.utc)
JOB_BOT = "2b9a1f6e-3c1d-4e55-9a0b-7f3c2d1e0a91"
JOB_WORKER = "8d41c0aa-51f2-4b7e-bb1e-2e6f0c9d7b34"


def collector(**kwargs: Any) -> tuple[AccountCollector, list[float]]:
    slept: list[float] = []
    c = AccountCollector(session(), ACCT, Feedback(False), user_workers=1, sleep=slept.append, **kwargs)
    return c, slept


def generated(stub: Any, arn: str, job: str) -> None:
    stub.add_response(
        "generate_service_last_accessed_details",
        {"JobId": job},
        {"Arn": arn, "Granularity": "SERVICE_LEVEL"},
    )


def details(stub: Any, job: str, response: dict[str, Any], marker: str | None = None) -> None:
    params: dict[str, Any] = {"JobId": job, "MaxItems": 1000}
    if marker:
        params["Marker"] = marker
    stub.add_response("get_service_last_accessed_details", response, params)


def in_progress() -> dict[str, Any]:
    # botocore's model marks JobCompletionDate required, so the Stubber insists on one even here
    return {
        "JobStatus": "IN_PROGRESS",
        "JobType": "SERVICE_LEVEL",
        "JobCreationDate": CREATED,
        "JobCompletionDate": CREATED,
        "ServicesLastAccessed": [],
    }


def completed(services: list[dict[str, Any]], marker: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {
        "JobStatus": "COMPLETED",
        "JobType": "SERVICE_LEVEL",
        "JobCreationDate": CREATED,
        "JobCompletionDate": FINISHED,
        "ServicesLastAccessed": services,
        "IsTruncated": marker is not None,
    }
    if marker:
        page["Marker"] = marker
    return page


S3_USED = {
    "ServiceName": "Amazon S3",
    "ServiceNamespace": "s3",
    "LastAuthenticated": USED,
    "LastAuthenticatedEntity": WORKER,
    "LastAuthenticatedRegion": "eu-west-1",
    "TotalAuthenticatedEntities": 1,
}
SQS_NEVER = {"ServiceName": "Amazon SQS", "ServiceNamespace": "sqs", "TotalAuthenticatedEntities": 0}


def test_completed_job_is_read_page_by_page_and_normalizes_onto_the_role() -> None:
    from botocore.stub import Stubber

    c, slept = collector()
    with Stubber(c.iam.client) as stub:
        generated(stub, WORKER, JOB_WORKER)
        details(stub, JOB_WORKER, completed([S3_USED], marker="page-2"))
        details(stub, JOB_WORKER, completed([SQS_NEVER]), marker="page-2")
        got = c.service_last_accessed([WORKER])
        stub.assert_no_pending_responses()
    assert slept == [] and c.result.errors == []
    assert got == [
        {
            "Arn": WORKER,
            "JobStatus": "COMPLETED",
            "JobType": "SERVICE_LEVEL",
            "JobCreationDate": "2026-10-31T08:15:02+00:00",
            "JobCompletionDate": "2026-10-31T08:15:04+00:00",
            "ServicesLastAccessed": [
                {**S3_USED, "LastAuthenticated": "2026-10-30T11:02:13+00:00"},
                SQS_NEVER,
            ],
            "IsTruncated": False,
        }
    ]
    # the combined document the collector emits is what the offline normalize reads
    gaad = {"RoleDetailList": [{"RoleName": "orders-worker", "Arn": WORKER, "Path": "/"}]}
    combined = {"Kind": "nhiscan-aws-service-last-accessed", "AccountId": ACCT, "Identities": got}
    result = normalize(
        [
            RawDocument("aws-gaad", "aws", f"aws:{ACCT}", gaad, ACCT),
            RawDocument("aws-service-last-accessed", "aws", f"aws:{ACCT}", combined, ACCT),
        ],
        Settings(),
    )
    assert result.errors == []
    assert result.identities[0].attributes["services_last_accessed"] == {
        "s3": "2026-10-30T11:02:13+00:00",
        "sqs": None,
    }


def test_in_progress_jobs_are_polled_with_backoff_until_complete() -> None:
    from botocore.stub import Stubber

    c, slept = collector()
    with Stubber(c.iam.client) as stub:
        # one job per identity, in ARN order (roles sort before users)
        generated(stub, WORKER, JOB_WORKER)
        generated(stub, BOT, JOB_BOT)
        # round 1: both running; round 2: the bot's done; round 3: the worker's done
        details(stub, JOB_WORKER, in_progress())
        details(stub, JOB_BOT, in_progress())
        details(stub, JOB_WORKER, in_progress())
        details(stub, JOB_BOT, completed([SQS_NEVER]))
        details(stub, JOB_WORKER, completed([S3_USED]))
        got = c.service_last_accessed([BOT, WORKER])
        stub.assert_no_pending_responses()
    assert slept == [0.5, 1.0]
    assert [g["Arn"] for g in got] == [WORKER, BOT]
    assert c.result.errors == []


def test_jobs_that_never_finish_stop_at_the_bounded_wait() -> None:
    from botocore.stub import Stubber

    c, slept = collector(last_accessed_wait=2)
    with Stubber(c.iam.client) as stub:
        generated(stub, WORKER, JOB_WORKER)
        for _ in range(3):
            details(stub, JOB_WORKER, in_progress())
        got = c.service_last_accessed([WORKER])
        stub.assert_no_pending_responses()
    assert got == [] and slept == [0.5, 1.0]
    assert [e.message for e in c.result.errors] == [
        "iam:GetServiceLastAccessedDetails: 1 service last accessed job(s) not complete after 2 s "
        f"(first: {WORKER}); those identities are not judged for unused services"
    ]


def test_failed_job_is_one_error_line_and_the_others_are_kept() -> None:
    from botocore.stub import Stubber

    c, _ = collector()
    with Stubber(c.iam.client) as stub:
        generated(stub, WORKER, JOB_WORKER)
        generated(stub, BOT, JOB_BOT)
        details(stub, JOB_WORKER, completed([S3_USED]))
        details(
            stub,
            JOB_BOT,
            {
                **in_progress(),
                "JobStatus": "FAILED",
                "Error": {"Code": "InternalError", "Message": "try later"},
            },
        )
        got = c.service_last_accessed([BOT, WORKER])
    assert [g["Arn"] for g in got] == [WORKER]
    assert [(e.source, e.message) for e in c.result.errors] == [
        (
            f"aws:{ACCT}",
            f"iam:GetServiceLastAccessedDetails: the service last accessed job for {BOT} is FAILED (try later)",
        )
    ]


def test_access_denied_is_one_error_line_naming_the_api() -> None:
    from botocore.stub import Stubber

    c, _ = collector()
    with Stubber(c.iam.client) as stub:
        stub.add_client_error(
            "generate_service_last_accessed_details", service_error_code="AccessDenied", http_status_code=403
        )
        got = c.service_last_accessed([BOT, WORKER])  # the second identity is not tried again
        stub.assert_no_pending_responses()
    assert got == []
    assert [e.message for e in c.result.errors] == [
        "iam:GenerateServiceLastAccessedDetails denied (AccessDenied): the credentials need the permission "
        "iam:GenerateServiceLastAccessedDetails (read-only policy: docs/aws-permissions.json)"
    ]


def test_targets_are_non_human_users_and_own_roles() -> None:
    c, _ = collector(settings=Settings(human=("*:user/build-bot",)))
    gaad = {
        "UserDetailList": [
            {"UserName": "ci", "Arn": f"arn:aws:iam::{ACCT}:user/service/ci", "Path": "/service/"},
            {"UserName": "build-bot", "Arn": BOT, "Path": "/"},
            {"UserName": "alice", "Arn": f"arn:aws:iam::{ACCT}:user/alice", "Path": "/"},
        ],
        "RoleDetailList": [
            {"RoleName": "orders-worker", "Arn": WORKER, "Path": "/"},
            {
                "RoleName": "AWSServiceRoleForSupport",
                "Arn": f"arn:aws:iam::{ACCT}:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport",
                "Path": "/aws-service-role/support.amazonaws.com/",
            },
            {
                "RoleName": "AWSReservedSSO_Admin_0123456789abcdef",
                "Arn": f"arn:aws:iam::{ACCT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef",
                "Path": "/aws-reserved/sso.amazonaws.com/",
            },
        ],
    }
    rows = {"alice": {"password_enabled": "true", "mfa_active": "true"}}
    assert c.last_accessed_arns(gaad, rows) == [WORKER, f"arn:aws:iam::{ACCT}:user/service/ci"]


def test_permissions_document_grants_both_calls() -> None:
    assert {"iam:GenerateServiceLastAccessedDetails", "iam:GetServiceLastAccessedDetails"} <= GRANTED


def test_cli_without_the_api_warns_once_and_keeps_everything_else(peer: MotoPeer) -> None:
    build_account(peer.client("iam"))
    args = ("scan", "--aws", "--format", "json", "--as-of", AS_OF, "--fail-on", "none")
    plain = nhiscan(peer, *args)
    res = nhiscan(peer, *args, "--aws-last-accessed")
    ops = peer.recorder.ops()
    assert_read_only(ops)
    assert "iam:GenerateServiceLastAccessedDetails" in ops
    assert res.json()["identities"] == plain.json()["identities"]
    assert res.json()["findings"] == plain.json()["findings"]
    # moto lacks ListServiceSpecificCredentials too: that warning is there either way
    new = sorted(set(res.stderr.splitlines()) - set(plain.stderr.splitlines()))
    assert new == [
        f"nhiscan: warning: aws:{ACCT}: iam:GenerateServiceLastAccessedDetails: the endpoint returned an "
        "unreadable response; skipped"
    ]
    assert res.code == plain.code == 0


def test_option_needs_a_live_aws_source() -> None:
    from tests.conftest import run_cli

    res = run_cli("scan", "--aws-last-accessed", "--input", "x.json")
    assert res.code == 2
    assert (
        res.stderr.strip()
        == "nhiscan: error: --aws-last-accessed goes with --aws (or --aws-profile / --aws-org)"
    )


def test_scan_with_the_option_collects_and_judges(peer: MotoPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    """--aws-last-accessed wired through ScanConfig and AccountCollector.run against the moto peer,
    the per-identity jobs answered as recorded above (moto has none): the combined document comes
    after the others, and the scan reports the services svc-deploy never used."""
    from datetime import timedelta

    from nhiscan.config import ScanConfig
    from nhiscan.core import run_scan
    from nhiscan.sources.aws.calls import json_safe

    for k, v in peer.env().items():
        monkeypatch.setenv(k, v)
    build_account(peer.client("iam"))
    asked: list[str] = []
    docs: list[str] = []
    real_run = AccountCollector.run

    def jobs(self: AccountCollector, arns: list[str]) -> list[dict[str, Any]]:
        asked.extend(arns)
        page = json_safe(completed([S3_USED, SQS_NEVER]))
        return [{"Arn": a, **page} for a in arns if a.endswith("/svc-deploy")]

    def run(self: AccountCollector) -> Any:
        result = real_run(self)
        docs.extend(d.kind for d in result.docs)
        return result

    monkeypatch.setattr(AccountCollector, "service_last_accessed", jobs)
    monkeypatch.setattr(AccountCollector, "run", run)
    later = datetime.now(timezone.utc) + timedelta(days=200)  # moto dates identities today
    report = run_scan(ScanConfig(as_of=later, aws=True, aws_last_accessed=True))
    assert report.errors == ()
    assert docs[-1] == "aws-service-last-accessed"
    assert f"arn:aws:iam::{ACCT}:user/svc/svc-deploy" in asked
    assert f"arn:aws:iam::{ACCT}:user/alice" not in asked  # a person
    hits = [f for f in report.findings if f.rule_id == "aws-unused-service-permissions"]
    assert [h.identity_id for h in hits] == [f"arn:aws:iam::{ACCT}:user/svc/svc-deploy"]
    assert hits[0].message.endswith("has not used 2 of them in 90 days: s3, sqs")
