"""Repository scanning (secrets, CI configs, agent configs)."""

from __future__ import annotations

from nhiscan.config import ScanConfig
from nhiscan.model import SourceError
from nhiscan.sources import ProviderResult


def scan_paths(config: ScanConfig) -> ProviderResult:
    return ProviderResult(
        errors=[SourceError(p, "repository scanning is not available in this build") for p in config.paths]
    )
