"""One AWS API surface for live collection: clients, paging, and failures turned into one clear sentence.

botocore is imported only inside functions (startup stays fast). Every call nhiscan makes to AWS goes
through :class:`Api`, so the read-only guarantee can be checked in one place: :func:`check_read_only`
refuses any operation that is not a List/Get/Generate/Describe call (or STS AssumeRole /
GetCallerIdentity, which change nothing in the account).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

# Per call, including the first: botocore's adaptive mode spaces retries with a client-side token
# bucket, so a throttled account slows nhiscan down instead of failing it.
DEFAULT_MAX_ATTEMPTS = 10
# The largest page every IAM / Organizations list call accepts (fewer pages, fewer calls).
IAM_PAGE_SIZE = 1000
ORG_PAGE_SIZE = 20

READ_ONLY_PREFIXES = ("List", "Get", "Generate", "Describe")
READ_ONLY_EXCEPTIONS = frozenset({"sts:AssumeRole", "sts:GetCallerIdentity"})

DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AccessDeniedForDependencyException",
    }
)
CREDENTIAL_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "AuthFailure",
        "RequestExpired",
    }
)
THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "SlowDown",
    }
)
UNSUPPORTED_CODES = frozenset(
    {
        "NotImplemented",
        "InvalidAction",
        "UnknownOperation",
        "UnknownOperationException",
        "UnsupportedOperation",
        "UnsupportedOperationException",
        "NotSupportedService",
    }
)

PERMISSIONS_DOC = "docs/aws-permissions.json"


@dataclass
class UserCall:
    """One per-user (or per-resource) call: which API, for whom, and what to do with the answer."""

    api: str
    subject: str
    run: Callable[[], None]


class AwsCallError(Exception):
    """A failed AWS call, with a category and one user-facing sentence (no traceback, no secret)."""

    def __init__(self, api: str, category: str, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.api = api
        self.category = category
        self.message = message
        self.code = code


def max_attempts() -> int:
    """AWS_MAX_ATTEMPTS when set (the standard variable), else nhiscan's default."""
    raw = os.environ.get("AWS_MAX_ATTEMPTS", "")
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_MAX_ATTEMPTS
    return value if value >= 1 else DEFAULT_MAX_ATTEMPTS


def client_config(pool: int) -> Any:
    from botocore.config import Config

    return Config(
        retries={"mode": "adaptive", "total_max_attempts": max_attempts()},
        max_pool_connections=max(10, pool),
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra="nhiscan",
    )


def check_read_only(api: str) -> None:
    """Refuse anything that could change an account (defence in depth; nhiscan never asks for it)."""
    _service, _, op = api.partition(":")
    if api in READ_ONLY_EXCEPTIONS or op.startswith(READ_ONLY_PREFIXES):
        return
    raise AssertionError(f"nhiscan must stay read-only but tried {api}")


def _pascal(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def describe_failure(exc: BaseException, api: str) -> AwsCallError:
    """Turn a botocore exception into a category and one clear sentence naming the API."""
    import botocore.exceptions as bx
    from botocore.parsers import ResponseParserError

    if isinstance(exc, AwsCallError):
        return exc
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return AwsCallError(
            api,
            "credentials",
            "no AWS credentials found (set AWS_PROFILE / --aws-profile, AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, SSO, or run where an instance/container role is available)",
        )
    if isinstance(exc, bx.ProfileNotFound):
        return AwsCallError(api, "credentials", f"AWS profile not found: {exc.kwargs.get('profile')}")
    if isinstance(exc, (bx.SSOTokenLoadError, bx.UnauthorizedSSOTokenError, bx.TokenRetrievalError)):
        return AwsCallError(api, "credentials", f"AWS SSO session is not usable ({exc}); run `aws sso login`")
    if isinstance(exc, bx.CredentialRetrievalError):
        return AwsCallError(api, "credentials", f"cannot obtain AWS credentials: {exc}")
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ProxyConnectionError)):
        return AwsCallError(
            api, "unreachable", f"{api}: AWS endpoint unreachable ({exc}); check network, proxy or endpoint"
        )
    if isinstance(exc, (bx.ReadTimeoutError, bx.ConnectionClosedError)):
        return AwsCallError(api, "unreachable", f"{api}: connection to AWS failed ({exc})")
    if isinstance(exc, ResponseParserError):
        return AwsCallError(api, "unsupported", f"{api}: the endpoint returned an unreadable response")
    if isinstance(exc, bx.ClientError):
        response: Any = exc.response
        err = response.get("Error") or {}
        code = str(err.get("Code", "") or "")
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        detail = str(err.get("Message", "") or "").strip()
        if code not in DENIED_CODES and status == 403 and "not authorized to perform" in detail + str(exc):
            code = "AccessDenied"  # a denial the client could not parse (an XML error on a JSON API)
        if code in DENIED_CODES:
            return AwsCallError(
                api,
                "denied",
                f"{api} denied ({code}): the credentials need the permission {api} "
                f"(read-only policy: {PERMISSIONS_DOC})",
                code,
            )
        if code in CREDENTIAL_CODES:
            return AwsCallError(
                api,
                "credentials",
                f"{api}: AWS rejected the credentials ({code}); they are invalid or expired",
                code,
            )
        if code in THROTTLE_CODES:
            return AwsCallError(
                api,
                "throttled",
                f"{api}: throttled by AWS ({code}) beyond {max_attempts()} attempts; "
                "retry later or raise AWS_MAX_ATTEMPTS",
                code,
            )
        if code in UNSUPPORTED_CODES or status == 501:
            return AwsCallError(api, "unsupported", f"{api} is not supported by this endpoint ({code})", code)
        if code == "NoSuchEntity":
            return AwsCallError(api, "not-found", f"{api}: {detail or code}", code)
        tail = f": {detail}" if detail else ""
        return AwsCallError(api, "failed", f"{api} failed ({code or status}){tail}", code)
    if isinstance(exc, bx.BotoCoreError):
        return AwsCallError(api, "failed", f"{api} failed: {exc}")
    raise exc


def json_safe(value: Any) -> Any:
    """The value as `aws ... --output json` prints it: datetimes as ISO 8601, no ResponseMetadata."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


class Api:
    """A boto3 client for one service, whose calls fail as :class:`AwsCallError`."""

    def __init__(self, client: Any, service: str) -> None:
        self.client = client
        self.service = service

    def name(self, op: str) -> str:
        return f"{self.service}:{_pascal(op)}"

    def call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        api = self.name(op)
        check_read_only(api)
        try:
            result: dict[str, Any] = getattr(self.client, op)(**kwargs)
        except Exception as exc:
            raise describe_failure(exc, api) from None
        return result

    def pages(self, op: str, page_size: int = IAM_PAGE_SIZE, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every page of a list call: botocore's paginator where there is one, else Marker/IsTruncated."""
        api = self.name(op)
        check_read_only(api)
        try:
            if self.client.can_paginate(op):
                paginator = self.client.get_paginator(op)
                yield from paginator.paginate(PaginationConfig={"PageSize": page_size}, **kwargs)
                return
            marker: str | None = None
            while True:
                args = dict(kwargs)
                if marker:
                    args["Marker"] = marker
                page: dict[str, Any] = getattr(self.client, op)(**args)
                yield page
                marker = page.get("Marker")
                if not page.get("IsTruncated") or not marker:
                    return
        except AwsCallError:
            raise
        except Exception as exc:
            raise describe_failure(exc, api) from None
