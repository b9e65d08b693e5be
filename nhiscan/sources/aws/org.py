"""AWS Organizations: collect every member account concurrently through an assumed role.

The caller's own account (normally the management account) is collected with the caller's
credentials; every other ACTIVE account through ``arn:<partition>:iam::<id>:role/<ROLE>``. A bounded
pool runs accounts side by side; one account that fails (role missing, denied, throttled) is one
SourceError and never stops the others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from nhiscan.config import Settings
from nhiscan.model import SourceError
from nhiscan.shard import Shard
from nhiscan.sources.aws.calls import ORG_PAGE_SIZE, Api, AwsCallError, client_config, describe_failure
from nhiscan.sources.aws.live import USER_WORKERS, AccountCollector, AccountResult, Caller
from nhiscan.sources.documents import RawDocument
from nhiscan.sources.feedback import Feedback

ACCOUNT_WORKERS = 8
SESSION_NAME = "nhiscan"
# Assumed-role sessions refresh themselves, so an hour-long collection never runs on expired keys.
ROLE_SESSION_SECONDS = 3600


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    status: str


def list_members(session: Any) -> list[Member]:
    region = session.region_name or "us-east-1"
    org = Api(session.client("organizations", region_name=region, config=client_config(4)), "organizations")
    members: list[Member] = []
    for page in org.pages("list_accounts", page_size=ORG_PAGE_SIZE):
        for acct in page.get("Accounts") or []:
            members.append(
                Member(str(acct["Id"]), str(acct.get("Name", "")), str(acct.get("Status", "ACTIVE")))
            )
    return members


def assumed_session(base: Any, sts: Api, role_arn: str) -> Any:
    """A boto3 Session on the role's credentials, refreshed by botocore before they expire."""
    import boto3
    import botocore.session
    from botocore.credentials import CredentialProvider, RefreshableCredentials

    def fetch() -> dict[str, str]:
        creds = sts.call(
            "assume_role",
            RoleArn=role_arn,
            RoleSessionName=SESSION_NAME,
            DurationSeconds=ROLE_SESSION_SECONDS,
        )["Credentials"]
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    credentials = RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
    )

    class _Assumed(CredentialProvider):
        METHOD = "nhiscan-assume-role"

        def load(self) -> Any:
            return credentials

    core = botocore.session.Session()
    # Share the caller session's model loader: each account then costs ~15 ms of setup, not ~70 ms
    # of re-reading the same service models (the loader only caches immutable parsed JSON).
    base_core = getattr(base, "_session", None)
    if base_core is not None:
        core.register_component("data_loader", base_core.get_component("data_loader"))
    resolver = core.get_component("credential_provider")
    resolver.insert_before("env", _Assumed())
    return boto3.Session(botocore_session=core, region_name=base.region_name)


def collect_organization(
    session: Any,
    sts: Api,
    caller: Caller,
    role: str,
    feedback: Feedback,
    *,
    workers: int = ACCOUNT_WORKERS,
    user_workers: int = USER_WORKERS,
    collector: Callable[..., AccountCollector] = AccountCollector,
    last_accessed: bool = False,
    settings: Settings | None = None,
    shard: Shard | None = None,
) -> tuple[list[RawDocument], list[SourceError]]:
    try:
        members = list_members(session)
    except AwsCallError as exc:
        message = exc.message
        if exc.code == "AWSOrganizationsNotInUseException":
            message = f"account {caller.account_id} is not part of an AWS Organization"
        elif exc.category == "denied":
            message += "; run from the management account or a delegated administrator"
        return [], [SourceError("--aws-org", message)]
    if not members:
        return [], [
            SourceError("--aws-org", f"account {caller.account_id} is not part of an AWS Organization")
        ]

    results: list[AccountResult] = []
    errors: list[SourceError] = []
    extra: dict[str, Any] = {"last_accessed": True, "settings": settings} if last_accessed else {}
    lock = threading.Lock()
    client_lock = threading.Lock()  # one boto3 Session must not build clients from two threads at once
    if shard is not None:  # `inventory --shard I/N`: this job's accounts only (nhiscan.shard)
        members = [m for m in members if shard.owns(m.id)]
    own = shard is None or shard.owns(caller.account_id)
    targets = [m for m in members if m.status == "ACTIVE" and m.id != caller.account_id]
    for m in members:
        if m.status != "ACTIVE":
            feedback.warn("--aws-org", f"account {m.id} ({m.name}) is {m.status}; skipped")
    overall = feedback.task("AWS organization accounts", total=len(targets) + own)

    def one(member_id: str) -> None:
        label = f"aws:{member_id}"
        try:
            if member_id == caller.account_id:
                with client_lock:
                    acct = collector(session, member_id, feedback, user_workers=user_workers, **extra)
            else:
                role_arn = f"arn:{caller.partition}:iam::{member_id}:role/{role}"
                try:
                    sess = assumed_session(session, sts, role_arn)
                except AwsCallError as exc:
                    with lock:
                        errors.append(SourceError(label, f"cannot assume {role_arn}: {exc.message}"))
                    return
                acct = collector(sess, member_id, feedback, user_workers=user_workers, **extra)
            result = acct.run()
        except AwsCallError as exc:
            result = AccountResult(member_id, errors=[SourceError(label, exc.message)])
        except Exception as exc:  # one account's surprise must not lose the others
            try:
                msg = describe_failure(exc, "aws").message
            except Exception:
                msg = f"{type(exc).__name__}: {exc}"
            result = AccountResult(member_id, errors=[SourceError(label, msg)])
        finally:
            feedback.update(overall, advance=1)
        with lock:
            results.append(result)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="nhiscan-org") as pool:
        ids = [caller.account_id] if own else []
        for fut in [pool.submit(one, mid) for mid in [*ids, *(m.id for m in targets)]]:
            fut.result()
    feedback.done(overall)

    results.sort(key=lambda r: r.account_id)
    docs = [d for r in results for d in r.docs]
    errors.extend(e for r in results for e in r.errors)
    errors.sort(key=lambda e: e.source)
    return docs, errors
