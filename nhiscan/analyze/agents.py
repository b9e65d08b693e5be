"""Recognise identities that AI agents act as, and mark them in the inventory.

This is a normalization pass that runs once after collection (``core.collect_inventory``), before
analysis, because identities are frozen and the mark must be visible everywhere: in every check, in
``nhiscan inventory`` output and in the JSON result (identity ``attributes.agent = true`` with
``attributes.agent_reason``). Sources may already set ``attributes.agent``; the pass keeps it.

An identity is an agent identity when, in this order:
1. a ``[classification] agent = [...]`` glob of nhiscan.toml matches its id or name;
2. a tag says so (a key such as ``ai-agent``/``agent`` with a truthy value, or a value ``agent``/
   ``ai``/``ai-agent`` under a role/type/workload/purpose tag);
3. it is trusted by an AI service principal (``bedrock.amazonaws.com``);
4. its name carries an AI marker (bedrock, sagemaker, vertex, openai, anthropic, claude, copilot,
   langchain, mcp, llm, ...), or the bare word agent with no infrastructure-agent marker next to it
   (cloudwatch-agent, ssm-agent, datadog, build agents are not AI);
5. one of its credentials leaked in a file that the config scanner recognised as an AI-agent/MCP
   configuration (an Observation with ``attributes.agent`` true), or such an observation names it;
6. an agent Kubernetes service account federates into it (IRSA / Workload Identity annotations).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from nhiscan.analyze.correlate import correlate
from nhiscan.analyze.environment import tokens
from nhiscan.analyze.workloads import TargetResolver, federations
from nhiscan.config import Settings
from nhiscan.model import Identity, Inventory, Observation

AI_NAME_MARKERS = frozenset(
    {
        "agent",
        "agents",
        "agentic",
        "bedrock",
        "sagemaker",
        "vertex",
        "vertexai",
        "aiplatform",
        "openai",
        "anthropic",
        "claude",
        "copilot",
        "langchain",
        "langgraph",
        "llamaindex",
        "mcp",
        "llm",
        "gpt",
        "genai",
        "chatbot",
        "autogen",
        "crewai",
    }
)
GENERIC_AGENT_MARKERS = frozenset({"agent", "agents"})
# A bare "agent" next to these is infrastructure software, not AI.
INFRA_AGENT_MARKERS = frozenset(
    {
        "cloudwatch",
        "ssm",
        "datadog",
        "newrelic",
        "dynatrace",
        "splunk",
        "fluentbit",
        "fluentd",
        "otel",
        "jenkins",
        "buildkite",
        "teamcity",
        "octopus",
        "runner",
        "build",
        "monitoring",
        "backup",
        "inspector",
        "xray",
    }
)
AI_TRUSTED_SERVICES = ("bedrock.amazonaws.com",)
AGENT_TAG_KEYS = ("ai-agent", "ai_agent", "agent", "aiagent", "is-agent")
ROLE_TAG_KEYS = ("role", "type", "workload", "purpose", "kind", "category", "usage")
AGENT_TAG_VALUES = ("agent", "ai", "ai-agent", "ai_agent", "llm", "llm-agent")
_TRUE = ("true", "yes", "1", "y", "on")


def _tag_reason(tags: Mapping[str, str]) -> str | None:
    for key, value in tags.items():
        k, v = key.lower(), str(value).strip().lower()
        if k in AGENT_TAG_KEYS and v in _TRUE:
            return f"tag {key}={value}"
        if k in ROLE_TAG_KEYS and v in AGENT_TAG_VALUES:
            return f"tag {key}={value}"
    return None


def _name_reason(ident: Identity) -> str | None:
    toks = set(tokens(ident.name))
    ai = sorted(toks & AI_NAME_MARKERS)
    specific = [t for t in ai if t not in GENERIC_AGENT_MARKERS]
    if specific:
        return f"name {ident.name} ({specific[0]})"
    # A bare "agent" is AI only when nothing says it is an infrastructure agent.
    if ai and not toks & INFRA_AGENT_MARKERS:
        return f"name {ident.name} ({ai[0]})"
    return None


def _trust_reason(ident: Identity) -> str | None:
    for t in ident.trusts:
        if t.effect.lower() == "allow" and any(
            t.principal.lower().startswith(s) for s in AI_TRUSTED_SERVICES
        ):
            return f"trusted by {t.principal}"
    return None


def _observation_names(obs: Observation) -> set[str]:
    out: set[str] = set()
    for value in obs.attributes.values():
        if isinstance(value, str):
            out.add(value.lower())
        elif isinstance(value, list):
            out.update(str(v).lower() for v in value)
    return out


def _observation_reasons(inventory: Inventory) -> dict[str, str]:
    agent_obs = [o for o in inventory.observations if str(o.attributes.get("agent", "")).lower() in _TRUE]
    if not agent_obs:
        return {}
    out: dict[str, str] = {}
    files = {(o.location.repository or "", o.location.path): o for o in agent_obs}
    for leak in correlate(inventory):
        for loc in leak.locations:
            obs = files.get((loc.repository or "", loc.path))
            if obs is not None:
                out.setdefault(leak.identity.id, f"credential used by agent config {loc.path}")
    for obs in agent_obs:
        names = _observation_names(obs)
        for ident in inventory.identities:
            if ident.id.lower() in names or (ident.attributes.get("email") or "").lower() in names:
                out.setdefault(ident.id, f"named in agent config {obs.location.path}")
    return out


def agent_reasons(inventory: Inventory, settings: Settings) -> dict[str, str]:
    """identity id -> why it is taken for an AI agent."""
    from_configs = _observation_reasons(inventory)
    out: dict[str, str] = {}
    for ident in inventory.identities:
        reason: str | None = None
        if ident.attributes.get("agent") is True:
            reason = str(ident.attributes.get("agent_reason") or "marked by its source")
        elif settings.is_agent_override(ident.id, ident.name):
            reason = "classification.agent in " + (settings.path or "config")
        else:
            reason = (
                _tag_reason(ident.tags)
                or _trust_reason(ident)
                or _name_reason(ident)
                or from_configs.get(ident.id)
            )
        if reason:
            out[ident.id] = reason
    # A cloud identity that an agent workload federates into acts for that agent too.
    resolver = TargetResolver(inventory.identities)
    for fed in federations(inventory.identities):
        if fed.workload.id in out:
            target = resolver.resolve(fed.provider, fed.target)
            if target is not None and target.id not in out:
                out[target.id] = f"federated from agent workload {fed.workload.name}"
    return out


def mark_agents(inventory: Inventory, settings: Settings) -> Inventory:
    """The inventory with ``agent``/``agent_reason`` attributes set on agent identities."""
    reasons = agent_reasons(inventory, settings)
    if not reasons:
        return inventory
    marked: list[Identity] = []
    for ident in inventory.identities:
        reason = reasons.get(ident.id)
        if reason is None or (ident.attributes.get("agent") is True and "agent_reason" in ident.attributes):
            marked.append(ident)
            continue
        attrs: dict[str, Any] = {**ident.attributes, "agent": True, "agent_reason": reason}
        marked.append(dataclasses.replace(ident, attributes=attrs))
    return dataclasses.replace(inventory, identities=tuple(marked))


def is_agent(ident: Identity) -> bool:
    return ident.attributes.get("agent") is True


def agent_identities(identities: Iterable[Identity]) -> list[Identity]:
    return [i for i in identities if is_agent(i)]
