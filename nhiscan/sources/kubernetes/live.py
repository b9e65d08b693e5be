"""Live Kubernetes collection: read-only list calls turned into the ``kubectl get ... -o json`` shape.

One context yields one RawDocument of kind ``kubernetes-objects`` (provider "kubernetes", scope = the
context name, path ``kubernetes:<context>``): a kubectl-style ``{"kind": "List", "items": [...]}``
holding every ServiceAccount, Role, ClusterRole, RoleBinding, ClusterRoleBinding and
service-account-token Secret of the cluster, each item with its ``kind`` and ``apiVersion`` (list
answers leave them out per item; kubectl puts them back, and so does this). The offline normalizer
therefore serves both, line for line.

Calls: one ``GET`` per page (``limit`` = 500, then ``continue``) on six cluster-wide list endpoints
(:data:`RESOURCES`); Secrets are listed with ``fieldSelector=type=kubernetes.io/service-account-token``
so no other Secret ever leaves the API server. Nothing here can change a cluster, and the kubeconfig
is loaded with ``persist_config=False`` so nhiscan never writes it either.

Secret values are never kept: of a Secret only ``apiVersion``, ``kind``, ``type`` and its metadata
survive, and from every object's metadata ``managedFields`` and the
``kubectl.kubernetes.io/last-applied-configuration`` annotation are dropped (the latter holds a whole
copy of a Secret applied with ``kubectl apply``, data included).

Failures are one :class:`SourceError` each, naming the context: a 403 on one resource type costs that
type only (the rest is still collected); a rejected credential, an unreachable server, a TLS failure
or a server that keeps timing out or answering 5xx stops the context (what was collected so far is
kept). 429 and 5xx answers, timeouts and dropped connections are retried with exponential backoff
(``Retry-After`` honoured).

Configuration: the kubeconfig named by ``KUBECONFIG`` (several paths joined by ``:`` are merged) or
``~/.kube/config``, context ``--k8s-context``; the name ``in-cluster`` (when the kubeconfig has no
context of that name) uses the pod's service account instead. ``NHISCAN_K8S_TIMEOUT`` (seconds,
default 30) bounds connecting and each wait for data.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nhiscan.config import ScanConfig
from nhiscan.model import SourceError
from nhiscan.sources.documents import RawDocument

PROVIDER = "kubernetes"
KIND = "kubernetes-objects"
PAGE_LIMIT = 500  # kubectl's own chunk size
IN_CLUSTER = "in-cluster"
TIMEOUT_ENV = "NHISCAN_K8S_TIMEOUT"
DEFAULT_TIMEOUT = 30.0
ATTEMPTS = 4  # one call and three retries
BACKOFF = 0.5  # seconds before the first retry, doubling
MAX_RETRY_AFTER = 30.0
SA_TOKEN_TYPE = "kubernetes.io/service-account-token"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
INCLUSTER_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DOCS = "docs/kubernetes-live.md"


@dataclass(frozen=True)
class Resource:
    """One cluster-wide list endpoint: its plural name (what RBAC and errors call it) and client call."""

    name: str
    kind: str
    api_version: str
    api: str  # class in kubernetes.client
    method: str
    path: str  # the HTTP path the call GETs (documentation and tests)
    field_selector: str | None = None


RESOURCES: tuple[Resource, ...] = (
    Resource(
        "serviceaccounts",
        "ServiceAccount",
        "v1",
        "CoreV1Api",
        "list_service_account_for_all_namespaces",
        "/api/v1/serviceaccounts",
    ),
    Resource(
        "secrets",
        "Secret",
        "v1",
        "CoreV1Api",
        "list_secret_for_all_namespaces",
        "/api/v1/secrets",
        f"type={SA_TOKEN_TYPE}",
    ),
    Resource(
        "roles",
        "Role",
        "rbac.authorization.k8s.io/v1",
        "RbacAuthorizationV1Api",
        "list_role_for_all_namespaces",
        "/apis/rbac.authorization.k8s.io/v1/roles",
    ),
    Resource(
        "clusterroles",
        "ClusterRole",
        "rbac.authorization.k8s.io/v1",
        "RbacAuthorizationV1Api",
        "list_cluster_role",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    ),
    Resource(
        "rolebindings",
        "RoleBinding",
        "rbac.authorization.k8s.io/v1",
        "RbacAuthorizationV1Api",
        "list_role_binding_for_all_namespaces",
        "/apis/rbac.authorization.k8s.io/v1/rolebindings",
    ),
    Resource(
        "clusterrolebindings",
        "ClusterRoleBinding",
        "rbac.authorization.k8s.io/v1",
        "RbacAuthorizationV1Api",
        "list_cluster_role_binding",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    ),
)

# Failures after which the other resource types would fail the same way: stop the context.
FATAL = frozenset({"credentials", "unreachable", "tls", "timeout", "unavailable"})


class K8sCallError(Exception):
    """One failed step, as one sentence for the user; ``category`` decides what happens next."""

    def __init__(
        self, category: str, message: str, *, resource: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.resource = resource
        self.category = category  # config | credentials | denied | not-found | unreachable | tls |
        # timeout | unavailable | throttled | expired | failed
        self.message = message
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.category in ("timeout", "unavailable", "throttled")


# -- configuration ---------------------------------------------------------------------------------


def kubeconfig_paths(env: Mapping[str, str]) -> list[str]:
    """The kubeconfig files kubectl would read: every path in KUBECONFIG, else ~/.kube/config."""
    raw = env.get("KUBECONFIG", "")
    paths = [p for p in raw.split(os.pathsep) if p.strip()] if raw.strip() else []
    if not paths:
        home = env.get("HOME") or str(Path.home())
        paths = [str(Path(home) / ".kube" / "config")]
    return [str(Path(p).expanduser()) for p in paths]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def make_api_client(
    context: str,
    env: Mapping[str, str] | None = None,
    *,
    incluster_dir: Path = INCLUSTER_DIR,
) -> Any:
    """An ``ApiClient`` for the named kubeconfig context (or the pod's account for ``in-cluster``)."""
    from kubernetes import client
    from kubernetes.config import kube_config
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.incluster_config import InClusterConfigLoader

    env = dict(os.environ) if env is None else dict(env)
    wanted = kubeconfig_paths(env)
    existing = [p for p in wanted if Path(p).is_file()]
    # Configuration() hands out a copy of a process-wide default; build a fresh one instead.
    configuration = type.__call__(client.Configuration)
    contexts: list[str] = []
    if existing:
        try:
            found, _current = kube_config.list_kube_config_contexts(config_file=os.pathsep.join(existing))
            contexts = [str(c.get("name")) for c in found or () if isinstance(c, dict)]
        except (ConfigException, OSError, ValueError, TypeError, KeyError) as exc:
            raise K8sCallError(
                "config", f"kubeconfig {os.pathsep.join(existing)} is not usable: {_first_line(exc)}"
            ) from None
    if context == IN_CLUSTER and context not in contexts:
        try:
            InClusterConfigLoader(
                token_filename=str(incluster_dir / "token"),
                cert_filename=str(incluster_dir / "ca.crt"),
                environ=env,
            ).load_and_set(configuration)
        except ConfigException as exc:
            raise K8sCallError(
                "config", f"not running inside a Kubernetes pod with a service account: {_first_line(exc)}"
            ) from None
    else:
        if not existing:
            where = "KUBECONFIG=" + env["KUBECONFIG"] if env.get("KUBECONFIG", "").strip() else wanted[0]
            raise K8sCallError("config", f"no kubeconfig found ({where} does not exist)")
        if context not in contexts:
            known = ", ".join(sorted(contexts)) or "none"
            raise K8sCallError(
                "config",
                f"context {context!r} not found in kubeconfig {os.pathsep.join(existing)} "
                f"(contexts: {known})",
            )
        try:
            kube_config.load_kube_config(
                config_file=os.pathsep.join(existing),
                context=context,
                client_configuration=configuration,
                persist_config=False,  # never write the user's kubeconfig (token refreshes)
            )
        except (ConfigException, OSError, ValueError, TypeError, KeyError) as exc:
            raise K8sCallError(
                "config", f"cannot load context {context!r} from the kubeconfig: {_first_line(exc)}"
            ) from None
    # Retries are ours (they see the status and Retry-After); urllib3's would hide both.
    configuration.retries = False
    api_client = client.ApiClient(configuration=configuration)
    from nhiscan import __version__

    api_client.user_agent = f"nhiscan/{__version__}"
    return api_client


def request_timeout(env: Mapping[str, str]) -> float:
    raw = env.get(TIMEOUT_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


# -- answers ---------------------------------------------------------------------------------------


def _clean_metadata(md: Any) -> dict[str, Any]:
    out = dict(md) if isinstance(md, dict) else {}
    out.pop("managedFields", None)
    annotations = out.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        out["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    return out


def clean_item(item: dict[str, Any], resource: Resource) -> dict[str, Any]:
    """One list item in kubectl's shape (kind and apiVersion first), with nothing secret left in it."""
    body = {k: v for k, v in item.items() if k not in ("kind", "apiVersion", "metadata")}
    if resource.kind == "Secret":
        # Only what says which account the token belongs to and when it was made: never data,
        # stringData or anything else a Secret may carry.
        body = {"type": item.get("type")}
    return {
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": _clean_metadata(item.get("metadata")),
        **body,
    }


def _status_message(body: Any) -> str:
    """The ``message`` of a Kubernetes Status answer, if the body is one."""
    try:
        data = json.loads(body) if isinstance(body, str | bytes) else None
    except ValueError:
        return ""
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"]).strip().splitlines()[0] if data["message"].strip() else ""
    return ""


def describe_failure(exc: BaseException, resource: Resource, timeout: float, host: str = "") -> K8sCallError:
    """A client-library exception turned into one sentence naming the resource type."""
    failure = _describe(exc, resource, timeout, f"API server {host}" if host else "API server")
    failure.resource = resource.name
    return failure


def _describe(exc: BaseException, resource: Resource, timeout: float, server: str) -> K8sCallError:
    import urllib3
    from kubernetes.client.exceptions import ApiException

    what = f"listing {resource.name}"
    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        detail = _status_message(exc.body)
        suffix = f": {detail}" if detail else ""
        if status == 0:
            reason = str(exc.reason or "")
            if "SSL" in reason or "certificate" in reason.lower():
                first = next((ln for ln in reason.splitlines()[1:] if ln.strip()), reason)
                return K8sCallError(
                    "tls", f"TLS handshake with the {server} failed ({what}): {first.strip()}"
                )
            return K8sCallError("failed", f"{what} failed: {reason.strip() or 'no answer'}")
        if status == 401:
            return K8sCallError(
                "credentials",
                f"the {server} rejected the credentials of this context (401 {what}); "
                "refresh them (e.g. log in again) and retry",
            )
        if status == 403:
            return K8sCallError("denied", f"permission denied {what} (403){suffix}")
        if status == 404:
            return K8sCallError("not-found", f"the {server} has no {resource.path} (404 {what})")
        if status == 410:
            return K8sCallError("expired", f"the list continuation expired (410 {what})")
        if status == 429:
            retry_after = _retry_after(exc.headers)
            return K8sCallError(
                "throttled", f"throttled by the {server} (429 {what})", retry_after=retry_after
            )
        if status >= 500:
            return K8sCallError(
                "unavailable",
                f"{server} error {status} {what}{suffix}",
                retry_after=_retry_after(exc.headers),
            )
        return K8sCallError("failed", f"{what} failed ({status}){suffix}")
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return K8sCallError("unreachable", f"{server} unreachable ({what}): {_connection_reason(exc)}")
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        # NewConnectionError is a ConnectTimeoutError too (urllib3 2), so it is matched first
        return K8sCallError("unreachable", f"{server} unreachable ({what}): connection timed out")
    if isinstance(exc, urllib3.exceptions.SSLError):
        return K8sCallError("tls", f"TLS handshake with the {server} failed ({what}): {_first_line(exc)}")
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError | TimeoutError):
        return K8sCallError("timeout", f"{server} did not answer within {timeout:g} s ({what})")
    if isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError):
        return K8sCallError("unavailable", f"connection to the {server} failed ({what}): {_first_line(exc)}")
    if isinstance(exc, ValueError):
        return K8sCallError("failed", f"{what}: the {server}'s answer is not JSON")
    return K8sCallError("failed", f"{what} failed: {type(exc).__name__}: {_first_line(exc)}")


def _connection_reason(exc: BaseException) -> str:
    """``[Errno 111] Connection refused`` out of urllib3's "HTTPSConnection(host=..., port=...): Failed
    to establish a new connection: [Errno 111] Connection refused"."""
    text = _first_line(exc)
    found = re.search(r"\[Errno -?\d+\]\s*(.+)$", text)
    if found:
        return found.group(1)
    return text.split("): ", 1)[-1] if "): " in text else text


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("Retry-After") if headers is not None else None
        return min(float(value), MAX_RETRY_AFTER) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None


# -- one context -----------------------------------------------------------------------------------


@dataclass
class ContextResult:
    context: str
    docs: list[RawDocument] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    requests: int = 0


class ContextCollector:
    """Lists every resource type of one cluster through one ``ApiClient``."""

    def __init__(
        self,
        api_client: Any,
        context: str,
        *,
        page_limit: int = PAGE_LIMIT,
        timeout: float = DEFAULT_TIMEOUT,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
        feedback: Any = None,
    ) -> None:
        self.api_client = api_client
        self.context = context
        self.label = f"{PROVIDER}:{context}"
        self.page_limit = page_limit
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.sleep = sleep
        self.feedback = feedback
        self.result = ContextResult(context)
        self.host = str(getattr(getattr(api_client, "configuration", None), "host", "") or "")
        self._task: int | None = None

    def _status(self, text: str, advance: int = 0) -> None:
        if self.feedback is not None:
            self.feedback.update(self._task, description=f"{self.label} {text}", advance=advance)

    def run(self) -> ContextResult:
        if self.feedback is not None:
            self._task = self.feedback.task(f"{self.label} starting", total=len(RESOURCES))
        try:
            return self._run()
        finally:
            if self.feedback is not None:
                self.feedback.done(self._task)

    def _run(self) -> ContextResult:
        items: list[dict[str, Any]] = []
        denied: list[K8sCallError] = []
        other: list[K8sCallError] = []
        collected = 0
        for n, resource in enumerate(RESOURCES):
            try:
                items.extend(self.list_all(resource))
                collected += 1
            except K8sCallError as exc:
                if exc.category in FATAL:
                    missing = [r.name for r in RESOURCES[n:]]
                    tail = f"; not collected: {', '.join(missing)}" if collected else ""
                    self.result.errors.append(SourceError(self.label, exc.message + tail))
                    break
                (denied if exc.category == "denied" else other).append(exc)
            self._status("listed", advance=1)
        if denied:
            self.result.errors.append(SourceError(self.label, _denied_message(denied, collected)))
        self.result.errors.extend(SourceError(self.label, e.message) for e in other)
        if collected:
            self.result.docs.append(
                RawDocument(
                    kind=KIND,
                    provider=PROVIDER,
                    path=self.label,
                    data={
                        "apiVersion": "v1",
                        "kind": "List",
                        "metadata": {"resourceVersion": ""},
                        "items": items,
                    },
                    scope=self.context,
                )
            )
        return self.result

    def list_all(self, resource: Resource) -> list[dict[str, Any]]:
        """Every item of one resource type, page by page; a 410 on a continuation restarts the list once."""
        restarted = False
        while True:
            try:
                return self._pages(resource)
            except K8sCallError as exc:
                if exc.category != "expired" or restarted:
                    raise
                restarted = True

    def _pages(self, resource: Resource) -> list[dict[str, Any]]:
        from kubernetes import client

        call = getattr(getattr(client, resource.api)(self.api_client), resource.method)
        items: list[dict[str, Any]] = []
        token: str | None = None
        page = 0
        while True:
            page += 1
            self._status(f"{resource.name}, page {page}")
            kwargs: dict[str, Any] = {
                "limit": self.page_limit,
                "_preload_content": False,
                # (connect, read): kubernetes < 37 silently ignores a float here
                "_request_timeout": (self.timeout, self.timeout),
            }
            if token:
                kwargs["_continue"] = token
            if resource.field_selector:
                kwargs["field_selector"] = resource.field_selector
            body = self._call(call, kwargs, resource)
            for item in body.get("items") or ():
                if not isinstance(item, dict):
                    continue
                if resource.kind == "Secret" and item.get("type") != SA_TOKEN_TYPE:
                    continue  # a server that ignored the field selector: keep no other Secret
                items.append(clean_item(item, resource))
            metadata = body.get("metadata")
            token = metadata.get("continue") if isinstance(metadata, dict) else None
            if not token:
                return items

    def _call(self, call: Callable[..., Any], kwargs: dict[str, Any], resource: Resource) -> dict[str, Any]:
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            self.result.requests += 1
            try:
                response = call(**kwargs)
                data = response.data
                body = json.loads(data)
                if not isinstance(body, dict):
                    raise ValueError("not a JSON object")
                return body
            except Exception as exc:
                failure = describe_failure(exc, resource, self.timeout, self.host)
            if not failure.retryable or attempt == self.attempts:
                if failure.retryable:
                    failure.message += f", gave up after {self.attempts} attempts"
                raise failure
            self.sleep(failure.retry_after if failure.retry_after is not None else delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover


def _denied_message(denied: list[K8sCallError], collected: int) -> str:
    """All 403s of a context as one line (the first server message is enough to see who was denied)."""
    names = ", ".join(e.resource for e in denied)
    base = denied[0].message if len(denied) == 1 else f"permission denied listing {names} (403)"
    rest = "the other resources were collected" if collected else "nothing was collected"
    return f"{base}; {rest} (grant get/list on {names} cluster-wide: see {DOCS})"


def collect_context(
    context: str,
    env: Mapping[str, str] | None = None,
    *,
    feedback: Any = None,
    **collector_options: Any,
) -> ContextResult:
    """One context, end to end: configuration, the list calls, one result (never raises)."""
    env = dict(os.environ) if env is None else dict(env)
    label = f"{PROVIDER}:{context}"
    try:
        api_client = make_api_client(context, env)
    except K8sCallError as exc:
        result = ContextResult(context)
        result.errors.append(SourceError(label, exc.message))
        return result
    collector_options.setdefault("timeout", request_timeout(env))
    try:
        return ContextCollector(api_client, context, feedback=feedback, **collector_options).run()
    except Exception as exc:  # a bug must cost this source and one line, not the scan
        result = ContextResult(context)
        result.errors.append(SourceError(label, f"collection failed: {type(exc).__name__}: {exc}"))
        return result
    finally:
        api_client.close()


def collect_live(config: ScanConfig) -> tuple[list[RawDocument], list[SourceError]]:
    """Collect ``--k8s-context``: one document, or one error line per failure naming the context."""
    context = (config.k8s_context or "").strip()
    if not context:
        return [], [SourceError(f"{PROVIDER}:", "--k8s-context needs a context name")]
    from nhiscan.sources.feedback import Feedback

    with Feedback(config.progress) as feedback:
        result = collect_context(context, feedback=feedback)
    return result.docs, result.errors
