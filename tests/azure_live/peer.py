"""A real HTTPS peer for live Azure tests: Microsoft Graph and ARM (Microsoft.Authorization) on 127.0.0.1.

A ``ThreadingHTTPServer`` with a ``trustme`` certificate (azure-core refuses bearer tokens over plain
http) answers what nhiscan asks for, the way the services do:

- Graph ``GET /v1.0/servicePrincipals`` and ``/v1.0/applications``: ``$select`` projects the
  objects (an unknown property is a 400, as Graph answers), ``$top`` (default 100, at most 999)
  sizes the page, ``@odata.nextLink`` carries an opaque ``$skiptoken``;
- ARM ``GET /subscriptions/{id}/providers/Microsoft.Authorization/roleAssignments`` (assignments
  of the subscription plus those inherited from management groups, ``nextLink`` paging,
  ``api-version`` required) and ``GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{id}``;
- ARM diagnostic settings: ``GET /subscriptions/{id}/providers/Microsoft.Insights/diagnosticSettings``
  and ``GET /providers/microsoft.aadiam/diagnosticSettings`` (``{"value": [...]}``, api-version
  required).

Every request is recorded (method, path, query) whatever its method, so a write would be seen;
non-GET methods get 405. Faults (status, ``Retry-After``, how many times) and ARM latency can be
injected. Data is seeded from the Azure CLI exports in ``fixtures/azure/contoso`` (the same files
an offline scan reads) or generated.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import trustme

from nhiscan.sources.azure import BUILTIN_ROLES
from nhiscan.sources.azure.live import ARM_ENDPOINT_ENV, GRAPH_ENDPOINT_ENV, TEST_TOKEN_ENV

TEST_TOKEN = "nhiscan-test-token"
GRAPH_DEFAULT_PAGE, GRAPH_MAX_PAGE = 100, 999
ARM_PAGE = 100
ASSIGNMENTS = re.compile(r"^/subscriptions/([^/]+)/providers/Microsoft\.Authorization/roleAssignments$", re.I)
DEFINITION = re.compile(r"^(.*)/providers/Microsoft\.Authorization/roleDefinitions/([^/]+)$", re.I)
GRAPH = re.compile(r"^/v1\.0/(servicePrincipals|applications)$")
ACTIVITY_SETTINGS = re.compile(
    r"^/subscriptions/([^/]+)/providers/Microsoft\.Insights/diagnosticSettings$", re.I
)
ENTRA_SETTINGS = re.compile(r"^/providers/microsoft\.aadiam/diagnosticSettings$", re.I)
CONTOSO_SUBSCRIPTION = "9c2b7e41-5d3a-4f6e-8b1c-0a9d8e7f6c5b"
_ARM_PROPERTY_FIELDS = (
    "roleDefinitionId",
    "principalId",
    "principalType",
    "scope",
    "condition",
    "conditionVersion",
    "createdOn",
    "updatedOn",
    "createdBy",
    "updatedBy",
    "delegatedManagedIdentityResourceId",
    "description",
)


@dataclass
class Fault:
    path: str  # a request path this fault applies to (prefix match)
    status: int
    code: str = "Error"
    message: str = ""
    retry_after: str | None = None
    times: int | None = None  # None: always; n: the first n matching requests only


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    authorization: str | None


@dataclass
class Tenant:
    service_principals: list[dict[str, Any]] = field(default_factory=list)
    applications: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # ARM form
    inherited: list[dict[str, Any]] = field(default_factory=list)  # management-group assignments
    role_names: dict[str, str] = field(default_factory=lambda: dict(BUILTIN_ROLES))  # guid -> name
    activity_settings: dict[str, list[dict[str, Any]]] = field(
        default_factory=dict
    )  # subscription -> settings
    entra_settings: list[dict[str, Any]] = field(default_factory=list)


def arm_form(flat: dict[str, Any]) -> dict[str, Any]:
    """One `az role assignment list` entry as ARM returns it (no roleDefinitionName/principalName)."""
    return {
        "id": flat["id"],
        "name": flat["name"],
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {k: flat.get(k) for k in _ARM_PROPERTY_FIELDS},
    }


def _items(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text())
    items: list[dict[str, Any]] = data["value"] if isinstance(data, dict) else data
    return items


class FakeAzure:
    def __init__(self, *, arm_latency: float = 0.0, arm_page: int = ARM_PAGE) -> None:
        self.arm_latency = arm_latency
        self.arm_page = arm_page
        self.graph_max_page = GRAPH_MAX_PAGE  # Graph may answer smaller pages than $top asks for
        self.tenant = Tenant()
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._ca = trustme.CA()
        self._cert = self._ca.issue_cert("127.0.0.1", "localhost")
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.ca_path = ""

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, ca_dir: Path) -> FakeAzure:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(ctx)
        ca_file = ca_dir / "azure-peer-ca.pem"
        self._ca.cert_pem.write_to_path(str(ca_file))
        self.ca_path = str(ca_file)
        server = _Server(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fake-azure", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def env(self) -> dict[str, str]:
        """What the CLI needs to talk to this peer (and only to it)."""
        return {
            GRAPH_ENDPOINT_ENV: self.endpoint,
            ARM_ENDPOINT_ENV: self.endpoint,
            TEST_TOKEN_ENV: TEST_TOKEN,
            "REQUESTS_CA_BUNDLE": self.ca_path,
            "NO_PROXY": "127.0.0.1",
            "no_proxy": "127.0.0.1",
        }

    def reset(self) -> None:
        with self._lock:
            self.tenant = Tenant()
            self.faults = []
            self.calls = []
            self.arm_latency = 0.0
            self.arm_page = ARM_PAGE
            self.graph_max_page = GRAPH_MAX_PAGE

    # -- data -----------------------------------------------------------------------------------

    def seed_export_dir(self, directory: Path) -> None:
        """The contoso exports: sp and app lists, flat assignments, management-group (ARM) ones."""
        t = self.tenant
        t.service_principals = _items(directory / "sp-list.json")
        t.applications = _items(directory / "app-list.json")
        for flat in _items(directory / "role-assignments.json"):
            sub = str(flat["scope"]).split("/")[2]
            t.subscriptions.setdefault(sub, []).append(arm_form(flat))
            guid = str(flat["roleDefinitionId"]).rsplit("/", 1)[-1].lower()
            t.role_names[guid] = str(flat["roleDefinitionName"])
        t.inherited = _items(directory / "role-assignments-mg-arm.json")
        for setting in _items(directory / "activity-log-diagnostic-settings.json"):
            sub = str(setting["id"]).split("/")[2].lower()
            t.activity_settings.setdefault(sub, []).append(setting)
        t.entra_settings = _items(directory / "entra-diagnostic-settings.json")

    def add_subscription(self, subscription: str, assignments: list[dict[str, Any]] | None = None) -> None:
        self.tenant.subscriptions[subscription] = list(assignments or [])

    def synthetic_tenant(self, service_principals: int, subscriptions: int = 1) -> list[str]:
        """N app service principals, each with an app registration holding one client secret, and
        one role assignment per principal spread over the subscriptions (ids returned)."""
        t = self.tenant
        owner = "0b6f5c2e-3a4d-4c8e-9f1a-2d7e6b5c4a39"
        subs = [str(uuid.UUID(int=0x5B5 << 96 | i)) for i in range(subscriptions)]
        for sub in subs:
            t.subscriptions.setdefault(sub, [])
        for i in range(service_principals):
            app_id = str(uuid.UUID(int=0xA99 << 96 | i))
            sp_id = str(uuid.UUID(int=0x5B0 << 96 | i))
            t.service_principals.append(
                {
                    "id": sp_id,
                    "appId": app_id,
                    "displayName": f"svc-{i:05d}",
                    "appDisplayName": f"svc-{i:05d}",
                    "servicePrincipalType": "Application",
                    "appOwnerOrganizationId": owner,
                    "accountEnabled": True,
                    "alternativeNames": [],
                    "tags": [],
                    "passwordCredentials": [],
                    "keyCredentials": [],
                    "servicePrincipalNames": [app_id],
                    "verifiedPublisher": {
                        "addedDateTime": None,
                        "displayName": None,
                        "verifiedPublisherId": None,
                    },
                }
            )
            t.applications.append(
                {
                    "id": str(uuid.UUID(int=0xAB0 << 96 | i)),
                    "appId": app_id,
                    "displayName": f"svc-{i:05d}",
                    "signInAudience": "AzureADMyOrg",
                    "createdDateTime": "2024-01-01T00:00:00Z",
                    "passwordCredentials": [
                        {
                            "keyId": str(uuid.UUID(int=0xC0 << 96 | i)),
                            "displayName": "ci",
                            "hint": "abc",
                            "secretText": None,
                            "customKeyIdentifier": None,
                            "startDateTime": "2024-01-01T00:00:00Z",
                            "endDateTime": "2026-01-01T00:00:00Z",
                        }
                    ],
                    "keyCredentials": [],
                    "web": {"redirectUris": []},
                }
            )
            if subs:
                sub = subs[i % len(subs)]
                guid = (
                    "b24988ac-6180-42a0-ab88-20f7382dd24c"
                    if i % 2
                    else "7f951dda-4ed3-4680-a7ca-43fe172d538d"
                )
                t.role_names.setdefault("7f951dda-4ed3-4680-a7ca-43fe172d538d", "AcrPull")
                name = str(uuid.UUID(int=0xF00 << 96 | i))
                t.subscriptions[sub].append(
                    arm_form(
                        {
                            "id": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/{name}",
                            "name": name,
                            "roleDefinitionId": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
                            "principalId": sp_id,
                            "principalType": "ServicePrincipal",
                            "scope": f"/subscriptions/{sub}",
                            "createdOn": "2024-01-01T00:00:00Z",
                        }
                    )
                )
        return subs

    # -- faults and record ------------------------------------------------------------------------

    def fault(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def deny(self, path: str, code: str = "AuthorizationFailed") -> None:
        self.fault(Fault(path, 403, code, "The client does not have authorization to perform this action."))

    def throttle(self, path: str, times: int, retry_after: str = "0.05") -> None:
        self.fault(Fault(path, 429, "TooManyRequests", "Rate limit exceeded.", retry_after, times))

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    def count(self) -> Counter[str]:
        """Requests per endpoint kind: servicePrincipals, applications, roleAssignments, roleDefinitions."""
        out: Counter[str] = Counter()
        with self._lock:
            calls = list(self.calls)
        for c in calls:
            if m := GRAPH.match(c.path):
                out[m.group(1)] += 1
            elif ASSIGNMENTS.match(c.path):
                out["roleAssignments"] += 1
            elif DEFINITION.match(c.path):
                out["roleDefinitions"] += 1
            elif ACTIVITY_SETTINGS.match(c.path):
                out["diagnosticSettings"] += 1
            elif ENTRA_SETTINGS.match(c.path):
                out["aadiamDiagnosticSettings"] += 1
            else:
                out[c.path] += 1
        return out

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if path.startswith(f.path) and (f.times is None or f.times > 0):
                    if f.times is not None:
                        f.times -= 1
                    return f
        return None

    # -- answers ----------------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        if method != "GET":
            return 405, {}, _error("MethodNotAllowed", f"{method} is not served here")
        if self.arm_latency and (
            ASSIGNMENTS.match(path) or DEFINITION.match(path) or ACTIVITY_SETTINGS.match(path)
        ):
            time.sleep(self.arm_latency)  # a round trip to ARM
        fault = self._take_fault(path)
        if fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return fault.status, headers, _error(fault.code, fault.message)
        if m := GRAPH.match(path):
            return self._graph(m.group(1), path, query)
        arm = (ASSIGNMENTS, DEFINITION, ACTIVITY_SETTINGS, ENTRA_SETTINGS)
        if "api-version" not in query and any(r.match(path) for r in arm):
            return (
                400,
                {},
                _error("MissingApiVersionParameter", "The api-version query parameter is required."),
            )
        if m := ASSIGNMENTS.match(path):
            return self._assignments(m.group(1).lower(), path, query)
        if m := ACTIVITY_SETTINGS.match(path):
            return 200, {}, {"value": self.tenant.activity_settings.get(m.group(1).lower(), [])}
        if ENTRA_SETTINGS.match(path):
            return 200, {}, {"value": self.tenant.entra_settings}
        if m := DEFINITION.match(path):
            guid = m.group(2).lower()
            name = self.tenant.role_names.get(guid)
            if name is None:
                return (
                    404,
                    {},
                    _error("RoleDefinitionDoesNotExist", "The specified role definition does not exist."),
                )
            return (
                200,
                {},
                {
                    "id": path,
                    "name": guid,
                    "type": "Microsoft.Authorization/roleDefinitions",
                    "properties": {
                        "roleName": name,
                        "type": "BuiltInRole",
                        "description": "",
                        "assignableScopes": ["/"],
                        "permissions": [{"actions": [], "notActions": []}],
                    },
                },
            )
        return 404, {}, _error("NotFound", f"no route for {path}")

    def _graph(self, collection: str, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        objects = (
            self.tenant.service_principals if collection == "servicePrincipals" else self.tenant.applications
        )
        known = {k for o in objects for k in o}
        selected = [s for s in query.get("$select", "").split(",") if s]
        unknown = [s for s in selected if s not in known]
        if unknown and objects:
            kind = "servicePrincipal" if collection == "servicePrincipals" else "application"
            return (
                400,
                {},
                _error(
                    "BadRequest",
                    f"Could not find a property named '{unknown[0]}' on type 'microsoft.graph.{kind}'.",
                ),
            )
        try:
            top = min(int(query.get("$top", GRAPH_DEFAULT_PAGE)), self.graph_max_page)
        except ValueError:
            return 400, {}, _error("BadRequest", "Invalid $top")
        start = _offset(query.get("$skiptoken"))
        expand = query.get("$expand")
        if expand and (collection != "applications" or expand != "federatedIdentityCredentials"):
            return 400, {}, _error("BadRequest", f"Could not find a navigation property named '{expand}'.")
        page = objects[start : start + top]
        values = [{k: o.get(k) for k in selected} if selected else dict(o) for o in page]
        if expand:
            for value, o in zip(values, page, strict=True):
                value[expand] = list(o.get(expand) or [])
        body: dict[str, Any] = {
            "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#{collection}",
            "value": values,
        }
        if start + top < len(objects):
            rest = {k: v for k, v in query.items() if k != "$skiptoken"}
            rest["$skiptoken"] = _token(start + top)
            body["@odata.nextLink"] = f"{self.endpoint}{path}?{urlencode(rest)}"
        return 200, {}, body

    def _assignments(self, sub: str, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        own = self.tenant.subscriptions.get(sub)
        if own is None:
            return 404, {}, _error("SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
        items = [*self.tenant.inherited, *own]
        start = _offset(query.get("$skipToken"))
        body: dict[str, Any] = {"value": items[start : start + self.arm_page]}
        if start + self.arm_page < len(items):
            rest = {k: v for k, v in query.items() if k != "$skipToken"}
            rest["$skipToken"] = _token(start + self.arm_page)
            body["nextLink"] = f"{self.endpoint}{path}?{urlencode(rest)}"
        return 200, {}, body


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(token: str | None) -> int:
    return int(base64.urlsafe_b64decode(token.encode()).decode().split(":")[1]) if token else 0


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when 8+ clients connect at once, and a dropped SYN
    # is retried only after a second: that would measure the kernel, not nhiscan's pool.
    request_queue_size = 128


def _handler(peer: FakeAzure) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            auth = self.headers.get("Authorization")
            with peer._lock:
                peer.calls.append(Call(self.command, parts.path, query, auth))
            if auth != f"Bearer {TEST_TOKEN}":
                status, headers, body = 401, {}, _error("InvalidAuthenticationToken", "no valid bearer token")
            else:
                status, headers, body = peer.answer(self.command, parts.path, query)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler


@contextmanager
def fake_azure(ca_dir: Path, **kwargs: Any) -> Iterator[FakeAzure]:
    peer = FakeAzure(**kwargs).start(ca_dir)
    try:
        yield peer
    finally:
        peer.stop()
