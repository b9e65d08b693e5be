"""What an AWS identity can do: admin-equivalent, privilege escalation, write, read, none.

Definitions (all evaluated with ``aws_policy`` on every resource, ``*``):

- **admin**: the identity may call any action of any service, IAM included (``Action: "*"``, or an
  equivalent such as ``iam:*`` plus a ``NotAction`` covering everything else), or it holds full IAM
  policy-writing power (attach/put policies on users and roles, create policy versions, rewrite
  trust policies): one API call makes it ``*:*``.
- **escalation**: one of the privilege-escalation paths below is fully allowed: the identity can
  mint credentials for another principal, change its own or another principal's permissions, or
  run code as a more privileged role. The path list follows public research: Rhino Security Labs,
  "AWS IAM Privilege Escalation - Methods and Mitigation" (21 methods), Bishop Fox's
  iam-vulnerable scenarios, and Datadog's pathfinding.cloud catalogue.
- **write** / **read** / **none**: from the Allow statements' verbs (``aws_policy.access_level``).

Results are memoized per scan in ``memo`` by the identity's grant content, so thousands of
identities that share the same policies are evaluated once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nhiscan.analyze.aws_policy import DENIED, Decision, access_level, evaluate_split, split_grants
from nhiscan.analyze.privilege import Privilege
from nhiscan.model import Grant, Identity


@dataclass(frozen=True)
class EscalationPath:
    name: str
    actions: tuple[str, ...]
    description: str


ESCALATION_PATHS: tuple[EscalationPath, ...] = (
    EscalationPath(
        "create-policy-version",
        ("iam:CreatePolicyVersion",),
        "write a new default version of a managed policy",
    ),
    EscalationPath(
        "set-default-policy-version",
        ("iam:SetDefaultPolicyVersion",),
        "switch a policy to a more permissive version",
    ),
    EscalationPath("create-access-key", ("iam:CreateAccessKey",), "mint access keys for another user"),
    EscalationPath(
        "create-login-profile", ("iam:CreateLoginProfile",), "give another user a console password"
    ),
    EscalationPath(
        "update-login-profile", ("iam:UpdateLoginProfile",), "reset another user's console password"
    ),
    EscalationPath("attach-user-policy", ("iam:AttachUserPolicy",), "attach any managed policy to a user"),
    EscalationPath("attach-group-policy", ("iam:AttachGroupPolicy",), "attach any managed policy to a group"),
    EscalationPath(
        "attach-role-policy",
        ("iam:AttachRolePolicy", "sts:AssumeRole"),
        "attach a policy to a role, then assume it",
    ),
    EscalationPath("put-user-policy", ("iam:PutUserPolicy",), "write an inline policy on a user"),
    EscalationPath("put-group-policy", ("iam:PutGroupPolicy",), "write an inline policy on a group"),
    EscalationPath(
        "put-role-policy",
        ("iam:PutRolePolicy", "sts:AssumeRole"),
        "write an inline policy on a role, then assume it",
    ),
    EscalationPath("add-user-to-group", ("iam:AddUserToGroup",), "join a more privileged group"),
    EscalationPath(
        "update-assume-role-policy",
        ("iam:UpdateAssumeRolePolicy", "sts:AssumeRole"),
        "rewrite a role's trust policy, then assume it",
    ),
    EscalationPath(
        "assume-any-role", ("sts:AssumeRole",), "assume any role in the account that trusts the account"
    ),
    EscalationPath(
        "passrole-ec2",
        ("iam:PassRole", "ec2:RunInstances"),
        "launch an instance with a privileged instance profile",
    ),
    EscalationPath(
        "passrole-lambda-invoke",
        ("iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"),
        "create and run a Lambda function as a privileged role",
    ),
    EscalationPath(
        "passrole-lambda-event-source",
        ("iam:PassRole", "lambda:CreateFunction", "lambda:CreateEventSourceMapping"),
        "create a Lambda function as a privileged role triggered by an event source",
    ),
    EscalationPath(
        "update-lambda-code",
        ("lambda:UpdateFunctionCode",),
        "replace the code of a function that runs as a privileged role",
    ),
    EscalationPath(
        "passrole-glue-dev-endpoint",
        ("iam:PassRole", "glue:CreateDevEndpoint"),
        "create a Glue development endpoint as a privileged role",
    ),
    EscalationPath(
        "update-glue-dev-endpoint",
        ("glue:UpdateDevEndpoint",),
        "add an SSH key to an existing Glue development endpoint",
    ),
    EscalationPath(
        "passrole-cloudformation",
        ("iam:PassRole", "cloudformation:CreateStack"),
        "create a stack that runs as a privileged role",
    ),
    EscalationPath(
        "passrole-datapipeline",
        ("iam:PassRole", "datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition"),
        "run a data pipeline as a privileged role",
    ),
    EscalationPath(
        "passrole-sagemaker-notebook",
        ("iam:PassRole", "sagemaker:CreateNotebookInstance", "sagemaker:CreatePresignedNotebookInstanceUrl"),
        "open a notebook running as a privileged role",
    ),
    EscalationPath(
        "sagemaker-presigned-url",
        ("sagemaker:CreatePresignedNotebookInstanceUrl",),
        "open an existing notebook and use its role",
    ),
    EscalationPath(
        "passrole-ecs",
        ("iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:RunTask"),
        "run an ECS task as a privileged role",
    ),
    EscalationPath(
        "passrole-codebuild",
        ("iam:PassRole", "codebuild:CreateProject", "codebuild:StartBuild"),
        "run a build as a privileged role",
    ),
    EscalationPath("ssm-send-command", ("ssm:SendCommand",), "run commands on instances and use their roles"),
    EscalationPath(
        "ssm-start-session", ("ssm:StartSession",), "open a shell on instances and use their roles"
    ),
)

# Full IAM policy-writing power: any of these alone is an escalation, all of them together is
# admin-equivalent (the identity can make itself "*:*" in one call).
IAM_WRITE_ALL = (
    "iam:AttachUserPolicy",
    "iam:AttachRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutRolePolicy",
    "iam:CreatePolicyVersion",
    "iam:UpdateAssumeRolePolicy",
)
# Actions no real policy names: only "*"-like grants allow them.
PROBE_ANY_SERVICE = "nhiscanprobe:NhiscanProbe"
PROBE_IAM = "iam:NhiscanProbe"


def _signature(grants: Sequence[Grant]) -> tuple[Any, ...]:
    return tuple(
        (
            g.effect,
            g.actions,
            g.not_actions,
            g.resources,
            g.not_resources,
            g.boundary,
            g.via,
            repr(sorted(g.condition.items())) if g.condition else "",
        )
        for g in grants
    )


def escalation_paths(identity: Identity, memo: dict[str, Any]) -> list[tuple[EscalationPath, bool]]:
    """The escalation paths the identity's policies fully allow, each with 'needs a condition'."""
    return list(_assess(identity, memo)[1])


def assess(identity: Identity, memo: dict[str, Any]) -> Privilege:
    return _assess(identity, memo)[0]


def _assess(
    identity: Identity, memo: dict[str, Any]
) -> tuple[Privilege, tuple[tuple[EscalationPath, bool], ...]]:
    if identity.kind == "aws-root-account":
        return Privilege("admin", ("account root user",)), ()
    cache: dict[tuple[Any, ...], tuple[Privilege, tuple[tuple[EscalationPath, bool], ...]]] = memo.setdefault(
        "aws-privilege", {}
    )
    sig = _signature(identity.grants)
    hit = cache.get(sig)
    if hit is None:
        hit = cache[sig] = _compute(identity.grants)
    return hit


def _compute(grants: Sequence[Grant]) -> tuple[Privilege, tuple[tuple[EscalationPath, bool], ...]]:
    identity, boundary = split_grants(grants)
    decisions: dict[str, Decision] = {}
    # Services some Allow statement can reach: an action of any other service is denied without
    # evaluating every statement (most identities touch a handful of services).
    services: set[str] = set()
    any_service = False
    for g in identity:
        if g.effect.lower() != "allow":
            continue
        if g.not_actions:
            any_service = True
        for a in g.actions:
            svc = a.split(":", 1)[0].lower()
            if ":" not in a or "*" in svc or "?" in svc:
                any_service = True
            else:
                services.add(svc)

    def allowed(action: str) -> Decision:
        if action not in decisions:
            if not any_service and action.split(":", 1)[0].lower() not in services:
                decisions[action] = DENIED
            else:
                decisions[action] = evaluate_split(identity, boundary, action, "*")
        return decisions[action]

    if not any(g.effect.lower() == "allow" for g in identity):
        return Privilege("none"), ()
    anyd, iamd = allowed(PROBE_ANY_SERVICE), allowed(PROBE_IAM)
    if anyd and iamd:
        cond = " (with conditions)" if anyd.conditional or iamd.conditional else ""
        via = ", ".join(dict.fromkeys((*anyd.via, *iamd.via)))
        return Privilege("admin", (f"all actions on all resources via {via}{cond}",)), ()
    iam_all = [allowed(a) for a in IAM_WRITE_ALL]
    if all(iam_all):
        cond = " (with conditions)" if any(d.conditional for d in iam_all) else ""
        via = ", ".join(dict.fromkeys(v for d in iam_all for v in d.via))
        return Privilege("admin", (f"full IAM policy write via {via}{cond}",)), ()
    found: list[tuple[EscalationPath, bool]] = []
    for path in ESCALATION_PATHS:
        ds = [allowed(a) for a in path.actions]
        if all(ds):
            found.append((path, any(d.conditional for d in ds)))
    if found:
        reasons = tuple(
            f"{p.name}: {' + '.join(p.actions)} on *{' (with conditions)' if c else ''}" for p, c in found
        )
        return Privilege("escalation", reasons), tuple(found)
    return Privilege(access_level(grants)), ()
