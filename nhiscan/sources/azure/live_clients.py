"""What every live Azure call goes through: endpoints, one credential, the read-only pipeline,
retries, failures as one sentence, and the one pager for Graph and ARM lists.

``live.py`` (Graph listings, role assignments, the whole scan) and ``live_diagnostics.py``
(diagnostic settings) build on this module; it imports the Azure SDKs only inside functions.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from nhiscan import __version__

GRAPH_ENDPOINT_ENV = "NHISCAN_AZURE_GRAPH_ENDPOINT"
ARM_ENDPOINT_ENV = "NHISCAN_AZURE_ARM_ENDPOINT"
TEST_TOKEN_ENV = "NHISCAN_AZURE_TEST_TOKEN"
DEFAULT_GRAPH_ENDPOINT = "https://graph.microsoft.com"
DEFAULT_ARM_ENDPOINT = "https://management.azure.com"


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


# -- paging ----------------------------------------------------------------------------------------


def rest_list(
    client: Any,
    clients: Clients,
    base: str,
    path: str,
    params: dict[str, str],
    *,
    link_key: str,
    what: str,
    permission: str,
    on_page: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Every object of a Graph or ARM list: ``GET base+path`` with ``params``, then each page's
    ``link_key`` (Graph ``@odata.nextLink``, ARM ``nextLink``; the link carries the query) until a
    page has none. A link to another host than ``base`` is refused, never followed."""
    from azure.core.rest import HttpRequest

    url: str | None = f"{base}{path}"
    query: dict[str, str] | None = params
    items: list[dict[str, Any]] = []
    pages = 0
    while url:
        if urlsplit(url).netloc != urlsplit(base).netloc:
            raise AzureCallError("failed", f"{what}: refusing to follow a nextLink to another host ({url})")
        try:
            response = client.send_request(HttpRequest("GET", url, params=query))
        except Exception as exc:
            raise describe_failure(exc, what, permission, clients.retry.total) from None
        if response.status_code != 200:
            raise status_failure(
                response.status_code, _body_error(response), what, permission, clients.retry.total
            )
        body = response.json()
        if not isinstance(body, dict):
            body = {}
        pages += 1
        items.extend(dict(x) for x in body.get("value") or () if isinstance(x, dict))
        if on_page is not None:
            on_page(pages)
        link = body.get(link_key)
        url = str(link) if link else None
        query = None
    return items
