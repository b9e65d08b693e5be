"""The per-line analysis that replaced detect-secrets' `_scan_line` and its secret filters: the same
answers on every line (the keyword plugin: a superset, every assignment instead of the first), at
a cost linear in the line's length."""

from __future__ import annotations

import random
import string
import time
from typing import Any

from nhiscan.sources.repo.engine import ds_session
from nhiscan.sources.repo.lines import LineAnalyzer, LineState

PIECES = [
    "password",
    "PassWd",
    "db_pass",
    "api_key",
    "secret",
    "user_id",
    "_ids",
    "myid",
    "id",
    "=",
    " = ",
    ": ",
    '"',
    "'",
    ";",
    "==",
    " ",
    ",",
    "(",
    "x",
    "$",
    "{{ a }}",
    "12345",
]


def _value(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(rng.randint(6, 44)))


def _line(rng: random.Random, values: list[str]) -> str:
    parts: list[str] = []
    for _ in range(rng.randint(1, 30)):
        r = rng.random()
        if r < 0.25:
            parts.append(f'"{rng.choice(values)}"')
        elif r < 0.35:
            parts.append(rng.choice(values))
        else:
            parts.append(rng.choice(PIECES))
    return "".join(parts)


def _detect_secrets(
    scan: Any, filtered: Any, plugin: Any, filename: str, line: str, context: Any
) -> set[str]:
    """What detect-secrets itself reports for one plugin on one line (its _scan_line and filters)."""
    out = set()
    for secret in scan._scan_line(
        plugin=plugin, filename=filename, line=line, line_number=1, context=context
    ):
        if not filtered(
            required_filter_parameters=["context"],
            filename=filename,
            secret=secret.secret_value,
            plugin=plugin,
            line=line,
            context=context,
        ):
            out.add(str(secret.secret_value))
    return out


def test_same_answers_as_detect_secrets_line_by_line() -> None:
    from detect_secrets.core import scan
    from detect_secrets.util.code_snippet import get_code_snippet

    rng = random.Random(20261201)
    values = [_value(rng) for _ in range(12)]
    with ds_session() as scanner:
        analyzer = LineAnalyzer()
        plugins = [p for p in scanner._plugins]
        checked = 0
        for _ in range(600):
            line = _line(rng, values)
            context = get_code_snippet(lines=[line], line_number=1)
            for filename in ("app.py", "conf.yaml"):
                for plugin in plugins:
                    theirs = _detect_secrets(scan, scan._is_filtered_out, plugin, filename, line, context)
                    ours = {
                        v for _, v in analyzer.secrets(plugin, filename, line, 1, context, LineState(line))
                    }
                    if type(plugin).__name__ == "KeywordDetector":
                        assert theirs <= ours, (line, filename)
                    else:
                        assert ours == theirs, (type(plugin).__name__, filename, line)
                    checked += bool(theirs)
        assert checked > 150


def _dense(n: int, rng: random.Random) -> str:
    return (
        " ".join(f'"{_value(rng)}x"' for _ in range(n))
        + " user_id = 1 "
        + " ".join(f'password="{_value(rng)}"' for _ in range(n))
    )


def test_cost_per_line_is_linear() -> None:
    rng = random.Random(7)
    with ds_session() as scanner:
        timings = []
        for n in (1000, 4000):
            line = _dense(n, rng)
            started = time.perf_counter()
            scanner.scan_text("dump.js", line)
            timings.append(time.perf_counter() - started)
    assert timings[1] <= 6 * timings[0] + 0.5, timings
