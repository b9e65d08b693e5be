"""The escalation graph's CI edges (workflow -> cloud identity its OIDC token can become), built on
inventories loaded through the real loaders from fixture exports and repositories, and on small
hand-built inventories for what the fixtures do not show."""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from nhiscan.analyze.graph.edges_ci import edges
from nhiscan.config import InputSpec, ScanConfig, Settings
from nhiscan.core import collect_inventory
from nhiscan.model import Identity, Inventory, Location, Observation, Trust
from tests.conftest import FIXTURES

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
ESCALATION = FIXTURES / "escalation"
ACCOUNT = "318274650912"
GH = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"


def _inventory(case: Path, repo: str = "deploy") -> Inventory:
    config = ScanConfig(
        as_of=AS_OF,
        inputs=(InputSpec(str(case / "aws-export.json")),),
        paths=(str(case / repo),),
        settings=Settings(),
    )
    inventory, errors = collect_inventory(config)
    assert not errors, errors
    return inventory


def test_exploitable_fixture_gives_one_decided_edge() -> None:
    got = list(edges(_inventory(ESCALATION / "ci-oidc-assume" / "exploitable"), AS_OF))
    assert [(e.source.rsplit(":", 1)[1], e.target, e.kind) for e in got] == [
        (".github/workflows/release.yml", f"arn:aws:iam::{ACCOUNT}:role/gh-release", "ci-oidc-assume")
    ]
    edge = got[0]
    assert edge.source.startswith("workflow:") and edge.source.endswith(
        "/deploy:.github/workflows/release.yml"
    )
    # the workflow pins itself to acme/deploy, and runs in the environment the trust names
    assert not edge.conditional and edge.condition == ""
    assert "repo:acme/deploy:environment:prod" in edge.via and "StringEquals" in edge.via
    assert edge.path is not None and edge.path.endswith("exploitable/aws-export.json")


def test_lookalike_fixture_gives_no_edge() -> None:
    # a trust of another repository, a GitLab trust, and a job that assumes with static keys
    assert list(edges(_inventory(ESCALATION / "ci-oidc-assume" / "lookalike"), AS_OF)) == []


def test_cross_fixture_reaches_the_deploy_role() -> None:
    got = list(edges(_inventory(ESCALATION / "cross" / "gha-aws-admin"), AS_OF))
    assert [(e.target, e.kind, e.conditional) for e in got] == [
        (f"arn:aws:iam::{ACCOUNT}:role/gh-deploy", "ci-oidc-assume", False)
    ]
    assert "StringLike" in got[0].via and "repo:acme/deploy:*" in got[0].via


# --- hand-built inventories ---------------------------------------------------------------------------


def _role(name: str, conditions: dict[str, object], principal: str = GH) -> Identity:
    return Identity(
        id=f"arn:aws:iam::{ACCOUNT}:role/{name}",
        provider="aws",
        kind="aws-iam-role",
        name=name,
        scope=ACCOUNT,
        trusts=(Trust("Federated", principal, ("sts:AssumeRoleWithWebIdentity",), "Allow", conditions),),
    )


def _fact(
    target: str,
    subjects: list[str],
    *,
    repo: str = "deploy",
    owner: str | None = "acme/deploy",
    cloud: str = "aws",
    id_token: bool = True,
    path: str = ".github/workflows/deploy.yml",
) -> Observation:
    return Observation(
        "oidc-trust-too-broad",
        Location(path=path, line=12, repository_name=repo),
        "fact",
        {
            "fact": "ci-oidc-assume",
            "cloud": cloud,
            "job": "deploy",
            "target": target,
            "subjects": subjects,
            "repository": owner,
            "id_token": id_token,
        },
    )


def _sub(value: str, op: str = "StringEquals") -> dict[str, object]:
    return {
        op: {
            "token.actions.githubusercontent.com:sub": value,
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        }
    }


def _edges(identities: list[Identity], facts: list[Observation]) -> list[tuple[str, str, bool, str]]:
    inv = Inventory(identities=tuple(identities), observations=tuple(facts))
    return [(e.source, e.target.rsplit("/", 1)[-1], e.conditional, e.condition) for e in edges(inv, AS_OF)]


def test_expression_target_reaches_every_role_the_trust_admits_and_a_named_arn_only_its_own() -> None:
    roles = [
        _role("a", _sub("repo:acme/deploy:ref:refs/heads/main")),
        _role("b", _sub("repo:acme/deploy:*", "StringLike")),
    ]
    by_expr = _edges(roles, [_fact("${{ secrets.ROLE_ARN }}", ["ref:refs/heads/main"])])
    assert [(t, c) for _, t, c, _ in by_expr] == [("a", False), ("b", False)]
    named = _edges(roles, [_fact(f"arn:aws:iam::{ACCOUNT}:role/b", ["ref:refs/heads/main"])])
    assert [t for _, t, _, _ in named] == ["b"]
    by_name = _edges(roles, [_fact("arn:aws:iam::${{ vars.ACCOUNT }}:role/a", ["ref:refs/heads/main"])])
    assert [t for _, t, _, _ in by_name] == ["a"]


def test_a_checkout_named_unlike_its_repository_still_links_the_job_that_names_the_role() -> None:
    role = _role("ci--rustup", _sub("repo:rust-lang/rustup:*", "StringLike"))
    arn = f"arn:aws:iam::{ACCOUNT}:role/ci--rustup"
    (edge,) = _edges([role], [_fact(arn, ["pull_request"], repo="rust-lang+rustup", owner=None)])
    assert edge[1:3] == ("ci--rustup", True)
    assert "the trust names repository rust-lang/rustup, the checkout is named rust-lang+rustup" in edge[3]
    # by an expression, the checkout's name must match
    assert (
        _edges([role], [_fact("${{ vars.R }}", ["pull_request"], repo="rust-lang+rustup", owner=None)]) == []
    )


def test_undecided_matches_are_conditional_and_say_why() -> None:
    role = _role("a", _sub("repo:acme/deploy:environment:prod"))
    (edge,) = _edges([role], [_fact("${{ vars.R }}", ["ref:refs/heads/main"], owner=None)])
    assert edge[2] is True
    assert (
        "owner is not known" in edge[3] and "environment:prod" in edge[3] and "ref:refs/heads/main" in edge[3]
    )
    (edge,) = _edges([role], [_fact("${{ vars.R }}", ["environment:prod"], id_token=False)])
    assert edge[2] is True and "id-token: write" in edge[3]
    audience = _fact("${{ vars.R }}", ["environment:prod"])
    audience = Observation(
        audience.rule_id, audience.location, "fact", {**audience.attributes, "audience": "api://other"}
    )
    (edge,) = _edges([role], [audience])
    assert edge[2] is True and "audience api://other" in edge[3]


def test_a_trust_without_sub_or_with_any_owner_admits_every_workflow() -> None:
    facts = [_fact("${{ vars.R }}", ["ref:refs/heads/main"], owner=None)]
    aud_only = {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}
    got = _edges([_role("open", aud_only)], facts)
    assert [(t, c) for _, t, c, _ in got] == [("open", False)]
    inv = Inventory(identities=(_role("open", aud_only),), observations=tuple(facts))
    assert "no sub condition" in next(iter(edges(inv, AS_OF))).via
    for value in ("repo:*", "repo:*/deploy:*", "*"):
        got = _edges([_role("w", _sub(value, "StringLike"))], facts)
        assert [(t, c) for _, t, c, _ in got] == [("w", False)], value


def test_other_owner_other_repository_and_other_issuer_give_no_edge() -> None:
    facts = [_fact("${{ vars.R }}", ["*"])]
    assert _edges([_role("a", _sub("repo:someone/deploy:*", "StringLike"))], facts) == []
    assert _edges([_role("a", _sub("repo:acme/infra:*", "StringLike"))], facts) == []
    # StringEquals takes `*` literally: it admits no real subject
    assert _edges([_role("a", _sub("repo:acme/*"))], facts) == []
    gitlab = f"arn:aws:iam::{ACCOUNT}:oidc-provider/gitlab.com"
    assert (
        _edges(
            [
                _role(
                    "a",
                    {"StringEquals": {"gitlab.com:sub": "project_path:acme/deploy:ref_type:branch:ref:main"}},
                    gitlab,
                )
            ],
            facts,
        )
        == []
    )


def test_org_wide_trust_reaches_every_repository_of_the_owner() -> None:
    role = _role("a", _sub("repo:acme/*", "StringLike"))
    got = _edges([role], [_fact("${{ vars.R }}", ["*"], repo="web", owner="acme/web")])
    assert [(s, t, c) for s, t, c, _ in got] == [("workflow:web:.github/workflows/deploy.yml", "a", False)]


def test_two_jobs_of_one_workflow_are_one_edge_decided_first() -> None:
    role = _role("a", _sub("repo:acme/deploy:ref:refs/heads/main"))
    facts = [_fact("${{ vars.R }}", ["pull_request"]), _fact("${{ vars.R }}", ["ref:refs/heads/main"])]
    assert [(t, c) for _, t, c, _ in _edges([role], facts)] == [("a", False)]


def test_azure_federated_credential_edge_by_client_id() -> None:
    app = "db5b5fab-8f4d-4e27-9da1-494c73cf256d"
    sp = Identity(
        id="azure:sp:a66b0d38",
        provider="azure",
        kind="azure-service-principal",
        name="github-deployer",
        scope="tenant",
        attributes={
            "app_id": app,
            "federated_credentials": [
                {
                    "name": "main",
                    "issuer": "https://token.actions.githubusercontent.com",
                    "subject": "repo:acme/deploy:ref:refs/heads/main",
                }
            ],
        },
    )
    got = _edges([sp], [_fact(app, ["ref:refs/heads/main"], cloud="azure")])
    assert [(t, c) for _, t, c, _ in got] == [("azure:sp:a66b0d38", False)]
    assert (
        _edges([sp], [_fact("00000000-0000-0000-0000-000000000000", ["ref:refs/heads/main"], cloud="azure")])
        == []
    )


@pytest.mark.parametrize(
    "attributes",
    [{}, {"fact": "ci-oidc-assume"}, {"fact": "ci-oidc-assume", "subjects": "x", "cloud": 3, "target": None}],
)
def test_odd_facts_and_trusts_are_skipped_not_raised(attributes: dict[str, object]) -> None:
    odd_role = Identity(
        id="r", provider="aws", kind="aws-iam-role", name="r", scope="1",
        trusts=(Trust("Federated", GH, (), "Allow", {"StringLike": "not-a-mapping", "StringEquals": {"token.actions.githubusercontent.com:sub": ["repo:", "repo:/:", 7]}}),),
    )  # fmt: skip
    inv = Inventory(
        identities=(odd_role, _role("a", _sub("repo:acme/deploy:*", "StringLike"))),
        observations=(Observation("oidc-trust-too-broad", Location(path="x.yml"), "fact", attributes),),
    )
    assert list(edges(inv, AS_OF)) == []


def test_github_remote_decides_the_owner(tmp_path: Path) -> None:
    """A checkout whose origin is on github.com names OWNER/REPO in its facts: the edge is decided."""
    case = ESCALATION / "cross" / "gha-aws-admin"
    repo = tmp_path / "checkout"
    (repo / ".github" / "workflows").mkdir(parents=True)
    text = (case / "deploy" / ".github" / "workflows" / "deploy.yml").read_text()
    (repo / ".github" / "workflows" / "deploy.yml").write_text(
        text.replace("    if: github.repository == 'acme/deploy'\n", "")
    )
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "remote", "add", "origin", "git@github.com:acme/deploy.git"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    config = ScanConfig(
        as_of=AS_OF,
        inputs=(InputSpec(str(case / "aws-export.json")),),
        paths=(str(repo),),
        settings=Settings(),
    )
    inventory, errors = collect_inventory(config)
    assert not errors
    got = list(edges(inventory, AS_OF))
    assert [(e.source, e.target.rsplit("/", 1)[1], e.conditional) for e in got] == [
        ("workflow:deploy:.github/workflows/deploy.yml", "gh-deploy", False)
    ]
    # the same tree under another owner's remote: the trust names acme, so no edge
    subprocess.run([*git, "remote", "set-url", "origin", "https://github.com/someone/deploy"], check=True)
    inventory, _ = collect_inventory(config)
    assert list(edges(inventory, AS_OF)) == []
