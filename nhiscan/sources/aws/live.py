"""Live AWS collection."""

from __future__ import annotations

from nhiscan.config import ScanConfig
from nhiscan.model import SourceError
from nhiscan.sources import RawDocument


def collect_live(config: ScanConfig) -> tuple[list[RawDocument], list[SourceError]]:
    return [], [SourceError("--aws", "live AWS collection is not available in this build")]
