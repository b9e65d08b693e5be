"""Service last accessed data, live: IAM has no bulk call, so one job per identity.

``last_accessed_arns`` picks the identities worth asking about; ``LastAccessedReader`` starts a
SERVICE_LEVEL job for each and polls them, through the account collector's per-user call pool
(``run_calls``), so a denied API is one error line and is tried no more.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from nhiscan.config import Settings
from nhiscan.sources.aws.calls import Api, AwsCallError, UserCall, json_safe
from nhiscan.sources.aws.classify import classify_user, is_sso_role

_LAST_ACCESSED_FIELDS = ("JobStatus", "JobType", "JobCreationDate", "JobCompletionDate")


def last_accessed_arns(
    gaad: Mapping[str, Any], rows: Mapping[str, Mapping[str, str]] | None, settings: Settings
) -> list[str]:
    """The non-human users and the roles worth asking about (not service-linked or Identity Center
    roles), classified as normalize will classify them."""
    arns: list[str] = []
    for u in gaad.get("UserDetailList") or []:
        name, arn = str(u.get("UserName") or ""), str(u.get("Arn") or "")
        if not name or not arn:
            continue
        override = settings.classify_override(arn, name)
        if override is not None:
            if override == "nonhuman":
                arns.append(arn)
            continue
        row = (rows or {}).get(name) or {}
        tags = {str(t.get("Key")): str(t.get("Value", "")) for t in u.get("Tags") or [] if t.get("Key")}
        nonhuman, _ = classify_user(
            name=name,
            path=str(u.get("Path") or "/"),
            tags=tags,
            has_password=str(row.get("password_enabled", "")).lower() == "true",
            mfa_active=str(row.get("mfa_active", "")).lower() == "true",
            active_keys=sum(str(row.get(f"access_key_{n}_active", "")).lower() == "true" for n in (1, 2)),
        )
        if nonhuman:
            arns.append(arn)
    for r in gaad.get("RoleDetailList") or []:
        name, arn, path = str(r.get("RoleName") or ""), str(r.get("Arn") or ""), str(r.get("Path") or "/")
        if not name or not arn or path.startswith("/aws-service-role/") or is_sso_role(path, name):
            continue
        if settings.classify_override(arn, name) == "human":
            continue
        arns.append(arn)
    return sorted(arns)


class LastAccessedReader:
    """Jobs started, polled and read for one account; ``problems`` says what could not be had."""

    def __init__(
        self,
        iam: Api,
        run_calls: Callable[[list[UserCall]], set[str]],
        lock: threading.Lock,
        wait: float,
        sleep: Callable[[float], None],
    ) -> None:
        self.iam = iam
        self.run_calls = run_calls
        self.lock = lock
        self.wait = wait
        self.sleep = sleep
        self.problems: list[str] = []

    def read(self, arns: list[str]) -> list[dict[str, Any]]:
        """Start a SERVICE_LEVEL job per identity, then poll the pending ones in rounds with backoff
        (0.5 s doubling to 8 s, at most ``last_accessed_wait`` seconds in all); a finished job's
        services are read page by page (Marker). Returns the COMPLETED results, sorted by ARN."""
        arns = sorted(set(arns))
        if not arns:
            return []
        jobs: dict[str, str] = {}
        done: dict[str, dict[str, Any]] = {}
        failed: list[tuple[str, str]] = []
        given_up: set[str] = set()

        def generate(arn: str) -> UserCall:
            def run() -> None:
                got = self.iam.call(
                    "generate_service_last_accessed_details", Arn=arn, Granularity="SERVICE_LEVEL"
                )
                with self.lock:
                    jobs[arn] = str(got["JobId"])

            return UserCall("iam:GenerateServiceLastAccessedDetails", arn, run)

        def poll(arn: str, job: str) -> UserCall:
            def run() -> None:
                try:
                    page = self.iam.call("get_service_last_accessed_details", JobId=job, MaxItems=1000)
                    status = str(page.get("JobStatus") or "")
                    if status == "IN_PROGRESS":
                        return
                    if status != "COMPLETED":
                        err = page.get("Error") or {}
                        why = err.get("Message") or err.get("Code") or "no reason given"
                        with self.lock:
                            failed.append((arn, f"is {status or 'without JobStatus'} ({why})"))
                        return
                    entry: dict[str, Any] = {"Arn": arn}
                    entry.update(json_safe({k: page[k] for k in _LAST_ACCESSED_FIELDS if k in page}))
                    services = list(page.get("ServicesLastAccessed") or [])
                    while page.get("IsTruncated") and page.get("Marker"):
                        page = self.iam.call(
                            "get_service_last_accessed_details",
                            JobId=job,
                            MaxItems=1000,
                            Marker=page["Marker"],
                        )
                        services.extend(page.get("ServicesLastAccessed") or [])
                    entry["ServicesLastAccessed"] = json_safe(services)
                    entry["IsTruncated"] = False
                    with self.lock:
                        done[arn] = entry
                except AwsCallError:
                    with self.lock:
                        given_up.add(arn)  # reported once by run_calls, not polled again
                    raise

            return UserCall("iam:GetServiceLastAccessedDetails", arn, run)

        self.run_calls([generate(a) for a in arns])  # a denial is one error line, from run_calls
        if not jobs:
            return []
        waited, delay = 0.0, 0.5
        pending = dict(sorted(jobs.items()))
        while True:
            dead = self.run_calls([poll(a, j) for a, j in pending.items()])
            settled = set(done) | given_up | {a for a, _ in failed}
            pending = {a: j for a, j in pending.items() if a not in settled}
            if dead or not pending:
                break
            if waited + delay > self.wait:
                self.problems.append(
                    f"iam:GetServiceLastAccessedDetails: {len(pending)} service last accessed job(s) not "
                    f"complete after {self.wait:.0f} s (first: {next(iter(pending))}); "
                    "those identities are not judged for unused services"
                )
                break
            self.sleep(delay)
            waited += delay
            delay = min(delay * 2, 8.0)
        if failed:
            failed.sort()
            arn, why = failed[0]
            more = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
            self.problems.append(
                f"iam:GetServiceLastAccessedDetails: the service last accessed job for {arn} {why}{more}"
            )
        return [done[a] for a in sorted(done)]
