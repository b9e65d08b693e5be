"""A moto server on 127.0.0.1 that records every AWS operation it answers (the wire, not our code).

Shared by the AWS live tests and benchmarks/aws_live_bench.py. IAM and STS speak the query protocol
(``Action=`` in the form body); Organizations speaks JSON with an ``X-Amz-Target`` header; the
account comes from the access key id in the SigV4 ``Authorization`` header.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")
_KEY = re.compile(r"Credential=([^/]+)/")


@dataclass(frozen=True)
class Fault:
    """Answer matching requests with an AWS error (query-protocol XML), as AWS itself would."""

    service: str
    op: str
    code: str
    status: int = 403
    when: Callable[[dict[str, list[str]]], bool] | None = None
    body: str | None = None  # a full response body instead of an error

    def matches(self, service: str, op: str, form: dict[str, list[str]]) -> bool:
        return service == self.service and op == self.op and (self.when is None or self.when(form))

    def response(self) -> tuple[str, bytes, str]:
        if self.body is not None:
            return f"{self.status} OK", self.body.encode(), "text/xml"
        if self.service in ("organizations", "cloudtrail"):  # JSON protocol
            payload = {"__type": self.code, "message": "injected by the test peer"}
            return f"{self.status} Error", json.dumps(payload).encode(), "application/x-amz-json-1.1"
        xml = (
            '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
            f"<Code>{self.code}</Code><Message>injected by the test peer</Message></Error>"
            "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
        )
        return f"{self.status} Error", xml.encode(), "text/xml"


@dataclass
class Recorder:
    """WSGI middleware: logs (service, operation, access key id), can add latency and inject faults."""

    app: Callable[..., Any]
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    latency: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        svc_m = _SERVICE.search(auth)
        key_m = _KEY.search(auth)
        service = svc_m.group(1) if svc_m else ""
        op = ""
        form: dict[str, list[str]] = {}
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            op = target.rsplit(".", 1)[-1]
        elif service:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            form = parse_qs(body.decode("utf-8", errors="replace"))
            op = (form.get("Action") or [""])[0]
            if not op:
                op = (parse_qs(environ.get("QUERY_STRING", "")).get("Action") or [""])[0]
        if service:
            with self.lock:
                self.calls.append((service, op, key_m.group(1) if key_m else ""))
            if self.latency:
                time.sleep(self.latency)
            for fault in list(self.faults):
                if fault.matches(service, op, form):
                    status, payload, ctype = fault.response()
                    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(payload)))])
                    return [payload]
        return self.app(environ, start_response)

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.faults.clear()

    def ops(self) -> list[str]:
        with self.lock:
            return [f"{s}:{o}" for s, o, _ in self.calls]

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(f"{s}:{o}" for s, o, _ in self.calls)


@dataclass
class MotoPeer:
    url: str
    recorder: Recorder

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "moto-test-secret-not-real",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_MAX_ATTEMPTS": "2",
        }

    def post(self, path: str, body: bytes = b"") -> bytes:
        req = urllib.request.Request(
            self.url + path, data=body, method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            data: bytes = resp.read()
            return data

    def reset(self) -> None:
        self.post("/moto-api/reset")
        self.post("/moto-api/reset-auth", b"inf")
        self.recorder.reset()
        self.recorder.latency = 0.0

    def enforce_iam(self) -> None:
        """From now on moto evaluates IAM policies of the calling principal (AccessDenied for real)."""
        self.post("/moto-api/reset-auth", b"0")

    def client(self, service: str, **creds: str) -> Any:
        import boto3

        env = self.env()
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=creds.get("key", env["AWS_ACCESS_KEY_ID"]),
            aws_secret_access_key=creds.get("secret", env["AWS_SECRET_ACCESS_KEY"]),
            aws_session_token=creds.get("token"),
        )


@contextmanager
def moto_peer() -> Iterator[MotoPeer]:
    import logging

    from moto.server import ThreadedMotoServer

    # moto answers unimplemented actions with a logged traceback; the tests expect those, keep quiet
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    # Wrap the running WSGI app so every request is logged before moto answers it.
    wsgi = server._server
    assert wsgi is not None
    recorder = Recorder(wsgi.app)
    wsgi.app = recorder
    host, port = server.get_host_and_port()
    peer = MotoPeer(f"http://{host}:{port}", recorder)
    try:
        yield peer
    finally:
        server.stop()


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=str)
