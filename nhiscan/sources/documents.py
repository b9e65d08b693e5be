"""The documents every source exchanges: an input file read once (``Parsed``), a document of a
recognised kind (``RawDocument``, from an export or a live collector) and what a provider's
``normalize`` makes of its documents (``ProviderResult``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from nhiscan.config import Settings
from nhiscan.model import Identity, LogConfig, Observation, Secret, SourceError, SourceRef

_NO_JSON = object()


@dataclass(frozen=True)
class Parsed:
    """A file read once: its text, and its JSON/YAML value when it parses as one."""

    path: str
    text: str
    data: Any = _NO_JSON
    sha256: str = ""  # of the bytes read: the report names exactly what was scanned

    @property
    def is_structured(self) -> bool:
        return self.data is not _NO_JSON

    def csv_header(self) -> list[str] | None:
        first = self.text.lstrip("\ufeff").split("\n", 1)[0].strip()
        if "," not in first:
            return None
        return next(csv.reader(io.StringIO(first)))


@dataclass(frozen=True)
class RawDocument:
    kind: str
    provider: str
    path: str
    data: Any
    scope: str | None = None
    sha256: str = ""


@dataclass
class ProviderResult:
    identities: list[Identity] = field(default_factory=list)
    sources: list[SourceRef] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    secrets: list[Secret] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    logging: list[LogConfig] = field(default_factory=list)
    # read from shard inventories: identities of other shards, for the grants they hold (nhiscan.shard)
    partial_identities: list[Identity] = field(default_factory=list)


class ProviderModule(Protocol):
    def normalize(self, docs: Sequence[RawDocument], settings: Settings) -> ProviderResult: ...
