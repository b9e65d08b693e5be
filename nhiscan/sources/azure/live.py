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

import ipaddress
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from nhiscan import __version__
from nhiscan.config import ScanConfig
from nhiscan.model import SourceError
from nhiscan.sources import RawDocument
from nhiscan.sources.azure import BUILTIN_ROLES

PROVIDER = "azure"
GRAPH_SOURCE = "azure:graph"
GRAPH_ENDPOINT_ENV = "NHISCAN_AZURE_GRAPH_ENDPOINT"
ARM_ENDPOINT_ENV = "NHISCAN_AZURE_ARM_ENDPOINT"
TEST_TOKEN_ENV = "NHISCAN_AZURE_TEST_TOKEN"
DEFAULT_GRAPH_ENDPOINT = "https://graph.microsoft.com"
DEFAULT_ARM_ENDPOINT = "https://management.azure.com"
GRAPH_PAGE_SIZE = 999  # the largest $top Graph accepts for these collections
SUBSCRIPTION_WORKERS = 8


@dataclass(frozen=True)
class RetrySettings:
    """azure-core RetryPolicy settings: ``total`` retries, sleeping ``backoff`` x 2^n (capped at
    ``backoff_max``) between them, or what ``Retry-After`` says when the answer has one."""

    total: int = 6
    backoff: float = 0.8
    backoff_max: int = 60

    def kwargs(self) -> dict[str, Any]:
        return {
            "retry_total": self.total,
            "retry_backoff_factor": self.backoff,
            "retry_backoff_max": self.backoff_max,
        }


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

NO_CREDENTIALS = (
    "no Azure credentials found: run `az login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and "
    "AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH) for a service principal, or run where a "
    "managed identity or workload identity is available"
)


class AzureCallError(Exception):
    """One failed call, as one sentence for the user; ``category`` decides what happens next."""

    def __init__(self, category: str, message: str) -> None:
        super().__init__(message)
        self.category = category  # denied | not-found | throttled | unavailable | credentials | failed
        self.message = message


class WriteRefused(RuntimeError):
    """A request that is not a GET reached the read-only policy. Never retried: not an AzureError."""


class ReadOnlyPolicy:
    """An azure-core HTTP policy (duck-typed: ``send`` and ``next``) that lets only GET through.

    It sits after the retry and authentication policies, next to the transport, so it also sees
    requests other policies make on their own (ARM's automatic resource-provider registration POST).
    """

    next: Any

    def send(self, request: Any) -> Any:
        method = str(request.http_request.method).upper()
        if method != "GET":
            raise WriteRefused(f"nhiscan is read-only: refused to send {method} {request.http_request.url}")
        return self.next.send(request)


# -- credentials -------------------------------------------------------------------------------


class StaticTokenCredential:
    """A fixed bearer token, for tests against a loopback server only (see :func:`credential_for`)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + 3600)


class CachingCredential:
    """One token per scope for the whole scan, shared by every client and thread.

    ``DefaultAzureCredential`` does not cache every kind of token (the Azure CLI one runs ``az``
    each time); each ARM client's policy would otherwise fetch its own.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, ...], Any] = {}

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        if kwargs.get("claims"):  # a claims challenge needs a fresh token
            return self._inner.get_token(*scopes, **kwargs)
        key = (*scopes, *sorted(f"{k}={v}" for k, v in kwargs.items()))  # e.g. tenant_id, enable_cae
        with self._lock:
            token = self._tokens.get(key)
            if token is None or token.expires_on - 300 < time.time():
                token = self._inner.get_token(*scopes, **kwargs)
                self._tokens[key] = token
            return token

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if callable(close):
            close()


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name (even "localhost") could resolve anywhere


@dataclass(frozen=True)
class Endpoints:
    graph: str = DEFAULT_GRAPH_ENDPOINT
    arm: str = DEFAULT_ARM_ENDPOINT

    @property
    def graph_scope(self) -> str:
        return self.graph + "/.default"

    @property
    def arm_scope(self) -> str:
        return self.arm + "/.default"

    @property
    def loopback(self) -> bool:
        return _is_loopback(self.graph) and _is_loopback(self.arm)


def _endpoint(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise AzureCallError("failed", f"{name} must be an https:// URL (got {value!r})")
    return f"https://{parts.netloc}"


def endpoints_from(env: Mapping[str, str]) -> Endpoints:
    return Endpoints(
        graph=_endpoint(env, GRAPH_ENDPOINT_ENV, DEFAULT_GRAPH_ENDPOINT),
        arm=_endpoint(env, ARM_ENDPOINT_ENV, DEFAULT_ARM_ENDPOINT),
    )


def credential_for(endpoints: Endpoints, env: Mapping[str, str]) -> Any:
    """DefaultAzureCredential, or the static test token when both endpoints are loopback addresses."""
    test_token = env.get(TEST_TOKEN_ENV, "")
    if test_token:
        if not endpoints.loopback:
            raise AzureCallError(
                "credentials",
                f"{TEST_TOKEN_ENV} is set but {GRAPH_ENDPOINT_ENV} and {ARM_ENDPOINT_ENV} are not both "
                "loopback addresses (https://127.0.0.1:PORT); refusing to send a test token to Azure, "
                f"unset {TEST_TOKEN_ENV}",
            )
        return StaticTokenCredential(test_token)
    from azure.identity import DefaultAzureCredential

    try:
        inner = DefaultAzureCredential(exclude_interactive_browser_credential=True)
    except ValueError as exc:  # e.g. AZURE_CLIENT_ID set but empty
        raise AzureCallError(
            "credentials",
            f"the Azure credential settings are not usable: {exc} (check the AZURE_* variables)",
        ) from None
    return CachingCredential(inner)


def check_credential(credential: Any, endpoints: Endpoints) -> None:
    """Fetch the Graph token once up front, so missing credentials are one line, not one per source."""
    try:
        credential.get_token(endpoints.graph_scope)
    except Exception as exc:
        raise _credential_failure(exc) from None


def _credential_failure(exc: BaseException) -> AzureCallError:
    from azure.identity import CredentialUnavailableError

    text = str(getattr(exc, "message", None) or exc)
    if isinstance(exc, CredentialUnavailableError):
        return AzureCallError("credentials", NO_CREDENTIALS)
    if "Attempted credentials:" in text:
        # DefaultAzureCredential's summary: one line per credential it tried.
        tried = [line.strip() for line in text.splitlines() if line.startswith("\t") or line.startswith("  ")]
        refused = [
            line
            for line in tried
            if ":" in line
            and not re.search(r"unavailable|not (?:found|installed)|could not be found|requires", line)
        ]
        if not refused:
            return AzureCallError("credentials", NO_CREDENTIALS)
        return AzureCallError(
            "credentials", f"the Azure credentials were refused ({refused[0]}); run `az login` again"
        )
    return AzureCallError(
        "credentials", f"the Azure credentials were refused ({_first_line(exc)}); run `az login` again"
    )


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- failures --------------------------------------------------------------------------------------


def describe_failure(exc: BaseException, what: str, permission: str, retries: int) -> AzureCallError:
    """An azure-core exception (or a final HTTP status) turned into one sentence for the user."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, AzureCallError):
        return exc
    if isinstance(exc, WriteRefused):
        return AzureCallError("failed", str(exc))
    status = getattr(exc, "status_code", None)
    if isinstance(exc, ClientAuthenticationError) and status is None:
        return _credential_failure(exc)  # the token itself could not be had
    if isinstance(exc, ServiceRequestError):
        return AzureCallError("unavailable", f"cannot reach the endpoint for {what}: {_reason(exc)}")
    if isinstance(exc, ServiceResponseError):
        return AzureCallError("unavailable", f"no answer for {what}: {_reason(exc)}")
    if isinstance(exc, HttpResponseError) and status is not None:
        return status_failure(int(status), _error_text(exc), what, permission, retries)
    return AzureCallError("failed", f"{what} failed: {type(exc).__name__}: {_first_line(exc)}")


def status_failure(status: int, detail: str, what: str, permission: str, retries: int) -> AzureCallError:
    suffix = f": {detail}" if detail else ""
    if status == 401:
        return AzureCallError(
            "credentials", f"the token was refused on {what} (HTTP 401){suffix}; run `az login` again"
        )
    if status == 403:
        return AzureCallError("denied", f"permission denied on {what} (HTTP 403; need {permission}){suffix}")
    if status == 404:
        return AzureCallError("not-found", f"not found: {what} (HTTP 404){suffix}")
    if status == 429:
        return AzureCallError(
            "throttled", f"throttled on {what} (HTTP 429), gave up after {retries} retries{suffix}"
        )
    if status >= 500:
        return AzureCallError(
            "unavailable", f"{what} unavailable (HTTP {status}), gave up after {retries} retries{suffix}"
        )
    return AzureCallError("failed", f"{what} failed (HTTP {status}){suffix}")


def _reason(exc: BaseException) -> str:
    text = _first_line(exc)
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return "its TLS certificate is not trusted (CERTIFICATE_VERIFY_FAILED; REQUESTS_CA_BUNDLE names a CA bundle)"
    for marker in (
        "Connection refused",
        "Name or service not known",
        "timed out",
    ):
        if marker in str(exc):
            return marker
    return text[:200]


def _error_text(exc: Any) -> str:
    """The ``error.code: error.message`` of a Graph/ARM error body, if any (never the whole body)."""
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None)
    if code or message:
        return ": ".join(str(p) for p in (code, message) if p)[:300]
    response = getattr(exc, "response", None)
    return _body_error(response) if response is not None else ""


def _body_error(response: Any) -> str:
    try:
        body = response.json()
    except Exception:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ""
    return ": ".join(str(error[k]) for k in ("code", "message") if error.get(k))[:300]


# -- clients ---------------------------------------------------------------------------------------


@dataclass
class Clients:
    """What every collector shares: endpoints, one credential, TLS verification and retry settings."""

    endpoints: Endpoints
    credential: Any
    verify: str | bool | None = None  # CA bundle path; None = default (honours REQUESTS_CA_BUNDLE)
    retry: RetrySettings = field(default_factory=RetrySettings)
    _graph: Any = None

    def _transport_kwargs(self) -> dict[str, Any]:
        return {} if self.verify is None else {"connection_verify": self.verify}

    def pipeline(self, base_url: str, scope: str) -> Any:
        """An azure-core pipeline for a REST API (Graph, or ARM beside the SDK's client): bearer
        token for ``scope``, retries, and the read-only policy that refuses anything but GET."""
        from azure.core import PipelineClient
        from azure.core.pipeline.policies import (
            BearerTokenCredentialPolicy,
            HeadersPolicy,
            RetryPolicy,
            UserAgentPolicy,
        )

        policies = [
            HeadersPolicy({"Accept": "application/json"}),
            UserAgentPolicy(sdk_moniker=f"nhiscan/{__version__}"),
            RetryPolicy(**self.retry.kwargs()),
            BearerTokenCredentialPolicy(self.credential, scope),
            ReadOnlyPolicy(),
        ]
        return PipelineClient(base_url=base_url, policies=policies, **self._transport_kwargs())

    def graph(self) -> Any:
        if self._graph is None:
            self._graph = self.pipeline(self.endpoints.graph, self.endpoints.graph_scope)
        return self._graph

    def arm(self, subscription: str) -> Any:
        from azure.mgmt.authorization import AuthorizationManagementClient

        return AuthorizationManagementClient(
            self.credential,
            subscription,
            base_url=self.endpoints.arm,
            credential_scopes=[self.endpoints.arm_scope],
            per_retry_policies=[ReadOnlyPolicy()],
            user_agent=f"nhiscan/{__version__}",
            **self.retry.kwargs(),
            **self._transport_kwargs(),
        )

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()
        close = getattr(self.credential, "close", None)
        if callable(close):
            close()


def make_clients(
    env: Mapping[str, str] | None = None,
    *,
    verify: str | bool | None = None,
    retry: RetrySettings | None = None,
) -> Clients:
    """Endpoints and a credential from the environment (raises AzureCallError with one clear line)."""
    env = dict(os.environ) if env is None else env
    # azure-identity logs every failed attempt at WARNING; nhiscan prints its own one line instead.
    # A NullHandler keeps Python's last-resort stderr handler away without touching levels anyone set.
    azure_log = logging.getLogger("azure")
    if not any(isinstance(h, logging.NullHandler) for h in azure_log.handlers):
        azure_log.addHandler(logging.NullHandler())
    endpoints = endpoints_from(env)
    credential = credential_for(endpoints, env)
    check_credential(credential, endpoints)
    return Clients(endpoints, credential, verify=verify, retry=retry or RetrySettings())


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
    from azure.core.rest import HttpRequest

    client = clients.graph()
    what = f"Graph {collection}"
    url: str | None = f"{clients.endpoints.graph}/v1.0/{collection}"
    first: dict[str, str] = {"$select": ",".join(fields), "$top": str(page_size)}
    if expand:
        first["$expand"] = expand
    params: dict[str, str] | None = first
    items: list[dict[str, Any]] = []
    pages = 0
    while url:
        if urlsplit(url).netloc != urlsplit(clients.endpoints.graph).netloc:
            raise AzureCallError("failed", f"{what}: refusing to follow a nextLink to another host ({url})")
        try:
            response = client.send_request(HttpRequest("GET", url, params=params))
        except Exception as exc:
            raise describe_failure(exc, what, _GRAPH_PERMISSION, clients.retry.total) from None
        if response.status_code != 200:
            raise status_failure(
                response.status_code, _body_error(response), what, _GRAPH_PERMISSION, clients.retry.total
            )
        body = response.json()
        pages += 1
        items.extend(_clean(dict(x)) for x in body.get("value") or () if isinstance(x, dict))
        if on_page is not None:
            on_page(pages)
        url = body.get("@odata.nextLink")
        params = None  # the next link carries the query
    return items


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
    # (an unreachable or refused ARM stays one line per source).
    failed = {e.source for e in out.errors}
    if diagnostics and graph and any(f"azure:subscription/{s}" not in failed for s in subscriptions):
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
    if not subscriptions:
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
