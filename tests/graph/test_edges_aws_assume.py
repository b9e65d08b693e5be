"""AWS role assumption edges: trust policy and identity policy, AWS's same- and cross-account rules."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from nhiscan.analyze.graph import build
from nhiscan.analyze.graph.edges_aws_assume import edges
from nhiscan.config import InputSpec, ScanConfig, Settings
from nhiscan.core import collect_inventory
from nhiscan.model import Grant, Identity, Inventory, Trust
from tests.conftest import FIXTURES

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
A, B = "111122223333", "444455556666"
CHAIN = FIXTURES / "escalation" / "aws-role-chain"


def arn(kind: str, name: str, account: str = A) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def allow(resource: str, action: str = "sts:AssumeRole", **kw: Any) -> Grant:
    return Grant(effect="Allow", actions=(action,), resources=(resource,), via="inline:p", **kw)


def deny(resource: str, **kw: Any) -> Grant:
    return Grant(effect="Deny", actions=("sts:AssumeRole",), resources=(resource,), via="inline:d", **kw)


def user(name: str, *grants: Grant, account: str = A) -> Identity:
    return Identity(arn("user", name, account), "aws", "aws-iam-user", name, account, grants=grants)


def role(name: str, *trusts: Trust, grants: tuple[Grant, ...] = (), account: str = A) -> Identity:
    return Identity(
        arn("role", name, account), "aws", "aws-iam-role", name, account, grants=grants, trusts=trusts
    )


def trust(principal: str, ptype: str = "AWS", **kw: Any) -> Trust:
    return Trust(ptype, principal, ("sts:AssumeRole",), **kw)


def pairs(*idents: Identity) -> set[tuple[str, str]]:
    return {
        (e.source.rsplit("/", 1)[-1], e.target.rsplit("/", 1)[-1])
        for e in edges(Inventory(identities=idents), AS_OF)
    }


def test_same_account_trust_naming_the_principal_needs_no_identity_policy() -> None:
    assert pairs(user("ci"), role("r", trust(arn("user", "ci")))) == {("ci", "r")}


def test_account_trust_needs_the_identity_policy() -> None:
    assert pairs(user("ci"), role("r", trust(f"arn:aws:iam::{A}:root"))) == set()
    assert pairs(user("ci"), role("r", trust(A))) == set()
    assert pairs(user("ci", allow(arn("role", "r"))), role("r", trust(f"arn:aws:iam::{A}:root"))) == {
        ("ci", "r")
    }
    assert pairs(user("ci", allow(arn("role", "other"))), role("r", trust(A))) == set()


def test_cross_account_needs_both_sides() -> None:
    other = user("ext", account=B)
    assert pairs(other, role("r", trust(other.id))) == set()  # trust alone: not across accounts
    assert pairs(user("ext", allow("*"), account=B), role("r", trust(other.id))) == {("ext", "r")}
    assert pairs(user("ext", allow("*"), account=B), role("r", trust(f"arn:aws:iam::{B}:root"))) == {
        ("ext", "r")
    }
    # the trust names another account: the policy alone is not enough
    assert pairs(user("ext", allow("*"), account=B), role("r", trust(f"arn:aws:iam::{A}:root"))) == set()


def test_explicit_deny_and_boundary_block() -> None:
    r = role("r", trust(A))
    assert pairs(user("ci", allow("*"), deny(r.id)), r) == set()
    capped = user("ci", allow("*"), Grant(effect="Allow", actions=("s3:*",), resources=("*",), boundary=True))
    assert pairs(capped, r) == set()
    # a Deny blocks even a trust that names the principal directly
    assert pairs(user("ci", deny("*")), role("r2", trust(arn("user", "ci")))) == set()
    # a role named by its ARN stays capped by its boundary
    bounded = role("src", grants=(Grant(effect="Allow", actions=("s3:*",), resources=("*",), boundary=True),))
    assert pairs(bounded, role("dst", trust(bounded.id))) == set()
    # ... a user is not
    assert pairs(
        user("ci", Grant(effect="Allow", actions=("s3:*",), resources=("*",), boundary=True)),
        role("dst", trust(arn("user", "ci"))),
    ) == {("ci", "dst")}


def test_an_admin_gets_edges_only_into_other_accounts() -> None:
    admin = user("boss", Grant(effect="Allow", actions=("*",), resources=("*",), via="inline:all"))
    here = role("here", trust(A))
    there = role("there", trust(A), account=B)
    assert pairs(admin, here, there) == {("boss", "there")}
    other_admin = user("root-ish", Grant(effect="Allow", actions=("*",), resources=("*",)), account=B)
    assert pairs(other_admin, here, there) == set()  # neither trust names account B


def test_trust_deny_statement_blocks() -> None:
    r = role("r", trust(A), Trust("AWS", arn("user", "ci"), ("sts:AssumeRole",), "Deny"))
    assert pairs(user("ci", allow("*")), user("ok", allow("*")), r) == {("ok", "r")}


def test_service_and_federated_principals_make_no_edge() -> None:
    r = role(
        "r",
        trust("ec2.amazonaws.com", "Service"),
        trust(f"arn:aws:iam::{A}:oidc-provider/token.actions.githubusercontent.com", "Federated"),
    )
    assert pairs(user("ci", allow("*")), r) == set()


def test_wildcard_principal_admits_identities_whose_policy_allows() -> None:
    r = role("r", Trust("*", "*", ("sts:AssumeRole",)))
    assert pairs(user("ci", allow("*")), user("none"), r) == {("ci", "r")}


def test_assumed_role_session_arn_names_its_role() -> None:
    src = role("src")
    dst = role("dst", trust(f"arn:aws:sts::{A}:assumed-role/src/session-1"))
    assert pairs(src, dst) == {("src", "dst")}


def test_conditions_make_the_edge_conditional_and_are_said_without_values() -> None:
    r = role("r", trust(A, conditions={"StringEquals": {"sts:ExternalId": "s3cr3t-value"}}))
    out = list(edges(Inventory(identities=(user("ci", allow("*")), r)), AS_OF))
    assert len(out) == 1 and out[0].conditional
    assert "StringEquals sts:ExternalId" in out[0].condition and "s3cr3t-value" not in out[0].condition
    cond_policy = user("ci", allow("*", condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
    out = list(edges(Inventory(identities=(cond_policy, role("r", trust(A)))), AS_OF))
    assert len(out) == 1 and out[0].conditional and "identity policy" in out[0].condition


def test_assume_on_star_without_any_trusting_role_makes_no_edge() -> None:
    roles = [role(f"svc-{i}", trust("lambda.amazonaws.com", "Service")) for i in range(50)]
    assert pairs(user("ci", allow("*")), *roles) == set()


def load(path: str) -> Inventory:
    inv, errors = collect_inventory(
        ScanConfig(as_of=AS_OF, inputs=(InputSpec.parse(path),), settings=Settings())
    )
    assert not errors
    return inv


def test_role_chain_fixture_edges_exactly() -> None:
    inv = load(str(CHAIN / "exploitable"))
    got = {(e.source.rsplit("/", 1)[-1], e.target.rsplit("/", 1)[-1], e.kind) for e in edges(inv, AS_OF)}
    assert got == {
        ("svc-deployer", "start-role", "aws-assume-role"),
        ("start-role", "intermediate-role", "aws-assume-role"),
        ("intermediate-role", "admin-role", "aws-assume-role"),
        # admin-role (AdministratorAccess) may assume every role trusting the account, but it can
        # already become anyone in its account: those edges are not built
    }
    assert all(e.path and e.path.endswith("gaad.json") for e in edges(inv, AS_OF))
    g = build(inv, AS_OF)
    path = g.path_to_admin(arn("user", "service/svc-deployer"))
    assert [h.target.rsplit("/", 1)[-1] for h in path or ()] == [
        "start-role",
        "intermediate-role",
        "admin-role",
    ]


def test_role_chain_lookalike_stops_at_the_trust_that_names_another_account() -> None:
    inv = load(str(CHAIN / "lookalike"))
    got = {(e.source.rsplit("/", 1)[-1], e.target.rsplit("/", 1)[-1]) for e in edges(inv, AS_OF)}
    assert ("start-role", "intermediate-role") not in got
    assert ("svc-deployer", "start-role") in got
    g = build(inv, AS_OF)
    assert g.path_to_admin(arn("user", "service/svc-deployer")) is None
    assert g.reach(arn("role", "start-role")).level == "write"
