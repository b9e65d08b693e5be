"""CI pipeline and AI-agent configuration checks (interface used by the repository walker).

``is_config_file(rel_path)`` tells the walker which files to hand over; ``scan_config_file(rel_path,
text)`` returns the Observations found in one such file (each tagged with the rule id that reports
it). Secrets inside these files are found by the secret scanner like in any other file; this module
reports what is wrong with the configuration itself.
"""

from __future__ import annotations

from nhiscan.model import Observation


def is_config_file(rel_path: str) -> bool:
    return False


def scan_config_file(rel_path: str, text: str) -> list[Observation]:
    return []
