"""Live GCP collection: read-only IAM and Resource Manager calls turned into the gcloud export shapes.

One project yields up to three RawDocuments (provider "gcp", scope = project id, path "gcp:<id>"),
the same kinds and field names as the offline exports, so ``normalize`` serves both:

- ``gcp-service-accounts``: every page of ``ListServiceAccounts`` (100 accounts a page, the API's
  largest), each account in the camelCase JSON form ``gcloud iam service-accounts list`` prints;
- ``gcp-service-account-keys``: ``ListServiceAccountKeys`` of every account (user- and
  system-managed keys; never any key material), the ``gcloud ... keys list`` form;
- ``gcp-iam-policy``: ``projects.getIamPolicy`` with policy version 3 (so conditional bindings come
  back whole), the ``gcloud projects get-iam-policy`` form;
- ``gcp-org-policies``: the effective organization policy (inheritance evaluated) of the three
  constraints that govern service-account keys, ``OrgPolicy.GetEffectivePolicy`` each, in the
  ``gcloud org-policies describe --effective`` form. This one is optional: a denial or a disabled
  API is a warning (the key-creation rule then does not judge the project), never an error.

Call budget for a project of N accounts: ceil(N / 100) + N + 1 calls, plus 3 for the policies. The IAM API has no bulk call for
keys (``ListServiceAccountKeys`` takes one account; there is no ``serviceAccounts/-`` form for it), so
that call is per account; those calls run in a small thread pool per project, and projects are
collected in their own pool. One gRPC channel per API is shared by all of them.

Every call is a List/Get call (see :data:`CALLS`); nothing here can change a project. Transient
failures (``ServiceUnavailable``, ``DeadlineExceeded``) are retried with the client library's own
bounded exponential backoff. Each project that fails is one :class:`SourceError` naming it; the other
projects are still collected.

Credentials are Application Default Credentials (``google.auth.default``). For tests and local
emulators only, ``NHISCAN_GCP_IAM_ENDPOINT`` / ``NHISCAN_GCP_CRM_ENDPOINT`` (``host:port``) point the
gRPC clients elsewhere; a loopback endpoint gets a plain-text channel and no credentials, any other
host TLS and ADC as usual.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from nhiscan.config import ScanConfig
from nhiscan.model import SourceError
from nhiscan.sources.documents import RawDocument

PROVIDER = "gcp"
PAGE_SIZE = 100  # the largest page ListServiceAccounts accepts
PROJECT_WORKERS = 8
KEY_WORKERS = 8
IAM_ENDPOINT_ENV = "NHISCAN_GCP_IAM_ENDPOINT"
CRM_ENDPOINT_ENV = "NHISCAN_GCP_CRM_ENDPOINT"
ORGPOLICY_ENDPOINT_ENV = "NHISCAN_GCP_ORGPOLICY_ENDPOINT"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
READ_ONLY_ROLE = "roles/iam.securityReviewer"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)

# Every RPC nhiscan makes, with the IAM permission it needs. All of them only read.
CALLS: dict[str, str] = {
    "google.iam.admin.v1.IAM/ListServiceAccounts": "iam.serviceAccounts.list",
    "google.iam.admin.v1.IAM/ListServiceAccountKeys": "iam.serviceAccountKeys.list",
    "google.cloud.resourcemanager.v3.Projects/GetIamPolicy": "resourcemanager.projects.getIamPolicy",
    "google.cloud.orgpolicy.v2.OrgPolicy/GetEffectivePolicy": "orgpolicy.policy.get",
}
_LIST_ACCOUNTS, _LIST_KEYS, _GET_POLICY, _GET_EFFECTIVE = CALLS
KEY_CONSTRAINTS = (
    "iam.disableServiceAccountKeyCreation",
    "iam.disableServiceAccountKeyUpload",
    "iam.serviceAccountKeyExpiryHours",
)
_API_NAMES = {
    "google.iam.admin.v1.IAM": "IAM API (iam.googleapis.com)",
    "google.cloud.resourcemanager.v3.Projects": "Cloud Resource Manager API (cloudresourcemanager.googleapis.com)",
    "google.cloud.orgpolicy.v2.OrgPolicy": "Organization Policy API (orgpolicy.googleapis.com)",
}

# Fields never copied out of an API answer (key material; list calls do not return it anyway).
_KEY_SECRET_FIELDS = ("privateKeyData", "publicKeyData", "privateKeyType")
_PROJECT_ID = re.compile(r"^(?:[a-z0-9][a-z0-9.-]*:)?[a-z0-9][a-z0-9-]{2,62}$")


class GcpCallError(Exception):
    """One failed call, as one sentence for the user; ``category`` decides what happens next."""

    def __init__(self, category: str, message: str) -> None:
        super().__init__(message)
        self.category = category  # denied | not-found | unavailable | credentials | failed
        self.message = message


def describe_failure(exc: BaseException, rpc: str) -> GcpCallError:
    """A client-library or auth exception turned into one clear sentence naming the permission."""
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    permission = CALLS[rpc]
    service = rpc.split("/", 1)[0]
    api = _API_NAMES[service].split(" (", 1)[0]
    if isinstance(exc, gexc.RetryError):
        cause = exc.cause
        detail = getattr(cause, "message", None) or str(cause or exc)
        state = "timed out" if isinstance(cause, gexc.DeadlineExceeded) else "unavailable"
        return GcpCallError("unavailable", f"{api} {state} ({_method(rpc)}), gave up after retries: {detail}")
    if isinstance(exc, auth_exc.DefaultCredentialsError):
        return GcpCallError("credentials", _NO_ADC)
    if isinstance(exc, auth_exc.RefreshError | gexc.Unauthenticated):
        return GcpCallError(
            "credentials",
            f"the Google credentials were refused ({_first_line(exc)}); "
            "run `gcloud auth application-default login` again",
        )
    if isinstance(exc, gexc.PermissionDenied):
        text = str(getattr(exc, "message", "") or exc)
        if "SERVICE_DISABLED" in text or "has not been used" in text or "is disabled" in text:
            return GcpCallError("denied", f"the {_API_NAMES[service]} is disabled: {_first_line(exc)}")
        return GcpCallError("denied", f"permission denied on {permission} (need {READ_ONLY_ROLE})")
    if isinstance(exc, gexc.NotFound):
        return GcpCallError("not-found", f"not found on {_method(rpc)}: {_first_line(exc)}")
    if isinstance(exc, gexc.ServiceUnavailable | gexc.DeadlineExceeded):
        state = "timed out" if isinstance(exc, gexc.DeadlineExceeded) else "unavailable"
        return GcpCallError("unavailable", f"{api} {state} ({_method(rpc)}): {_first_line(exc)}")
    if isinstance(exc, gexc.GoogleAPICallError):
        code = getattr(exc, "code", None)
        name = getattr(code, "name", None) or str(code or "error")
        return GcpCallError("failed", f"{_method(rpc)} failed ({name}): {_first_line(exc)}")
    return GcpCallError("failed", f"{_method(rpc)} failed: {type(exc).__name__}: {_first_line(exc)}")


_NO_ADC = (
    "no Google credentials found: run `gcloud auth application-default login`, "
    "or set GOOGLE_APPLICATION_CREDENTIALS to a credentials file"
)


def _method(rpc: str) -> str:
    return rpc.rsplit("/", 1)[-1]


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- clients ---------------------------------------------------------------------------------------


@dataclass
class Clients:
    """The API clients, shared by every project (the clients and their channels are thread-safe)."""

    iam: Any
    crm: Any
    orgpolicy: Any = None

    def close(self) -> None:
        for client in (self.iam, self.crm, self.orgpolicy):
            transport = getattr(client, "transport", None)
            if transport is not None:
                transport.close()


def _loopback(endpoint: str) -> bool:
    host = endpoint.rsplit(":", 1)[0] if ":" in endpoint else endpoint
    return host.strip("[]") in LOOPBACK_HOSTS


def make_clients(env: dict[str, str] | None = None) -> Clients:
    """IAM and Resource Manager gRPC clients with ADC (or a loopback test endpoint, without any)."""
    import google.auth
    from google.auth import exceptions as auth_exc
    from google.cloud import iam_admin_v1, orgpolicy_v2, resourcemanager_v3

    env = dict(os.environ) if env is None else env
    iam_ep = env.get(IAM_ENDPOINT_ENV, "").strip()
    crm_ep = env.get(CRM_ENDPOINT_ENV, "").strip()
    org_ep = env.get(ORGPOLICY_ENDPOINT_ENV, "").strip()
    credentials: Any = None
    if not all(ep and _loopback(ep) for ep in (iam_ep, crm_ep, org_ep)):
        try:
            credentials, _ = google.auth.default(scopes=list(SCOPES))
        except auth_exc.DefaultCredentialsError as exc:
            if os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
                # The variable names a file that is missing or unusable: say which, not "none found".
                raise GcpCallError(
                    "credentials", f"GOOGLE_APPLICATION_CREDENTIALS is not usable: {_first_line(exc)}"
                ) from None
            raise GcpCallError("credentials", _NO_ADC) from None

    def build(cls: Any, transport_cls: Any, endpoint: str) -> Any:
        if endpoint and _loopback(endpoint):
            import grpc

            return cls(transport=transport_cls(channel=grpc.insecure_channel(endpoint)))
        options = {"api_endpoint": endpoint} if endpoint else None
        return cls(credentials=credentials, client_options=options)

    from google.cloud.iam_admin_v1.services.iam.transports import IAMGrpcTransport
    from google.cloud.orgpolicy_v2.services.org_policy.transports import OrgPolicyGrpcTransport
    from google.cloud.resourcemanager_v3.services.projects.transports import ProjectsGrpcTransport

    iam = build(iam_admin_v1.IAMClient, IAMGrpcTransport, iam_ep)
    crm = build(resourcemanager_v3.ProjectsClient, ProjectsGrpcTransport, crm_ep)
    org = build(orgpolicy_v2.OrgPolicyClient, OrgPolicyGrpcTransport, org_ep)
    return Clients(iam=iam, crm=crm, orgpolicy=org)


# -- one project -----------------------------------------------------------------------------------


@dataclass
class ProjectResult:
    project: str
    docs: list[RawDocument] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)


def _message_dict(message: Any) -> dict[str, Any]:
    """A proto-plus message as the camelCase JSON dict gcloud prints (unset fields left out)."""
    out: dict[str, Any] = type(message).to_dict(
        message,
        use_integers_for_enums=False,
        preserving_proto_field_name=False,
        always_print_fields_with_no_presence=False,
    )
    return out


class ProjectCollector:
    """Collects one project through shared clients. ``retry``/``timeout`` default to the library's."""

    def __init__(
        self,
        clients: Clients,
        project: str,
        *,
        key_workers: int = KEY_WORKERS,
        page_size: int = PAGE_SIZE,
        retry: Any = None,
        timeout: float | None = None,
        feedback: Any = None,
        whole: bool = True,
    ) -> None:
        self.clients = clients
        # not whole: another shard's project (``--shard``), read for its service accounts and IAM
        # policy only (the bindings it holds on this shard's accounts, and where each account
        # belongs); its keys and organization policies are that shard's (docs/scale.md)
        self.whole = whole
        self.feedback = feedback  # progress display (nhiscan.sources.feedback.Feedback), or None
        self.project = project
        self.label = f"gcp:{project}"
        self.key_workers = max(1, key_workers)
        self.page_size = page_size
        self._call_options: dict[str, Any] = {}
        if retry is not None:
            self._call_options["retry"] = retry
        if timeout is not None:
            self._call_options["timeout"] = timeout
        self.result = ProjectResult(project)
        self._lock = threading.Lock()
        self._task: int | None = None

    def _doc(self, kind: str, data: Any) -> None:
        self.result.docs.append(
            RawDocument(kind=kind, provider=PROVIDER, path=self.label, data=data, scope=self.project)
        )

    def _error(self, message: str) -> None:
        self.result.errors.append(SourceError(self.label, message))

    def _status(self, text: str, **kw: Any) -> None:
        if self.feedback is not None:
            self.feedback.update(self._task, description=f"{self.label} {text}", **kw)

    def run(self) -> ProjectResult:
        self._task = self.feedback.task(f"{self.label} starting") if self.feedback is not None else None
        try:
            return self._run()
        finally:
            if self.feedback is not None:
                self.feedback.done(self._task)

    def _run(self) -> ProjectResult:
        try:
            accounts = self.service_accounts()
        except GcpCallError as exc:
            if exc.category == "not-found":
                self._error(f"project not found ({_method(_LIST_ACCOUNTS)}); check the project id")
            else:
                self._error(exc.message)
            return self.result  # one clear line per project; nothing else would work either
        self._doc("gcp-service-accounts", accounts)

        policy: dict[str, Any] | None = None
        policy_error: GcpCallError | None = None
        keys: list[dict[str, Any]] = []
        failures: dict[str, tuple[GcpCallError, int]] = {}
        dead = threading.Event()

        def keys_of(name: str) -> None:
            if dead.is_set():
                return
            try:
                found = self.keys(name)
            except GcpCallError as exc:
                if exc.category == "not-found":
                    return  # deleted since the listing
                with self._lock:
                    if exc.category in ("denied", "credentials"):
                        dead.set()  # the same answer awaits every other account
                    first, count = failures.get(exc.category, (exc, 0))
                    failures[exc.category] = (first, count + 1)
                return
            with self._lock:
                keys.extend(found)

        def get_policy() -> None:
            nonlocal policy, policy_error
            try:
                policy = self.iam_policy()
            except GcpCallError as exc:
                policy_error = exc

        org_policies: list[dict[str, Any]] | None = None
        org_error: GcpCallError | None = None

        def get_org_policies() -> None:
            nonlocal org_policies, org_error
            try:
                org_policies = self.effective_org_policies()
            except GcpCallError as exc:
                org_error = exc

        names = [str(a["name"]) for a in accounts if a.get("name")] if self.whole else []
        self._status("keys and IAM policy", total=len(names) + 2)
        with ThreadPoolExecutor(max_workers=self.key_workers, thread_name_prefix="nhiscan-gcp") as pool:
            futures = [pool.submit(get_policy)]
            futures += [pool.submit(get_org_policies)] if self.whole else []
            futures += [pool.submit(keys_of, name) for name in names]
            for fut in as_completed(futures):
                fut.result()
                self._status("keys and IAM policy", advance=1)

        for category, (failure, count) in failures.items():
            # A denial stops the other accounts' calls, so how many failed says nothing there.
            extra = "" if category in ("denied", "credentials") else f" ({count} of {len(accounts)} accounts)"
            self._error(failure.message + extra)
        if self.whole and not any(c in failures for c in ("denied", "credentials")):
            # Keys of every account that answered (an account that failed is an error above).
            keys.sort(key=lambda k: str(k.get("name")))
            self._doc("gcp-service-account-keys", keys)
        if policy_error is not None:
            self._error(policy_error.message)
        elif policy is not None:
            self._doc("gcp-iam-policy", policy)
        if org_error is not None:
            if self.feedback is not None:
                self.feedback.warn(
                    self.label,
                    f"{org_error.message}; organization policies not read, so gcp-sa-key-creation-allowed "
                    "does not judge this project",
                )
        elif org_policies is not None:
            self._doc("gcp-org-policies", {"policies": org_policies})
        return self.result

    # -- the calls ------------------------------------------------------------------------------

    def service_accounts(self) -> list[dict[str, Any]]:
        try:
            pager = self.clients.iam.list_service_accounts(
                request={"name": f"projects/{self.project}", "page_size": self.page_size},
                **self._call_options,
            )
            accounts: list[dict[str, Any]] = []
            for n, page in enumerate(pager.pages, start=1):
                self._status(f"service accounts, page {n}")
                accounts.extend(_message_dict(sa) for sa in page.accounts)
            return accounts
        except Exception as exc:
            raise describe_failure(exc, _LIST_ACCOUNTS) from None

    def keys(self, account_name: str) -> list[dict[str, Any]]:
        try:
            answer = self.clients.iam.list_service_account_keys(
                request={"name": account_name}, **self._call_options
            )
        except Exception as exc:
            raise describe_failure(exc, _LIST_KEYS) from None
        out = []
        for key in answer.keys:
            item = _message_dict(key)
            for secret in _KEY_SECRET_FIELDS:
                item.pop(secret, None)
            out.append(item)
        return out

    def iam_policy(self) -> dict[str, Any]:
        from google.iam.v1 import iam_policy_pb2, options_pb2
        from google.protobuf import json_format

        request = iam_policy_pb2.GetIamPolicyRequest(
            resource=f"projects/{self.project}",
            options=options_pb2.GetPolicyOptions(requested_policy_version=3),
        )
        try:
            policy = self.clients.crm.get_iam_policy(request=request, **self._call_options)
        except Exception as exc:
            raise describe_failure(exc, _GET_POLICY) from None
        data: dict[str, Any] = json_format.MessageToDict(policy)
        data.setdefault("bindings", [])
        return data

    def effective_org_policies(self) -> list[dict[str, Any]]:
        """The effective policy of each key constraint (what applies, inheritance evaluated)."""
        out = []
        for constraint in KEY_CONSTRAINTS:
            name = f"projects/{self.project}/policies/{constraint}"
            try:
                found = self.clients.orgpolicy.get_effective_policy(
                    request={"name": name}, **self._call_options
                )
            except Exception as exc:
                raise describe_failure(exc, _GET_EFFECTIVE) from None
            item = _message_dict(found)
            item["name"] = item.get("name") or name
            item.setdefault("spec", {})
            out.append(item)
        return out


# -- several projects -----------------------------------------------------------------------------


def valid_project_id(project: str) -> bool:
    return bool(_PROJECT_ID.match(project))


def collect_projects(
    clients: Clients,
    projects: Sequence[str],
    *,
    project_workers: int = PROJECT_WORKERS,
    collector: Callable[[Clients, str], ProjectCollector] | None = None,
) -> list[ProjectResult]:
    """Every project through one pool; results in the order the projects were given."""
    make = collector or (lambda c, p: ProjectCollector(c, p))

    def one(project: str) -> ProjectResult:
        try:
            return make(clients, project).run()
        except Exception as exc:  # a bug must cost one project and one line, not the scan
            result = ProjectResult(project)
            result.errors.append(
                SourceError(f"gcp:{project}", f"collection failed: {type(exc).__name__}: {exc}")
            )
            return result

    workers = max(1, min(project_workers, len(projects)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nhiscan-gcp-project") as pool:
        return list(pool.map(one, projects))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i.strip() for i in items if i.strip()))


def collect_live(config: ScanConfig) -> tuple[list[RawDocument], list[SourceError]]:
    """Collect every ``--gcp-project``; each failing project is one error, the others still count."""
    projects = _unique(config.gcp_projects)
    errors = [
        SourceError(f"gcp:{p}", "not a valid project id (expected e.g. acme-prod)")
        for p in projects
        if not valid_project_id(p)
    ]
    projects = [p for p in projects if valid_project_id(p)]
    shard = config.shard
    # `inventory --shard I/N`: this job's projects whole, every other project's service accounts and
    # IAM policy only (no keys, no organization policies): a binding in any project on a service
    # account of this shard is a grant this shard must see, and each account's project decides
    # which shard holds it (docs/scale.md)
    mine = set(projects) if shard is None else {p for p in projects if shard.owns(p)}
    if not projects:
        return [], errors
    try:
        clients = make_clients()
    except GcpCallError as exc:
        names = ",".join(projects)
        return [], [*errors, SourceError(f"gcp:{names}", exc.message)]
    from nhiscan.sources.feedback import Feedback

    try:
        with Feedback(config.progress) as feedback:
            results = collect_projects(
                clients,
                projects,
                collector=lambda c, p: ProjectCollector(c, p, feedback=feedback, whole=p in mine),
            )
    finally:
        clients.close()
    docs: list[RawDocument] = []
    for r in results:
        docs.extend(r.docs)
        errors.extend(r.errors)
    return docs, errors
