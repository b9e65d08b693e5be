"""AWS: IAM exports and live collection."""

from __future__ import annotations

from collections.abc import Sequence

from nhiscan.config import Settings
from nhiscan.sources import ProviderResult, RawDocument


def normalize(docs: Sequence[RawDocument], settings: Settings) -> ProviderResult:
    return ProviderResult()
