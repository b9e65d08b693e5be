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

Evaluation is per statement, not per identity: each distinct statement of the scan is matched
once against every action asked about here (its answer is a bit mask), an identity's answer is the
fold of its statements' masks, and the verdict is memoized per distinct answer. Thousands of
identities that share managed or group policies cost one evaluation of those policies, and an
identity's own inline statements are read once (``memo``: per scan).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nhiscan.analyze.aws_policy import any_action, is_read_pattern, split_grants
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


# Every action the verdict below asks about, each with its bit in a statement's answer.
PROBES: tuple[str, ...] = tuple(
    dict.fromkeys(
        (PROBE_ANY_SERVICE, PROBE_IAM, *IAM_WRITE_ALL, *(a for p in ESCALATION_PATHS for a in p.actions))
    )
)
_BIT = {action: 1 << i for i, action in enumerate(PROBES)}
_BY_SERVICE: dict[str, int] = {}
for _action, _b in _BIT.items():
    _svc = _action.split(":", 1)[0].lower()
    _BY_SERVICE[_svc] = _BY_SERVICE.get(_svc, 0) | _b
_ALL = (1 << len(PROBES)) - 1
_LEVELS = ("none", "read", "write")


def _probe_bits(patterns: tuple[str, ...]) -> int:
    """The probes an Action (or NotAction) list matches, as bits."""
    candidates = 0
    for p in patterns:
        svc, colon, _ = p.partition(":")
        if not colon or "*" in svc or "?" in svc or "$" in svc:
            candidates = _ALL
            break
        candidates |= _BY_SERVICE.get(svc.lower(), 0)
    bits = 0
    for action, b in _BIT.items():
        if candidates & b and any_action(patterns, action):
            bits |= b
    return bits


def _statement(g: Grant, cache: dict[tuple[Any, ...], tuple[int, int]]) -> tuple[int, int]:
    """(probe bits the statement matches on every resource, its access level index), evaluated
    once per distinct statement of the scan: thousands of identities share their policies'
    statements, and an identity's own (inline) statements are read once."""
    key = (g.actions, g.not_actions, g.resources, g.not_resources)
    hit = cache.get(key)
    if hit is not None:
        return hit
    # statement_matches on resource "*": only "*" in Resource, or a NotResource not excluding "*"
    covers = "*" not in g.not_resources if g.not_resources else "*" in g.resources
    bits = 0
    if covers:
        if g.actions:
            bits = _probe_bits(g.actions)
        elif g.not_actions:
            bits = _ALL & ~_probe_bits(g.not_actions)
    writes = bool(g.not_actions) or any(not is_read_pattern(a) for a in g.actions)
    level = 2 if writes else int(bool(g.actions))
    hit = cache[key] = (bits, level)
    return hit


@dataclass(frozen=True)
class _Masks:
    """One identity's (or boundary's) policies folded over their statements."""

    plain: int = 0  # allowed by an unconditioned Allow
    cond: int = 0  # allowed by a conditioned Allow
    deny: int = 0  # denied by an unconditioned Deny
    level: int = 0  # access level index of the Allow statements
    allows: bool = False  # holds any Allow statement

    @property
    def allowed(self) -> int:
        return (self.plain | self.cond) & ~self.deny

    @property
    def conditional(self) -> int:
        return self.cond & ~self.plain & ~self.deny


def _fold(grants: Sequence[Grant], cache: dict[tuple[Any, ...], tuple[int, int]]) -> _Masks:
    plain = cond = deny = level = 0
    allows = False
    for g in grants:
        effect = g.effect.lower()
        if effect == "deny":
            if not g.condition:
                deny |= _statement(g, cache)[0]
        elif effect == "allow":
            allows = True
            bits, lv = _statement(g, cache)
            if g.condition:
                cond |= bits
            else:
                plain |= bits
            level = max(level, lv)
    return _Masks(plain, cond, deny, level, allows)


def escalation_paths(identity: Identity, memo: dict[str, Any]) -> list[tuple[EscalationPath, bool]]:
    """The escalation paths the identity's policies fully allow, each with 'needs a condition'."""
    return list(_assess(identity, memo)[1])


def assess(identity: Identity, memo: dict[str, Any]) -> Privilege:
    return _assess(identity, memo)[0]


_Verdict = tuple[Privilege, tuple[tuple[EscalationPath, bool], ...]]


def _assess(identity: Identity, memo: dict[str, Any]) -> _Verdict:
    if identity.kind == "aws-root-account":
        return Privilege("admin", ("account root user",)), ()
    statements: dict[tuple[Any, ...], tuple[int, int]] = memo.setdefault("aws-statements", {})
    verdicts: dict[tuple[Any, ...], _Verdict | str] = memo.setdefault("aws-verdicts", {})
    own, cap = split_grants(identity.grants)
    mine = _fold(own, statements)
    if not mine.allows:
        return Privilege("none"), ()
    allowed, conditional, level = mine.allowed, mine.conditional, mine.level
    if cap:
        capped = _fold(cap, statements)
        allowed &= capped.allowed
        conditional = (conditional | capped.conditional) & allowed
        if level:
            level = min(level, capped.level)
    key = (allowed, conditional, level)
    verdict = verdicts.get(key)
    if verdict is None:
        verdict = verdicts[key] = _verdict(allowed, conditional, level)
    if isinstance(verdict, str):  # admin: the reason names the policies that grant it
        return _admin(verdict, own, mine, conditional, statements), ()
    return verdict


def _verdict(allowed: int, conditional: int, level: int) -> _Verdict | str:
    """What the allowed probes mean (shared by every identity with the same answers); "any" or
    "iam" for admin, whose reason names the identity's own policies."""
    any_bit, iam_bit = _BIT[PROBE_ANY_SERVICE], _BIT[PROBE_IAM]
    if allowed & any_bit and allowed & iam_bit:
        return "any"
    if all(allowed & _BIT[a] for a in IAM_WRITE_ALL):
        return "iam"
    found: list[tuple[EscalationPath, bool]] = []
    for path in ESCALATION_PATHS:
        bits = [_BIT[a] for a in path.actions]
        if all(allowed & b for b in bits):
            found.append((path, any(conditional & b for b in bits)))
    if found:
        reasons = tuple(
            f"{p.name}: {' + '.join(p.actions)} on *{' (with conditions)' if c else ''}" for p, c in found
        )
        return Privilege("escalation", reasons), tuple(found)
    return Privilege(_LEVELS[level]), ()


def _admin(
    kind: str,
    own: Sequence[Grant],
    mine: _Masks,
    conditional: int,
    statements: dict[tuple[Any, ...], tuple[int, int]],
) -> Privilege:
    actions = (PROBE_ANY_SERVICE, PROBE_IAM) if kind == "any" else IAM_WRITE_ALL
    via: list[str] = []
    for action in actions:
        b = _BIT[action]
        plain = bool(mine.plain & b)  # the unconditioned Allows name it, else the conditioned ones
        via.extend(
            g.via
            for g in own
            if g.effect.lower() == "allow" and bool(g.condition) != plain and _statement(g, statements)[0] & b
        )
    cond = " (with conditions)" if any(conditional & _BIT[a] for a in actions) else ""
    what = "all actions on all resources" if kind == "any" else "full IAM policy write"
    return Privilege("admin", (f"{what} via {', '.join(dict.fromkeys(via))}{cond}",))
