"""IAM Condition blocks decided from what the export knows (``conditions.evaluate``)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from nhiscan.analyze.graph.conditions import context_for, evaluate, undecided

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
CTX = context_for(
    AS_OF,
    principal_account="111122223333",
    principal_arn="arn:aws:iam::111122223333:user/ci",
    username="ci",
    resource_account="111122223333",
    source_account="111122223333",
    principal_org_id="o-abc123def4",
)


@pytest.mark.parametrize(
    ("condition", "answer"),
    [
        (None, "true"),
        ({}, "true"),
        ({"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}}, "true"),
        ({"DateGreaterThan": {"aws:CurrentTime": "2099-01-01T00:00:00Z"}}, "false"),
        ({"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, "false"),
        ({"DateLessThan": {"aws:CurrentTime": "2027-01-01"}}, "true"),
        ({"DateLessThanEquals": {"aws:CurrentTime": "2026-11-01T00:00:00Z"}}, "true"),
        ({"DateGreaterThanEquals": {"aws:CurrentTime": "2026-11-01T00:00:01Z"}}, "false"),
        ({"DateEquals": {"aws:CurrentTime": "2026-11-01T00:00:00Z"}}, "true"),
        ({"DateNotEquals": {"aws:CurrentTime": ["2026-11-01T00:00:00Z", "2020-01-01"]}}, "false"),
        ({"DateGreaterThan": {"aws:EpochTime": 1700000000}}, "true"),  # epoch seconds
        ({"DateGreaterThan": {"aws:CurrentTime": "not a date"}}, "unknown"),
        # one of several values suffices; keys of a case-insensitive name
        ({"StringEquals": {"aws:PrincipalAccount": ["999988887777", "111122223333"]}}, "true"),
        ({"StringEquals": {"AWS:principalaccount": "999988887777"}}, "false"),
        ({"StringNotEquals": {"aws:ResourceAccount": "999988887777"}}, "true"),
        ({"StringNotEquals": {"aws:ResourceAccount": ["999988887777", "111122223333"]}}, "false"),
        ({"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}}, "true"),
        ({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:user/*"}}, "true"),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/*"}}, "false"),
        ({"StringEqualsIgnoreCase": {"aws:username": "CI"}}, "true"),
        ({"StringEqualsIfExists": {"aws:SourceAccount": "111122223333"}}, "true"),
        ({"ForAnyValue:StringEquals": {"aws:PrincipalAccount": "111122223333"}}, "true"),
        ({"Null": {"aws:PrincipalOrgID": "false"}}, "true"),
        ({"Null": {"aws:PrincipalOrgID": "true"}}, "false"),
        # what the export cannot know
        ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, "unknown"),
        ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, "unknown"),
        ({"StringEquals": {"aws:RequestTag/team": "a"}}, "unknown"),
        ({"StringLike": {"aws:PrincipalArn": "${aws:username}"}}, "unknown"),
        # every operator and key must hold: a known false beats an unknown
        (
            {
                "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
                "DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
            },
            "false",
        ),
        (
            {
                "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
                "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
            },
            "unknown",
        ),
        ({"StringEquals": "not a block"}, "unknown"),
    ],
)
def test_evaluate(condition: dict[str, object] | None, answer: str) -> None:
    assert evaluate(condition, CTX) == answer


def test_keys_the_export_does_not_give_are_unknown() -> None:
    bare = context_for(AS_OF)
    assert evaluate({"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}}, bare) == "unknown"
    assert evaluate({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}}, bare) == "true"


def test_undecided_names_only_the_open_parts() -> None:
    cond = {
        "IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.0/24"]},
        "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
    }
    assert undecided(cond, CTX) == "aws:SourceIp IpAddress 203.0.113.0/24, 198.51.100.0/24"
    assert undecided(None, CTX) == ""
