"""The fingerprint of a catalogue's YAML files that guards its precompiled form (the rule catalog in
analyze/rules_cache.py, the detector catalogue in sources/repo/detectors_cache.py): a precompiled
module is used only while it records the digest of exactly the files on disk."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def files_digest(base: Path, paths: Iterable[Path]) -> str:
    """SHA-256 over ``paths`` in the order given: each one's name relative to ``base``, its length
    and its bytes."""
    h = hashlib.sha256()
    for path in paths:
        data = path.read_bytes()
        h.update(f"{path.relative_to(base).as_posix()}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()
