"""GCP workload identity federation for CI: a provider's CEL attribute condition and the pool
member bound on a service account read into the `sub` patterns they admit (ci_oidc_gcp), the
provider export read and checked record by record, and the workflow -> service account edge."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from nhiscan.analyze import ci_oidc, ci_oidc_gcp
from nhiscan.analyze.graph.edges_ci import edges
from nhiscan.config import InputSpec, ScanConfig, Settings
from nhiscan.core import collect_inventory
from nhiscan.errors import InputError
from nhiscan.model import Inventory
from nhiscan.sources.exports import detect, read_parsed
from tests.conftest import FIXTURES

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
CASE = FIXTURES / "escalation" / "cross" / "gha-gcp-admin"
MAPPING = {
    "google.subject": "assertion.sub",
    "attribute.repository": "assertion.repository",
    "attribute.owner": "assertion.repository_owner",
    "attribute.actor": "assertion.actor",
    "attribute.branch": "assertion.ref",
}
POOL = "principalSet://iam.googleapis.com/projects/314159265358/locations/global/workloadIdentityPools/github"
SA = "gh-deploy@acme-deploy.iam.gserviceaccount.com"


def admitted(condition: str | None, member: str = f"{POOL}/*") -> tuple[list[tuple[str, bool]], list[str]]:
    bound = ci_oidc_gcp.member_atom(member, MAPPING)
    patterns: list[tuple[str, bool]] = []
    undecided: list[str] = []
    for term in ci_oidc_gcp.parse_condition(condition, MAPPING):
        got, said = ci_oidc_gcp.sub_patterns(term + ((bound,) if bound else ()))
        patterns += got
        undecided += said
    return patterns, undecided


@pytest.mark.parametrize(
    ("condition", "member", "expected"),
    [
        (None, f"{POOL}/*", [("repo:*/*:*", True)]),
        ("assertion.repository_owner == 'acme'", f"{POOL}/*", [("repo:acme/*:*", True)]),
        ('attribute.owner == "acme"', f"{POOL}/*", [("repo:acme/*:*", True)]),
        (None, f"{POOL}/attribute.repository/acme/deploy", [("repo:acme/deploy:*", True)]),
        (
            "assertion.repository_owner == 'acme'",
            "principal://iam.googleapis.com/projects/314159265358/locations/global/workloadIdentityPools/github/"
            "subject/repo:acme/deploy:environment:prod",
            [("repo:acme/deploy:environment:prod", False)],
        ),
        (
            "assertion.repository == 'acme/deploy' && assertion.ref == 'refs/heads/main'",
            f"{POOL}/*",
            [("repo:acme/deploy:ref:refs/heads/main", False)],
        ),
        (
            "assertion.repository in ['acme/a', 'acme/b'] && assertion.environment == 'prod'",
            f"{POOL}/*",
            [("repo:acme/a:environment:prod", False), ("repo:acme/b:environment:prod", False)],
        ),
        (
            "assertion.repository == 'acme/a' || assertion.repository.startsWith('acme/tools-')",
            f"{POOL}/*",
            [("repo:acme/a:*", True), ("repo:acme/tools-*:*", True)],
        ),
        (
            "assertion.sub.startsWith('repo:acme/deploy:ref:refs/tags/')",
            f"{POOL}/*",
            [("repo:acme/deploy:ref:refs/tags/*", True)],
        ),
        (
            "assertion.repository == 'acme/a' && assertion.ref.startsWith('refs/heads/')",
            f"{POOL}/*",
            [("repo:acme/a:ref:refs/heads/*", True)],
        ),
        (
            "assertion.repository == 'acme/a' && assertion.event_name == 'pull_request'",
            f"{POOL}/*",
            [("repo:acme/a:pull_request", False)],
        ),
        # a binding of another repository than the condition's: admits nothing
        ("assertion.repository == 'acme/a'", f"{POOL}/attribute.repository/acme/b", []),
        ("false", f"{POOL}/*", []),
        (
            "true && assertion.repository_owner_id == '4711'",
            f"{POOL}/*",
            [("repo:(owner id 4711)/*:*", True)],
        ),
        # an attribute any repository can carry: any repository
        (None, f"{POOL}/attribute.branch/refs/heads/main", [("repo:*/*:ref:refs/heads/main", True)]),
    ],
)
def test_condition_and_member_become_sub_patterns(
    condition: str | None, member: str, expected: list[tuple[str, bool]]
) -> None:
    patterns, undecided = admitted(condition, member)
    assert patterns == expected
    assert undecided == []


@pytest.mark.parametrize(
    "condition",
    [
        "!(assertion.repository == 'acme/a')",
        "assertion.repository != 'evil/x'",
        "assertion.repository.endsWith('/a')",
        "assertion.actor == 'octocat'",
        "size(assertion.repository) > 0",
        "assertion['repository'] == 'acme/a'",
        "assertion.repository == ",
        "(" * 65 + "true" + ")" * 65,
        " || ".join(["assertion.repository == 'acme/a'"] * 65),
        " && ".join(["(assertion.ref == 'a' || assertion.ref == 'b')"] * 7),
    ],
)
def test_what_cannot_be_decided_is_said_and_admits_every_token(condition: str) -> None:
    patterns, undecided = admitted(condition)
    assert undecided, condition
    assert ("repo:*/*:*", True) in patterns


def test_an_undecided_part_beside_a_decided_owner_keeps_the_owner() -> None:
    patterns, undecided = admitted("assertion.repository_owner == 'acme' && assertion.actor != 'mallory'")
    assert patterns == [("repo:acme/*:*", True)]
    assert undecided == ["assertion . actor != 'mallory'"]


def test_a_group_member_is_undecided() -> None:
    patterns, undecided = admitted(None, f"{POOL}/group/deployers")
    assert undecided and patterns == [("repo:*/*:*", True)]


def _inventory(tmp_path: Path | None = None, providers: Any = None) -> tuple[Inventory, list[Any]]:
    inputs = [InputSpec(str(CASE / "asset-iam-policies.json"))]
    if providers is None:
        inputs.append(InputSpec(str(CASE / "wif-provider-assets.json")))
    else:
        assert tmp_path is not None
        (tmp_path / "providers.json").write_text(json.dumps(providers))
        inputs.append(InputSpec(str(tmp_path / "providers.json")))
    config = ScanConfig(as_of=AS_OF, inputs=tuple(inputs), paths=(str(CASE / "deploy"),), settings=Settings())
    inventory, errors = collect_inventory(config)
    return inventory, list(errors)


def test_the_workflow_reaches_the_service_account_it_names() -> None:
    inventory, errors = _inventory()
    assert not errors
    (trust,) = [t for t in ci_oidc.all_trusts(inventory) if t.kind == "gcp-workload-identity"]
    assert trust.identity.id == SA and [p.value for p in trust.subs or ()] == ["repo:acme/deploy:*"]
    (edge,) = edges(inventory, AS_OF)
    assert edge.target == SA and edge.kind == "ci-oidc-assume" and not edge.conditional
    assert edge.source.endswith(":.github/workflows/deploy.yml")


def _record() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CASE / "wif-provider-assets.json").read_text())[0]["resource"]["data"]
    return data


def test_a_job_naming_another_provider_or_account_makes_no_edge(tmp_path: Path) -> None:
    other = copy.deepcopy(_record())
    other["name"] = other["name"].replace("github-actions", "other")
    inventory, errors = _inventory(tmp_path, [other])
    assert not errors
    assert [t.identity.id for t in ci_oidc.all_trusts(inventory)] == [SA]
    assert list(edges(inventory, AS_OF)) == []


def test_an_audience_the_provider_does_not_accept_makes_the_edge_conditional(tmp_path: Path) -> None:
    rec = copy.deepcopy(_record())
    rec["oidc"]["allowedAudiences"] = ["https://gha.acme.example"]
    inventory, _ = _inventory(tmp_path, [rec])
    (edge,) = edges(inventory, AS_OF)
    assert edge.conditional and "audience" in edge.condition


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("attributeMapping", ["google.subject"]),
        ("attributeCondition", {"expression": "true"}),
        ("oidc", "https://token.actions.githubusercontent.com"),
        ("state", 1),
        ("disabled", "no"),
    ],
)
def test_a_bad_field_costs_its_record_only(tmp_path: Path, field: str, value: Any) -> None:
    bad = copy.deepcopy(_record())
    bad["name"] = bad["name"].replace("github-actions", "broken")
    bad[field] = value
    inventory, errors = _inventory(tmp_path, [bad, _record()])
    assert len(errors) == 1 and errors[0].message.startswith("[0]"), errors
    assert field in errors[0].message or "name" in errors[0].message
    assert [t.identity.id for t in ci_oidc.all_trusts(inventory)] == [SA]


def test_detection_by_content(tmp_path: Path) -> None:
    rec = _record()
    for name, data in {
        "a.json": [rec],
        "b.json": {"workloadIdentityPoolProviders": [rec]},
        "c.json": json.loads((CASE / "wif-provider-assets.json").read_text()),
    }.items():
        (tmp_path / name).write_text(json.dumps(data))
        assert detect(read_parsed(str(tmp_path / name))) == ("gcp", "gcp-workload-identity-providers")
    # a pool (no /providers/) or a provider among other asset types is not this kind
    pool = {**rec, "name": rec["name"].split("/providers/")[0]}
    (tmp_path / "pool.json").write_text(json.dumps([pool]))
    with pytest.raises(InputError, match="unrecognised export format"):
        detect(read_parsed(str(tmp_path / "pool.json")))


def test_a_provider_named_by_project_id_may_be_the_exported_one() -> None:
    provider = ci_oidc_gcp.Provider(
        name="projects/314159265358/locations/global/workloadIdentityPools/github/providers/github-actions",
        project="314159265358",
        pool="github",
        condition=None,
        mapping={},
        audiences=(),
        path="x.json",
    )
    same = "projects/314159265358/locations/global/workloadIdentityPools/github/providers/github-actions"
    assert ci_oidc_gcp.names_provider(same, provider) is True
    assert ci_oidc_gcp.names_provider("//iam.googleapis.com/" + same, provider) is True
    by_id = same.replace("314159265358", "acme-deploy")
    assert ci_oidc_gcp.names_provider(by_id, provider) is None
    assert ci_oidc_gcp.names_provider(same.replace("314159265358", "271828182845"), provider) is False
    assert ci_oidc_gcp.names_provider(same.replace("github-actions", "other"), provider) is False
    assert ci_oidc_gcp.names_provider("${{ vars.WIF_PROVIDER }}", provider) is None
    assert ci_oidc_gcp.names_provider(None, provider) is False


def test_a_job_naming_the_provider_by_project_id_makes_a_conditional_edge(tmp_path: Path) -> None:
    repo = tmp_path / "deploy"
    (repo / ".github" / "workflows").mkdir(parents=True)
    text = (CASE / "deploy" / ".github" / "workflows" / "deploy.yml").read_text()
    (repo / ".github" / "workflows" / "deploy.yml").write_text(
        text.replace("projects/314159265358/", "projects/acme-deploy/")
    )
    config = ScanConfig(
        as_of=AS_OF,
        inputs=(
            InputSpec(str(CASE / "asset-iam-policies.json")),
            InputSpec(str(CASE / "wif-provider-assets.json")),
        ),
        paths=(str(repo),),
        settings=Settings(),
    )
    inventory, errors = collect_inventory(config)
    assert not errors
    (edge,) = edges(inventory, AS_OF)
    assert edge.target == SA and edge.conditional
    assert "names the provider by project id" in edge.condition
