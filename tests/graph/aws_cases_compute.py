"""Escalation cases of the PassRole-to-compute techniques."""

from __future__ import annotations

from typing import Any

from tests.graph.aws_cases_base import (
    NEVER,
    OTHER_ACCOUNT,
    account,
    add,
    admin_role,
    edge,
)
from tests.graph.aws_gaad import (
    READONLY,
    Stmt,
    allow,
    arn,
    deny,
    policy,
    role,
    trust,
    user,
)

# ---- PassRole to compute ---------------------------------------------------------------------
EC2 = "ec2.amazonaws.com"


def passrole(
    technique: str,
    kind: str,
    service: str,
    actions: list[str],
    lookalike: dict[str, Any],
    why: str,
    *,
    conditional: bool = False,
    profile: bool = False,
    also: tuple[str, ...] = (),
) -> None:
    """The exploitable case: the service actions on "*", PassRole scoped to the one admin role
    that trusts the service (the scoping a remediation recommends, still exploitable)."""
    target = f"admin-{technique}"
    add(
        technique,
        kind,
        account(
            allow(actions),
            allow("iam:PassRole", arn("role", target)),
            roles=[admin_role(target, service, profile=profile)],
        ),
        [edge(arn("role", target), kind, conditional=conditional)]
        + [edge(arn("role", target), k, conditional=True) for k in also],  # existing-compute edges too
        lookalike,
        why,
    )


def passrole_to(
    target: str, actions: list[str], *extra: Stmt, passrole_stmt: Stmt | None = None
) -> list[Stmt]:
    return [allow(actions), passrole_stmt or allow("iam:PassRole", arn("role", target)), *extra]


passrole(
    "passrole-ec2",
    "aws-passrole-ec2",
    EC2,
    ["ec2:RunInstances"],
    account(
        *passrole_to("admin-lambda", ["ec2:RunInstances"]),
        roles=[admin_role("admin-lambda", "lambda.amazonaws.com")],
    ),
    "the passable role trusts lambda, not ec2",
    profile=True,
)
passrole(
    "passrole-ec2-associate-profile",
    "aws-passrole-ec2-associate-profile",
    EC2,
    ["ec2:AssociateIamInstanceProfile"],
    account(allow("ec2:AssociateIamInstanceProfile"), roles=[admin_role("admin-ec2", EC2, profile=True)]),
    "no iam:PassRole",
    conditional=True,
    profile=True,
)
passrole(
    "passrole-autoscaling-launch-config",
    "aws-passrole-autoscaling-launch-config",
    EC2,
    ["autoscaling:CreateLaunchConfiguration", "autoscaling:CreateAutoScalingGroup"],
    account(
        *passrole_to(
            "admin-ec2", ["autoscaling:CreateLaunchConfiguration", "autoscaling:CreateAutoScalingGroup"]
        ),
        roles=[admin_role("admin-ec2", EC2, profile=False)],
    ),
    "the role has no instance profile and none can be made",
    profile=True,
)
passrole(
    "passrole-autoscaling-launch-template",
    "aws-passrole-autoscaling-launch-template",
    EC2,
    ["ec2:CreateLaunchTemplate", "autoscaling:CreateAutoScalingGroup"],
    account(
        *passrole_to(
            "admin-ec2",
            ["ec2:CreateLaunchTemplate", "autoscaling:CreateAutoScalingGroup"],
            deny("iam:PassRole"),
        ),
        roles=[admin_role("admin-ec2", EC2, profile=True)],
    ),
    "iam:PassRole explicitly denied",
    profile=True,
)
passrole(
    "passrole-ec2-launch-template-version",
    "aws-passrole-ec2-launch-template-version",
    EC2,
    ["ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate"],
    account(
        *passrole_to("admin-ec2", ["ec2:CreateLaunchTemplateVersion"]),
        roles=[admin_role("admin-ec2", EC2, profile=True)],
    ),
    "a version can be written but never made the default",
    conditional=True,
    profile=True,
)
passrole(
    "passrole-lambda",
    "aws-passrole-lambda",
    "lambda.amazonaws.com",
    ["lambda:CreateFunction", "lambda:InvokeFunction"],
    account(
        *passrole_to(
            "admin-lambda",
            ["lambda:CreateFunction", "lambda:InvokeFunction"],
            passrole_stmt=allow(
                "iam:PassRole",
                arn("role", "admin-lambda"),
                Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
            ),
        ),
        roles=[admin_role("admin-lambda", "lambda.amazonaws.com")],
    ),
    "PassRole only when passed to ec2 (iam:PassedToService)",
)
passrole(
    "passrole-lambda-event-source",
    "aws-passrole-lambda-event-source",
    "lambda.amazonaws.com",
    ["lambda:CreateFunction", "lambda:CreateEventSourceMapping", "dynamodb:CreateTable", "dynamodb:PutItem"],
    account(
        *passrole_to(
            "admin-lambda",
            [
                "lambda:CreateFunction",
                "lambda:CreateEventSourceMapping",
                "dynamodb:CreateTable",
                "dynamodb:PutItem",
            ],
        ),
        roles=[admin_role("admin-lambda", "lambda.amazonaws.com")],
        boundary=arn("policy", "lambda-only"),
    )
    | {"Policies": [policy("lambda-only", [allow(["lambda:*", "dynamodb:*"])], attachments=0)]},
    "a permissions boundary without iam:PassRole",
)
passrole(
    "passrole-glue-dev-endpoint",
    "aws-passrole-glue-dev-endpoint",
    "glue.amazonaws.com",
    ["glue:CreateDevEndpoint"],
    account(
        allow("glue:CreateDevEndpoint", Condition=NEVER),
        allow("iam:PassRole", arn("role", "admin-glue")),
        roles=[admin_role("admin-glue", "glue.amazonaws.com")],
    ),
    "CreateDevEndpoint only before a date long past",
)
passrole(
    "passrole-glue-job",
    "aws-passrole-glue-job",
    "glue.amazonaws.com",
    ["glue:CreateJob", "glue:StartJobRun"],
    account(
        *passrole_to("admin-glue", ["glue:CreateJob"]), roles=[admin_role("admin-glue", "glue.amazonaws.com")]
    ),
    "a job can be created but never started",
)
passrole(
    "passrole-cloudformation",
    "aws-passrole-cloudformation",
    "cloudformation.amazonaws.com",
    ["cloudformation:CreateStack"],
    account(
        allow("cloudformation:CreateStack"),
        allow(
            "iam:PassRole",
            arn("role", "admin-cfn"),
            Condition={"StringEquals": {"aws:ResourceAccount": OTHER_ACCOUNT}},
        ),
        roles=[admin_role("admin-cfn", "cloudformation.amazonaws.com")],
    ),
    "PassRole only on another account's resources (aws:ResourceAccount)",
)
passrole(
    "passrole-cloudformation-changeset",
    "aws-passrole-cloudformation-changeset",
    "cloudformation.amazonaws.com",
    ["cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"],
    account(
        *passrole_to("admin-cfn", ["cloudformation:CreateChangeSet"]),
        roles=[admin_role("admin-cfn", "cloudformation.amazonaws.com")],
    ),
    "a change set can be created but not executed",
)
passrole(
    "passrole-cloudformation-update",
    "aws-passrole-cloudformation-update",
    "cloudformation.amazonaws.com",
    ["cloudformation:UpdateStack"],
    account(
        *passrole_to("admin-ec2", ["cloudformation:UpdateStack"]),
        roles=[admin_role("admin-ec2", EC2, profile=True)],
    ),
    "the passable role trusts ec2, not cloudformation",
    conditional=True,
    also=("aws-cloudformation-update-stack",),
)
passrole(
    "passrole-datapipeline",
    "aws-passrole-datapipeline",
    "datapipeline.amazonaws.com",
    ["datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition", "datapipeline:ActivatePipeline"],
    account(
        *passrole_to(
            "admin-datapipeline", ["datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition"]
        ),
        roles=[admin_role("admin-datapipeline", "datapipeline.amazonaws.com")],
    ),
    "the pipeline can never be activated",
)
passrole(
    "passrole-codebuild",
    "aws-passrole-codebuild",
    "codebuild.amazonaws.com",
    ["codebuild:CreateProject", "codebuild:StartBuild"],
    account(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        roles=[admin_role("admin-codebuild", "codebuild.amazonaws.com")],
    ),
    "NotAction iam:* leaves out iam:PassRole",
    also=("aws-codebuild-start-build",),
)
passrole(
    "passrole-codebuild-update",
    "aws-passrole-codebuild-update",
    "codebuild.amazonaws.com",
    ["codebuild:UpdateProject", "codebuild:StartBuild"],
    account(
        *passrole_to("admin-codebuild", ["codebuild:UpdateProject"]),
        roles=[admin_role("admin-codebuild", "codebuild.amazonaws.com")],
    ),
    "the project can be changed but no build started",
    conditional=True,
    also=("aws-codebuild-start-build",),
)
passrole(
    "passrole-sagemaker-notebook",
    "aws-passrole-sagemaker-notebook",
    "sagemaker.amazonaws.com",
    ["sagemaker:CreateNotebookInstance", "sagemaker:CreatePresignedNotebookInstanceUrl"],
    account(
        *passrole_to("admin-sagemaker", ["sagemaker:CreateNotebookInstance"]),
        roles=[admin_role("admin-sagemaker", "sagemaker.amazonaws.com")],
    ),
    "a notebook can be created but never opened",
    also=("aws-sagemaker-presigned-notebook-url",),
)
passrole(
    "passrole-sagemaker-training",
    "aws-passrole-sagemaker-training",
    "sagemaker.amazonaws.com",
    ["sagemaker:CreateTrainingJob"],
    account(
        *passrole_to("admin-sagemaker", ["sagemaker:CreateTrainingJob"]),
        roles=[
            admin_role(
                "admin-sagemaker",
                "sagemaker.amazonaws.com",
                condition={"StringEquals": {"aws:SourceAccount": OTHER_ACCOUNT}},
            )
        ],
    ),
    "the role trusts sagemaker only on behalf of another account (aws:SourceAccount)",
)
passrole(
    "passrole-sagemaker-processing",
    "aws-passrole-sagemaker-processing",
    "sagemaker.amazonaws.com",
    ["sagemaker:CreateProcessingJob"],
    account(
        *passrole_to(
            "admin-sagemaker",
            ["sagemaker:CreateProcessingJob"],
            passrole_stmt={
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "NotResource": arn("role", "admin-*"),
            },
        ),
        roles=[admin_role("admin-sagemaker", "sagemaker.amazonaws.com")],
    ),
    "PassRole on every role except role/admin-* (NotResource)",
)
passrole(
    "passrole-ecs",
    "aws-passrole-ecs",
    "ecs-tasks.amazonaws.com",
    ["ecs:RegisterTaskDefinition", "ecs:RunTask", "ecs:CreateCluster"],
    account(
        *passrole_to("admin-ecs", ["ecs:RegisterTaskDefinition", "ecs:RunTask", "ecs:CreateCluster"]),
        roles=[admin_role("admin-ecs", "ecs.amazonaws.com")],
    ),
    "the role trusts ecs.amazonaws.com (the service), not ecs-tasks (task roles)",
)
passrole(
    "passrole-apprunner",
    "aws-passrole-apprunner",
    "tasks.apprunner.amazonaws.com",
    ["apprunner:CreateService"],
    account(
        *passrole_to("admin-apprunner", ["apprunner:CreateService"]),
        roles=[admin_role("admin-apprunner", "build.apprunner.amazonaws.com")],
    ),
    "the role trusts App Runner's build principal, not its instance principal",
)


passrole(
    "passrole-ssm-automation",
    "aws-passrole-ssm-automation",
    "ssm.amazonaws.com",
    ["ssm:StartAutomationExecution"],
    account(
        *passrole_to("admin-ssm", ["ssm:StartAutomationExecution"]),
        roles=[
            admin_role("admin-ssm", "ssm.amazonaws.com"),
            role("automation-reader", trust("ssm.amazonaws.com"), managed=[READONLY]),
        ],
        boundary=arn("policy", "automation-boundary"),
    )
    | {
        "Policies": [
            policy(
                "automation-boundary",
                [allow(["ssm:*"]), allow("iam:PassRole", arn("role", "automation-*"))],
                attachments=0,
            )
        ]
    },
    "the boundary lets it pass only role/automation-* (a read-only role)",
)
passrole(
    "passrole-codestar",
    "aws-passrole-codestar",
    "codestar.amazonaws.com",
    ["codestar:CreateProject"],
    account(
        *passrole_to("admin-codestar", ["codestar:CreateProject"]),
        roles=[admin_role("admin-codestar", "codebuild.amazonaws.com")],
    ),
    "the passable role trusts codebuild, not codestar",
)
passrole(
    "passrole-bedrock-code-interpreter",
    "aws-passrole-bedrock-code-interpreter",
    "bedrock-agentcore.amazonaws.com",
    [
        "bedrock-agentcore:CreateCodeInterpreter",
        "bedrock-agentcore:StartCodeInterpreterSession",
        "bedrock-agentcore:InvokeCodeInterpreter",
    ],
    account(
        *passrole_to(
            "admin-agentcore",
            ["bedrock-agentcore:CreateCodeInterpreter", "bedrock-agentcore:StartCodeInterpreterSession"],
        ),
        roles=[admin_role("admin-agentcore", "bedrock-agentcore.amazonaws.com")],
    ),
    "an interpreter can be created and started but no code run in it",
)
passrole(
    "passrole-glue-update-job",
    "aws-passrole-glue-update-job",
    "glue.amazonaws.com",
    ["glue:UpdateJob", "glue:StartJobRun"],
    account(
        allow(["glue:UpdateJob", "glue:StartJobRun", "iam:PassRole"]),
        deny("iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}}),
        roles=[admin_role("admin-glue", "glue.amazonaws.com")],
    ),
    "PassRole denied when passed to glue (iam:PassedToService)",
    conditional=True,
)


# ---- two hops of this builder: mint a deployer's keys, then pass its admin role to Lambda --------
DEPLOYER = arn("user", "deployer")
add(
    "chain-mint-then-passrole",
    "aws-passrole-lambda",
    account(
        allow("iam:CreateAccessKey", DEPLOYER),
        users=[
            user(
                "deployer",
                inline={
                    "deploy": [
                        allow(["lambda:CreateFunction", "lambda:InvokeFunction"]),
                        allow("iam:PassRole", arn("role", "admin-lambda")),
                    ]
                },
            )
        ],
        roles=[admin_role("admin-lambda", "lambda.amazonaws.com")],
    ),
    [
        edge(DEPLOYER, "aws-create-access-key"),
        edge(arn("role", "admin-lambda"), "aws-passrole-lambda", source=DEPLOYER),
    ],
    account(
        allow("iam:CreateAccessKey", DEPLOYER),
        users=[
            user(
                "deployer",
                inline={
                    "deploy": [
                        allow(["lambda:CreateFunction", "lambda:InvokeFunction"]),
                        allow("iam:PassRole", arn("role", "admin-ec2")),
                    ]
                },
            )
        ],
        roles=[admin_role("admin-ec2", "ec2.amazonaws.com", profile=True)],
    ),
    "the deployer can pass only a role that trusts ec2",
)
