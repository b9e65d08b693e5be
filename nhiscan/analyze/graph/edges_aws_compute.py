"""Running code as a role through an AWS compute service: A → the role the code runs as.

Two families:

- **PassRole**: the identity creates compute (an instance, a function, a job, a stack, ...) and
  passes it a role: it needs the service's create/run actions (on some resource) and
  ``iam:PassRole`` on *that role's ARN*, and the role's trust policy must admit the service
  principal (``ec2.amazonaws.com`` for instances, launch configurations and templates). A role
  that does not trust the service cannot be passed to it usefully, so no edge.
- **Existing compute**: the identity changes or enters compute that already runs as a role
  (updates a function's code, opens a notebook, sends a command to an instance). An IAM export does
  not list functions, instances, stacks or projects, so the edge goes to each role that trusts the
  service and is *conditional*: "only if such a resource runs as this role".

Instance roles need an instance profile: a role with none in the export gets an edge only if the
identity can also create one (``iam:CreateInstanceProfile`` + ``iam:AddRoleToInstanceProfile``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from nhiscan.analyze.aws_policy import ANY_TEXT, any_action
from nhiscan.analyze.graph import conditions
from nhiscan.analyze.graph.edge import Edge
from nhiscan.analyze.graph.edges_aws_eval import EDGE_CAP, Actor, Index, join_conditions
from nhiscan.model import Identity

EC2 = "ec2.amazonaws.com"


@dataclass(frozen=True)
class Technique:
    kind: str
    service: str  # the service principal the role's trust policy must admit
    needs: tuple[tuple[str, ...], ...]  # every group needed; one action of a group suffices
    what: str
    passrole: bool = True
    existing: str = ""  # what must already exist (the export cannot tell): the edge's condition
    unless: tuple[str, ...] = ()  # all of these allowed: ``existing`` is not needed after all
    profile: bool = False  # the role needs an instance profile


TECHNIQUES: tuple[Technique, ...] = (
    Technique(
        "aws-passrole-ec2",
        EC2,
        (("ec2:RunInstances", "ec2:RequestSpotInstances"),),
        "launch an instance as the role",
        profile=True,
    ),
    Technique(
        "aws-passrole-ec2-associate-profile",
        EC2,
        (("ec2:AssociateIamInstanceProfile", "ec2:ReplaceIamInstanceProfileAssociation"),),
        "attach the role's instance profile to an instance",
        existing="the identity can log in to or run commands on a running instance",
        profile=True,
    ),
    Technique(
        "aws-passrole-autoscaling-launch-config",
        EC2,
        (
            ("autoscaling:CreateLaunchConfiguration",),
            ("autoscaling:CreateAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup"),
        ),
        "an Auto Scaling group launching instances as the role (launch configuration)",
        profile=True,
    ),
    Technique(
        "aws-passrole-autoscaling-launch-template",
        EC2,
        (
            ("ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion"),
            ("autoscaling:CreateAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup"),
        ),
        "an Auto Scaling group launching instances as the role (launch template)",
        profile=True,
    ),
    Technique(
        "aws-passrole-ec2-launch-template-version",
        EC2,
        (("ec2:CreateLaunchTemplateVersion",), ("ec2:ModifyLaunchTemplate",)),
        "make a new default version of a launch template with the role's instance profile",
        existing="an Auto Scaling group or fleet launches from a template the identity can change",
        profile=True,
    ),
    Technique(
        "aws-passrole-lambda",
        "lambda.amazonaws.com",
        (
            ("lambda:CreateFunction",),
            ("lambda:InvokeFunction", "lambda:AddPermission", "lambda:CreateFunctionUrlConfig"),
        ),
        "create a function as the role and invoke it",
    ),
    Technique(
        "aws-passrole-lambda-event-source",
        "lambda.amazonaws.com",
        (("lambda:CreateFunction",), ("lambda:CreateEventSourceMapping",)),
        "create a function as the role, triggered by an event source",
        existing="the identity can write to an event source (DynamoDB or Kinesis stream, SQS queue)",
        unless=("dynamodb:CreateTable", "dynamodb:PutItem"),
    ),
    Technique(
        "aws-passrole-glue-dev-endpoint",
        "glue.amazonaws.com",
        (("glue:CreateDevEndpoint",),),
        "create a Glue development endpoint as the role and log in to it",
    ),
    Technique(
        "aws-passrole-glue-job",
        "glue.amazonaws.com",
        (("glue:CreateJob",), ("glue:StartJobRun", "glue:CreateTrigger")),
        "create and run a Glue job as the role",
    ),
    Technique(
        "aws-passrole-cloudformation",
        "cloudformation.amazonaws.com",
        (("cloudformation:CreateStack",),),
        "create a stack whose resources are made as the role",
    ),
    Technique(
        "aws-passrole-cloudformation-changeset",
        "cloudformation.amazonaws.com",
        (("cloudformation:CreateChangeSet",), ("cloudformation:ExecuteChangeSet",)),
        "create and execute a change set as the role",
    ),
    Technique(
        "aws-passrole-cloudformation-update",
        "cloudformation.amazonaws.com",
        (("cloudformation:UpdateStack",),),
        "update an existing stack to run as the role",
        existing="a stack exists to update",
    ),
    Technique(
        "aws-passrole-datapipeline",
        "datapipeline.amazonaws.com",
        (
            ("datapipeline:CreatePipeline",),
            ("datapipeline:PutPipelineDefinition",),
            ("datapipeline:ActivatePipeline",),
        ),
        "run a data pipeline as the role",
    ),
    Technique(
        "aws-passrole-codebuild",
        "codebuild.amazonaws.com",
        (("codebuild:CreateProject",), ("codebuild:StartBuild", "codebuild:StartBuildBatch")),
        "create a build project as the role and start it",
    ),
    Technique(
        "aws-passrole-codebuild-update",
        "codebuild.amazonaws.com",
        (("codebuild:UpdateProject",), ("codebuild:StartBuild", "codebuild:StartBuildBatch")),
        "switch an existing build project to the role and start it",
        existing="a build project exists to update",
    ),
    Technique(
        "aws-passrole-sagemaker-notebook",
        "sagemaker.amazonaws.com",
        (("sagemaker:CreateNotebookInstance",), ("sagemaker:CreatePresignedNotebookInstanceUrl",)),
        "create a notebook instance as the role and open it",
    ),
    Technique(
        "aws-passrole-sagemaker-training",
        "sagemaker.amazonaws.com",
        (("sagemaker:CreateTrainingJob", "sagemaker:CreateHyperParameterTuningJob"),),
        "run a training job (any container) as the role",
    ),
    Technique(
        "aws-passrole-sagemaker-processing",
        "sagemaker.amazonaws.com",
        (("sagemaker:CreateProcessingJob",),),
        "run a processing job (any container) as the role",
    ),
    Technique(
        "aws-passrole-ecs",
        "ecs-tasks.amazonaws.com",
        (("ecs:RegisterTaskDefinition",), ("ecs:RunTask", "ecs:StartTask", "ecs:CreateService")),
        "register a task definition with the role and run it",
        existing="an ECS cluster with capacity exists",
        unless=("ecs:CreateCluster",),
    ),
    Technique(
        "aws-passrole-apprunner",
        "tasks.apprunner.amazonaws.com",
        (("apprunner:CreateService",),),
        "create an App Runner service whose instance role is the role",
    ),
    Technique(
        "aws-passrole-ssm-automation",
        "ssm.amazonaws.com",
        (("ssm:StartAutomationExecution",),),
        "run an automation document (any script step) as the role",
    ),
    Technique(
        "aws-passrole-codestar",
        "codestar.amazonaws.com",
        (("codestar:CreateProject",),),
        "create a CodeStar project whose template is deployed as the role",
    ),
    Technique(
        "aws-passrole-bedrock-code-interpreter",
        "bedrock-agentcore.amazonaws.com",
        (
            ("bedrock-agentcore:CreateCodeInterpreter",),
            ("bedrock-agentcore:StartCodeInterpreterSession",),
            ("bedrock-agentcore:InvokeCodeInterpreter",),
        ),
        "create a code interpreter as the role and run code in it",
    ),
    Technique(
        "aws-passrole-glue-update-job",
        "glue.amazonaws.com",
        (("glue:UpdateJob",), ("glue:StartJobRun",)),
        "switch an existing Glue job to the role and run it",
        existing="a Glue job exists to update",
    ),
    # existing compute: no PassRole, the resource must already run as the role
    Technique(
        "aws-lambda-update-code",
        "lambda.amazonaws.com",
        (("lambda:UpdateFunctionCode",),),
        "replace the code of a function that runs as the role",
        passrole=False,
        existing="a Lambda function runs as this role (the export lists no functions)",
    ),
    Technique(
        "aws-lambda-update-configuration",
        "lambda.amazonaws.com",
        (("lambda:UpdateFunctionConfiguration",),),
        "add a layer or handler wrapper to a function that runs as the role",
        passrole=False,
        existing="a Lambda function runs as this role (the export lists no functions)",
    ),
    Technique(
        "aws-glue-update-dev-endpoint",
        "glue.amazonaws.com",
        (("glue:UpdateDevEndpoint",),),
        "add an SSH key to a development endpoint that runs as the role",
        passrole=False,
        existing="a Glue development endpoint runs as this role (the export lists none)",
    ),
    Technique(
        "aws-cloudformation-update-stack",
        "cloudformation.amazonaws.com",
        (("cloudformation:UpdateStack",),),
        "change the template of a stack that runs as the role",
        passrole=False,
        existing="a stack runs as this role (the export lists no stacks)",
    ),
    Technique(
        "aws-codebuild-start-build",
        "codebuild.amazonaws.com",
        (("codebuild:StartBuild", "codebuild:StartBuildBatch"),),
        "start a build of a project that runs as the role, with an overridden buildspec",
        passrole=False,
        existing="a build project runs as this role (the export lists no projects)",
    ),
    Technique(
        "aws-sagemaker-presigned-notebook-url",
        "sagemaker.amazonaws.com",
        (("sagemaker:CreatePresignedNotebookInstanceUrl",),),
        "open a notebook instance that runs as the role",
        passrole=False,
        existing="a notebook instance runs as this role (the export lists none)",
    ),
    Technique(
        "aws-ec2-instance-connect",
        EC2,
        (("ec2-instance-connect:SendSSHPublicKey",),),
        "push an SSH key to an instance that runs as the role and log in",
        passrole=False,
        existing="a reachable instance runs with this role's instance profile (the export lists no instances)",
        profile=True,
    ),
    Technique(
        "aws-ssm-send-command",
        EC2,
        (("ssm:SendCommand",),),
        "run commands on an instance that runs as the role",
        passrole=False,
        existing="an SSM-managed instance runs with this role's instance profile (the export lists no instances)",
        profile=True,
    ),
    Technique(
        "aws-ssm-start-session",
        EC2,
        (("ssm:StartSession",),),
        "open a shell on an instance that runs as the role",
        passrole=False,
        existing="an SSM-managed instance runs with this role's instance profile (the export lists no instances)",
        profile=True,
    ),
    Technique(
        "aws-ecs-execute-command",
        "ecs-tasks.amazonaws.com",
        (("ecs:ExecuteCommand",),),
        "open a shell in a running task whose task role is the role",
        passrole=False,
        existing="an ECS task with exec enabled runs as this role (the export lists no tasks)",
    ),
    Technique(
        "aws-ec2-user-data",
        EC2,
        (("ec2:ModifyInstanceAttribute",), ("ec2:StopInstances",), ("ec2:StartInstances",)),
        "rewrite an instance's user data and restart it",
        passrole=False,
        existing="an instance runs with this role's instance profile (the export lists no instances)",
        profile=True,
    ),
)

PROFILE_ACTIONS = ("iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile")
ACTIONS: tuple[str, ...] = tuple(
    dict.fromkeys(a for t in TECHNIQUES for a in (*(x for grp in t.needs for x in grp), *t.unless))
)

# an identity allowed none of a technique's first actions has no compute edge
STARTS = frozenset(a for t in TECHNIQUES for a in t.needs[0])
_BIT = {a: 1 << i for i, a in enumerate(ACTIONS)}


class TrustIndex:
    """Roles by the service principal their trust policy admits (decided once per role)."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._by_service: dict[str, list[tuple[Identity, str]]] = {}
        self._trusted: dict[str, dict[str, str]] = {}
        self._in: dict[tuple[str, str, bool], list[tuple[Identity, str]]] = {}
        self._by_account: dict[str, dict[str, list[tuple[Identity, str]]]] = {}

    def roles(self, service: str) -> list[tuple[Identity, str]]:
        """(role, condition of its trust: "" when none) for roles trusting ``service``, ranked."""
        got = self._by_service.get(service)
        if got is None:
            got = []
            for arn in self.index.ranked("role"):
                role = self.index.by_id[arn]
                try:
                    cond = _trusts(role, service, self.index)
                except (TypeError, AttributeError, ValueError):
                    continue  # an unreadable trust admits nobody
                if cond is not None:
                    got.append((role, cond))
            self._by_service[service] = got
            self._trusted[service] = {r.id: c for r, c in got}
        return got

    def trusted(self, service: str) -> dict[str, str]:
        self.roles(service)
        return self._trusted[service]

    def roles_in(self, service: str, account: str, profile_only: bool) -> list[tuple[Identity, str]]:
        """``roles(service)`` of one account, and only those with an instance profile when asked:
        filtered once per scan, so an identity never walks the roles it could not use."""
        key = (service, account, profile_only)
        got = self._in.get(key)
        if got is None:
            accounts = self._by_account.get(service)
            if accounts is None:  # split by account once: never one pass over them all per account
                accounts = self._by_account[service] = {}
                for r, c in self.roles(service):
                    accounts.setdefault(r.scope, []).append((r, c))
            mine = accounts.get(account, [])
            got = self._in[key] = (
                [(r, c) for r, c in mine if r.attributes.get("instance_profiles")] if profile_only else mine
            )
        return got


def _trusts(role: Identity, service: str, index: Index) -> str | None:
    """None when the role's trust policy does not admit ``service``; else the undecided condition."""
    ctx = conditions.context_for(index.as_of, resource_account=role.scope, source_account=role.scope)
    allowed: list[str] = []
    for t in role.trusts:
        anyone = t.principal_type == "*" and t.principal == "*" and "nhiscan:NotPrincipal" not in t.conditions
        if not anyone and (t.principal_type.lower() != "service" or t.principal.lower() != service):
            continue
        if not t.actions or not any_action(t.actions, "sts:AssumeRole", ANY_TEXT):
            continue
        answer = conditions.evaluate(t.conditions, ctx)
        if answer == conditions.FALSE:
            continue
        if t.effect.lower() == "deny":
            if answer == conditions.TRUE:
                return None
            continue
        allowed.append("" if answer == conditions.TRUE else conditions.undecided(t.conditions, ctx))
    if not allowed:
        return None
    return "" if "" in allowed else allowed[0]


def compute_edges(index: Index, trusts: TrustIndex, actor: Actor, mask: int) -> Iterator[Edge]:
    """Every compute edge from ``actor``; ``mask``: the bits of ``ACTIONS`` its Allows name."""
    path = index.path_of(actor.ident)
    for tech in TECHNIQUES:
        if not all(any(mask & _BIT[a] for a in grp) for grp in tech.needs):
            continue
        vias: list[str] = []
        conds: list[str] = []
        for grp in tech.needs:
            options = [(a, got) for a in grp if (got := actor.can_somewhere(a)) is not None]
            if not options:
                break
            found = min(options, key=lambda o: o[1].conditional)  # an unconditioned way first
            vias.append(f"{found[0]} ({found[1].via})")
            conds.append(found[1].condition)
        else:
            existing = tech.existing
            extra = [actor.can_somewhere(a) for a in tech.unless]
            if existing and extra and all(extra):
                existing = ""  # it can make the resource itself, under those calls' conditions
                conds.extend(x.condition for x in extra if x is not None)
            yield from _targets(index, trusts, actor, tech, vias, conds, existing, path)


def _targets(
    index: Index,
    trusts: TrustIndex,
    actor: Actor,
    tech: Technique,
    vias: list[str],
    conds: list[str],
    existing: str,
    path: str | None,
) -> Iterator[Edge]:
    me = actor.ident
    trusted = trusts.trusted(tech.service)
    if not trusted:
        return
    can_profile: bool | None = None
    if tech.profile:
        can_profile = all(actor.can_somewhere(a) for a in PROFILE_ACTIONS)
    # a role without an instance profile is usable only by one who can make and attach one
    profile_only = bool(tech.profile) and not (can_profile and tech.passrole)
    roles: Iterator[Identity]
    if tech.passrole:
        everything, _ = actor.patterns("iam:PassRole")
        if everything:
            roles = (r for r, _ in trusts.roles_in(tech.service, me.scope, profile_only))
        else:
            roles = (r for r in index.candidates(actor, "iam:PassRole", "role") if r.id in trusted)
    else:
        roles = (r for r, _ in trusts.roles_in(tech.service, me.scope, profile_only))
    count = 0
    only_if = existing and f"only if {existing}"
    # the few distinct conditions of this technique's edges, each joined once
    joined: dict[tuple[str, str], str] = {}
    for role in roles:
        if role.id == me.id or role.scope != me.scope:
            continue  # compute runs in the caller's account; a role passing itself gains nothing
        edge_via = list(vias)
        trust_text = trusted[role.id] and f"the trust of {role.name} ({trusted[role.id]})"
        passed_condition = ""
        if tech.passrole:
            passed = actor.can("iam:PassRole", role.id, service=tech.service)
            if passed is None:
                continue
            edge_via.append(f"iam:PassRole on {role.id} ({passed.via})")
            passed_condition = passed.condition
        if tech.profile and not role.attributes.get("instance_profiles"):
            if profile_only:
                continue
            edge_via.append(" + ".join(PROFILE_ACTIONS))
        key = (trust_text, passed_condition)
        condition = joined.get(key)
        if condition is None:
            condition = joined[key] = join_conditions(*conds, trust_text, passed_condition, only_if)
        yield Edge(
            me.id,
            role.id,
            tech.kind,
            f"{tech.what}: " + " + ".join(edge_via),
            path,
            bool(condition),
            condition,
        )
        count += 1
        if count >= EDGE_CAP:
            return
