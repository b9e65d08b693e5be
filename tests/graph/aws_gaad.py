"""Builders of ``aws iam get-account-authorization-details`` records, for the escalation fixtures.

The records have the shape the AWS CLI writes (field names, id prefixes, date form, policy
documents decoded as the CLI prints them). Ids are derived from the names, so a regenerated
fixture is byte for byte the same.
"""

from __future__ import annotations

import hashlib
from typing import Any

ACCOUNT = "210987654321"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
CREATED = "2025-03-14T09:26:53+00:00"

Stmt = dict[str, Any]


def arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"


def _id(prefix: str, name: str) -> str:
    digest = hashlib.sha256(f"{prefix}:{name}".encode()).digest()
    return prefix + "".join(_ALNUM[b % 32] for b in digest[:17])


def allow(actions: str | list[str], resources: str | list[str] = "*", **extra: Any) -> Stmt:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def deny(actions: str | list[str], resources: str | list[str] = "*", **extra: Any) -> Stmt:
    return {"Effect": "Deny", "Action": actions, "Resource": resources, **extra}


def doc(*statements: Stmt) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _inline(policies: dict[str, list[Stmt]] | None) -> list[dict[str, Any]]:
    return [{"PolicyName": n, "PolicyDocument": doc(*s)} for n, s in (policies or {}).items()]


def _attached(arns: list[str] | None) -> list[dict[str, str]]:
    return [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in arns or []]


def _boundary(boundary: str | None) -> dict[str, Any]:
    if not boundary:
        return {}
    return {"PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}}


def user(
    name: str,
    inline: dict[str, list[Stmt]] | None = None,
    managed: list[str] | None = None,
    groups: list[str] | None = None,
    boundary: str | None = None,
) -> dict[str, Any]:
    return {
        "Path": "/",
        "UserName": name,
        "UserId": _id("AIDA", name),
        "Arn": arn("user", name),
        "CreateDate": CREATED,
        "UserPolicyList": _inline(inline),
        "GroupList": groups or [],
        "AttachedManagedPolicies": _attached(managed),
        **_boundary(boundary),
        "Tags": [{"Key": "purpose", "Value": "automation"}],
    }


def trust(
    *services: str, condition: dict[str, Any] | None = None, principal: dict[str, Any] | None = None
) -> dict[str, Any]:
    stmt: Stmt = {
        "Effect": "Allow",
        "Principal": principal or {"Service": list(services) if len(services) > 1 else services[0]},
        "Action": "sts:AssumeRole",
    }
    if condition:
        stmt["Condition"] = condition
    return doc(stmt)


def role(
    name: str,
    trust_policy: dict[str, Any],
    inline: dict[str, list[Stmt]] | None = None,
    managed: list[str] | None = None,
    profile: bool = False,
    boundary: str | None = None,
) -> dict[str, Any]:
    profiles = []
    if profile:
        profiles.append(
            {
                "Path": "/",
                "InstanceProfileName": name,
                "InstanceProfileId": _id("AIPA", name),
                "Arn": arn("instance-profile", name),
                "CreateDate": CREATED,
                "Roles": [
                    {
                        "Path": "/",
                        "RoleName": name,
                        "RoleId": _id("AROA", name),
                        "Arn": arn("role", name),
                        "CreateDate": CREATED,
                        "AssumeRolePolicyDocument": trust_policy,
                    }
                ],
            }
        )
    return {
        "Path": "/",
        "RoleName": name,
        "RoleId": _id("AROA", name),
        "Arn": arn("role", name),
        "CreateDate": CREATED,
        "AssumeRolePolicyDocument": trust_policy,
        "InstanceProfileList": profiles,
        "RolePolicyList": _inline(inline),
        "AttachedManagedPolicies": _attached(managed),
        **_boundary(boundary),
        "Tags": [],
        "RoleLastUsed": {},
    }


def group(
    name: str, inline: dict[str, list[Stmt]] | None = None, managed: list[str] | None = None
) -> dict[str, Any]:
    return {
        "Path": "/",
        "GroupName": name,
        "GroupId": _id("AGPA", name),
        "Arn": arn("group", name),
        "CreateDate": CREATED,
        "GroupPolicyList": _inline(inline),
        "AttachedManagedPolicies": _attached(managed),
    }


def policy(name: str, statements: list[Stmt], attachments: int = 1) -> dict[str, Any]:
    return {
        "PolicyName": name,
        "PolicyId": _id("ANPA", name),
        "Arn": arn("policy", name),
        "Path": "/",
        "DefaultVersionId": "v1",
        "AttachmentCount": attachments,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "CreateDate": CREATED,
        "UpdateDate": CREATED,
        "PolicyVersionList": [
            {"Document": doc(*statements), "VersionId": "v1", "IsDefaultVersion": True, "CreateDate": CREATED}
        ],
    }


def gaad(
    users: list[dict[str, Any]] = (),  # type: ignore[assignment]
    roles: list[dict[str, Any]] = (),  # type: ignore[assignment]
    groups: list[dict[str, Any]] = (),  # type: ignore[assignment]
    policies: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    return {
        "UserDetailList": list(users),
        "GroupDetailList": list(groups),
        "RoleDetailList": list(roles),
        "Policies": list(policies),
    }
