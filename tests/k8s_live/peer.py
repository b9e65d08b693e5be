"""A Kubernetes API server peer for tests and benchmarks: HTTPS on 127.0.0.1 with a trustme CA.

It serves the six cluster-wide list endpoints nhiscan calls the way kube-apiserver does: typed list
answers (``ServiceAccountList`` ...) whose items have no ``kind``/``apiVersion``, ``limit`` and
``continue`` paging with ``metadata.continue`` (an opaque token), ``fieldSelector=type=...`` on
secrets, bearer-token authentication (401 without it), and ``Status`` bodies for errors. Every request
is recorded (method, path, query, user agent) so tests can assert what the client did on the wire.
Faults can be injected per resource: a 403, a sequence of statuses (429/500) before success, or a
delay (timeouts).
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme
import yaml

TOKEN = "nhiscan-test-bearer-token-1c0ffee"

# path -> (resource, list kind, apiVersion)
ENDPOINTS: dict[str, tuple[str, str, str]] = {
    "/api/v1/serviceaccounts": ("serviceaccounts", "ServiceAccountList", "v1"),
    "/api/v1/secrets": ("secrets", "SecretList", "v1"),
    "/apis/rbac.authorization.k8s.io/v1/roles": ("roles", "RoleList", "rbac.authorization.k8s.io/v1"),
    "/apis/rbac.authorization.k8s.io/v1/clusterroles": (
        "clusterroles",
        "ClusterRoleList",
        "rbac.authorization.k8s.io/v1",
    ),
    "/apis/rbac.authorization.k8s.io/v1/rolebindings": (
        "rolebindings",
        "RoleBindingList",
        "rbac.authorization.k8s.io/v1",
    ),
    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings": (
        "clusterrolebindings",
        "ClusterRoleBindingList",
        "rbac.authorization.k8s.io/v1",
    ),
}
KIND_TO_RESOURCE = {
    "ServiceAccount": "serviceaccounts",
    "Secret": "secrets",
    "Role": "roles",
    "ClusterRole": "clusterroles",
    "RoleBinding": "rolebindings",
    "ClusterRoleBinding": "clusterrolebindings",
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    user_agent: str

    @property
    def resource(self) -> str | None:
        found = ENDPOINTS.get(self.path)
        return found[0] if found else None


@dataclass
class FakeK8s:
    host: str = "127.0.0.1"
    port: int = 0
    ca_pem: bytes = b""
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    denied: set[str] = field(default_factory=set)
    faults: dict[str, list[int]] = field(default_factory=dict)  # resource -> statuses served first
    delays: dict[str, float] = field(default_factory=dict)  # resource -> seconds before answering
    latency: float = 0.0  # added to every request (benchmarks)
    retry_after: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- state -------------------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.objects = {r: [] for r, _, _ in ENDPOINTS.values()}
            self.requests.clear()
            self.denied.clear()
            self.faults.clear()
            self.delays.clear()
            self.latency = 0.0
            self.retry_after = None

    def add(self, obj: dict[str, Any]) -> None:
        resource = KIND_TO_RESOURCE[obj["kind"]]
        self.objects.setdefault(resource, []).append(obj)

    def seed_export(self, path: Path) -> None:
        """Every object of a kubectl ``List`` export, served as the API server would (data included)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        for item in data["items"]:
            if item.get("kind") in KIND_TO_RESOURCE:
                self.add(item)

    def synthetic(self, accounts: int, namespaces: int = 20) -> None:
        """A cluster of ``accounts`` service accounts: per namespace one Role; one RoleBinding per two
        accounts, one token Secret per ten, ten ClusterRoles and one ClusterRoleBinding per 100."""
        for n in range(namespaces):
            self.add(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "Role",
                    "metadata": {"name": "app", "namespace": f"ns-{n:03d}"},
                    "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
                }
            )
        for c in range(10):
            self.add(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRole",
                    "metadata": {"name": f"reader-{c}"},
                    "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
                }
            )
        for i in range(accounts):
            ns, name = f"ns-{i % namespaces:03d}", f"sa-{i:05d}"
            self.add(
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": name, "namespace": ns, "creationTimestamp": "2024-01-01T00:00:00Z"},
                }
            )
            subject = {"kind": "ServiceAccount", "name": name, "namespace": ns}
            if i % 2 == 0:
                self.add(
                    {
                        "apiVersion": "rbac.authorization.k8s.io/v1",
                        "kind": "RoleBinding",
                        "metadata": {"name": f"{name}-app", "namespace": ns},
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "app"},
                        "subjects": [subject],
                    }
                )
            if i % 10 == 0:
                self.add(
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "type": "kubernetes.io/service-account-token",
                        "metadata": {
                            "name": f"{name}-token",
                            "namespace": ns,
                            "annotations": {"kubernetes.io/service-account.name": name},
                            "creationTimestamp": "2024-01-01T00:00:00Z",
                        },
                        "data": {"token": base64.b64encode(f"token-{i}".encode()).decode()},
                    }
                )
            if i % 100 == 0:
                self.add(
                    {
                        "apiVersion": "rbac.authorization.k8s.io/v1",
                        "kind": "ClusterRoleBinding",
                        "metadata": {"name": f"{name}-reader"},
                        "roleRef": {
                            "apiGroup": "rbac.authorization.k8s.io",
                            "kind": "ClusterRole",
                            "name": f"reader-{i % 10}",
                        },
                        "subjects": [subject],
                    }
                )

    # -- what the client did -----------------------------------------------------------------------

    def methods(self) -> set[str]:
        return {r.method for r in self.requests}

    def count(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.requests:
            key = r.resource or r.path
            out[key] = out.get(key, 0) + 1
        return out

    # -- client configuration ----------------------------------------------------------------------

    @property
    def server(self) -> str:
        return f"https://{self.host}:{self.port}"

    def kubeconfig(self, path: Path, *, token: str = TOKEN, extra_server: str | None = None) -> Path:
        """A kubeconfig with context ``prod`` (this server, CA and bearer token) and ``staging``
        (``extra_server`` or a closed port on 127.0.0.1)."""
        ca = base64.b64encode(self.ca_pem).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "staging",
            "clusters": [
                {"name": "prod", "cluster": {"server": self.server, "certificate-authority-data": ca}},
                {
                    "name": "staging",
                    "cluster": {
                        "server": extra_server or "https://127.0.0.1:9",
                        "certificate-authority-data": ca,
                    },
                },
            ],
            "users": [{"name": "scanner", "user": {"token": token}}],
            "contexts": [
                {"name": "prod", "context": {"cluster": "prod", "user": "scanner"}},
                {"name": "staging", "context": {"cluster": "staging", "user": "scanner"}},
            ],
        }
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path

    # -- serving -----------------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        request = Request(method, parts.path, query, str(headers.get("User-Agent", "")))
        with self._lock:
            self.requests.append(request)
            latency = self.latency
            resource = request.resource
            delay = self.delays.get(resource or "", 0.0)
            queued = self.faults.get(resource or "")
            fault = queued.pop(0) if queued else None
        if latency or delay:
            time.sleep(latency + delay)
        if method != "GET":
            return _status(405, "MethodNotAllowed", f"the peer serves only GET, not {method}")
        scheme, _, credential = str(headers.get("Authorization", "")).partition(" ")
        if scheme.lower() != "bearer" or credential != TOKEN:  # the scheme is case-insensitive (RFC 7235)
            return _status(401, "Unauthorized", "Unauthorized")
        if resource is None:
            return _status(404, "NotFound", "the server could not find the requested resource")
        if resource in self.denied:
            return _status(
                403,
                "Forbidden",
                f'{resource} is forbidden: User "system:serviceaccount:nhiscan:scanner" cannot list '
                f'resource "{resource}" in API group "" at the cluster scope',
            )
        if fault is not None:
            extra = {"Retry-After": self.retry_after} if self.retry_after else {}
            code, body, _ = _status(
                fault, "TooManyRequests" if fault == 429 else "InternalError", "try again"
            )
            return code, body, extra
        _, list_kind, api_version = ENDPOINTS[parts.path]
        items = sorted(
            self.objects.get(resource, []),
            key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]),
        )
        selector = query.get("fieldSelector", "")
        if selector:
            key, _, value = selector.partition("=")
            if resource != "secrets" or key != "type":
                return _status(400, "BadRequest", f'field label not supported: "{key}"')
            items = [o for o in items if o.get("type") == value]
        start = int(base64.urlsafe_b64decode(query["continue"]).decode()) if query.get("continue") else 0
        limit = int(query.get("limit") or 0)
        end = start + limit if limit > 0 else len(items)
        page = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in items[start:end]]
        metadata: dict[str, Any] = {"resourceVersion": "4242"}
        if end < len(items):
            metadata["continue"] = base64.urlsafe_b64encode(str(end).encode()).decode()
            metadata["remainingItemCount"] = len(items) - end
        return 200, {"kind": list_kind, "apiVersion": api_version, "metadata": metadata, "items": page}, {}


def _status(code: int, reason: str, message: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return code, body, {}


def _handler(peer: FakeK8s) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body are two writes: without this, Nagle + delayed ACK cost 40 ms a request
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            code, body, extra = peer.answer(self.command, self.path, self.headers)
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
                self.wfile.write(data)  # fails when the client gave up (timeout tests)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def fake_k8s() -> Iterator[FakeK8s]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    peer = FakeK8s(ca_pem=ca.cert_pem.bytes())
    peer.reset()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(peer))
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    peer.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="fake-k8s", daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()
