"""Denial of service through policy wildcards: an export is anyone's JSON, and a policy's Action or
Resource may hold a pattern like ``s3:*a*a*a*a*a*a*a*a*b``. Translated naively to a regex (``*`` to
``.*``), matching it against an almost-matching action or ARN costs time exponential in the number
of stars (seconds for six, hours for twenty). nhiscan's matcher must stay linear, answer exactly as
wildcard matching does, and the scan must report the identity holding such a policy."""

from __future__ import annotations

import fnmatch
import json
import random
import time
from pathlib import Path

from nhiscan.analyze.aws_policy import action_matches, any_action, resource_matches
from tests.hostile.harness import hostile_scan

FIXTURE = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "escalation"
    / "aws"
    / "add-user-to-group"
    / "exploitable"
)
STARS = 40


def _hostile(prefix: str) -> str:
    return prefix + "*a" * STARS + "*b"


def test_many_stars_match_in_linear_time() -> None:
    start = time.process_time()
    assert not action_matches(_hostile("s3:"), "s3:" + "a" * 80)
    assert not any_action((_hostile("iam:"), _hostile("s3:")), "iam:" + "a" * 80)
    assert not resource_matches(_hostile("arn:aws:s3:::"), "arn:aws:s3:::" + "a" * 100_000)
    assert resource_matches(_hostile("arn:aws:s3:::"), "arn:aws:s3:::" + "a" * 100_000 + "b")
    assert time.process_time() - start < 2.0


def test_matcher_answers_as_wildcard_matching_does() -> None:
    rng = random.Random(20261206)
    for _ in range(20_000):
        pattern = "".join(rng.choice("ab*?") for _ in range(rng.randint(0, 8)))
        text = "".join(rng.choice("ab/") for _ in range(rng.randint(1, 9)))
        want = pattern == "*" or fnmatch.fnmatchcase(text, pattern)
        assert resource_matches(pattern, text) is want, (pattern, text)
        assert action_matches(pattern, text) is want, (pattern, text)


def test_export_with_hostile_wildcards_is_scanned_in_time(tmp_path: Path) -> None:
    doc = json.loads((FIXTURE / "gaad.json").read_text("utf-8"))
    user = doc["UserDetailList"][0]
    user["UserPolicyList"][0]["PolicyDocument"]["Statement"] = [
        {
            "Effect": "Allow",
            "Action": [_hostile("iam:"), _hostile("s3:")],
            "Resource": _hostile("arn:aws:iam::"),
        },
        {"Effect": "Allow", "NotAction": _hostile("ec2:"), "Resource": _hostile("arn:aws:s3:::")},
    ]
    export = tmp_path / "gaad.json"
    export.write_text(json.dumps(doc), "utf-8")
    res = hostile_scan(tmp_path, "--input", str(export), "--fail-on", "none", expect_code=0, timeout=60)
    ids = {i["id"] for i in res.result["identities"]}
    assert user["Arn"] in ids
