"""Is an IAM principal a person or a machine? Documented, ordered heuristics.

Roles are non-human (they are assumed by workloads, services and federated pipelines), except the
roles IAM Identity Center creates for permission sets (path ``/aws-reserved/sso.amazonaws.com/``,
name ``AWSReservedSSO_*``): people sign in through them. The root user is its own kind: it is
controlled by a person, and its access keys are reported by their own rule.

IAM users are decided by the first signal that applies, in this order (the reason is recorded in
``Identity.classification``):

1. ``[classification]`` in nhiscan.toml (``human`` / ``nonhuman`` globs on ARN or name).
2. Tags: a key such as ``type``, ``usage``, ``identity-type``, ``account-type``, ``purpose`` or
   ``kind`` whose value is machine-like (service, machine, bot, ci, automation, application,
   workload, system, non-human) or human-like (human, person, employee, user, contractor).
3. Path: a segment such as ``/service/``, ``/svc/``, ``/system/``, ``/machine/``, ``/bots/``,
   ``/automation/``, ``/ci/``, ``/apps/`` means machine; ``/human/``, ``/people/``, ``/employees/``,
   ``/staff/`` means human.
4. Name: machine words as a token or prefix/suffix (``svc-``, ``-svc``, bot, ci, cd, deploy,
   automation, terraform, jenkins, github, gitlab, pipeline, build, runner, backup, etl, sync,
   integration, monitoring, ...); a person-looking name (``first.last``, an e-mail) means human.
5. Credential pattern: access keys without a console password means machine; a console password
   with MFA and no access key means human.
6. Otherwise: console password means human (weak), no console password means machine (weak).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MACHINE_TAG_VALUES = frozenset(
    {
        "service",
        "service-account",
        "serviceaccount",
        "machine",
        "bot",
        "ci",
        "cicd",
        "ci/cd",
        "automation",
        "application",
        "app",
        "workload",
        "system",
        "non-human",
        "nonhuman",
        "nhi",
        "robot",
        "integration",
    }
)
HUMAN_TAG_VALUES = frozenset({"human", "person", "employee", "user", "contractor", "staff", "people"})
TYPE_TAG_KEYS = frozenset(
    {"type", "usage", "identitytype", "accounttype", "usertype", "purpose", "kind", "principaltype"}
)
MACHINE_PATH_SEGMENTS = frozenset(
    {"service", "services", "svc", "system", "machine", "machines", "bot", "bots", "automation", "ci"}
    | {"cicd", "apps", "app", "applications", "workloads", "service-accounts", "integrations"}
)
HUMAN_PATH_SEGMENTS = frozenset({"human", "humans", "people", "employees", "staff", "users-human"})
MACHINE_TOKENS = frozenset(
    {
        "svc",
        "service",
        "srv",
        "bot",
        "robot",
        "ci",
        "cd",
        "cicd",
        "deploy",
        "deployer",
        "deployment",
        "automation",
        "auto",
        "terraform",
        "tf",
        "jenkins",
        "github",
        "gitlab",
        "circleci",
        "travis",
        "bitbucket",
        "buildkite",
        "teamcity",
        "bamboo",
        "ansible",
        "packer",
        "pulumi",
        "pipeline",
        "build",
        "builder",
        "runner",
        "app",
        "api",
        "integration",
        "sync",
        "backup",
        "etl",
        "job",
        "cron",
        "batch",
        "monitor",
        "monitoring",
        "datadog",
        "newrelic",
        "splunk",
        "lambda",
        "k8s",
        "eks",
        "system",
        "machine",
        "agent",
        "scanner",
        "exporter",
        "uploader",
        "s3sync",
        "webhook",
        "worker",
        "daemon",
        "nhi",
    }
)
_TOKEN_SPLIT = re.compile(r"[-_.@+=,/]+|(?<=[a-z])(?=[A-Z])")
_PERSON = re.compile(r"^[A-Za-z][a-z'A-Z]+[._][A-Za-z][a-z'A-Z-]+(@[\w.-]+)?$|^[^@\s]+@[\w-]+\.[\w.]+$")


def name_tokens(name: str) -> list[str]:
    return [t.lower() for t in _TOKEN_SPLIT.split(name) if t]


def _norm_key(key: str) -> str:
    return re.sub(r"[^a-z]", "", key.lower())


def classify_user(
    *,
    name: str,
    path: str,
    tags: Mapping[str, str],
    has_password: bool,
    mfa_active: bool,
    active_keys: int,
) -> tuple[bool, str]:
    """(nonhuman, reason) for an IAM user, by the ordered heuristics of this module."""
    for key, value in tags.items():
        if _norm_key(key) in TYPE_TAG_KEYS:
            v = str(value).strip().lower()
            if v in MACHINE_TAG_VALUES:
                return True, f"tag {key}={value}"
            if v in HUMAN_TAG_VALUES:
                return False, f"tag {key}={value}"
    segments = {s.lower() for s in path.split("/") if s}
    machine_seg = sorted(segments & MACHINE_PATH_SEGMENTS)
    if machine_seg:
        return True, f"path {path} (segment {machine_seg[0]!r})"
    human_seg = sorted(segments & HUMAN_PATH_SEGMENTS)
    if human_seg:
        return False, f"path {path} (segment {human_seg[0]!r})"
    tokens = name_tokens(name)
    hits = [t for t in tokens if t in MACHINE_TOKENS or (len(t) > 3 and t.endswith("bot"))]
    if hits:
        return True, f"name {name!r} contains {hits[0]!r}"
    if _PERSON.match(name):
        return False, f"name {name!r} looks like a person's"
    if active_keys and not has_password:
        return True, "access keys and no console password"
    if has_password and mfa_active and not active_keys:
        return False, "console password with MFA and no access key"
    if has_password:
        return False, "console password (weak signal)"
    return True, "no console password (weak signal)"


def is_sso_role(path: str, name: str) -> bool:
    return path.startswith("/aws-reserved/sso.amazonaws.com/") or name.startswith("AWSReservedSSO_")
