"""``edges_aws.edges`` on small hand-built inventories: the cap, linear cost, reach through another
edge, account boundaries, undecided Denies and boundaries, odd data."""

from __future__ import annotations

import fnmatch
import time
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nhiscan.analyze import aws_policy
from nhiscan.analyze.aws_policy import ANY_TEXT, SEGMENT, resource_matches, wildcard_matches
from nhiscan.analyze.graph import conditions, edges_aws
from nhiscan.analyze.graph.edge import Edge
from nhiscan.analyze.graph.edges_aws_eval import EDGE_CAP, Actor
from nhiscan.model import Credential, Grant, Identity, Inventory, SourceRef, Trust

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
ACCT = "111122223333"
EC2_TRUST = (Trust("Service", "ec2.amazonaws.com", ("sts:AssumeRole",)),)
ADMIN = (Grant(actions=("*",), resources=("*",), via="managed:arn:aws:iam::aws:policy/AdministratorAccess"),)


def arn(kind: str, name: str, acct: str = ACCT) -> str:
    return f"arn:aws:iam::{acct}:{kind}/{name}"


def allow(actions: str | tuple[str, ...], resources: str | tuple[str, ...] = "*", **kw: Any) -> Grant:
    a = (actions,) if isinstance(actions, str) else actions
    r = (resources,) if isinstance(resources, str) else resources
    return Grant(actions=a, resources=r, via="inline:p", **kw)


def deny(actions: str, resources: str = "*", **kw: Any) -> Grant:
    return Grant(effect="Deny", actions=(actions,), resources=(resources,), via="inline:deny", **kw)


def user(name: str, *grants: Grant, acct: str = ACCT, **kw: Any) -> Identity:
    return Identity(arn("user", name, acct), "aws", "aws-iam-user", name, acct, grants=grants, **kw)


def role(
    name: str, *grants: Grant, trusts: tuple[Trust, ...] = EC2_TRUST, acct: str = ACCT, **kw: Any
) -> Identity:
    attrs = kw.pop("attributes", {"instance_profiles": [name]})
    return Identity(
        arn("role", name, acct),
        "aws",
        "aws-iam-role",
        name,
        acct,
        grants=grants,
        trusts=trusts,
        attributes=attrs,
        **kw,
    )


def run(*identities: Identity) -> list[Edge]:
    inv = Inventory(sources=(SourceRef("aws-gaad", ACCT, "gaad.json"),), identities=identities)
    return list(edges_aws.edges(inv, AS_OF))


def test_wildcard_passrole_keeps_the_cap_and_the_admin_roles_first() -> None:
    roles = [role(f"app-{i:03}") for i in range(EDGE_CAP + 50)]
    admins = [role(f"zz-admin-{i}", *ADMIN) for i in range(3)]
    lambda_role = role(
        "aa-lambda", *ADMIN, trusts=(Trust("Service", "lambda.amazonaws.com", ("sts:AssumeRole",)),)
    )
    attacker = user("attacker", allow(("ec2:RunInstances", "iam:PassRole")))
    got = [e for e in run(attacker, *roles, *admins, lambda_role) if e.kind == "aws-passrole-ec2"]
    assert len(got) == EDGE_CAP
    targets = {e.target for e in got}
    assert {a.id for a in admins} <= targets
    assert lambda_role.id not in targets  # trusts lambda, not ec2


def test_cost_is_linear_in_identities(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every user may pass every role ("*"): decisions grow with identities, not identities squared."""
    calls = 0
    real = Actor.can

    def counting(self: Actor, *args: Any, **kw: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(self, *args, **kw)

    monkeypatch.setattr(Actor, "can", counting)

    def decisions(n: int) -> int:
        nonlocal calls
        calls = 0
        grant = allow(("ec2:RunInstances", "iam:PassRole", "iam:CreateAccessKey"))
        people = [user(f"u{i}", grant) for i in range(n)]
        machines = [role(f"r{i}") for i in range(n)]
        edges = run(*people, *machines)
        # every user could reach the cap of roles and the cap of users: it keeps the cap of targets
        assert len(edges) == n * EDGE_CAP
        assert all(len({e.target for e in edges if e.source == u.id}) == EDGE_CAP for u in people[:3])
        return calls

    small, large = decisions(300), decisions(1200)
    assert large <= 4.2 * small, (small, large)


def test_writing_onto_a_user_whose_keys_it_can_mint_is_self_modification() -> None:
    bot = user("bot")
    attacker = user("attacker", allow(("iam:CreateAccessKey", "iam:AttachUserPolicy"), arn("user", "bot")))
    got = run(attacker, bot)
    assert {(e.source, e.target, e.kind) for e in got} == {
        (attacker.id, bot.id, "aws-create-access-key"),
        (attacker.id, attacker.id, "aws-self-modify"),
    }
    self_edge = next(e for e in got if e.kind == "aws-self-modify")
    assert "iam:AttachUserPolicy on " + bot.id in self_edge.via and "aws-create-access-key" in self_edge.via


def test_a_role_that_may_write_its_own_policy_needs_no_assume_role() -> None:
    me = role("worker", allow("iam:PutRolePolicy", arn("role", "worker")))
    got = run(me)
    assert [(e.source, e.target, e.kind, e.conditional) for e in got] == [
        (me.id, me.id, "aws-self-modify", False)
    ]


def test_other_accounts_and_itself_are_never_targets() -> None:
    foreign = role("admin", *ADMIN, acct="999988887777")
    attacker = role("attacker", allow(("ec2:RunInstances", "iam:PassRole")))
    assert run(attacker, foreign) == []  # compute runs in the caller's account; itself adds nothing


def test_service_linked_roles_keep_their_trust() -> None:
    linked = role("AWSServiceRoleForX", *ADMIN, attributes={"service_linked": True})
    attacker = user("attacker", allow("iam:UpdateAssumeRolePolicy"))
    assert run(attacker, linked) == []


def test_an_undecided_deny_makes_the_edge_conditional() -> None:
    admin = role("admin", *ADMIN)
    mfa = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    attacker = user(
        "attacker", allow(("ec2:RunInstances", "iam:PassRole")), deny("iam:PassRole", condition=mfa)
    )
    (e,) = run(attacker, admin)
    assert (
        e.conditional
        and "not denied by inline:deny" in e.condition
        and "MultiFactorAuthPresent" in e.condition
    )


def test_a_boundary_with_a_condition_caps_conditionally() -> None:
    admin = role("admin", *ADMIN)
    cap = Grant(
        actions=("*",),
        via="boundary:b",
        boundary=True,
        condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    )
    attacker = user("attacker", allow(("ec2:RunInstances", "iam:PassRole")), cap)
    (e,) = run(attacker, admin)
    assert e.conditional and "aws:SourceIp" in e.condition


def test_trust_conditions_are_decided_per_role() -> None:
    cond = {"StringEquals": {"aws:SourceAccount": ACCT}}
    ok = role(
        "ok", *ADMIN, trusts=(Trust("Service", "ec2.amazonaws.com", ("sts:AssumeRole",), conditions=cond),)
    )
    other = {"StringEquals": {"aws:SourceAccount": "999988887777"}}
    no = role(
        "no", *ADMIN, trusts=(Trust("Service", "ec2.amazonaws.com", ("sts:AssumeRole",), conditions=other),)
    )
    attacker = user("attacker", allow(("ec2:RunInstances", "iam:PassRole")))
    assert [(e.target, e.conditional) for e in run(attacker, ok, no)] == [(ok.id, False)]


def test_a_third_access_key_needs_one_deleted() -> None:
    keys = tuple(Credential(f"AKIA{i}", "aws-access-key") for i in range(2))
    full = user("full", credentials=keys)
    attacker = user("attacker", allow("iam:CreateAccessKey", arn("user", "full")))
    (e,) = run(attacker, full)
    assert e.conditional and "two access keys" in e.condition
    both = user("attacker", allow(("iam:CreateAccessKey", "iam:DeleteAccessKey"), arn("user", "full")))
    (e,) = run(both, full)
    assert not e.conditional


def test_a_login_profile_that_exists_cannot_be_created() -> None:
    person = user(
        "person",
        credentials=(Credential(arn("user", "person") + "/console-password", "aws-console-password"),),
    )
    attacker = user("attacker", allow(("iam:CreateLoginProfile", "iam:UpdateLoginProfile")))
    assert [(e.kind, e.conditional) for e in run(attacker, person)] == [("aws-update-login-profile", False)]


def test_odd_data_is_skipped_not_raised() -> None:
    weird = user(
        "weird",
        Grant(actions=("iam:CreateAccessKey",), via="x", condition={"StringEquals": ["not", "a", "map"]}),
    )  # type: ignore[dict-item]
    gcp = Identity("sa@p.iam.gserviceaccount.com", "gcp", "gcp-service-account", "sa", "p")
    no_grants = role("empty", trusts=())
    odd_attrs = user("odd", attributes={"groups": 5, "unresolved_policies": 7})
    odd_trust = role("odd-trust", *ADMIN, trusts=(Trust("Service", None, ("sts:AssumeRole",)),))  # type: ignore[arg-type]
    runner = user("runner", allow(("ec2:RunInstances", "iam:PassRole")))
    got = run(weird, gcp, no_grants, odd_attrs, odd_trust, runner, user("target"))
    assert not [e for e in got if e.source != weird.id]  # the odd trust admits nobody
    assert sorted((e.target, e.kind, e.conditional) for e in got) == [
        (odd_attrs.id, "aws-create-access-key", True),
        (runner.id, "aws-create-access-key", True),
        (arn("user", "target"), "aws-create-access-key", True),
    ]


@settings(max_examples=400, derandomize=True, deadline=None)
@given(st.text("ab*?/", max_size=10), st.text("ab*?/", max_size=12))
def test_without_variables_the_graph_matches_as_findings_do(pattern: str, text: str) -> None:
    """The graph's reading (ANY_TEXT) and the findings' (SEGMENT) differ only on policy variables;
    a literal ``*`` or ``?`` in the text is one character like any other."""
    want = fnmatch.fnmatchcase(text, pattern)
    assert wildcard_matches(pattern, text, ANY_TEXT) is want
    assert wildcard_matches(pattern, text, SEGMENT) is want
    if text != "*":
        assert resource_matches(pattern, text) is want


def test_an_unbound_variable_is_any_text_for_the_graph_one_segment_for_findings() -> None:
    """The one intended difference between the two readings of a statement: a policy variable with
    no value the export gives (a principal tag) matches across "/" in the escalation graph (an edge
    the policy may allow is kept) and within one path segment for findings (aws_policy.evaluate)."""
    pattern = arn("user", "${aws:PrincipalTag/team}")
    nested = arn("user", "eng/bob")  # a user under the path /eng/
    assert wildcard_matches(pattern, nested, ANY_TEXT)
    assert not wildcard_matches(pattern, nested, SEGMENT)
    assert wildcard_matches(pattern, arn("user", "bob"), SEGMENT)
    minter = user("minter", allow("iam:CreateAccessKey", pattern))
    assert Actor(minter, AS_OF).can("iam:CreateAccessKey", nested) is not None
    assert not aws_policy.evaluate(minter, "iam:CreateAccessKey", nested)
    assert aws_policy.evaluate(minter, "iam:CreateAccessKey", arn("user", "bob"))
    # the same in an Action: iam:${aws:PrincipalTag/verb} names any iam action for the graph
    tagged = user("tagged", allow("iam:${aws:PrincipalTag/verb}"))
    assert Actor(tagged, AS_OF).can("iam:CreateAccessKey", nested) is not None


def test_condition_wildcards_use_the_shared_matcher() -> None:
    """StringLike / ArnLike values are matched by aws_policy's matcher: case-sensitive, ``?`` one
    character, and a literal ``*`` in the known value is only a character."""
    ctx = conditions.context_for(AS_OF, principal_arn=arn("user", "ci*x"))
    like = {"ArnLike": {"aws:PrincipalArn": arn("user", "c?*")}}
    assert conditions.evaluate(like, ctx) == conditions.TRUE
    upper = {"StringLike": {"aws:PrincipalArn": arn("user", "CI*")}}
    assert conditions.evaluate(upper, ctx) == conditions.FALSE
    exact = {"StringLike": {"aws:PrincipalArn": arn("user", "ci?")}}
    assert conditions.evaluate(exact, ctx) == conditions.FALSE


def test_hostile_wildcards_cost_linear_time() -> None:
    """Patterns that make a backtracking regex take years: CPU time stays small."""
    start = time.process_time()
    victims = [role("a" * 64), user("a" * 64)]
    attacker_name = "a" * 64 + "-x"  # its own ARN is matched against the hostile condition
    hostile = ("*a" * 40) + "b"
    attacker = user(
        attacker_name,
        allow(
            ("iam:UpdateAssumeRolePolicy", "iam:CreateAccessKey"),
            (arn("role", hostile), arn("user", hostile)),
        ),
        Grant(actions=(hostile, "iam:" + hostile, "iam:*?" * 40 + "x"), via="inline:weird"),
        Grant(
            actions=("iam:CreateLoginProfile",),
            via="inline:cond",
            condition={"StringLike": {"aws:PrincipalArn": hostile}},
        ),
    )
    assert run(attacker, *victims) == []
    assert time.process_time() - start < 5


def test_a_group_under_a_path_is_found_by_its_name() -> None:
    """GroupList names groups without their path; an Allow naming group/eng/devs is that group."""
    member = user(
        "attacker", allow("iam:PutGroupPolicy", arn("group", "eng/devs")), attributes={"groups": ["devs"]}
    )
    (e,) = run(member)
    assert e.kind == "aws-self-modify" and arn("group", "eng/devs") in e.via
    other = user(
        "attacker", allow("iam:PutGroupPolicy", arn("group", "eng/ops")), attributes={"groups": ["devs"]}
    )
    assert run(other) == []


def test_an_answer_shared_per_account_is_the_answer_per_role() -> None:
    """Actor.can decides a call held on * alone once per (action, account, service): every role then
    gets what a per-role evaluation gives, and a statement naming one role (a Deny, an Allow on a
    pattern) still makes the answer per role."""
    other = "444455556666"
    roles = [arn("role", f"r{i}") for i in range(3)] + [arn("role", "r0", other), arn("role", "ops-1")]
    cases = {
        "star": user("a", allow("iam:PassRole")),
        "conditioned": user(
            "b", allow("iam:PassRole", condition={"StringEquals": {"aws:ResourceAccount": ACCT}})
        ),
        "denied one": user("c", allow("iam:PassRole"), deny("iam:PassRole", arn("role", "r1"))),
        "pattern": user("d", allow("iam:PassRole", arn("role", "ops-*"))),
        "not resource": user("e", Grant(actions=("iam:PassRole",), not_resources=(arn("role", "r2"),))),
    }
    for name, ident in cases.items():
        shared, fresh = Actor(ident, AS_OF), Actor(ident, AS_OF)
        for service in ("ec2.amazonaws.com", "lambda.amazonaws.com", None):
            for r in roles * 2:  # asked twice: the second answer may come from the memo
                got = shared.can("iam:PassRole", r, service=service)
                assert got == fresh._can("iam:PassRole", r, service), (name, r, service)
    star, denied = Actor(cases["star"], AS_OF), Actor(cases["denied one"], AS_OF)
    assert all(star.can("iam:PassRole", r) for r in roles)
    assert denied.can("iam:PassRole", arn("role", "r1")) is None
    assert denied.can("iam:PassRole", arn("role", "r0")) is not None
    conditioned = Actor(cases["conditioned"], AS_OF)
    assert conditioned.can("iam:PassRole", arn("role", "r0")) is not None
    assert conditioned.can("iam:PassRole", arn("role", "r0", other)) is None
    pattern = Actor(cases["pattern"], AS_OF)
    assert pattern.can("iam:PassRole", arn("role", "ops-1")) is not None
    assert pattern.can("iam:PassRole", arn("role", "r0")) is None
