"""The state shared by the AWS loaders and builders: every account's merged records, and the result."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nhiscan.config import Settings
from nhiscan.model import Grant, SourceError
from nhiscan.sources.aws.cloudtrail import TrailState
from nhiscan.sources.aws.values import account_of
from nhiscan.sources.documents import ProviderResult, RawDocument

# Marks a user or role record known only from list-users / list-roles, which return no tags.
TAGS_UNKNOWN = "nhiscan:TagsUnknown"


@dataclass
class Account:
    id: str
    paths: list[str] = field(default_factory=list)
    users: dict[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    roles: dict[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    groups: dict[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    policies: dict[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    report: dict[str, Mapping[str, str]] = field(default_factory=dict)
    report_path: str | None = None
    keys: dict[str, dict[str, Mapping[str, Any]]] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    truncated_pages: list[str] = field(default_factory=list)
    has_last_page: bool = False
    # identity ARN -> service namespace -> last authenticated (None: not within the tracking period)
    last_accessed: dict[str, dict[str, datetime | None]] = field(default_factory=dict)


class State:
    """What normalization has read so far, by account, and what it has produced."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.accounts: dict[str, Account] = {}
        self.result = ProviderResult()
        self.unscoped: list[RawDocument] = []
        self.cloudtrail = TrailState()
        self._policy_grants: dict[tuple[str, str, str | None, bool], tuple[Grant, ...]] = {}

    def error(self, path: str, message: str) -> None:
        self.result.errors.append(SourceError(path, message))

    def account(self, account_id: str) -> Account:
        acct = self.accounts.get(account_id)
        if acct is None:
            acct = self.accounts[account_id] = Account(account_id)
        return acct

    def scope_for(self, doc: RawDocument, arns: Iterable[str]) -> str | None:
        """The account the export's ARNs name; a SCOPE= only fills in when they name none.

        A SCOPE that contradicts the ARNs is a mistake on the command line (the wrong file, or the
        wrong account id): it is reported, and the account the export itself names is used.
        """
        named = next((a for a in map(account_of, arns) if a), None)
        if named and doc.scope and doc.scope != named:
            self.error(
                doc.path, f"SCOPE {doc.scope} given, but the export names account {named}; using {named}"
            )
        return named or doc.scope
