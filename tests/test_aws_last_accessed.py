"""IAM service last accessed data: the get-service-last-accessed-details export (--input ARN=FILE),
nhiscan's combined form, the facts on the identity, and the rule aws-unused-service-permissions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nhiscan.config import InputSpec, Settings
from nhiscan.sources.aws import normalize
from nhiscan.sources.documents import RawDocument
from nhiscan.sources.exports import detect, load_input, read_parsed
from tests.conftest import AS_OF, FIXTURES, run_cli

CASE = FIXTURES / "rules" / "aws-unused-service-permissions"
FIRES = CASE / "fires"
ARN = "arn:aws:iam::111122223333:role/service/orders-worker"
LAST_ACCESSED = FIRES / "orders-worker-last-accessed.json"


def _gaad_doc() -> RawDocument:
    return load_input(InputSpec(str(FIRES / "gaad.json")))


def _attrs(docs: list[RawDocument]) -> tuple[dict[str, Any], list[str]]:
    result = normalize(docs, Settings())
    ident = next(i for i in result.identities if i.id == ARN)
    return dict(ident.attributes), [f"{e.source}: {e.message}" for e in result.errors]


def test_cli_output_is_recognised_by_content(tmp_path: Path) -> None:
    assert detect(read_parsed(str(LAST_ACCESSED))) == ("aws", "aws-service-last-accessed")
    unfinished = tmp_path / "job.json"
    unfinished.write_text(json.dumps({"JobStatus": "IN_PROGRESS", "JobCreationDate": "2026-10-31T08:15:02Z"}))
    with pytest.raises(Exception, match="unrecognised"):
        detect(read_parsed(str(unfinished)))  # neither the list nor JobType: not this export
    unfinished.write_text(json.dumps({"JobStatus": "IN_PROGRESS", "JobType": "SERVICE_LEVEL"}))
    assert detect(read_parsed(str(unfinished))) == ("aws", "aws-service-last-accessed")


def test_arn_scope_splits_and_facts_land_on_the_identity() -> None:
    spec = InputSpec.parse(f"{ARN}={LAST_ACCESSED}")
    assert (spec.scope, spec.path) == (ARN, str(LAST_ACCESSED))
    attrs, errors = _attrs([_gaad_doc(), load_input(spec)])
    assert errors == []
    assert attrs["services_last_accessed"] == {
        "dynamodb": None,
        "kms": "2026-10-29T22:41:00+00:00",
        "s3": "2026-10-30T11:02:13+00:00",
        "sns": "2026-03-02T07:30:00+00:00",
        "sqs": None,
    }


def test_without_data_the_identity_has_no_attribute() -> None:
    attrs, errors = _attrs([_gaad_doc()])
    assert errors == [] and "services_last_accessed" not in attrs


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (None, "does not name its identity; pass it as --input arn:aws:iam::ACCOUNT:role/NAME=FILE"),
        ("111122223333", "SCOPE 111122223333 is not an IAM user or role ARN"),
        ("arn:aws:iam::111122223333:policy/x", "is not an IAM user or role ARN"),
    ],
)
def test_missing_or_wrong_scope_is_one_error_naming_the_file(scope: str | None, expected: str) -> None:
    doc = load_input(InputSpec(str(LAST_ACCESSED), scope))
    attrs, errors = _attrs([_gaad_doc(), doc])
    assert len(errors) == 1 and errors[0].startswith(f"{LAST_ACCESSED}: ") and expected in errors[0]
    assert "services_last_accessed" not in attrs


@pytest.mark.parametrize("status", ["IN_PROGRESS", "FAILED"])
def test_unfinished_job_is_an_error_and_no_data(status: str) -> None:
    data = json.loads(LAST_ACCESSED.read_text())
    data["JobStatus"] = status
    if status == "FAILED":
        data["Error"] = {"Code": "InternalError", "Message": "job failed"}
    doc = RawDocument("aws-service-last-accessed", "aws", "la.json", data, ARN)
    attrs, errors = _attrs([_gaad_doc(), doc])
    assert len(errors) == 1 and errors[0].startswith("la.json: ") and f"is {status}" in errors[0]
    assert "services_last_accessed" not in attrs


def test_combined_form_reads_many_identities_and_merges_pages() -> None:
    page = json.loads(LAST_ACCESSED.read_text())
    combined = {
        "Kind": "nhiscan-aws-service-last-accessed",
        "AccountId": "111122223333",
        "Identities": [
            {"Arn": ARN, **page},
            {
                "Arn": ARN,
                "JobStatus": "COMPLETED",
                "ServicesLastAccessed": [
                    {"ServiceNamespace": "sqs", "LastAuthenticated": "2026-01-05T00:00:00Z"}
                ],
            },
            {"JobStatus": "COMPLETED", "ServicesLastAccessed": []},
        ],
    }
    doc = RawDocument("aws-service-last-accessed", "aws", "combined.json", combined)
    attrs, errors = _attrs([_gaad_doc(), doc])
    assert errors == ["combined.json: Identities[2]: without the Arn of an IAM user or role; skipped"]
    assert attrs["services_last_accessed"]["sqs"] == "2026-01-05T00:00:00+00:00"
    assert attrs["services_last_accessed"]["dynamodb"] is None


# -- through the installed CLI -------------------------------------------------------------------


def _scan(*inputs: str) -> Any:
    args = ["scan", "--format", "json", "--as-of", AS_OF, "--fail-on", "none"]
    for i in inputs:
        args += ["--input", i]
    return run_cli(*args)


def test_e2e_finding_names_the_unused_services_and_owasp_id() -> None:
    res = _scan(str(FIRES / "gaad.json"), f"{ARN}={LAST_ACCESSED}")
    assert res.code == 0, res.stderr
    assert res.stderr == ""
    hits = [f for f in res.json()["findings"] if f["rule_id"] == "aws-unused-service-permissions"]
    assert len(hits) == 1
    f = hits[0]
    assert f["identity_id"] == ARN and f["owasp_nhi"] == ["NHI5:2025"] and f["severity"] == "medium"
    # dynamodb and sqs never used, sns last used 2026-03-02 (244 days before --as-of); s3, kms in use
    assert f["message"] == (
        "role orders-worker is allowed 5 AWS services but has not used 3 of them in 90 days: "
        "dynamodb, sns, sqs"
    )
    assert "Access Analyzer" in f["remediation"]


def test_e2e_missing_scope_is_one_error_line_exit_2() -> None:
    res = _scan(str(FIRES / "gaad.json"), str(LAST_ACCESSED))
    assert res.code == 2
    assert res.stderr.strip().splitlines() == [
        f"nhiscan: error: {LAST_ACCESSED}: get-service-last-accessed-details output does not name its "
        "identity; pass it as --input arn:aws:iam::ACCOUNT:role/NAME=FILE (or user/NAME)"
    ]
    rules = {f["rule_id"] for f in res.json()["findings"]}
    assert "aws-unused-service-permissions" not in rules  # never guessed


def test_e2e_unused_days_param_moves_the_window(tmp_path: Path) -> None:
    toml = tmp_path / "nhiscan.toml"
    toml.write_text("[params.aws-unused-service-permissions]\nunused_days = 365\n")
    res = run_cli(
        "scan",
        "--format",
        "json",
        "--as-of",
        AS_OF,
        "--fail-on",
        "none",
        "--config",
        str(toml),
        "--input",
        str(FIRES / "gaad.json"),
        "--input",
        f"{ARN}={LAST_ACCESSED}",
    )
    assert res.code == 0, res.stderr
    f = next(f for f in res.json()["findings"] if f["rule_id"] == "aws-unused-service-permissions")
    assert f["message"].endswith("has not used 2 of them in 365 days: dynamodb, sqs")


def test_inventory_round_trip_keeps_last_accessed(tmp_path: Path) -> None:
    inv = tmp_path / "inv.json"
    made = run_cli(
        "inventory",
        "--input",
        str(FIRES / "gaad.json"),
        "--input",
        f"{ARN}={LAST_ACCESSED}",
        "--output",
        str(inv),
    )
    assert made.code == 0, made.stderr
    saved = json.loads(inv.read_text())
    ident = next(i for i in saved["identities"] if i["id"] == ARN)
    assert ident["attributes"]["services_last_accessed"]["sqs"] is None
    again = _scan(str(inv)).json()
    direct = _scan(str(FIRES / "gaad.json"), f"{ARN}={LAST_ACCESSED}").json()
    assert again["findings"] == direct["findings"]
    assert any(f["rule_id"] == "aws-unused-service-permissions" for f in again["findings"])


def test_e2e_identity_younger_than_the_window_is_not_judged() -> None:
    # the role was created 2025-02-10: on 2025-03-01 it has not had 90 days to use what it was given
    res = run_cli(
        "scan", "--format", "json", "--as-of", "2025-03-01", "--fail-on", "none",
        "--input", str(FIRES / "gaad.json"), "--input", f"{ARN}={LAST_ACCESSED}",
    )  # fmt: skip
    assert res.code == 0, res.stderr
    assert "aws-unused-service-permissions" not in {f["rule_id"] for f in res.json()["findings"]}
