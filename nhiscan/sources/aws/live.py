"""Live AWS collection: read-only IAM calls turned into the same documents the offline exports give.

One account yields up to four RawDocuments (provider "aws", scope = account id, path "aws:<id>"):

- ``aws-gaad``: every page of GetAccountAuthorizationDetails merged into one dict, CLI JSON shape;
- ``aws-credential-report``: the credential report CSV text;
- ``aws-access-keys``: ListAccessKeys output for the users the report shows with keys;
- ``aws-iam-extras``: facts only other live calls give (aliases, MFA devices, SSH keys, signing
  certificates, service-specific credentials, OIDC and SAML providers; and, when no credential report
  can be had, login profiles and key last use);
- ``aws-service-last-accessed`` (only with ``--aws-last-accessed``): nhiscan's combined form, one
  ``get-service-last-accessed-details`` result per non-human user and role;
- ``aws-cloudtrail-trails``, ``aws-cloudtrail-event-selectors``, ``aws-cloudtrail-trail-status``:
  the account's trails and, per trail, what it selects and whether it is logging
  (live_cloudtrail.py).

Call budget: bulk, paginated calls wherever IAM has one (GAAD, credential report, virtual MFA devices,
service-specific credentials with ``AllUsers``, SAML providers, aliases). IAM has no bulk call for
access key ids, hardware MFA devices, signing certificate ids and SSH public keys, so those are
per-user, and only for users where they matter: access keys and certificates only for users the
credential report shows with one, hardware MFA only for users with MFA but no virtual device; SSH keys
have no report column and are listed for every user. Per-user calls run in a small thread pool.
Service last accessed data exists only per identity (one job to generate, then polling for it), so
with ``--aws-last-accessed`` it costs at least two calls per non-human user and role.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from nhiscan.config import ScanConfig, Settings
from nhiscan.model import SourceError
from nhiscan.sources.aws.calls import Api, AwsCallError, UserCall, client_config, describe_failure, json_safe
from nhiscan.sources.aws.exports import EXTRAS_KIND, LAST_ACCESSED_KIND
from nhiscan.sources.aws.live_cloudtrail import TrailReader
from nhiscan.sources.aws.live_last_accessed import LastAccessedReader, last_accessed_arns
from nhiscan.sources.documents import RawDocument
from nhiscan.sources.feedback import Feedback

PROVIDER = "aws"
GAAD_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
USER_WORKERS = 8
# Generating a credential report usually takes seconds; give up (and fall back) after this long.
REPORT_WAIT_SECONDS = 90.0
# Service last accessed jobs usually complete in seconds; stop waiting for the rest after this long.
LAST_ACCESSED_WAIT_SECONDS = 120.0
_NO_VALUE = frozenset({"", "N/A", "n/a", "not_supported", "no_information"})


# -- one account -------------------------------------------------------------------------------


@dataclass
class AccountResult:
    account_id: str
    docs: list[RawDocument] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)


class AccountCollector:
    """Collects one account with one set of credentials (the caller's, or an assumed role's)."""

    def __init__(
        self,
        session: Any,
        account_id: str,
        feedback: Feedback,
        *,
        user_workers: int = USER_WORKERS,
        report_wait: float = REPORT_WAIT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        last_accessed: bool = False,
        last_accessed_wait: float = LAST_ACCESSED_WAIT_SECONDS,
        settings: Settings | None = None,
    ) -> None:
        self.account_id = account_id
        self.label = f"aws:{account_id}"
        self.feedback = feedback
        self.user_workers = max(1, user_workers)
        self.report_wait = report_wait
        self.sleep = sleep
        self.last_accessed = last_accessed
        self.last_accessed_wait = last_accessed_wait
        self.settings = settings or Settings()
        region = session.region_name or "us-east-1"
        self.iam = Api(session.client("iam", region_name=region, config=client_config(user_workers)), "iam")
        self.trails = TrailReader(session, region, lambda text: self.feedback.warn(self.label, text))
        self.result = AccountResult(account_id)
        self.extras: dict[str, Any] = {"Kind": EXTRAS_KIND, "AccountId": account_id}
        self._lock = threading.Lock()
        self._task: int | None = None

    # -- helpers -------------------------------------------------------------------------------

    def _error(self, exc: AwsCallError) -> None:
        self.result.errors.append(SourceError(self.label, exc.message))

    def _doc(self, kind: str, data: Any) -> None:
        self.result.docs.append(
            RawDocument(kind=kind, provider=PROVIDER, path=self.label, data=data, scope=self.account_id)
        )

    def _status(self, text: str) -> None:
        self.feedback.update(self._task, description=f"{self.label} {text}")

    def _optional(self, fn: Callable[[], None]) -> None:
        """A bulk call whose failure costs one fact family, not the account."""
        try:
            fn()
        except AwsCallError as exc:
            if exc.category == "unsupported":
                self.feedback.warn(self.label, f"{exc.message}; skipped")
            else:
                self._error(exc)

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> AccountResult:
        self._task = self.feedback.task(f"{self.label} starting")
        try:
            self._run()
        finally:
            self.feedback.done(self._task)
        return self.result

    def _run(self) -> None:
        gaad: dict[str, Any] | None = None
        try:
            gaad = self.gaad()
        except AwsCallError as exc:
            self._error(exc)
            if exc.category in ("credentials", "unreachable"):
                return  # nothing else can work either; one clear line is enough
        if gaad is not None:
            self._doc("aws-gaad", gaad)
        # MaxSessionDuration is in list-roles, not in the authorization details.
        self._optional(self.role_sessions)

        report: str | None = None
        try:
            report = self.credential_report()
        except AwsCallError as exc:
            if exc.category == "not-ready":
                self.feedback.warn(self.label, exc.message + "; falling back to per-user calls")
            else:
                self._error(exc)
        if report is not None:
            self._doc("aws-credential-report", report)
        rows = _report_rows(report) if report is not None else None

        users = self.user_names(gaad, rows)
        self._optional(self.account_aliases)
        virtual_mfa: dict[str, list[dict[str, Any]]] = {}
        self._optional(lambda: virtual_mfa.update(self.virtual_mfa_devices()))
        if virtual_mfa:
            self.extras["MFADevices"] = virtual_mfa
        self._optional(self.service_specific_credentials)
        self._optional(self.saml_providers)
        oidc_arns: list[str] = []
        self._optional(lambda: oidc_arns.extend(self.oidc_provider_arns()))

        calls, keys = self.per_user_plan(users, rows, virtual_mfa, oidc_arns)
        self.run_calls(calls)
        if keys is not None:
            keys.sort(key=lambda k: (k["UserName"], k["AccessKeyId"]))
            self._doc("aws-access-keys", {"AccessKeyMetadata": keys})
            if rows is None:
                self.run_calls([self._key_last_used_call(k["AccessKeyId"]) for k in keys])
        if "OpenIDConnectProviders" in self.extras:
            self.extras["OpenIDConnectProviders"].sort(key=lambda p: p["Arn"])
        self._doc("aws-iam-extras", self.extras)
        self._status("CloudTrail")
        self._optional(self.cloudtrail)
        if self.last_accessed and gaad is not None:
            identities = self.service_last_accessed(self.last_accessed_arns(gaad, rows))
            if identities:
                doc = {"Kind": LAST_ACCESSED_KIND, "AccountId": self.account_id, "Identities": identities}
                self._doc("aws-service-last-accessed", doc)

    def cloudtrail(self) -> None:
        for kind, data in self.trails.read():
            self._doc(kind, data)

    # -- bulk calls ----------------------------------------------------------------------------

    def gaad(self) -> dict[str, Any]:
        merged: dict[str, list[Any]] = {k: [] for k in GAAD_LISTS}
        for n, page in enumerate(self.iam.pages("get_account_authorization_details"), start=1):
            self._status(f"authorization details, page {n}")
            for key in GAAD_LISTS:
                merged[key].extend(page.get(key) or [])
        safe: dict[str, Any] = json_safe(merged)
        return safe

    def role_sessions(self) -> None:
        """list-roles: each role's MaxSessionDuration (merged under its GAAD record by name)."""
        self._status("roles' session durations")
        roles: list[Any] = []
        for page in self.iam.pages("list_roles"):
            roles.extend(page.get("Roles") or [])
        self._doc("aws-list-roles", json_safe({"Roles": roles}))

    def credential_report(self) -> str:
        """Generate (or reuse) the credential report and wait for it: exponential backoff from 0.5 s to
        8 s, at most ``report_wait`` seconds of waiting in all."""
        self._status("credential report")
        waited = 0.0
        delay = 0.5
        generate_denied: AwsCallError | None = None
        while True:
            state = "COMPLETE"
            if generate_denied is None:
                try:
                    state = str(self.iam.call("generate_credential_report").get("State", ""))
                except AwsCallError as exc:
                    if exc.category != "denied":
                        raise
                    generate_denied = exc  # an existing report may still be readable
            if state == "COMPLETE":
                try:
                    content = self.iam.call("get_credential_report").get("Content", b"")
                except AwsCallError as exc:
                    if generate_denied is not None:
                        raise generate_denied from None
                    if exc.code not in ("ReportNotPresent", "ReportExpired", "ReportInProgress"):
                        raise
                else:
                    if isinstance(content, bytes):
                        return content.decode("utf-8-sig", errors="replace")
                    return str(content)
            if waited + delay > self.report_wait:
                raise AwsCallError(
                    "iam:GetCredentialReport",
                    "not-ready",
                    f"the credential report was not ready after {self.report_wait:.0f} s",
                )
            self.sleep(delay)
            waited += delay
            delay = min(delay * 2, 8.0)

    def user_names(
        self, gaad: Mapping[str, Any] | None, rows: Mapping[str, Mapping[str, str]] | None
    ) -> list[str]:
        if gaad is not None:
            return sorted({str(u["UserName"]) for u in gaad.get("UserDetailList") or [] if u.get("UserName")})
        if rows is not None:
            return sorted(u for u in rows if u != "<root_account>")
        names: set[str] = set()
        try:
            for page in self.iam.pages("list_users"):
                names.update(str(u["UserName"]) for u in page.get("Users") or [])
        except AwsCallError as exc:
            self._error(exc)
        return sorted(names)

    def account_aliases(self) -> None:
        aliases: list[str] = []
        for page in self.iam.pages("list_account_aliases"):
            aliases.extend(str(a) for a in page.get("AccountAliases") or [])
        self.extras["AccountAliases"] = aliases

    def virtual_mfa_devices(self) -> dict[str, list[dict[str, Any]]]:
        self._status("MFA devices")
        out: dict[str, list[dict[str, Any]]] = {}
        for page in self.iam.pages("list_virtual_mfa_devices", AssignmentStatus="Assigned"):
            for dev in page.get("VirtualMFADevices") or []:
                user = (dev.get("User") or {}).get("UserName")
                if not user:
                    continue  # the root user's device
                out.setdefault(str(user), []).append(
                    json_safe({"SerialNumber": dev.get("SerialNumber"), "EnableDate": dev.get("EnableDate")})
                )
        return out

    def service_specific_credentials(self) -> None:
        self._status("service-specific credentials")
        out: dict[str, list[dict[str, Any]]] = {}
        for page in self.iam.pages("list_service_specific_credentials", AllUsers=True):
            for cred in page.get("ServiceSpecificCredentials") or []:
                item = {
                    k: cred[k]
                    for k in (
                        "ServiceSpecificCredentialId",
                        "ServiceName",
                        "Status",
                        "CreateDate",
                        "ExpirationDate",
                    )
                    if k in cred
                }
                out.setdefault(str(cred.get("UserName")), []).append(json_safe(item))
        if out:
            self.extras["ServiceSpecificCredentials"] = out

    def saml_providers(self) -> None:
        providers: list[dict[str, Any]] = []
        for page in self.iam.pages("list_saml_providers"):
            for p in page.get("SAMLProviderList") or []:
                providers.append(json_safe({k: p[k] for k in ("Arn", "CreateDate", "ValidUntil") if k in p}))
        if providers:
            self.extras["SAMLProviders"] = sorted(providers, key=lambda p: str(p.get("Arn")))

    def oidc_provider_arns(self) -> list[str]:
        arns: list[str] = []
        for page in self.iam.pages("list_open_id_connect_providers"):
            arns.extend(str(p["Arn"]) for p in page.get("OpenIDConnectProviderList") or [] if p.get("Arn"))
        return arns

    # -- per-user / per-resource calls (no bulk API exists for these) -----------------------------

    def per_user_plan(
        self,
        users: list[str],
        rows: Mapping[str, Mapping[str, str]] | None,
        virtual_mfa: Mapping[str, Any],
        oidc_arns: Iterable[str],
    ) -> tuple[list[UserCall], list[dict[str, Any]] | None]:
        """The per-user calls worth making, given what the bulk calls already told us."""
        calls: list[UserCall] = [self._oidc_call(arn) for arn in oidc_arns]
        fallback = rows is None
        keys: list[dict[str, Any]] | None = None
        for user in users:
            row = rows.get(user) if rows is not None else None
            if fallback or _has_any(row, "access_key"):
                if keys is None:
                    keys = []
                calls.append(self._access_keys_call(user, keys))
            if fallback or _has_any(row, "cert"):
                calls.append(self._certificates_call(user))
            mfa_in_report = row is not None and str(row.get("mfa_active", "")).lower() == "true"
            if user not in virtual_mfa and (fallback or mfa_in_report):
                calls.append(self._mfa_call(user))
            if fallback:
                calls.append(self._login_profile_call(user))
            calls.append(self._ssh_keys_call(user))
        if keys is None and rows is not None:
            keys = []  # the report shows no keys at all: an empty listing is the truth
        return calls, keys

    def run_calls(self, calls: list[UserCall]) -> set[str]:
        """Run per-user calls in a small pool; an API that is denied or unsupported is tried no more.

        Returns the APIs that failed for good (denied, unsupported, no credentials, unreachable)."""
        if not calls:
            return set()
        task = self._task
        self.feedback.update(task, description=f"{self.label} per-user calls", total=len(calls))
        dead: dict[str, AwsCallError] = {}
        failures: dict[str, tuple[AwsCallError, int]] = {}

        def one(call: UserCall) -> None:
            if call.api in dead:
                return
            try:
                call.run()
            except AwsCallError as exc:
                if exc.category == "not-found":
                    return  # deleted since the listing, or (login profile) no password
                with self._lock:
                    if exc.category in ("denied", "unsupported", "credentials", "unreachable"):
                        dead.setdefault(call.api, exc)
                    first, count = failures.get(call.api, (exc, 0))
                    failures[call.api] = (first, count + 1)

        with ThreadPoolExecutor(max_workers=self.user_workers, thread_name_prefix="nhiscan-aws") as pool:
            futures = [pool.submit(one, c) for c in calls]
            for fut in as_completed(futures):
                fut.result()
                self.feedback.update(task, advance=1)
        for _api, (exc, count) in sorted(failures.items()):
            if exc.category == "unsupported":
                self.feedback.warn(self.label, f"{exc.message}; skipped")
                continue
            extra = f" ({count} calls failed)" if count > 1 else ""
            self.result.errors.append(SourceError(self.label, exc.message + extra))
        return set(dead)

    # -- service last accessed (per identity: IAM has no bulk call; live_last_accessed.py) ---------

    def last_accessed_arns(
        self, gaad: Mapping[str, Any], rows: Mapping[str, Mapping[str, str]] | None
    ) -> list[str]:
        return last_accessed_arns(gaad, rows, self.settings)

    def service_last_accessed(self, arns: list[str]) -> list[dict[str, Any]]:
        self._status("service last accessed")
        reader = LastAccessedReader(self.iam, self.run_calls, self._lock, self.last_accessed_wait, self.sleep)
        found = reader.read(arns)
        self.result.errors.extend(SourceError(self.label, text) for text in reader.problems)
        return found

    def _put(self, family: str, user: str, items: list[dict[str, Any]]) -> None:
        if not items:
            return
        with self._lock:
            self.extras.setdefault(family, {})[user] = items

    def _access_keys_call(self, user: str, sink: list[dict[str, Any]]) -> UserCall:
        def run() -> None:
            found: list[dict[str, Any]] = []
            for page in self.iam.pages("list_access_keys", UserName=user):
                for k in page.get("AccessKeyMetadata") or []:
                    found.append(
                        json_safe(
                            {f: k[f] for f in ("UserName", "AccessKeyId", "Status", "CreateDate") if f in k}
                        )
                    )
            with self._lock:
                sink.extend(found)

        return UserCall("iam:ListAccessKeys", user, run)

    def _key_last_used_call(self, key_id: str) -> UserCall:
        def run() -> None:
            got = self.iam.call("get_access_key_last_used", AccessKeyId=key_id).get("AccessKeyLastUsed") or {}
            item = json_safe({k: got[k] for k in ("LastUsedDate", "ServiceName", "Region") if k in got})
            with self._lock:
                self.extras.setdefault("AccessKeyLastUsed", {})[key_id] = item

        return UserCall("iam:GetAccessKeyLastUsed", key_id, run)

    def _certificates_call(self, user: str) -> UserCall:
        def run() -> None:
            items = [
                json_safe({k: c[k] for k in ("CertificateId", "Status", "UploadDate") if k in c})
                for page in self.iam.pages("list_signing_certificates", UserName=user)
                for c in page.get("Certificates") or []
            ]
            self._put("SigningCertificates", user, items)

        return UserCall("iam:ListSigningCertificates", user, run)

    def _mfa_call(self, user: str) -> UserCall:
        def run() -> None:
            items = [
                json_safe({k: d[k] for k in ("SerialNumber", "EnableDate") if k in d})
                for page in self.iam.pages("list_mfa_devices", UserName=user)
                for d in page.get("MFADevices") or []
            ]
            self._put("MFADevices", user, items)

        return UserCall("iam:ListMFADevices", user, run)

    def _ssh_keys_call(self, user: str) -> UserCall:
        def run() -> None:
            items = [
                json_safe({k: s[k] for k in ("SSHPublicKeyId", "Status", "UploadDate") if k in s})
                for page in self.iam.pages("list_ssh_public_keys", UserName=user)
                for s in page.get("SSHPublicKeys") or []
            ]
            self._put("SSHPublicKeys", user, items)

        return UserCall("iam:ListSSHPublicKeys", user, run)

    def _login_profile_call(self, user: str) -> UserCall:
        def run() -> None:
            got = self.iam.call("get_login_profile", UserName=user).get("LoginProfile") or {}
            item = json_safe({k: got[k] for k in ("CreateDate", "PasswordResetRequired") if k in got})
            with self._lock:
                self.extras.setdefault("LoginProfiles", {})[user] = item

        return UserCall("iam:GetLoginProfile", user, run)

    def _oidc_call(self, arn: str) -> UserCall:
        def run() -> None:
            got = self.iam.call("get_open_id_connect_provider", OpenIDConnectProviderArn=arn)
            item: dict[str, Any] = {"Arn": arn}
            item.update(
                json_safe(
                    {k: got[k] for k in ("Url", "ClientIDList", "ThumbprintList", "CreateDate") if k in got}
                )
            )
            with self._lock:
                self.extras.setdefault("OpenIDConnectProviders", []).append(item)

        return UserCall("iam:GetOpenIDConnectProvider", arn, run)


def _report_rows(text: str) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff"))):
        user = (row.get("user") or "").strip()
        if user:
            rows[user] = row
    return rows


def _has_any(row: Mapping[str, str] | None, prefix: str) -> bool:
    """Whether a credential report row shows slot 1 or 2 of a key/certificate in use or ever made."""
    if row is None:
        return False
    for n in (1, 2):
        if str(row.get(f"{prefix}_{n}_active", "")).lower() == "true":
            return True
        if str(row.get(f"{prefix}_{n}_last_rotated", "N/A")).strip() not in _NO_VALUE:
            return True
    return False


# -- entry point -------------------------------------------------------------------------------


@dataclass
class Caller:
    account_id: str
    arn: str
    partition: str


def _source(config: ScanConfig) -> str:
    if config.aws_org:
        return "--aws-org"
    return f"--aws-profile {config.aws_profile}" if config.aws_profile else "--aws"


def make_session(profile: str | None) -> Any:
    import boto3

    return boto3.Session(profile_name=profile) if profile else boto3.Session()


def caller_identity(session: Any) -> tuple[Api, Caller]:
    region = session.region_name or "us-east-1"
    sts = Api(session.client("sts", region_name=region, config=client_config(8)), "sts")
    ident = sts.call("get_caller_identity")
    arn = str(ident.get("Arn", ""))
    parts = arn.split(":")
    partition = parts[1] if len(parts) > 1 and parts[1] else "aws"
    return sts, Caller(str(ident["Account"]), arn, partition)


def collect_live(config: ScanConfig) -> tuple[list[RawDocument], list[SourceError]]:
    """Collect the caller's account, or with --aws-org every member account of the organization."""
    source = _source(config)
    with Feedback(config.progress) as feedback:
        try:
            session = make_session(config.aws_profile)
            sts, caller = caller_identity(session)
        except AwsCallError as exc:
            return [], [SourceError(source, exc.message)]
        except Exception as exc:
            return [], [SourceError(source, describe_failure(exc, "sts:GetCallerIdentity").message)]
        if config.aws_org:
            from nhiscan.sources.aws.org import collect_organization

            return collect_organization(
                session,
                sts,
                caller,
                str(config.aws_role),
                feedback,
                last_accessed=config.aws_last_accessed,
                settings=config.settings,
                shard=config.shard,
            )
        result = AccountCollector(
            session,
            caller.account_id,
            feedback,
            last_accessed=config.aws_last_accessed,
            settings=config.settings,
        ).run()
        return result.docs, result.errors


def iter_docs(results: Iterable[AccountResult]) -> Iterator[RawDocument]:
    for r in results:
        yield from r.docs
