"""`nhiscan paths` output: a table (rich) or the ``nhiscan-paths/v1`` JSON document.

JSON::

    {"schema": "nhiscan-paths/v1", "as_of": "...", "from": "<node id>" | null,
     "to": "admin" | "<node id>" | null,
     "paths": [{"from": ..., "to": ..., "to_privilege": "admin", "hops": 3, "conditional": false,
                "path": [{"from", "to", "kind", "via", "file", "conditional", "condition"}, ...]}],
     "errors": [{"source": ..., "message": ...}]}

Every string from an input passes through ``display.printable`` in the table; JSON keeps values.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from nhiscan.analyze.graph import Graph, hop_out
from nhiscan.analyze.graph.query import PathRow
from nhiscan.display import printable
from nhiscan.model import SourceError
from nhiscan.model.jsonstream import dumps_document
from nhiscan.model.serialize import dt_out

SCHEMA = "nhiscan-paths/v1"


def document(
    rows: Sequence[PathRow],
    *,
    as_of: datetime,
    source: str | None,
    target: str | None,
    errors: Sequence[SourceError] = (),
) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "as_of": dt_out(as_of),
        "from": source,
        "to": target,
        "paths": [
            {
                "from": r.source,
                "to": r.target,
                "to_privilege": r.privilege,
                "hops": len(r.path),
                "conditional": r.conditional,
                "path": [hop_out(e) for e in r.path],
            }
            for r in rows
        ],
        "errors": [{"source": e.source, "message": e.message} for e in errors],
    }


def render_json(rows: Sequence[PathRow], **kw: Any) -> str:
    return dumps_document(document(rows, **kw))


def _title(graph: Graph, source: str | None, target: str | None, n: int) -> str:
    who = graph.short(source) if source else "every non-human identity"
    if target is None:
        return f"{who} reaches {n} node(s)"
    goal = "admin" if target == "admin" else graph.short(target)
    if source is None:
        return f"{n} non-human identit{'y' if n == 1 else 'ies'} reach{'es' if n == 1 else ''} {goal}"
    return f"{who} -> {goal}: " + ("a path" if n else "no path")


def render_table(
    graph: Graph, rows: Sequence[PathRow], *, source: str | None, target: str | None, width: int | None = None
) -> str:
    buf = io.StringIO()
    from nhiscan.report.table_format import _pipe_width

    console = Console(file=buf, no_color=True, width=width or _pipe_width(), highlight=False, soft_wrap=False)
    console.print(Text(printable(_title(graph, source, target, len(rows)))))
    if not rows:
        return buf.getvalue()
    table = Table(show_lines=True)
    for col in ("#", "From", "Reaches", "Privilege", "Hops", "Path (hop by hop)"):
        table.add_column(col, overflow="fold")
    for n, r in enumerate(rows, 1):
        steps = Text()
        for k, e in enumerate(r.path, 1):
            if k > 1:
                steps.append("\n")
            steps.append(printable(f"{k}. {graph.short(e.source)} -> {graph.short(e.target)}  [{e.kind}]"))
            steps.append("\n   " + printable(e.via))
            if e.path:
                steps.append("\n   file: " + printable(e.path))
            if e.conditional:
                steps.append(
                    "\n   conditional: " + printable(e.condition or "a condition the export cannot decide")
                )
        table.add_row(
            str(n),
            Text(printable(graph.short(r.source))),
            Text(printable(graph.short(r.target))),
            r.privilege + (" (conditional)" if r.conditional else ""),
            str(len(r.path)),
            steps,
        )
    console.print(table)
    return buf.getvalue()
