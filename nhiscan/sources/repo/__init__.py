"""Repository scanning (secrets, CI configs, agent configs)."""

from __future__ import annotations

import os
from pathlib import Path

from nhiscan.config import ScanConfig
from nhiscan.model import SourceError, SourceRef
from nhiscan.sources import ProviderResult

_SKIP_DIRS = {".git", ".hg", ".svn"}
_MAX_BYTES = 2_000_000


# TEMPORARY walker (branch ci-configs): only feeds CI/agent config files to configs.py so those
# rules work end to end. It is to be SUPERSEDED by the repository walker of the `secrets` branch,
# which the lead keeps at merge time; that walker calls configs.is_config_file /
# configs.scan_config_file for each file. To report unparsable configs it should pass strict=True
# and turn configs.ConfigParseError into a SourceError, as done below.
def scan_paths(config: ScanConfig) -> ProviderResult:
    from nhiscan.sources.repo.configs import ConfigParseError, is_config_file, scan_config_file

    result = ProviderResult()
    for root in config.paths:
        base = Path(root)
        if not base.exists():
            result.errors.append(SourceError(root, "path not found"))
            continue
        result.sources.append(SourceRef(kind="repo", scope=None, path=root))
        files = [base] if base.is_file() else _files(base)
        for file in files:
            rel = file.name if base.is_file() else file.relative_to(base).as_posix()
            if not is_config_file(rel):
                continue
            try:
                raw = file.read_bytes()[:_MAX_BYTES]
                text = raw.decode("utf-8-sig")
            except (OSError, UnicodeDecodeError):
                continue
            try:
                result.observations.extend(scan_config_file(rel, text, strict=True))
            except ConfigParseError as exc:
                result.errors.append(SourceError(str(file), exc.detail))
    return result


def _files(base: Path) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        out.extend(Path(dirpath) / f for f in sorted(filenames))
    return out
