"""Escalation cases of the IAM-only techniques: minting, trust rewriting, self-modification."""

from __future__ import annotations

from typing import Any

from tests.graph.aws_cases_base import (
    ATTACKER,
    ATTACKER_ROLE,
    NEVER,
    ROLE_SOURCE,
    account,
    add,
    admin_role,
    attacker,
    edge,
)
from tests.graph.aws_gaad import (
    ADMIN,
    READONLY,
    Stmt,
    allow,
    arn,
    deny,
    gaad,
    group,
    policy,
    role,
    trust,
    user,
)

# ---- credential minting ----------------------------------------------------------------------
ADMIN_USER = arn("user", "admin-user")
add(
    "create-access-key",
    "aws-create-access-key",
    account(allow("iam:CreateAccessKey", ADMIN_USER)),
    [edge(ADMIN_USER, "aws-create-access-key")],
    account(allow("iam:CreateAccessKey", arn("user", "${aws:username}"))),
    "keys only for the caller itself (${aws:username})",
)
add(
    "create-login-profile",
    "aws-create-login-profile",
    account(allow("iam:CreateLoginProfile", arn("user", "*"))),
    [edge(ADMIN_USER, "aws-create-login-profile")],
    account(allow("iam:CreateLoginProfile", arn("user", "*")), deny("iam:CreateLoginProfile", ADMIN_USER)),
    "an explicit Deny on the admin user",
)
add(
    "update-login-profile",
    "aws-update-login-profile",
    account(allow("iam:UpdateLoginProfile", "*")),
    [edge(ADMIN_USER, "aws-update-login-profile", conditional=True)],
    account(allow("iam:UpdateLoginProfile", arn("user", "contractors/*"))),
    "resource limited to a path the admin user is not under",
)
# ---- trust rewriting -------------------------------------------------------------------------
add(
    "update-assume-role-policy",
    "aws-update-assume-role-policy",
    account(
        allow("iam:UpdateAssumeRolePolicy", arn("role", "admin-role")),
        roles=[admin_role("admin-role", "ec2.amazonaws.com")],
    ),
    [edge(arn("role", "admin-role"), "aws-update-assume-role-policy")],
    account(
        allow("iam:UpdateAssumeRolePolicy", "*"),
        deny("iam:UpdateAssumeRolePolicy", arn("role", "admin-*")),
        roles=[admin_role("admin-role", "ec2.amazonaws.com")],
    ),
    "a Deny on role/admin-*",
)
# ---- permission writing on oneself -----------------------------------------------------------
SELF = "aws-self-modify"
add(
    "put-user-policy",
    SELF,
    account(allow("iam:PutUserPolicy", arn("user", "${aws:username}"))),
    [edge(ATTACKER, SELF, via="iam:PutUserPolicy")],
    account(allow("iam:PutUserPolicy", arn("user", "reporting-bot")), users=[user("reporting-bot")]),
    "writes policies on another user it cannot act as",
)
add(
    "attach-user-policy",
    SELF,
    account(allow("iam:AttachUserPolicy", ATTACKER)),
    [edge(ATTACKER, SELF, via="iam:AttachUserPolicy")],
    account(allow("iam:AttachUserPolicy", ATTACKER, Condition=NEVER)),
    "a DateLessThan condition long past at --as-of",
)


def attacker_role(*stmts: Stmt, name: str = "attacker-role", boundary: str | None = None) -> dict[str, Any]:
    return role(name, trust("ec2.amazonaws.com"), inline={"attacker-policy": list(stmts)}, boundary=boundary)


add(
    "put-role-policy",
    SELF,
    gaad(roles=[attacker_role(allow("iam:PutRolePolicy", ATTACKER_ROLE))]),
    [edge(ATTACKER_ROLE, SELF, source=ATTACKER_ROLE, via="iam:PutRolePolicy")],
    gaad(
        roles=[
            attacker_role(allow("iam:PutRolePolicy", arn("role", "other-role"))),
            role("other-role", trust("ec2.amazonaws.com")),
        ]
    ),
    "writes policies on a role it cannot assume",
)
add(
    "attach-role-policy",
    SELF,
    gaad(roles=[attacker_role(allow("iam:AttachRolePolicy", arn("role", "app-*")), name="app-attacker")]),
    [edge(ROLE_SOURCE, SELF, source=ROLE_SOURCE, via="iam:AttachRolePolicy")],
    gaad(
        roles=[
            attacker_role(
                allow("iam:AttachRolePolicy", arn("role", "app-*")),
                name="app-attacker",
                boundary=arn("policy", "app-boundary"),
            )
        ],
        policies=[policy("app-boundary", [allow(["s3:*", "logs:*"])])],
    ),
    "a permissions boundary that does not allow iam:AttachRolePolicy",
)
add(
    "put-group-policy",
    SELF,
    gaad(
        users=[attacker(allow("iam:PutGroupPolicy", arn("group", "devs")), groups=["devs"])],
        groups=[group("devs", managed=[READONLY])],
    ),
    [edge(ATTACKER, SELF, via="iam:PutGroupPolicy")],
    gaad(
        users=[attacker(allow("iam:PutGroupPolicy", arn("group", "ops")), groups=["devs"])],
        groups=[group("devs", managed=[READONLY]), group("ops")],
    ),
    "writes policies on a group it is not in",
)
add(
    "attach-group-policy",
    SELF,
    gaad(
        users=[attacker(allow("iam:AttachGroupPolicy", arn("group", "*")), groups=["devs"])],
        groups=[group("devs", managed=[READONLY])],
    ),
    [edge(ATTACKER, SELF, via="iam:AttachGroupPolicy")],
    gaad(
        users=[attacker(allow("iam:AttachGroupPolicy", arn("group", "*")))],
        groups=[group("devs", managed=[READONLY])],
    ),
    "member of no group",
)
add(
    "add-user-to-group",
    SELF,
    gaad(
        users=[
            attacker(allow("iam:AddUserToGroup", arn("group", "admins"))),
            user("admin-user", groups=["admins"]),
        ],
        groups=[group("admins", managed=[ADMIN])],
    ),
    [edge(ATTACKER, SELF, via="iam:AddUserToGroup")],
    gaad(
        users=[
            attacker(allow("iam:AddUserToGroup", arn("group", "readers"))),
            user("admin-user", groups=["admins"]),
            user("auditor", groups=["readers"]),
        ],
        groups=[group("admins", managed=[ADMIN]), group("readers", managed=[READONLY])],
    ),
    "may join only a read-only group",
)
TEAM = arn("policy", "team-devs")
add(
    "create-policy-version",
    SELF,
    gaad(
        users=[user("attacker", managed=[TEAM])],
        policies=[policy("team-devs", [allow("iam:CreatePolicyVersion", arn("policy", "team-*"))])],
    ),
    [edge(ATTACKER, SELF, via="iam:CreatePolicyVersion")],
    gaad(
        users=[user("attacker", managed=[arn("policy", "ci-deployer")]), user("team-bot", managed=[TEAM])],
        policies=[
            policy("ci-deployer", [allow("iam:CreatePolicyVersion", arn("policy", "team-*"))]),
            policy("team-devs", [allow("s3:GetObject")]),
        ],
    ),
    "CreatePolicyVersion on policies not attached to the identity",
)
add(
    "set-default-policy-version",
    SELF,
    gaad(
        users=[user("attacker", managed=[TEAM])],
        policies=[policy("team-devs", [allow("iam:SetDefaultPolicyVersion", TEAM)])],
    ),
    [edge(ATTACKER, SELF, conditional=True, via="iam:SetDefaultPolicyVersion")],
    gaad(
        users=[user("attacker", managed=[TEAM])],
        policies=[policy("team-devs", [allow("iam:SetDefaultPolicyVersion", arn("policy", "shared-*"))])],
    ),
    "SetDefaultPolicyVersion only on policies the identity does not hold",
)
add(
    "create-role-attach",
    SELF,
    account(allow(["iam:CreateRole", "iam:AttachRolePolicy"], "*")),
    [edge(ATTACKER, SELF, via="iam:CreateRole")],
    account(
        allow("iam:CreateRole", arn("role", "sandbox-*")), allow("iam:AttachRolePolicy", arn("role", "app-*"))
    ),
    "no role name both creatable and attachable",
)
NEW_USERS = arn("user", "new-*")
add(
    "create-user-attach",
    SELF,
    account(allow(["iam:CreateUser", "iam:PutUserPolicy", "iam:CreateAccessKey"], NEW_USERS)),
    [edge(ATTACKER, SELF, via="iam:CreateUser")],
    account(
        allow(["iam:CreateUser", "iam:PutUserPolicy", "iam:CreateAccessKey"], NEW_USERS),
        deny("iam:CreateAccessKey", "*"),
    ),
    "keys of the new user denied",
)
add(
    "delete-permissions-boundary",
    SELF,
    gaad(
        roles=[
            role(
                "bounded-admin",
                trust("ec2.amazonaws.com"),
                managed=[ADMIN],
                inline={
                    "own-boundary": [allow("iam:DeleteRolePermissionsBoundary", arn("role", "bounded-admin"))]
                },
                boundary=arn("policy", "ops-boundary"),
            )
        ],
        policies=[
            policy("ops-boundary", [allow(["s3:*", "iam:DeleteRolePermissionsBoundary"])], attachments=0)
        ],
    ),
    [
        edge(
            arn("role", "bounded-admin"),
            SELF,
            source=arn("role", "bounded-admin"),
            via="iam:DeleteRolePermissionsBoundary",
        )
    ],
    gaad(
        roles=[
            role(
                "bounded-admin",
                trust("ec2.amazonaws.com"),
                managed=[ADMIN],
                inline={
                    "own-boundary": [allow("iam:DeleteRolePermissionsBoundary", arn("role", "bounded-admin"))]
                },
                boundary=arn("policy", "ops-boundary"),
            )
        ],
        policies=[policy("ops-boundary", [allow("s3:*")], attachments=0)],
    ),
    "the boundary itself does not allow removing it",
)
