"""Live CloudTrail reads against moto in server mode: the logging posture of an account, read-only."""

from __future__ import annotations

from typing import Any

from tests.aws_live.conftest import AS_OF, build_account, nhiscan
from tests.aws_live.moto_peer import Fault, MotoPeer
from tests.aws_live.test_live_cli import assert_read_only

SCAN = ("scan", "--aws", "--format", "json", "--as-of", AS_OF, "--fail-on", "none")
ACCOUNT = "123456789012"


def _trail(peer: MotoPeer, name: str, region: str, **kw: Any) -> str:
    """Test setup only (nhiscan never writes): a bucket and a trail in ``region``."""
    s3 = peer.client("s3")
    bucket = f"{name}-logs"
    s3.create_bucket(Bucket=bucket)
    import boto3

    ct = boto3.client(
        "cloudtrail",
        endpoint_url=peer.url,
        region_name=region,
        aws_access_key_id=peer.env()["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=peer.env()["AWS_SECRET_ACCESS_KEY"],
    )
    arn: str = ct.create_trail(Name=name, S3BucketName=bucket, **kw)["TrailARN"]
    return arn


def _ct(peer: MotoPeer, region: str) -> Any:
    import boto3

    return boto3.client(
        "cloudtrail",
        endpoint_url=peer.url,
        region_name=region,
        aws_access_key_id=peer.env()["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=peer.env()["AWS_SECRET_ACCESS_KEY"],
    )


def _scope(result: dict[str, Any]) -> dict[str, Any]:
    scopes = result["logging"]["aws"]["scopes"]
    assert [s["scope"] for s in scopes] == [ACCOUNT]
    found: dict[str, Any] = scopes[0]
    return found


def test_write_only_trail_in_another_region_is_partial_and_read_only(peer: MotoPeer) -> None:
    build_account(peer.client("iam"))
    arn = _trail(peer, "mgmt", "eu-west-1", IsMultiRegionTrail=True, EnableLogFileValidation=False)
    ct = _ct(peer, "eu-west-1")
    ct.start_logging(Name=arn)
    ct.put_event_selectors(
        TrailName=arn,
        EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}],
    )
    res = nhiscan(peer, *SCAN)
    assert res.code == 0, res.stderr
    ops = peer.recorder.ops()
    assert_read_only(ops)
    assert {"cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors"} <= set(
        ops
    )
    result = res.json()
    scope = _scope(result)
    assert scope["status"] == "partial"
    assert scope["details"]["captured"]["sts.amazonaws.com"] == {"read": "no", "write": "yes"}
    assert result["summary"]["logging"]["aws"] == "partial"
    rules = {f["rule_id"]: f for f in result["findings"]}
    assert rules["aws-identity-calls-not-logged"]["severity"] == "medium"
    assert "denied read calls" in rules["aws-identity-calls-not-logged"]["message"]
    assert "aws-trail-no-log-validation" in rules


def test_logging_multi_region_trail_with_validation_is_logged(peer: MotoPeer) -> None:
    build_account(peer.client("iam"))
    arn = _trail(peer, "org", "us-east-1", IsMultiRegionTrail=True, EnableLogFileValidation=True)
    _ct(peer, "us-east-1").start_logging(Name=arn)
    res = nhiscan(peer, *SCAN)
    assert res.code == 0, res.stderr
    result = res.json()
    assert _scope(result)["status"] == "logged"
    assert not [f for f in result["findings"] if f["rule_id"].startswith(("aws-identity-calls", "aws-trail"))]


def test_stopped_trail_and_no_trail_are_not_logged(peer: MotoPeer) -> None:
    build_account(peer.client("iam"))
    res = nhiscan(peer, *SCAN)
    result = res.json()
    assert _scope(result)["status"] == "not-logged"
    [finding] = [f for f in result["findings"] if f["rule_id"] == "aws-identity-calls-not-logged"]
    assert finding["severity"] == "high" and "no CloudTrail trail" in finding["message"]
    _trail(peer, "stopped", "us-east-1", IsMultiRegionTrail=True, EnableLogFileValidation=True)
    result = nhiscan(peer, *SCAN).json()
    assert _scope(result)["status"] == "not-logged"
    [finding] = [f for f in result["findings"] if f["rule_id"] == "aws-identity-calls-not-logged"]
    assert "not logging" in finding["message"] and "Denied calls" in finding["message"]


def test_cloudtrail_denied_is_one_error_and_the_account_is_still_scanned(peer: MotoPeer) -> None:
    build_account(peer.client("iam"))
    peer.recorder.faults.append(Fault("cloudtrail", "DescribeTrails", "AccessDeniedException", status=400))
    res = nhiscan(peer, *SCAN)
    assert res.code == 2
    lines = [line for line in res.stderr.splitlines() if "cloudtrail" in line.lower()]
    assert len(lines) == 1 and "cloudtrail:DescribeTrails denied" in lines[0] and f"aws:{ACCOUNT}" in lines[0]
    result = res.json()
    assert any(i["id"].endswith(":user/svc/svc-deploy") for i in result["identities"])
    assert _scope(result)["status"] == "unknown"


def test_trail_status_denied_is_a_warning_and_the_fact_stays_unknown(peer: MotoPeer) -> None:
    build_account(peer.client("iam"))
    arn = _trail(peer, "mgmt", "us-east-1", IsMultiRegionTrail=True, EnableLogFileValidation=True)
    _ct(peer, "us-east-1").start_logging(Name=arn)
    peer.recorder.faults.append(Fault("cloudtrail", "GetTrailStatus", "AccessDeniedException", status=400))
    res = nhiscan(peer, *SCAN)
    assert res.code == 0, res.stderr
    assert "cloudtrail:GetTrailStatus denied" in res.stderr
    scope = _scope(res.json())
    assert scope["status"] == "unknown"
    assert scope["details"]["trails"][0]["is_logging"] is None
