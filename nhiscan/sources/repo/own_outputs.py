"""Files nhiscan itself wrote (its reports, baselines and inventories), recognised by content.

Such a file is scanned for secrets like any other: nothing a file starts with or holds can make
nhiscan skip a secret. Recognising it only (1) names it in the result (``sources[].nhiscan_files``)
and (2) tells the scan which of its values are the report's own data rather than leaks: the AWS
access key ids it names (identifiers nhiscan prints in full by design) and, in its JSON forms, the
inventory values it copied from cloud exports (identity and credential ids, names, attributes;
in CSV, the cells of the rows it wrote),
which the generic detectors (high-entropy strings, secret keywords) would otherwise flag. Typed
secrets (cloud secret keys, tokens, private keys, passwords in URLs) are reported in every file.
The redacted previews, digests and fingerprints nhiscan writes are recognised by their form in
every file (secrets.is_own_value).

JSON documents must parse and carry nhiscan's schema (or, for SARIF, name nhiscan as the tool);
text formats are recognised from their first lines.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from typing import Any

_OWN_JSON_SCHEMAS = frozenset(
    {"nhiscan/v1", "nhiscan-baseline/v1", "nhiscan-inventory/v1", "nhiscan-diff/v1"}
)
_OWN_JSON_START = re.compile(r'\A\{\s*"schema"\s*:\s*"nhiscan')
_SARIF_START = re.compile(r'\A\s*\{\s*"\$schema"\s*:\s*"[^"]*sarif')
_OWN_TEXT_STARTS = (
    ("html", re.compile(r'\A<!doctype html>.{0,2000}?<meta name="generator" content="nhiscan ', re.S | re.I)),
    ("markdown", re.compile(r"\A## nhiscan(?:: non-human identity scan| diff: what changed)\n")),
    ("csv", re.compile(r"\A\ufeff?severity,rule_id,title,owasp_nhi,identity_id,provider,identity_kind,")),
    ("table", re.compile(r"\A╭─ nhiscan ─+╮\n│ \d+ identities \(\d+ non-human\) ")),
    ("diff", re.compile(r"\Anhiscan diff: [^\n]* -> [^\n]*\nFindings: \d+ new, \d+ resolved, ")),
)

# Where nhiscan's JSON documents hold inventory data (copied from exports, never secret values):
# everything under these keys.
_DATA_KEYS = frozenset({"identities", "identity_id", "credential_id", "evidence", "attributes", "properties"})


# Free-text fields of the JSON forms (finding messages, SARIF message text): key ids appear there
# in the sentences nhiscan writes ("... key_id AKIA...").
_TEXT_KEYS = frozenset({"message", "text"})

# The shape of the lines nhiscan writes in its text formats. A key id is the output's own only on
# such a line: a line pasted into a report ("aws_access_key_id = AKIA...") has none of these shapes.
_LINE_SHAPES = {
    "markdown": re.compile(r"^\s*\|.*\|\s*$"),  # table rows
    "table": re.compile(r"^\s*[│┃].*[│┃]\s*$"),  # cells inside the box drawing
    "html": re.compile(r"^\s*<"),  # lines of markup (a cell's text may continue on the next line)
    "diff": re.compile(r"^ {12}\S"),  # a finding's place and message in `nhiscan diff`'s text view
}


@dataclass(frozen=True)
class OwnOutput:
    kind: str  # json, sarif, html, markdown, csv, table
    data_values: frozenset[str] = frozenset()  # the inventory strings of a JSON document
    text_key_ids: frozenset[str] = frozenset()  # the AWS access key ids in its free-text strings
    columns: int = 0  # CSV: the header's column count

    def holds_data(self, value: str, line: str) -> bool:
        """Whether ``value`` (a generic detector's hit on ``line``) is inventory data this output
        copied from an export: a JSON data string, or a cell of a CSV row nhiscan wrote (its cells
        are quoted, so the entropy detectors see every id in them)."""
        bare = value.strip("'\"")
        if self.kind in ("json", "sarif"):
            return value in self.data_values or bare in self.data_values
        if self.kind == "csv":
            row = self._csv_row(line)
            return row is not None and any(bare in cell for cell in row)
        return False

    def _csv_row(self, line: str) -> list[str] | None:
        """The cells of ``line`` when it is a row as wide as this CSV's header, else None."""
        try:
            row = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            return None
        return row if len(row) == self.columns else None

    def names_key_id(self, key_id: str, line: str) -> bool:
        """Whether this output names ``key_id`` where nhiscan writes credential ids (on ``line``)."""
        if self.kind in ("json", "sarif"):
            return key_id in self.data_values or key_id in self.text_key_ids
        if self.kind == "csv":
            return self._csv_row(line) is not None
        shape = _LINE_SHAPES.get(self.kind)
        return shape is not None and shape.match(line) is not None


def nhiscan_output(text: str) -> OwnOutput | None:
    """What kind of nhiscan output this text is, or None."""
    head = text[:4096].lstrip()
    if head.startswith("{"):
        if not (_OWN_JSON_START.match(head) or _SARIF_START.match(head)):
            return None
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            return None
        if isinstance(doc, dict) and doc.get("schema") in _OWN_JSON_SCHEMAS:
            return OwnOutput("json", *_strings(doc))
        runs = doc.get("runs") if isinstance(doc, dict) else None
        if isinstance(runs, list) and runs and all(_sarif_run_is_ours(r) for r in runs):
            return OwnOutput("sarif", *_strings(doc))
        return None
    for kind, pattern in _OWN_TEXT_STARTS:
        if pattern.match(head):
            if kind == "csv":
                header = next(csv.reader([head.lstrip("\ufeff").split("\n", 1)[0]]))
                return OwnOutput(kind, columns=len(header))
            return OwnOutput(kind)
    return None


def _sarif_run_is_ours(run: object) -> bool:
    tool = run.get("tool") if isinstance(run, dict) else None
    driver = tool.get("driver") if isinstance(tool, dict) else None
    return isinstance(driver, dict) and driver.get("name") == "nhiscan"


_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])")


def _strings(doc: Any) -> tuple[frozenset[str], frozenset[str]]:
    """(every string under a data key, the key ids in free-text strings), iteratively (any depth)."""
    data: set[str] = set()
    key_ids: set[str] = set()
    stack: list[tuple[Any, str, bool]] = [(doc, "", False)]
    while stack:
        node, key, in_data = stack.pop()
        if isinstance(node, dict):
            stack.extend((v, k, in_data or k in _DATA_KEYS) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, key, in_data) for v in node)
        elif isinstance(node, str):
            if in_data:
                data.add(node)
            elif key in _TEXT_KEYS:
                key_ids.update(_KEY_ID.findall(node))
    return frozenset(data), frozenset(key_ids)
