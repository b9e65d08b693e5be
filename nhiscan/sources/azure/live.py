"""Live Azure collection: read-only Microsoft Graph and ARM calls turned into the Azure CLI export shapes.

A scan of N subscriptions yields up to 2 + N RawDocuments (provider "azure", no scope: the tenant is
worked out by ``normalize`` exactly as for the offline exports):

- ``azure-sp-list`` (path ``azure:graph``): every page of Graph ``GET /v1.0/servicePrincipals``,
  the ``az ad sp list --all`` objects, limited with ``$select`` to the fields ``normalize`` reads;
- ``azure-app-list`` (path ``azure:graph``): every page of ``GET /v1.0/applications``, the
  ``az ad app list --all`` objects (client secrets carry only their ``hint``; ``secretText`` is
  never asked for, and is dropped if an answer ever held one), each with its
  ``federatedIdentityCredentials`` expanded into it (``$expand``, same call);
- ``azure-role-assignments`` (path ``azure:subscription/<id>``): every page of ARM
  ``roleAssignments`` for the subscription (``list_for_subscription``: assignments at, below and
  inherited into it), in the ARM form with each assignment's fields under ``properties``, plus the
  ``roleDefinitionName`` the Azure CLI adds. Role names known offline (``BUILTIN_ROLES``) cost
  nothing; every other role definition id is read once per scan (``role_definitions.get_by_id``).

- ``azure-diagnostic-settings`` (live_diagnostics.py): per subscription its Activity Log diagnostic
  settings (path ``azure:subscription/<id>``), and once Entra ID's (path ``azure:entra``).

Call budget: ceil(SPs / 999) + ceil(apps / 999) Graph calls, plus per subscription one ARM call per
page of assignments and one for its diagnostic settings, plus one call per distinct role definition
not named offline, plus one for Entra ID's diagnostic settings. Subscriptions are
collected concurrently (``SUBSCRIPTION_WORKERS``), next to the two Graph listings.

Read-only by construction: every pipeline ends in :class:`ReadOnlyPolicy`, which raises before
sending anything but a GET (so not even the ARM client's automatic resource-provider registration
can write). 429 and 5xx answers and dropped connections are retried by azure-core's ``RetryPolicy``
with exponential backoff, honouring ``Retry-After``. Each failure is one :class:`SourceError` naming
``azure:graph`` or ``azure:subscription/<id>``; everything else is still collected.

Credentials: ``DefaultAzureCredential`` (environment, workload identity, managed identity, Azure
CLI, ...; never an interactive browser). ``NHISCAN_AZURE_GRAPH_ENDPOINT`` /
``NHISCAN_AZURE_ARM_ENDPOINT`` point at sovereign clouds or a test server; ``NHISCAN_AZURE_TEST_TOKEN``
is a static bearer token honoured only when both endpoints are loopback IP addresses.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from nhiscan.config import ScanConfig
from nhiscan.model import SourceError
from nhiscan.sources.azure import BUILTIN_ROLES
from nhiscan.sources.azure.live_clients import (
    ARM_ENDPOINT_ENV,
    DEFAULT_ARM_ENDPOINT,
    DEFAULT_GRAPH_ENDPOINT,
    GRAPH_ENDPOINT_ENV,
    NO_CREDENTIALS,
    TEST_TOKEN_ENV,
    AzureCallError,
    CachingCredential,
    Clients,
    Endpoints,
    ReadOnlyPolicy,
    RetrySettings,
    StaticTokenCredential,
    WriteRefused,
    _body_error,
    _error_text,
    _first_line,
    check_credential,
    credential_for,
    describe_failure,
    endpoints_from,
    make_clients,
    rest_list,
    status_failure,
)
from nhiscan.sources.documents import RawDocument

__all__ = [
    "APP_FIELDS",
    "ARM_ENDPOINT_ENV",
    "CALLS",
    "DEFAULT_ARM_ENDPOINT",
    "DEFAULT_GRAPH_ENDPOINT",
    "GRAPH_ENDPOINT_ENV",
    "GRAPH_PAGE_SIZE",
    "NO_CREDENTIALS",
    "PROVIDER",
    "SP_FIELDS",
    "SUBSCRIPTION_WORKERS",
    "TEST_TOKEN_ENV",
    "AzureCallError",
    "CachingCredential",
    "Clients",
    "Endpoints",
    "ReadOnlyPolicy",
    "RetrySettings",
    "StaticTokenCredential",
    "WriteRefused",
    "_body_error",
    "check_credential",
    "collect_all",
    "collect_live",
    "credential_for",
    "describe_failure",
    "endpoints_from",
    "graph_list",
    "make_clients",
    "status_failure",
]

PROVIDER = "azure"
GRAPH_SOURCE = "azure:graph"
GRAPH_PAGE_SIZE = 999  # the largest $top Graph accepts for these collections
SUBSCRIPTION_WORKERS = 8


# Only the fields ``normalize`` reads (every one of them a v1.0 property: Graph answers 400 to others).
SP_FIELDS: tuple[str, ...] = (
    "id",
    "appId",
    "displayName",
    "appDisplayName",
    "servicePrincipalType",
    "appOwnerOrganizationId",
    "accountEnabled",
    "alternativeNames",
    "tags",
    "passwordCredentials",
    "keyCredentials",
    "verifiedPublisher",
)
APP_FIELDS: tuple[str, ...] = (
    "id",
    "appId",
    "displayName",
    "signInAudience",
    "createdDateTime",
    "passwordCredentials",
    "keyCredentials",
)
# Expanded into every application object (azure-app-secret-without-federation): its federated
# identity credentials, in the same call, so no per-application request is needed.
APP_EXPAND = "federatedIdentityCredentials"
# Credential fields never copied out of an answer (list calls return them empty; be sure anyway).
_SECRET_FIELDS = ("secretText", "key")

# Every call nhiscan makes, with the permission it needs. All of them are GETs.
CALLS: dict[str, str] = {
    "GET /v1.0/servicePrincipals": "Microsoft Graph Application.Read.All (or Directory.Read.All)",
    "GET /v1.0/applications": "Microsoft Graph Application.Read.All (or Directory.Read.All)",
    "GET /subscriptions/{id}/providers/Microsoft.Authorization/roleAssignments": (
        "Microsoft.Authorization/roleAssignments/read"
    ),
    "GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{id}": (
        "Microsoft.Authorization/roleDefinitions/read"
    ),
    "GET /subscriptions/{id}/providers/Microsoft.Insights/diagnosticSettings": (
        "Microsoft.Insights/diagnosticSettings/read"
    ),
    "GET /providers/microsoft.aadiam/diagnosticSettings": "microsoft.aadiam/diagnosticSettings/read",
}
_GRAPH_PERMISSION = "Microsoft Graph Application.Read.All or Directory.Read.All"
_ARM_ROLE = "Reader on the subscription"

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# -- Microsoft Graph -------------------------------------------------------------------------------


def _clean(item: dict[str, Any]) -> dict[str, Any]:
    for key in ("passwordCredentials", "keyCredentials"):
        entries = item.get(key)
        if isinstance(entries, list):
            item[key] = [
                {k: v for k, v in e.items() if k not in _SECRET_FIELDS} if isinstance(e, dict) else e
                for e in entries
            ]
    return item


def graph_list(
    clients: Clients,
    collection: str,
    fields: Sequence[str],
    *,
    page_size: int = GRAPH_PAGE_SIZE,
    on_page: Callable[[int], None] | None = None,
    expand: str | None = None,
) -> list[dict[str, Any]]:
    """Every object of a Graph collection, following ``@odata.nextLink`` (only to the same host)."""
    params = {"$select": ",".join(fields), "$top": str(page_size)}
    if expand:
        params["$expand"] = expand
    items = rest_list(
        clients.graph(),
        clients,
        clients.endpoints.graph,
        f"/v1.0/{collection}",
        params,
        link_key="@odata.nextLink",
        what=f"Graph {collection}",
        permission=_GRAPH_PERMISSION,
        on_page=on_page,
    )
    return [_clean(x) for x in items]


# -- ARM -------------------------------------------------------------------------------------------


def _role_guid(role_definition_id: str) -> str:
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


class RoleNames:
    """Role definition names, each unknown id read once per scan however many subscriptions use it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: dict[str, Future[str | None]] = {}

    def name(
        self, client: Any, role_definition_id: str, retries: int
    ) -> tuple[str | None, AzureCallError | None]:
        """(name, error); the error only for the caller that made the call (others get None)."""
        guid = _role_guid(role_definition_id)
        if guid in BUILTIN_ROLES:
            return BUILTIN_ROLES[guid], None
        with self._lock:
            pending = self._names.get(guid)
            mine = pending is None
            if pending is None:
                pending = self._names[guid] = Future()
        if not mine:
            return pending.result(), None
        try:
            definition = client.role_definitions.get_by_id(role_definition_id)
        except Exception as exc:
            failure = describe_failure(
                exc,
                f"role definition {guid}",
                "Microsoft.Authorization/roleDefinitions/read (Reader)",
                retries,
            )
            pending.set_result(None)
            if failure.category == "not-found":
                return None, None  # a deleted custom role: the assignment keeps the id
            return None, failure
        name = getattr(definition, "role_name", None)
        pending.set_result(str(name) if name else None)
        return pending.result(), None

    @property
    def fetched(self) -> int:
        return len(self._names)


@dataclass
class SubscriptionResult:
    subscription: str
    docs: list[RawDocument] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)


def collect_subscription(
    clients: Clients,
    subscription: str,
    roles: RoleNames,
    feedback: Any = None,
    diagnostics: bool = True,
) -> SubscriptionResult:
    label = f"azure:subscription/{subscription}"
    result = SubscriptionResult(subscription)
    task = feedback.task(f"{label} role assignments") if feedback is not None else None
    what = "role assignments"  # the source line names the subscription
    permission = f"Microsoft.Authorization/roleAssignments/read, e.g. {_ARM_ROLE}"
    client = clients.arm(subscription)
    try:
        assignments: list[dict[str, Any]] = []
        try:
            pager = client.role_assignments.list_for_subscription()
            for n, page in enumerate(pager.by_page(), start=1):
                assignments.extend(ra.serialize(keep_readonly=True) for ra in page)
                if feedback is not None:
                    feedback.update(task, description=f"{label} role assignments, page {n}")
        except Exception as exc:
            failure = describe_failure(exc, what, permission, clients.retry.total)
            if failure.category == "not-found":
                detail = _error_text(exc) or _first_line(exc)
                failure = AzureCallError("not-found", f"subscription not found ({detail}); check the id")
            result.errors.append(SourceError(label, failure.message))
            return result
        ids = sorted(
            {
                str(a.get("properties", {}).get("roleDefinitionId") or "")
                for a in assignments
                if isinstance(a.get("properties"), dict)
            }
            - {""}
        )
        if feedback is not None:
            feedback.update(task, description=f"{label} role definitions", total=len(ids))
        names: dict[str, str | None] = {}
        for rid in ids:
            name, error = roles.name(client, rid, clients.retry.total)
            names[rid] = name
            if error is not None:
                result.errors.append(SourceError(label, error.message))
            if feedback is not None:
                feedback.update(task, advance=1)
        for a in assignments:
            props = a.get("properties")
            if isinstance(props, dict):
                name = names.get(str(props.get("roleDefinitionId") or ""))
                if name:
                    props["roleDefinitionName"] = name
        result.docs.append(
            RawDocument(kind="azure-role-assignments", provider=PROVIDER, path=label, data=assignments)
        )
        if diagnostics:  # where the subscription's Activity Log goes (the logging posture)
            from nhiscan.sources.azure.live_diagnostics import subscription_settings

            try:
                result.docs.append(subscription_settings(clients, subscription))
            except AzureCallError as exc:
                result.errors.append(SourceError(label, exc.message))
        return result
    finally:
        client.close()
        if feedback is not None:
            feedback.done(task)


# -- the whole scan --------------------------------------------------------------------------------


@dataclass
class Collected:
    docs: list[RawDocument] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)


def collect_graph(clients: Clients, collection: str, feedback: Any = None) -> Collected:
    kind, fields = {
        "servicePrincipals": ("azure-sp-list", SP_FIELDS),
        "applications": ("azure-app-list", APP_FIELDS),
    }[collection]
    out = Collected()
    task = feedback.task(f"{GRAPH_SOURCE} {collection}") if feedback is not None else None

    def on_page(n: int) -> None:
        if feedback is not None:
            feedback.update(task, description=f"{GRAPH_SOURCE} {collection}, page {n}")

    try:
        expand = APP_EXPAND if collection == "applications" else None
        items = graph_list(clients, collection, fields, on_page=on_page, expand=expand)
    except AzureCallError as exc:
        out.errors.append(SourceError(GRAPH_SOURCE, exc.message))
        return out
    finally:
        if feedback is not None:
            feedback.done(task)
    out.docs.append(RawDocument(kind=kind, provider=PROVIDER, path=GRAPH_SOURCE, data=items))
    return out


def collect_all(
    clients: Clients,
    subscriptions: Sequence[str],
    *,
    workers: int = SUBSCRIPTION_WORKERS,
    graph: bool = True,
    diagnostics: bool = True,
    feedback: Any = None,
) -> Collected:
    """Graph (once) and every subscription, concurrently; results in a stable order."""
    roles = RoleNames()
    out = Collected()

    def guarded(source: str, fn: Callable[[], Collected | SubscriptionResult]) -> Collected:
        try:
            got = fn()
        except Exception as exc:  # a bug must cost one source and one line, not the scan
            return Collected(errors=[SourceError(source, f"collection failed: {type(exc).__name__}: {exc}")])
        return Collected(list(got.docs), list(got.errors))

    graph_jobs = ("servicePrincipals", "applications") if graph else ()
    with (
        ThreadPoolExecutor(max_workers=2, thread_name_prefix="nhiscan-azure-graph") as graph_pool,
        ThreadPoolExecutor(
            max_workers=max(1, min(workers, len(subscriptions) or 1)), thread_name_prefix="nhiscan-azure-arm"
        ) as pool,
    ):
        graph_futures = [
            graph_pool.submit(guarded, GRAPH_SOURCE, partial(collect_graph, clients, c, feedback))
            for c in graph_jobs
        ]
        sub_futures = [
            pool.submit(
                guarded,
                f"azure:subscription/{s}",
                partial(collect_subscription, clients, s, roles, feedback, diagnostics),
            )
            for s in subscriptions
        ]
        for fut in [*graph_futures, *sub_futures]:
            got = fut.result()
            out.docs.extend(got.docs)
            out.errors.extend(got.errors)
    # Entra ID's diagnostic settings (where sign-in logs go), once ARM has answered for a subscription
    # (an unreachable or refused ARM stays one line per source), or in a shard with none of its own.
    failed = {e.source for e in out.errors}
    answered = any(f"azure:subscription/{s}" not in failed for s in subscriptions)
    if diagnostics and graph and (answered or not subscriptions):
        from nhiscan.sources.azure.live_diagnostics import entra_settings

        docs, errors = entra_settings(clients)
        out.docs.extend(docs)
        out.errors.extend(errors)
    return out


def valid_subscription_id(subscription: str) -> bool:
    return bool(_GUID.match(subscription))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i.strip().lower() for i in items if i.strip()))


def collect_live(config: ScanConfig) -> tuple[list[RawDocument], list[SourceError]]:
    """Collect Graph and every ``--azure-subscription``; each failure is one error, the rest counts."""
    subscriptions = _unique(config.azure_subscriptions)
    errors = [
        SourceError(f"azure:subscription/{s}", "not a valid subscription id (expected a GUID)")
        for s in subscriptions
        if not valid_subscription_id(s)
    ]
    subscriptions = [s for s in subscriptions if valid_subscription_id(s)]
    if config.shard is not None:  # `inventory --shard I/N`: this job's subscriptions (nhiscan.shard)
        subscriptions = [s for s in subscriptions if config.shard.owns(s)]
    # A shard reads the tenant's service principals even without a subscription of its own: the
    # tenant (and its Entra ID logging) may be its part of the organization (docs/scale.md).
    if not subscriptions and config.shard is None:
        return [], errors
    try:
        clients = make_clients()
    except AzureCallError as exc:
        return [], [*errors, SourceError("azure", exc.message)]
    from nhiscan.sources.feedback import Feedback

    try:
        with Feedback(config.progress) as feedback:
            collected = collect_all(clients, subscriptions, feedback=feedback)
    finally:
        clients.close()
    return collected.docs, [*errors, *collected.errors]
