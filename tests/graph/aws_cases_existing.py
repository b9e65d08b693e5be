"""Escalation cases of compute that already runs as a role, and of condition evaluation."""

from __future__ import annotations

from typing import Any

from tests.graph.aws_cases_base import (
    LATER,
    NEVER,
    OTHER_ACCOUNT,
    SINCE,
    account,
    add,
    admin_role,
    edge,
)
from tests.graph.aws_gaad import (
    allow,
    arn,
    deny,
    policy,
)

EC2 = "ec2.amazonaws.com"


# ---- compute that already runs as a role -----------------------------------------------------
def existing(
    technique: str,
    kind: str,
    service: str,
    actions: list[str],
    lookalike: dict[str, Any],
    why: str,
    *,
    profile: bool = False,
) -> None:
    target = f"admin-{technique}"
    add(
        technique,
        kind,
        account(allow(actions), roles=[admin_role(target, service, profile=profile)]),
        [edge(arn("role", target), kind, conditional=True)],
        lookalike,
        why,
    )


existing(
    "lambda-update-code",
    "aws-lambda-update-code",
    "lambda.amazonaws.com",
    ["lambda:UpdateFunctionCode"],
    account(allow("lambda:UpdateFunctionCode"), roles=[admin_role("admin-ec2", EC2, profile=True)]),
    "no role in the account can run a function",
)
existing(
    "lambda-update-configuration",
    "aws-lambda-update-configuration",
    "lambda.amazonaws.com",
    ["lambda:UpdateFunctionConfiguration"],
    account(
        allow("lambda:UpdateFunctionConfiguration"),
        deny("lambda:Update*"),
        roles=[admin_role("admin-lambda", "lambda.amazonaws.com")],
    ),
    "allowed, then denied by lambda:Update*",
)
existing(
    "glue-update-dev-endpoint",
    "aws-glue-update-dev-endpoint",
    "glue.amazonaws.com",
    ["glue:UpdateDevEndpoint"],
    account(
        allow("glue:UpdateDevEndpoint", Condition=LATER),
        roles=[admin_role("admin-glue", "glue.amazonaws.com")],
    ),
    "allowed only from a date not yet reached",
)
existing(
    "cloudformation-update-stack",
    "aws-cloudformation-update-stack",
    "cloudformation.amazonaws.com",
    ["cloudformation:UpdateStack"],
    account(allow("cloudformation:UpdateStack"), roles=[admin_role("admin-lambda", "lambda.amazonaws.com")]),
    "no role in the account is a stack's service role",
)
existing(
    "codebuild-start-build",
    "aws-codebuild-start-build",
    "codebuild.amazonaws.com",
    ["codebuild:StartBuild"],
    account(
        allow("codebuild:StartBuild", Condition={"StringEquals": {"aws:PrincipalAccount": OTHER_ACCOUNT}}),
        roles=[admin_role("admin-codebuild", "codebuild.amazonaws.com")],
    ),
    "allowed only for principals of another account (aws:PrincipalAccount)",
)
existing(
    "sagemaker-presigned-notebook-url",
    "aws-sagemaker-presigned-notebook-url",
    "sagemaker.amazonaws.com",
    ["sagemaker:CreatePresignedNotebookInstanceUrl"],
    account(
        allow("sagemaker:*"),
        deny("sagemaker:CreatePresigned*"),
        roles=[admin_role("admin-sagemaker", "sagemaker.amazonaws.com")],
    ),
    "presigned URLs denied",
)
existing(
    "ec2-instance-connect",
    "aws-ec2-instance-connect",
    EC2,
    ["ec2-instance-connect:SendSSHPublicKey"],
    account(
        allow("ec2-instance-connect:SendSSHPublicKey"), roles=[admin_role("admin-ec2", EC2, profile=False)]
    ),
    "the ec2 role has no instance profile: no instance runs as it",
    profile=True,
)
existing(
    "ssm-send-command",
    "aws-ssm-send-command",
    EC2,
    ["ssm:SendCommand"],
    account(
        allow("ssm:SendCommand"),
        roles=[admin_role("admin-ec2", EC2, profile=True)],
        boundary=arn("policy", "read-boundary"),
    )
    | {
        "Policies": [
            policy("read-boundary", [allow(["ssm:Describe*", "ssm:Get*", "ec2:Describe*"])], attachments=0)
        ]
    },
    "a permissions boundary that allows only reads",
    profile=True,
)
existing(
    "ssm-start-session",
    "aws-ssm-start-session",
    EC2,
    ["ssm:StartSession"],
    account(
        allow("ssm:StartSession"),
        deny("ssm:StartSession", Condition={"DateGreaterThan": {"aws:CurrentTime": "2024-06-01T00:00:00Z"}}),
        roles=[admin_role("admin-ec2", EC2, profile=True)],
    ),
    "a Deny whose date condition has already started",
    profile=True,
)
existing(
    "ecs-execute-command",
    "aws-ecs-execute-command",
    "ecs-tasks.amazonaws.com",
    ["ecs:ExecuteCommand"],
    account(
        allow("ecs:ExecuteCommand", Condition=NEVER),
        roles=[admin_role("admin-ecs", "ecs-tasks.amazonaws.com")],
    ),
    "allowed only before a date long past",
)
existing(
    "ec2-user-data",
    "aws-ec2-user-data",
    EC2,
    ["ec2:ModifyInstanceAttribute", "ec2:StopInstances", "ec2:StartInstances"],
    account(
        allow(["ec2:ModifyInstanceAttribute", "ec2:StopInstances"]),
        roles=[admin_role("admin-ec2", EC2, profile=True)],
    ),
    "the instance can be stopped but never started again",
    profile=True,
)

# ---- condition evaluation --------------------------------------------------------------------
add(
    "condition-date-always-true",
    "aws-passrole-ec2",
    account(
        allow("ec2:RunInstances", Condition=SINCE),
        allow("iam:PassRole", arn("role", "admin-ec2")),
        roles=[admin_role("admin-ec2", EC2, profile=True)],
    ),
    [edge(arn("role", "admin-ec2"), "aws-passrole-ec2", conditional=False)],
    account(
        allow("ec2:RunInstances", Condition=LATER),
        allow("iam:PassRole", arn("role", "admin-ec2")),
        roles=[admin_role("admin-ec2", EC2, profile=True)],
    ),
    "the same grant from a date not yet reached",
)
add(
    "condition-undecided",
    "aws-passrole-ec2",
    account(
        allow("ec2:RunInstances", Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
        allow("iam:PassRole", arn("role", "admin-ec2")),
        roles=[admin_role("admin-ec2", EC2, profile=True)],
    ),
    [edge(arn("role", "admin-ec2"), "aws-passrole-ec2", conditional=True)],
    account(
        allow("ec2:RunInstances", Condition={"StringEquals": {"aws:PrincipalAccount": OTHER_ACCOUNT}}),
        allow("iam:PassRole", arn("role", "admin-ec2")),
        roles=[admin_role("admin-ec2", EC2, profile=True)],
    ),
    "a condition on the principal's account, which the export decides (another account)",
)
