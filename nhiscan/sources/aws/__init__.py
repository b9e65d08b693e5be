"""AWS: turn IAM exports (and the live collector's documents of the same kinds) into identities.

``normalize`` groups every document by account, so a GAAD export, a credential report,
``list-access-keys`` output and nhiscan's extras document of one account merge into one view:

- identities: IAM users (``aws-iam-user``), roles (``aws-iam-role``) and the root user
  (``aws-root-account``, from the credential report's ``<root_account>`` row); id = ARN;
- credentials: access keys (matched between list-access-keys / extras and the credential report's
  two slots by creation time), console passwords, signing certificates, SSH keys and
  service-specific credentials;
- grants: every statement of inline, attached managed (from the export, else the bundled
  well-known AWS managed policies) and group-inherited policies, plus permissions-boundary
  statements (``boundary=True``);
- trusts: every statement of a role's trust policy;
- service last accessed (``aws-service-last-accessed``): on a user or role, the attribute
  ``services_last_accessed`` maps each service namespace its policies allow to the ISO time it last
  authenticated, or null when it never did within IAM's tracking period.

A half-broken record becomes one SourceError naming the file and the record; the rest is kept.

Modules: ``gaad``, ``credential_report``, ``keyed`` (list-access-keys and extras) and
``last_accessed`` read one export kind each (``cloudtrail`` the CloudTrail exports, into the
account's logging record) into the per-account ``state``; ``identities`` and
``credentials`` build the model from it; ``policy`` and ``values`` hold the shared parsers.
"""

from __future__ import annotations

from collections.abc import Sequence

from nhiscan.config import Settings
from nhiscan.gcpause import cyclic_gc_paused
from nhiscan.sources.aws import cloudtrail
from nhiscan.sources.aws.credential_report import load_report
from nhiscan.sources.aws.gaad import load_gaad
from nhiscan.sources.aws.identities import build
from nhiscan.sources.aws.keyed import load_keyed, place_unscoped
from nhiscan.sources.aws.last_accessed import load_last_accessed
from nhiscan.sources.aws.policy import (
    bundled_managed_policies,
    grants_from,
    policy_document,
    statements,
    trusts_from,
)
from nhiscan.sources.aws.state import State
from nhiscan.sources.aws.values import (
    OWNER_TAG_KEYS,
    PROVIDER,
    account_of,
    owner_from_tags,
    parse_bool,
    tags_of,
)
from nhiscan.sources.documents import ProviderResult, RawDocument
from nhiscan.sources.timeparse import parse_time

__all__ = [
    "OWNER_TAG_KEYS",
    "PROVIDER",
    "account_of",
    "bundled_managed_policies",
    "grants_from",
    "normalize",
    "owner_from_tags",
    "parse_bool",
    "parse_time",
    "policy_document",
    "statements",
    "tags_of",
    "trusts_from",
]


def load(st: State, doc: RawDocument) -> None:
    """Read one document into the state; an export that cannot be read at all is one error."""
    try:
        if doc.kind in ("aws-gaad", "aws-list-users", "aws-list-roles"):
            load_gaad(st, doc)
        elif doc.kind == "aws-credential-report":
            load_report(st, doc)
        elif doc.kind == "aws-service-last-accessed":
            load_last_accessed(st, doc)
        elif doc.kind == "aws-cloudtrail-trails":
            problems: list[tuple[str, str]] = []
            cloudtrail.load_trails(st.cloudtrail, doc, problems)
            for path, message in problems:
                st.error(path, message)
        elif doc.kind == "aws-cloudtrail-event-selectors":
            cloudtrail.load_selectors(st.cloudtrail, doc)
        elif doc.kind == "aws-cloudtrail-trail-status":
            problems = []
            cloudtrail.load_status(st.cloudtrail, doc, problems)
            for path, message in problems:
                st.error(path, message)
        elif doc.kind in ("aws-access-keys", "aws-iam-extras"):
            scope = doc.scope or (doc.data.get("AccountId") if isinstance(doc.data, dict) else None)
            if scope:
                load_keyed(st, doc, str(scope))
            else:
                st.unscoped.append(doc)
                return
        else:
            st.error(doc.path, f"unknown AWS document kind {doc.kind!r}")
            return
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        st.error(doc.path, f"cannot read {doc.kind} export: {exc}")


def normalize(docs: Sequence[RawDocument], settings: Settings) -> ProviderResult:
    with cyclic_gc_paused():
        st = State(settings)
        for doc in docs:
            load(st, doc)
        place_unscoped(st)
        build(st)
        problems: list[tuple[str, str]] = []
        configs, sources = cloudtrail.finish(st.cloudtrail, problems)
        st.result.logging.extend(configs)
        st.result.sources.extend(sources)
        for path, message in problems:
            st.error(path, message)
        return st.result
