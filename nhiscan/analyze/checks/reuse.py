"""Reuse and isolation: one secret in many repositories, one identity across prod and non-prod,
one cloud identity serving many workloads (OWASP NHI8, NHI9)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from nhiscan.analyze.checks import CheckContext, Hit, check
from nhiscan.analyze.checks.correlate import leaks
from nhiscan.analyze.checks.secrets import legacy_secret_key, secret_key
from nhiscan.analyze.correlate import Leak
from nhiscan.analyze.environment import (
    DEFAULT_NONPROD,
    DEFAULT_PROD,
    NONPROD,
    PROD,
    EnvClassifier,
    scope_aliases,
)
from nhiscan.analyze.workloads import TargetResolver, federations, trust_workloads
from nhiscan.model import Identity, Secret
from nhiscan.model.serialize import location_out
from nhiscan.sources.gcp import sa_project


def _repo_of(secret: Secret) -> str:
    return secret.location.repository or ""


@check("secret_reused_across_repositories")
def secret_reused_across_repositories(ctx: CheckContext) -> Iterator[Hit]:
    """Copies are grouped per credential when the secret is correlated (an access key id and its
    secret key are one credential), else per secret hash."""
    minimum = int(ctx.params.get("min_repositories", 2))
    owner_of: dict[int, Leak] = {}
    for leak in leaks(ctx):
        for s in leak.secrets:
            owner_of[id(s)] = leak
    groups: dict[str, list[Secret]] = defaultdict(list)
    for s in ctx.inventory.secrets:
        linked = owner_of.get(id(s))
        if linked is not None:
            cred_id = linked.credential.id if linked.credential else ""
            groups[f"credential\x1f{linked.identity.id}\x1f{cred_id}"].append(s)
        else:
            groups[f"hash\x1f{s.hash}"].append(s)
    for group in sorted(groups):
        copies = groups[group]
        repos = sorted({_repo_of(s) for s in copies})
        if len(repos) < minimum:
            continue
        # first copy by the repositories' stable names: it keys the fingerprint, which must not
        # depend on how the paths were spelled on the command line
        copies.sort(
            key=lambda s: (s.location.repository_name or _repo_of(s), s.location.path, s.location.line or 0)
        )
        owner = owner_of.get(id(copies[0]))
        if owner is not None:
            what = f"credential of {owner.identity.kind} {owner.identity.name}"
            key = owner.credential.id if owner.credential else "unidentified-credential"
            legacy = None
        else:
            what = f"{copies[0].type} {copies[0].redacted}"
            key = secret_key(copies[0])
            legacy = legacy_secret_key(copies[0])
        yield Hit(
            identity=owner.identity if owner else None,
            credential=owner.credential if owner else None,
            location=copies[0].location,
            message=(
                f"the same {what} appears in {len(repos)} repositories: "
                f"{', '.join(r or '(unnamed)' for r in repos)}"
            ),
            evidence={
                "repositories": repos,
                "locations": [location_out(s.location) for s in copies],
                "redacted": sorted({s.redacted for s in copies}),
                "secret_types": sorted({s.type for s in copies}),
            },
            key=key,
            legacy_key=legacy,
            location_in_fingerprint=False,
        )


@check("nhi_cross_environment")
def nhi_cross_environment(ctx: CheckContext) -> Iterator[Hit]:
    classifier = EnvClassifier(
        ctx.params.get("prod_markers") or DEFAULT_PROD,
        ctx.params.get("nonprod_markers") or DEFAULT_NONPROD,
        ctx.settings,
    )
    aliases = scope_aliases(ctx.inventory.identities)
    evidence: dict[str, dict[str, list[str]]] = defaultdict(lambda: {PROD: [], NONPROD: []})
    by_id: dict[str, Identity] = {i.id: i for i in ctx.inventory.identities}

    def note(ident: Identity, found: tuple[str, str] | None, what: str) -> None:
        if found:
            evidence[ident.id][found[0]].append(f"{what}: {found[1]}")

    for ident in ctx.inventory.identities:
        note(ident, classifier.of_identity(ident, aliases), "identity")
    for leak in leaks(ctx):
        for loc in leak.locations:
            note(
                leak.identity,
                classifier.of_location(loc),
                f"credential {leak.credential.id if leak.credential else '(unidentified)'} leaked",
            )
    resolver = TargetResolver(ctx.inventory.identities)
    for fed in federations(ctx.inventory.identities):
        target = resolver.resolve(fed.provider, fed.target)
        if target is not None:
            note(target, classifier.of_identity(fed.workload, aliases), f"workload {fed.workload.name}")
        else:
            # The target is not inventoried: its account / project still says where it lives.
            note(fed.workload, _target_env(classifier, fed.target, aliases), f"federated to {fed.target}")
    # Identities allowed to assume this one (trust principals that are themselves inventoried), and
    # the accounts a role trusts (their names or [environments] say which environment they are).
    for ident in ctx.inventory.identities:
        for t in ident.trusts:
            source = by_id.get(t.principal)
            if source is not None and source.id != ident.id:
                note(ident, classifier.of_identity(source, aliases), f"trusted principal {source.name}")
                continue
            account = _trusted_account(t.principal) if t.principal_type == "AWS" else None
            if account and account != ident.scope:
                note(ident, classifier.of_scope(account, aliases), f"trusted account {account}")
    # Where an identity holds grants: a project's or subscription's roles given to an identity of
    # another environment (provider-managed agents are bound everywhere by design).
    for ident in ctx.inventory.identities:
        if ident.provider not in ("gcp", "azure") or ident.attributes.get("managed_by_provider"):
            continue
        by_scope: dict[str, set[str]] = defaultdict(set)
        for g in ident.grants:
            if g.scope and not g.boundary:
                by_scope[g.scope].add(g.role or "?")
        for scope in sorted(by_scope):
            roles = sorted(by_scope[scope])
            note(ident, classifier.of_scope(scope, aliases), f"grant {', '.join(roles[:2])} on {scope}")
    for ident_id in sorted(evidence):
        envs = evidence[ident_id]
        if not (envs[PROD] and envs[NONPROD]):
            continue
        ident = by_id[ident_id]
        yield Hit(
            identity=ident,
            message=(
                f"{ident.kind} {ident.name} is used in production and non-production: "
                f"prod ({envs[PROD][0]}) and non-prod ({envs[NONPROD][0]})"
            ),
            evidence={"prod": sorted(set(envs[PROD])), "non_prod": sorted(set(envs[NONPROD]))},
        )


def _trusted_account(principal: str) -> str | None:
    if re.fullmatch(r"\d{12}", principal):
        return principal
    m = re.match(r"^arn:aws[\w-]*:(?:iam|sts)::(\d{12}):", principal)
    return m.group(1) if m else None


def _target_env(classifier: EnvClassifier, target: str, aliases: dict[str, str]) -> tuple[str, str] | None:
    """A federation target's environment: an AWS role's account, a GCP service account's project."""
    account = _trusted_account(target)
    if account:
        return classifier.of_scope(account, aliases)
    project = sa_project(target) if "@" in target else None
    return classifier.of_scope(f"projects/{project}", aliases) if project else None


@check("cloud_identity_shared_by_workloads")
def cloud_identity_shared_by_workloads(ctx: CheckContext) -> Iterator[Hit]:
    minimum = int(ctx.params.get("min_workloads", 3))
    resolver = TargetResolver(ctx.inventory.identities)
    fed_by_target: dict[tuple[str, str], list[str]] = defaultdict(list)
    target_ident: dict[tuple[str, str], Identity | None] = {}
    for fed in federations(ctx.inventory.identities):
        target = resolver.resolve(fed.provider, fed.target)
        key = ("id", target.id) if target else (fed.provider, fed.target)
        target_ident[key] = target
        ns = fed.workload.attributes.get("namespace") or ""
        fed_by_target[key].append(f"kubernetes {fed.workload.scope}/{ns}/{fed.workload.name}")
    for ident in ctx.inventory.identities:
        if ident.provider == "kubernetes" or ident.attributes.get("managed_by_provider"):
            continue  # provider-managed roles (service-linked, Google agents) are shared by design
        key = ("id", ident.id)
        target_ident.setdefault(key, ident)
        fed_by_target.setdefault(key, [])
    for key in sorted(fed_by_target):
        target_of = target_ident[key]
        k8s = sorted(set(fed_by_target[key]))
        trusted = trust_workloads(target_of) if target_of else []
        # A Kubernetes service account federated by annotation usually also appears as a trust
        # subject; count a workload once.
        subjects = {w.rsplit("sub=", 1)[-1] for w in trusted if "sub=" in w}
        extra = [w for w in trusted if "sub=" not in w]
        total = len(k8s) + len(extra) + len(subjects - {_sa_subject(w) for w in k8s})
        if total < minimum:
            continue
        name = f"{target_of.kind} {target_of.name}" if target_of else f"{key[0]} identity {key[1]}"
        yield Hit(
            identity=target_of,
            message=f"{name} serves {total} workloads (threshold {minimum}); a compromise of any one is a compromise of all",
            evidence={
                "kubernetes_service_accounts": k8s,
                "trusted_principals": trusted,
                "workloads": total,
                # the identity the workloads act as (an uninventoried target by the name they use)
                "target": target_of.id if target_of else key[1],
            },
            key="" if target_of else key[1],
        )


def _sa_subject(label: str) -> str:
    # "kubernetes cluster/ns/name" -> "system:serviceaccount:ns:name"
    path = label.split(" ", 1)[-1].split("/")
    return f"system:serviceaccount:{path[-2]}:{path[-1]}" if len(path) >= 2 else label
