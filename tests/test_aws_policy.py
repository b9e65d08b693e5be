"""IAM policy evaluation and the AWS privilege summary."""

from __future__ import annotations

from typing import Any

import pytest

from nhiscan.analyze.aws_policy import (
    Decision,
    access_level,
    any_resource,
    evaluate,
    evaluate_grants,
    evaluate_set,
    evaluate_split,
    is_allowed,
    names_action,
    resource_matches,
)
from nhiscan.analyze.privilege_aws import assess, escalation_paths
from nhiscan.model import Grant, Identity
from nhiscan.sources.aws import bundled_managed_policies, grants_from


def ident(*grants: Grant, kind: str = "aws-iam-user") -> Identity:
    return Identity(
        id="arn:aws:iam::111122223333:user/t",
        provider="aws",
        kind=kind,
        name="t",
        scope="111122223333",
        grants=grants,
    )


def managed(name: str, boundary: bool = False) -> tuple[Grant, ...]:
    arn = next(a for a in bundled_managed_policies() if a.endswith("/" + name))
    return grants_from(bundled_managed_policies()[arn]["Document"], scope="1", via=name, boundary=boundary)


def test_wildcards_and_case_insensitive_actions() -> None:
    i = ident(Grant(actions=("IAM:Create*",)))
    assert is_allowed(i, "iam:CreateAccessKey")
    assert is_allowed(i, "iam:createuser")
    assert not is_allowed(i, "iam:DeleteUser")
    assert is_allowed(ident(Grant(actions=("*",))), "anything:AtAll")
    assert is_allowed(ident(Grant(actions=("s3:Get?bject",))), "s3:GetObject")


def test_not_action_and_not_resource() -> None:
    i = ident(Grant(not_actions=("iam:*",)))
    assert is_allowed(i, "s3:PutObject")
    assert not is_allowed(i, "iam:PassRole")
    j = ident(Grant(actions=("s3:*",), resources=(), not_resources=("arn:aws:s3:::secret/*",)))
    assert is_allowed(j, "s3:GetObject", "arn:aws:s3:::public/a")
    assert not is_allowed(j, "s3:GetObject", "arn:aws:s3:::secret/a")


def test_resources_are_case_sensitive_and_star_means_every_resource() -> None:
    i = ident(Grant(actions=("s3:GetObject",), resources=("arn:aws:s3:::Bucket/*",)))
    assert is_allowed(i, "s3:GetObject", "arn:aws:s3:::Bucket/x")
    assert not is_allowed(i, "s3:GetObject", "arn:aws:s3:::bucket/x")
    assert not is_allowed(i, "s3:GetObject")  # not on every resource


def test_explicit_deny_beats_allow_from_any_source() -> None:
    i = ident(
        Grant(actions=("*",), via="managed:AdministratorAccess"),
        Grant(effect="Deny", actions=("iam:*",), via="group:g/inline:deny", inherited_from="g"),
    )
    assert not is_allowed(i, "iam:CreateAccessKey")
    assert is_allowed(i, "s3:GetObject")


def test_permissions_boundary_caps_identity_policies() -> None:
    i = ident(*managed("AdministratorAccess"), Grant(actions=("s3:*",), boundary=True))
    assert is_allowed(i, "s3:PutObject")
    assert not is_allowed(i, "iam:CreateAccessKey")
    # a boundary never grants by itself
    j = ident(Grant(actions=("s3:GetObject",)), Grant(actions=("*",), boundary=True))
    assert not is_allowed(j, "s3:PutObject")
    assert assess(i, {}).level == "write"


def test_conditioned_allow_is_allowed_with_condition() -> None:
    g = Grant(
        actions=("iam:PassRole",), condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
    )
    d = evaluate(ident(g), "iam:PassRole")
    assert d.allowed and d.conditional
    assert not is_allowed(ident(g), "iam:PassRole", allow_conditional=False)
    # a conditioned deny is assumed not to apply
    deny = Grant(effect="Deny", actions=("*",), condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}})
    assert evaluate_grants((Grant(actions=("s3:*",)), deny), "s3:GetObject").allowed


def test_policy_variables_match_their_segment() -> None:
    (g, _) = managed("IAMUserChangePassword")
    assert evaluate_grants((g,), "iam:ChangePassword", "arn:aws:iam::111122223333:user/alice").allowed
    assert not evaluate_grants((g,), "iam:ChangePassword", "arn:aws:iam::111122223333:role/x/y").allowed


@pytest.mark.parametrize(
    ("policy", "level"),
    [
        ("AdministratorAccess", "admin"),
        ("IAMFullAccess", "admin"),
        ("PowerUserAccess", "escalation"),
        ("AmazonSSMFullAccess", "escalation"),
        ("AWSLambda_FullAccess", "escalation"),
        ("AmazonS3FullAccess", "write"),
        ("ReadOnlyAccess", "read"),
        ("SecurityAudit", "read"),
        ("ViewOnlyAccess", "read"),
    ],
)
def test_privilege_levels_of_well_known_policies(policy: str, level: str) -> None:
    assert assess(ident(*managed(policy)), {}).level == level


def test_no_grants_is_none_and_root_is_admin() -> None:
    assert assess(ident(), {}).level == "none"
    assert assess(ident(kind="aws-root-account"), {}).level == "admin"


@pytest.mark.parametrize(
    ("actions", "path"),
    [
        (("iam:CreateAccessKey",), "create-access-key"),
        (("iam:CreateLoginProfile",), "create-login-profile"),
        (("iam:PutUserPolicy",), "put-user-policy"),
        (("iam:AttachGroupPolicy",), "attach-group-policy"),
        (("iam:CreatePolicyVersion",), "create-policy-version"),
        (("iam:SetDefaultPolicyVersion",), "set-default-policy-version"),
        (("iam:AddUserToGroup",), "add-user-to-group"),
        (("iam:PassRole", "ec2:RunInstances"), "passrole-ec2"),
        (("iam:PassRole", "cloudformation:CreateStack"), "passrole-cloudformation"),
        (("iam:PassRole", "glue:CreateDevEndpoint"), "passrole-glue-dev-endpoint"),
        (("lambda:UpdateFunctionCode",), "update-lambda-code"),
        (("sts:AssumeRole",), "assume-any-role"),
        (("iam:UpdateAssumeRolePolicy", "sts:AssumeRole"), "update-assume-role-policy"),
    ],
)
def test_escalation_paths(actions: tuple[str, ...], path: str) -> None:
    i = ident(Grant(actions=actions))
    memo: dict[str, Any] = {}
    assert assess(i, memo).level == "escalation"
    assert path in {p.name for p, _ in escalation_paths(i, memo)}


def test_passrole_alone_or_scoped_is_not_escalation() -> None:
    assert assess(ident(Grant(actions=("iam:PassRole",))), {}).level == "write"
    scoped = ident(
        Grant(actions=("iam:PassRole",), resources=("arn:aws:iam::111122223333:role/app",)),
        Grant(actions=("ec2:RunInstances",)),
    )
    assert assess(scoped, {}).level == "write"


def test_each_distinct_statement_is_evaluated_once_per_scan() -> None:
    memo: dict[str, Any] = {}
    g = managed("PowerUserAccess")
    own = Grant(actions=("s3:*",), resources=("arn:aws:s3:::mine/*",), via="inline:mine")
    assess(ident(*g, own), memo)
    assert len(memo["aws-statements"]) == len({(x.actions, x.not_actions) for x in g}) + 1
    other = Grant(actions=("s3:*",), resources=("arn:aws:s3:::theirs/*",), via="inline:theirs")
    assess(
        Identity(id="o", provider="aws", kind="aws-iam-role", name="o", scope="1", grants=(*g, other)), memo
    )
    # the shared managed policy is not evaluated again: only the other identity's own statement is new
    assert len(memo["aws-statements"]) == len({(x.actions, x.not_actions) for x in g}) + 2
    assert len(memo["aws-verdicts"]) == 1


# Statements drawn from a pool that reaches every branch of the verdict: wildcards, NotAction,
# NotResource, Deny, conditions, boundaries, escalation actions in pieces.
_ACTIONS = [
    ("*",),
    ("iam:*",),
    ("iam:Create*", "sts:AssumeRole"),
    ("iam:PassRole",),
    ("ec2:RunInstances",),
    ("lambda:CreateFunction", "lambda:InvokeFunction"),
    ("s3:Get*",),
    ("s3:*",),
    ("ssm:SendCommand",),
    ("iam:AttachUserPolicy", "iam:AttachRolePolicy", "iam:PutUserPolicy", "iam:PutRolePolicy"),
    ("iam:CreatePolicyVersion", "iam:UpdateAssumeRolePolicy"),
    ("IAM:attach*",),
    ("i?m:Put*",),
]


def _reference(identity: Identity) -> tuple[str, tuple[str, ...], tuple[tuple[str, bool], ...]]:
    """The verdict from the documented semantics: every action evaluated over all grants."""
    from nhiscan.analyze import privilege_aws as pa

    grants = identity.grants
    if not any(g.effect == "Allow" and not g.boundary for g in grants):
        return "none", (), ()
    d = {a: evaluate_grants(grants, a) for a in pa.PROBES}
    if d[pa.PROBE_ANY_SERVICE] and d[pa.PROBE_IAM]:
        both = (d[pa.PROBE_ANY_SERVICE], d[pa.PROBE_IAM])
        via = ", ".join(dict.fromkeys(v for x in both for v in x.via))
        cond = " (with conditions)" if any(x.conditional for x in both) else ""
        return "admin", (f"all actions on all resources via {via}{cond}",), ()
    iam = [d[a] for a in pa.IAM_WRITE_ALL]
    if all(iam):
        via = ", ".join(dict.fromkeys(v for x in iam for v in x.via))
        cond = " (with conditions)" if any(x.conditional for x in iam) else ""
        return "admin", (f"full IAM policy write via {via}{cond}",), ()
    found = tuple(
        (p.name, any(d[a].conditional for a in p.actions))
        for p in pa.ESCALATION_PATHS
        if all(d[a] for a in p.actions)
    )
    if found:
        return "escalation", assess(identity, {}).reasons, found
    return access_level(grants), (), ()


@pytest.mark.parametrize("seed", range(300))
def test_per_statement_verdict_equals_evaluating_every_action(seed: int) -> None:
    import random

    rnd = random.Random(seed)
    grants = []
    for i in range(rnd.randint(1, 6)):
        acts = rnd.choice(_ACTIONS)
        negate = rnd.random() < 0.15
        grants.append(
            Grant(
                effect="Deny" if rnd.random() < 0.2 else "Allow",
                actions=() if negate else acts,
                not_actions=acts if negate else (),
                resources=rnd.choice([("*",), ("arn:aws:s3:::b/*",), ("*", "arn:x")]),
                not_resources=("arn:aws:iam::1:role/x",) if rnd.random() < 0.1 else (),
                via=f"p{i % 3}",
                condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}} if rnd.random() < 0.2 else None,
                boundary=rnd.random() < 0.15,
            )
        )
    grants = [
        Grant(**{**{f: getattr(g, f) for f in g.__slots__}, "resources": ()}) if g.not_resources else g
        for g in grants
    ]
    i = ident(*grants)
    memo: dict[str, Any] = {}
    got = assess(i, memo)
    level, reasons, paths = _reference(i)
    assert got.level == level
    if level == "admin":
        assert got.reasons == reasons
    assert tuple((p.name, c) for p, c in escalation_paths(i, memo)) == paths


def test_access_level_read_vs_write() -> None:
    assert access_level((Grant(actions=("s3:Get*", "s3:List*")),)) == "read"
    assert access_level((Grant(actions=("s3:*",)),)) == "write"
    assert access_level((Grant(effect="Deny", actions=("*",)),)) == "none"


def test_a_resource_list_answers_as_its_patterns_do() -> None:
    """any_resource compares lists of exact ARNs as strings: the same answers as matching each
    pattern, including characters a regex would read as syntax and near-wildcards."""
    lists = [
        ("arn:aws:iam::1:role/a.b",),
        ("arn:aws:iam::1:role/a+b", "arn:aws:iam::1:role/(c)"),
        ("arn:aws:iam::1:role/$x", "arn:aws:iam::1:role/${x"),
        ("arn:aws:iam::1:role/${aws:username}",),
        ("arn:aws:iam::1:role/team-*", "arn:aws:iam::1:role/exact"),
        ("arn:aws:iam::1:role/r?",),
        ("arn:aws:iam::1:role/é\\d",),
        ("*",),
        (),
    ]
    resources = [
        "arn:aws:iam::1:role/a.b",
        "arn:aws:iam::1:role/axb",
        "arn:aws:iam::1:role/a+b",
        "arn:aws:iam::1:role/aab",
        "arn:aws:iam::1:role/(c)",
        "arn:aws:iam::1:role/$x",
        "arn:aws:iam::1:role/${x",
        "arn:aws:iam::1:role/alice",
        "arn:aws:iam::1:role/${aws:username}",
        "arn:aws:iam::1:role/team-x",
        "arn:aws:iam::1:role/exact",
        "arn:aws:iam::1:role/exact\n",
        "arn:aws:iam::1:role/r1",
        "arn:aws:iam::1:role/é\\d",
        "arn:aws:iam::1:role/é5",
        "*",
    ]
    answers = 0
    for patterns in lists:
        for r in resources:
            expected = any(resource_matches(p, r) for p in patterns)
            assert any_resource(patterns, r) is expected, (patterns, r)
            answers += expected
    assert answers >= 15  # the cases do match, not only miss


ACTION = "sts:AssumeRole"
ROLE = "arn:aws:iam::111122223333:role/"


def statements() -> list[Grant]:
    return [
        Grant(actions=("sts:Assume*",), resources=(ROLE + "team-*",), via="inline:team"),
        Grant(actions=("sts:AssumeRole",), resources=(ROLE + "ops",), via="inline:ops"),
        Grant(actions=("s3:*",), via="inline:s3"),
        Grant(not_actions=("iam:*",), not_resources=(ROLE + "team-secret",), via="inline:not"),
        Grant(effect="Deny", actions=("sts:*",), resources=(ROLE + "team-locked",), via="inline:deny"),
        Grant(
            effect="Deny", not_actions=("s3:*",), resources=(ROLE + "ops",), condition={"Bool": {"k": "v"}}
        ),
        Grant(actions=("*",), resources=(ROLE + "cond-*",), condition={"IpAddress": {"aws:SourceIp": "x"}}),
        Grant(actions=("sts:TagSession",), resources=("*",), via="inline:tag"),
    ]


@pytest.mark.parametrize(
    "name", ["team-a", "team-secret", "team-locked", "ops", "cond-1", "other", "team-", "*"]
)
def test_statements_kept_for_their_action_are_judged_as_whole_statements(name: str) -> None:
    """evaluate_set / evaluate_split with action None (the caller kept only the statements that
    name the action) give the answers of the full evaluation, boundaries included."""
    resource = name if name == "*" else ROLE + name
    own = statements()
    named = [g for g in own if names_action(g, ACTION)]
    assert 0 < len(named) < len(own)
    assert evaluate_set(named, None, resource) == evaluate_set(own, ACTION, resource)
    boundaries: list[list[Grant]] = [
        [],
        [Grant(actions=("sts:*",), resources=(ROLE + "team-*",), via="b", boundary=True)],
        [Grant(actions=("s3:*",), via="b", boundary=True)],  # names no STS action: caps it to nothing
        [Grant(actions=("*",), via="b", boundary=True, condition={"Bool": {"k": "v"}})],
    ]
    for boundary in boundaries:
        kept = [g for g in boundary if names_action(g, ACTION)]
        whole = evaluate_split(own, boundary, ACTION, resource)
        assert evaluate_split(named, kept, None, resource, bounded=bool(boundary)) == whole, boundary
        assert whole == evaluate_grants((*own, *boundary), ACTION, resource)


def test_the_evaluation_answers_what_aws_would() -> None:
    own = statements()
    allowed = evaluate_set(own, ACTION, ROLE + "team-a")
    assert allowed == Decision(True, False, ("inline:team", "inline:not"))
    assert not evaluate_set(own, ACTION, ROLE + "team-locked")  # explicit Deny
    assert evaluate_set(own, ACTION, ROLE + "cond-1").conditional is False  # NotAction allows it plainly
    assert evaluate_set(own[:3] + own[6:7], ACTION, ROLE + "cond-1") == Decision(True, True, ("",))
    capped = [Grant(actions=("s3:*",), via="b", boundary=True)]
    assert not evaluate_split(own, capped, ACTION, ROLE + "team-a")
    assert not evaluate_split(
        [g for g in own if names_action(g, ACTION)], [], None, ROLE + "ops", bounded=True
    )
