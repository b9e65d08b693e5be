"""AI-agent recognition, marking, and the privileged-agent rule; the blast-radius fallback."""

from __future__ import annotations

import pytest

from nhiscan.analyze.agents import agent_reasons, mark_agents
from nhiscan.analyze.power import grants_privilege
from nhiscan.config import Settings
from nhiscan.model import Grant, Identity, Inventory, Location, Observation, Severity, Trust
from tests.correlate.helpers import aws_user, role, scan, secret

KEY = "AKIAQX3TJ7ZP5RWM2KDA"
MINT = (Grant(actions=("iam:CreateAccessKey",), resources=("*",)),)
READ = (Grant(actions=("s3:GetObject",), resources=("arn:aws:s3:::reports/*",)),)


@pytest.mark.parametrize(
    ("ident", "reason_part"),
    [
        (role("support-bot", trusts=(Trust("Service", "bedrock.amazonaws.com"),)), "bedrock.amazonaws.com"),
        (role("langchain-runner"), "langchain"),
        (role("orders-mcp-server"), "mcp"),
        (role("svc-x", tags={"ai-agent": "true"}), "tag ai-agent=true"),
        (role("svc-y", tags={"workload": "AI"}), "tag workload=AI"),
    ],
)
def test_agent_recognised(ident: Identity, reason_part: str) -> None:
    reasons = agent_reasons(Inventory(identities=(ident,)), Settings())
    assert reason_part in reasons[ident.id]


@pytest.mark.parametrize(
    "name", ["cloudwatch-agent", "ssm-agent-role", "build-agent", "payments-api", "agentur"]
)
def test_infrastructure_agents_and_plain_names_are_not_ai(name: str) -> None:
    assert agent_reasons(Inventory(identities=(role(name),)), Settings()) == {}


def test_classification_glob_and_agent_config_observation() -> None:
    helper = aws_user("release-helper", KEY)
    other = role("etl")
    inv = Inventory(
        identities=(helper, other),
        secrets=(secret(KEY, path=".cursor/mcp.json", key_id=KEY),),
        observations=(
            Observation(
                "agent-config", Location(".cursor/mcp.json", 1, None, "web-app"), "m", {"agent": True}
            ),
        ),
    )
    reasons = agent_reasons(inv, Settings(agent=("*:role/etl",), path="nhiscan.toml"))
    assert reasons[helper.id] == "credential used by agent config .cursor/mcp.json"
    assert reasons[other.id] == "classification.agent in nhiscan.toml"


def test_marking_is_visible_and_idempotent() -> None:
    inv = Inventory(identities=(role("bedrock-agent-orders"), role("etl")))
    marked = mark_agents(inv, Settings())
    attrs = {i.name: dict(i.attributes) for i in marked.identities}
    assert (
        attrs["bedrock-agent-orders"]["agent"] is True
        and "bedrock" in attrs["bedrock-agent-orders"]["agent_reason"]
    )
    assert attrs["etl"] == {}
    assert mark_agents(marked, Settings()) == marked


def test_privileged_agent_is_critical_read_only_agent_is_not() -> None:
    trust = (Trust("Service", "bedrock.amazonaws.com"),)
    report = scan(Inventory(identities=(role("assistant", trusts=trust, grants=MINT),)))
    (f,) = [f for f in report.findings if f.rule_id == "agent-identity-privileged"]
    assert f.severity == Severity.CRITICAL and "iam:CreateAccessKey" in f.message
    report = scan(Inventory(identities=(role("assistant", trusts=trust, grants=READ),)))
    assert not [f for f in report.findings if f.rule_id == "agent-identity-privileged"]


@pytest.mark.parametrize(
    ("grants", "level"),
    [
        ((Grant(actions=("*",)),), "admin"),
        ((Grant(role="roles/owner"),), "admin"),
        ((Grant(role="Contributor"),), "admin"),
        ((Grant(actions=("iam:*",)),), "escalation"),
        ((Grant(role="roles/iam.serviceAccountTokenCreator"),), "escalation"),
        ((Grant(actions=("iam:AttachRolePolicy",)),), "escalation"),
        ((Grant(actions=("*",), effect="Deny"),), "unknown"),
        ((Grant(actions=("*",), boundary=True),), "unknown"),
        (READ, "unknown"),
        ((), "none"),
    ],
)
def test_grants_fallback(grants: tuple[Grant, ...], level: str) -> None:
    assert grants_privilege(role("r", grants=grants)).level == level


def test_cloud_role_federated_from_an_agent_workload_is_an_agent() -> None:
    target = role("orders-runtime", grants=MINT)
    sa = Identity(
        id="k8s:prod/ai/langchain-worker",
        provider="kubernetes",
        kind="kubernetes-service-account",
        name="langchain-worker",
        scope="prod",
        attributes={"namespace": "ai", "annotations": {"eks.amazonaws.com/role-arn": target.id}},
    )
    reasons = agent_reasons(Inventory(identities=(target, sa)), Settings())
    assert reasons[target.id] == "federated from agent workload langchain-worker"
    report = scan(Inventory(identities=(target, sa)))
    assert [f.identity_id for f in report.findings if f.rule_id == "agent-identity-privileged"] == [target.id]
