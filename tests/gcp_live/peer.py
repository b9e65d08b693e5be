"""A real gRPC peer for live GCP tests: google.iam.admin.v1.IAM and resourcemanager.v3.Projects.

An in-process ``grpc.server`` on 127.0.0.1 (port 0) that answers the RPCs nhiscan makes with the
library's own message types (``serialize``/``deserialize`` on the wire), pages ListServiceAccounts
through opaque page tokens like the real API, records every method it receives (implemented or not,
so a write call would be seen), and can inject per-call latency and faults (gRPC status codes).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.cloud.iam_admin_v1 import types as iam_types
from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.protobuf import json_format

from nhiscan.sources.gcp.live import (
    CRM_ENDPOINT_ENV,
    IAM_ENDPOINT_ENV,
    KEY_CONSTRAINTS,
    ORGPOLICY_ENDPOINT_ENV,
)

IAM_SERVICE = "google.iam.admin.v1.IAM"
CRM_SERVICE = "google.cloud.resourcemanager.v3.Projects"
ORGPOLICY_SERVICE = "google.cloud.orgpolicy.v2.OrgPolicy"


def secure_org_policies() -> dict[str, dict[str, Any]]:
    """What a project of an organization created with Google's secure defaults answers: key creation
    and upload off, keys expire after a day (constraint -> the spec of its effective policy)."""
    return {
        "iam.disableServiceAccountKeyCreation": {"rules": [{"enforce": True}]},
        "iam.disableServiceAccountKeyUpload": {"rules": [{"enforce": True}]},
        "iam.serviceAccountKeyExpiryHours": {"rules": [{"values": {"allowedValues": ["24h"]}}]},
    }


DEFAULT_PAGE, MAX_PAGE = 20, 100


@dataclass
class Project:
    project_id: str
    accounts: list[Any] = field(default_factory=list)  # iam_types.ServiceAccount
    keys: dict[str, list[Any]] = field(default_factory=dict)  # email -> [ServiceAccountKey]
    policy: Any = field(default_factory=policy_pb2.Policy)
    # constraint -> spec of its effective organization policy (a missing constraint: an empty spec)
    org_policies: dict[str, dict[str, Any]] = field(default_factory=secure_org_policies)
    _emails: tuple[tuple[int, int], frozenset[str]] | None = None

    def emails(self) -> frozenset[str]:
        """The accounts' e-mails, re-read only when the account list was replaced or resized."""
        stamp = (id(self.accounts), len(self.accounts))
        if self._emails is None or self._emails[0] != stamp:
            self._emails = (stamp, frozenset(a.email for a in self.accounts))
        return self._emails[1]


@dataclass
class Fault:
    code: grpc.StatusCode
    message: str
    times: int | None = None  # None: always; n: the first n calls only


@dataclass
class Call:
    method: str  # "google.iam.admin.v1.IAM/ListServiceAccounts"
    resource: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class FakeGcp:
    def __init__(self, *, latency: float = 0.0, max_workers: int = 128) -> None:
        self.projects: dict[str, Project] = {}
        self.faults: dict[tuple[str, str], Fault] = {}
        self.calls: list[Call] = []
        self.latency = latency
        self.inflight = 0
        self.max_inflight = 0  # the most calls the peer was answering at once
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers))
        self._server.add_generic_rpc_handlers((_Router(self),))
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> FakeGcp:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=None)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            IAM_ENDPOINT_ENV: self.endpoint,
            CRM_ENDPOINT_ENV: self.endpoint,
            ORGPOLICY_ENDPOINT_ENV: self.endpoint,
        }

    def reset(self) -> None:
        with self._lock:
            self.projects.clear()
            self.faults.clear()
            self.calls.clear()
            self.latency = 0.0
            self.max_inflight = 0

    # -- seeding -----------------------------------------------------------------------------------

    def add_project(self, project: Project) -> Project:
        self.projects[project.project_id] = project
        return project

    def seed_export_dir(self, directory: Path, project_id: str) -> Project:
        """A project holding exactly what the gcloud exports in ``directory`` show."""
        proj = Project(project_id)
        for path in sorted(directory.glob("*.json")):
            data = json.loads(path.read_text())
            if path.name == "service-accounts.json":
                proj.accounts = [
                    iam_types.ServiceAccount.from_json(json.dumps(x), ignore_unknown_fields=True)
                    for x in data
                ]
            elif path.name.startswith("keys-"):
                for x in data:
                    key = iam_types.ServiceAccountKey.from_json(json.dumps(x), ignore_unknown_fields=True)
                    email = x["name"].split("/serviceAccounts/", 1)[1].split("/keys/", 1)[0]
                    proj.keys.setdefault(email, []).append(key)
            elif path.name == "project-iam-policy.json":
                proj.policy = json_format.ParseDict(data, policy_pb2.Policy())
            elif path.name == "org-policies.json":  # `gcloud org-policies list` (v2) output
                proj.org_policies = {p["name"].rsplit("/policies/", 1)[1]: p.get("spec", {}) for p in data}
        return self.add_project(proj)

    def synthetic_project(self, project_id: str, accounts: int, *, keys_each: int = 1) -> Project:
        """``accounts`` user-managed accounts, each with ``keys_each`` old keys, one editor binding."""
        proj = Project(project_id)
        for n in range(accounts):
            email = f"svc-{n:05d}@{project_id}.iam.gserviceaccount.com"
            proj.accounts.append(
                iam_types.ServiceAccount(
                    name=f"projects/{project_id}/serviceAccounts/{email}",
                    project_id=project_id,
                    unique_id=str(100000000000000000000 + n),
                    email=email,
                    display_name=f"Service {n}",
                    oauth2_client_id=str(100000000000000000000 + n),
                )
            )
            proj.keys[email] = [
                iam_types.ServiceAccountKey(
                    name=f"projects/{project_id}/serviceAccounts/{email}/keys/{n:032x}{k:08x}",
                    valid_after_time="2024-01-01T00:00:00Z",
                    valid_before_time="9999-12-31T23:59:59Z",
                    key_algorithm=iam_types.ServiceAccountKeyAlgorithm.KEY_ALG_RSA_2048,
                    key_origin=iam_types.ServiceAccountKeyOrigin.GOOGLE_PROVIDED,
                    key_type=iam_types.ListServiceAccountKeysRequest.KeyType.USER_MANAGED,
                )
                for k in range(keys_each)
            ]
        proj.policy = json_format.ParseDict(
            {
                "version": 1,
                "etag": "BwYk7f3x2Qs=",
                "bindings": [
                    {
                        "role": "roles/editor",
                        "members": [f"serviceAccount:{a.email}" for a in proj.accounts[:3]],
                    }
                ],
            },
            policy_pb2.Policy(),
        )
        return self.add_project(proj)

    def fault(
        self, project: str, method: str, code: grpc.StatusCode, message: str, times: int | None = None
    ) -> None:
        """Answer ``method`` (e.g. "ListServiceAccounts") for ``project`` with an error status."""
        self.faults[(project, method)] = Fault(code, message, times)

    def deny(self, project: str, method: str, permission: str) -> None:
        resource = f"projects/{project}"
        self.fault(
            project,
            method,
            grpc.StatusCode.PERMISSION_DENIED,
            f"Permission '{permission}' denied on resource '{resource}' (or it may not exist).",
        )

    # -- what was received -------------------------------------------------------------------------

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    def count(self) -> Counter[str]:
        return Counter(m.rsplit("/", 1)[-1] for m in self.methods())

    # -- serving -----------------------------------------------------------------------------------

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _enter(self, project: str, method: str, context: grpc.ServicerContext) -> None:
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            fault = self.faults.get((project, method))
            if fault is not None and fault.times is not None:
                if fault.times <= 0:
                    fault = None
                else:
                    fault.times -= 1
        if fault is not None:
            context.abort(fault.code, fault.message)

    def _project(self, project: str, context: grpc.ServicerContext) -> Project:
        proj = self.projects.get(project)
        if proj is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Project '{project}' not found.")
        assert proj is not None
        return proj

    def list_service_accounts(self, request: Any, context: grpc.ServicerContext) -> Any:
        project = request.name.removeprefix("projects/")
        self._enter(project, "ListServiceAccounts", context)
        proj = self._project(project, context)
        size = request.page_size or DEFAULT_PAGE
        size = min(max(size, 1), MAX_PAGE)
        start = 0
        if request.page_token:
            try:
                owner, offset = base64.urlsafe_b64decode(request.page_token.encode()).decode().split("|")
                start = int(offset)
                if owner != project:
                    raise ValueError(owner)
            except ValueError:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Invalid page token.")
        page = proj.accounts[start : start + size]
        nxt = start + size
        token = (
            base64.urlsafe_b64encode(f"{project}|{nxt}".encode()).decode() if nxt < len(proj.accounts) else ""
        )
        return iam_types.ListServiceAccountsResponse(accounts=page, next_page_token=token)

    def list_service_account_keys(self, request: Any, context: grpc.ServicerContext) -> Any:
        parts = request.name.split("/")
        if len(parts) != 4 or parts[0] != "projects" or parts[2] != "serviceAccounts":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid service account name {request.name!r}.")
        project, email = parts[1], parts[3]
        self._enter(project, "ListServiceAccountKeys", context)
        proj = self._project(project, context)
        if email not in proj.emails():
            context.abort(grpc.StatusCode.NOT_FOUND, f"Service account {email} does not exist.")
        keys = proj.keys.get(email, [])
        wanted = set(request.key_types)
        if wanted:
            keys = [k for k in keys if k.key_type in wanted]
        return iam_types.ListServiceAccountKeysResponse(keys=keys)

    def get_iam_policy(self, request: Any, context: grpc.ServicerContext) -> Any:
        project = request.resource.removeprefix("projects/")
        self._enter(project, "GetIamPolicy", context)
        proj = self.projects.get(project)
        if proj is None:
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"The caller does not have permission on projects/{project} (or it may not exist).",
            )
        assert proj is not None
        policy = policy_pb2.Policy()
        policy.CopyFrom(proj.policy)
        if request.options.requested_policy_version < 3:
            # Like the real API: conditional bindings are not returned to a version 1 reader.
            keep = [b for b in policy.bindings if not b.HasField("condition")]
            del policy.bindings[:]
            policy.bindings.extend(keep)
            policy.version = 1
        return policy

    def get_effective_policy(self, request: Any, context: grpc.ServicerContext) -> Any:
        from google.cloud import orgpolicy_v2

        parts = request.name.split("/")
        if len(parts) != 4 or parts[0] != "projects" or parts[2] != "policies":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid policy name {request.name!r}.")
        project, constraint = parts[1], parts[3]
        self._enter(project, "GetEffectivePolicy", context)
        proj = self._project(project, context)
        if constraint not in KEY_CONSTRAINTS and constraint not in proj.org_policies:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Constraint constraints/{constraint} not found.")
        spec = proj.org_policies.get(constraint, {})
        return orgpolicy_v2.Policy.from_json(
            json.dumps({"name": request.name, "spec": spec}), ignore_unknown_fields=True
        )


class _Router(grpc.GenericRpcHandler):
    """Records every method received, then routes the ones the peer implements."""

    def __init__(self, peer: FakeGcp) -> None:
        self.peer = peer
        self.routes: dict[str, tuple[str, Callable[[bytes], Any], Callable[[Any], bytes], str]] = {
            f"/{IAM_SERVICE}/ListServiceAccounts": (
                "list_service_accounts",
                iam_types.ListServiceAccountsRequest.deserialize,
                iam_types.ListServiceAccountsResponse.serialize,
                "name",
            ),
            f"/{IAM_SERVICE}/ListServiceAccountKeys": (
                "list_service_account_keys",
                iam_types.ListServiceAccountKeysRequest.deserialize,
                iam_types.ListServiceAccountKeysResponse.serialize,
                "name",
            ),
            f"/{ORGPOLICY_SERVICE}/GetEffectivePolicy": (
                "get_effective_policy",
                _orgpolicy_types().GetEffectivePolicyRequest.deserialize,
                _orgpolicy_types().Policy.serialize,
                "name",
            ),
            f"/{CRM_SERVICE}/GetIamPolicy": (
                "get_iam_policy",
                iam_policy_pb2.GetIamPolicyRequest.FromString,
                policy_pb2.Policy.SerializeToString,
                "resource",
            ),
        }

    def service(self, handler_call_details: Any) -> grpc.RpcMethodHandler | None:
        method = str(handler_call_details.method)
        route = self.routes.get(method)
        if route is None:
            self.peer._record(Call(method.lstrip("/")))
            return None  # UNIMPLEMENTED, but on the record
        fn, deserialize, serialize, attr = route

        def handle(request: Any, context: grpc.ServicerContext) -> Any:
            detail: dict[str, Any] = {}
            if method.endswith("/GetIamPolicy"):
                detail["requested_policy_version"] = request.options.requested_policy_version
            if method.endswith("/ListServiceAccounts"):
                detail["page_size"] = request.page_size
                detail["page_token"] = request.page_token
            self.peer._record(Call(method.lstrip("/"), getattr(request, attr), detail))
            with self.peer._lock:
                self.peer.inflight += 1
                self.peer.max_inflight = max(self.peer.max_inflight, self.peer.inflight)
            try:
                return getattr(self.peer, fn)(request, context)
            finally:
                with self.peer._lock:
                    self.peer.inflight -= 1

        return grpc.unary_unary_rpc_method_handler(
            handle, request_deserializer=deserialize, response_serializer=serialize
        )


def _orgpolicy_types() -> Any:
    from google.cloud import orgpolicy_v2

    return orgpolicy_v2


@contextmanager
def fake_gcp(**kwargs: Any) -> Iterator[FakeGcp]:
    peer = FakeGcp(**kwargs).start()
    try:
        yield peer
    finally:
        peer.stop()
