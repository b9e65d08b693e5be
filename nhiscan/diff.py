"""`nhiscan diff OLD.json NEW.json`: what changed between two saved scan results.

Findings are matched by fingerprint, which is stable across runs (rule, identity, credential,
repository, file, commit and, for a secret, an id that cannot confirm a guess: docs/secret-ids.md).
Nothing else of a finding takes part: messages and evidence name secrets by run labels (`AKIA…#3`),
which are numbered per run and differ between two scans of the same tree, so a diff by them would
invent changes. Identities are matched by their id.

- **new**: a fingerprint only NEW has; **resolved**: one only OLD has;
- **changed**: in both, with another severity or another waived state;
- identities **new**, **removed**, and **changed** when their risk score or level moved.

A finding counts against ``--fail-on`` when it is unwaived in NEW, at or above the threshold, and
either new or worse than before: its severity rose, or it was waived in OLD and is not any more
(an expired waiver, an entry removed from the baseline). A finding whose severity fell, or that
stayed as it was, never counts: the diff gates on change, the scan on the state.

Results written by an earlier nhiscan (secrets under their plain hashes, locations without a
repository name) carry fingerprints of an earlier form. Their secret findings are re-keyed as they
are read (model/serialize.py); findings still unmatched afterwards are paired by rule, identity,
credential, file and commit when that pairing is unique on both sides, and the diff says so.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from nhiscan.errors import InputError, NhiscanError
from nhiscan.model import INVENTORY_SCHEMA, SCHEMA, Finding, Identity, Report, Risk, Severity, SourceRef
from nhiscan.sources.stream import read_input_bytes

DIFF_SCHEMA = "nhiscan-diff/v1"
_OTHER_SCHEMAS = {
    INVENTORY_SCHEMA: "an nhiscan inventory, not a scan result (scan it: `nhiscan scan --input FILE "
    "--format json -o RESULT.json`)",
    "nhiscan-baseline/v1": "an nhiscan baseline, not a scan result (save a scan with `--format json`)",
    DIFF_SCHEMA: "an nhiscan diff, not a scan result (diff two results saved with `--format json`)",
}


@dataclass(frozen=True)
class Side:
    """One of the two results: where it came from and what it holds."""

    path: str
    report: Report
    legacy: bool  # written by an earlier nhiscan (fingerprints of an earlier form)


@dataclass(frozen=True)
class FindingChange:
    old: Finding
    new: Finding
    changes: tuple[str, ...]  # "severity", "waived" (now waived), "unwaived" (no longer waived)

    @property
    def worse(self) -> bool:
        return self.new.severity.rank > self.old.severity.rank or "unwaived" in self.changes


@dataclass(frozen=True)
class IdentityChange:
    old: Identity
    new: Identity
    old_risk: Risk | None
    new_risk: Risk | None


@dataclass(frozen=True)
class Diff:
    old: Side
    new: Side
    new_findings: tuple[Finding, ...]
    resolved_findings: tuple[Finding, ...]
    changed_findings: tuple[FindingChange, ...]
    new_identities: tuple[Identity, ...]
    removed_identities: tuple[Identity, ...]
    changed_identities: tuple[IdentityChange, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (
            self.new_findings
            or self.resolved_findings
            or self.changed_findings
            or self.new_identities
            or self.removed_identities
            or self.changed_identities
        )

    def failing(self, fail_on: Severity | None) -> list[Finding]:
        """The NEW findings that fail ``--fail-on``: unwaived, at or above it, new or worse."""
        if fail_on is None:
            return []
        worse = [c.new for c in self.changed_findings if c.worse]
        return sorted(
            (f for f in (*self.new_findings, *worse) if not f.waived and f.severity.rank >= fail_on.rank),
            key=finding_order,
        )


def finding_order(f: Finding) -> tuple[int, str, str, str, int]:
    loc = f.location
    return (
        -f.severity.rank,
        f.rule_id,
        f.identity_id or "",
        loc.path if loc else "",
        (loc.line or 0) if loc else 0,
    )


# -- reading ----------------------------------------------------------------------------------------


def load_result(path: str) -> Side:
    """A saved `nhiscan scan --format json` result, or NhiscanError naming ``path`` in one line.

    Read like every input (sources/stream.py): a FIFO or pipe with a deadline, no device files.
    """
    from nhiscan.model.serialize_report import _legacy_secrets, report_from_dict

    try:
        raw = read_input_bytes(path)
    except InputError as exc:
        raise NhiscanError(f"{path}: {exc.detail.replace('not an export', 'not a scan result')}") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise NhiscanError(f"{path}: not an nhiscan JSON result: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise NhiscanError(
            f"{path}: not an nhiscan JSON result: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise NhiscanError(f"{path}: not an nhiscan JSON result: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise NhiscanError(f"{path}: not an nhiscan JSON result: a JSON {type(data).__name__}, not an object")
    schema = data.get("schema")
    if isinstance(schema, str) and schema in _OTHER_SCHEMAS:
        raise NhiscanError(f"{path}: {_OTHER_SCHEMAS[schema]}")
    if "sarif" in str(data.get("$schema", "")).lower():
        raise NhiscanError(f"{path}: a SARIF log, not a scan result (save the scan with `--format json`)")
    if schema != SCHEMA:
        shown = repr(schema) if isinstance(schema, str) and len(schema) <= 40 else "missing"
        raise NhiscanError(
            f"{path}: not an nhiscan JSON result (schema {shown}, expected {SCHEMA!r}; "
            "save one with `nhiscan scan --format json`)"
        )
    try:
        report = report_from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise NhiscanError(f"{path}: not a readable nhiscan JSON result: {detail}") from None
    return Side(path=path, report=report, legacy=_legacy_secrets(data) or _legacy_locations(data))


def _legacy_locations(data: Mapping[str, Any]) -> bool:
    """Locations naming a repository without its stable name: written before fingerprints named it."""
    for f in data.get("findings") or ():
        loc = f.get("location") if isinstance(f, Mapping) else None
        if isinstance(loc, Mapping) and loc.get("repository") and not loc.get("repository_name"):
            return True
    return False


# -- comparing --------------------------------------------------------------------------------------


def compare(old: Side, new: Side) -> Diff:
    before = _by_fingerprint(old.report.findings)
    after = _by_fingerprint(new.report.findings)
    pairs = [(before[fp], after[fp]) for fp in after if fp in before]
    gone = [f for fp, f in before.items() if fp not in after]
    came = [f for fp, f in after.items() if fp not in before]
    warnings: list[str] = []
    if (old.legacy or new.legacy) and gone and came:
        extra, gone, came = _pair_by_place(gone, came)
        pairs += extra
        legacy = old.path if old.legacy else new.path
        warnings.append(
            f"{legacy} was written by an earlier nhiscan: {len(extra)} finding(s) whose fingerprints "
            "have another form were matched by rule, identity, credential and file"
        )
    changed = [c for c in (_finding_change(o, n) for o, n in pairs) if c is not None]

    old_ids = {i.id: i for i in old.report.inventory.identities}
    new_ids = {i.id: i for i in new.report.inventory.identities}
    changed_ids = []
    for iid, ident in new_ids.items():
        if iid in old_ids:
            r0, r1 = old.report.risks.get(iid), new.report.risks.get(iid)
            if _risk_key(r0) != _risk_key(r1):
                changed_ids.append(IdentityChange(old_ids[iid], ident, r0, r1))
    warnings += _warnings(old, new)
    return Diff(
        old=old,
        new=new,
        new_findings=tuple(sorted(came, key=finding_order)),
        resolved_findings=tuple(sorted(gone, key=finding_order)),
        changed_findings=tuple(sorted(changed, key=lambda c: finding_order(c.new))),
        new_identities=tuple(
            sorted((i for iid, i in new_ids.items() if iid not in old_ids), key=_identity_order(new.report))
        ),
        removed_identities=tuple(
            sorted((i for iid, i in old_ids.items() if iid not in new_ids), key=_identity_order(old.report))
        ),
        changed_identities=tuple(
            sorted(changed_ids, key=lambda c: (-_score(c.new_risk), -_score(c.old_risk), c.new.id))
        ),
        warnings=tuple(warnings),
    )


def _by_fingerprint(findings: Iterable[Finding]) -> dict[str, Finding]:
    out: dict[str, Finding] = {}
    for f in findings:
        out.setdefault(f.fingerprint, f)  # one finding per fingerprint, as the engine makes them
    return out


def _place(f: Finding, line: bool) -> tuple[object, ...]:
    """Where a finding is, as an earlier version's result and a current one both say it: the
    repository by the last part of its path (earlier versions wrote no stable name)."""
    loc = f.location
    where: tuple[object, ...] = ()
    if loc is not None:
        repo = PurePath(loc.repository).name if loc.repository else ""
        where = (repo, loc.path, loc.commit or "", loc.line if line else None)
    return (f.rule_id, f.identity_id or "", f.credential_id or "", *where)


def _pair_by_place(
    gone: Sequence[Finding], came: Sequence[Finding]
) -> tuple[list[tuple[Finding, Finding]], list[Finding], list[Finding]]:
    """Unmatched findings paired by place where exactly one on each side has it: first with the
    line (two secrets of one file), then without it (lines moved)."""
    pairs: list[tuple[Finding, Finding]] = []
    left, right = list(gone), list(came)
    for line in (True, False):
        before = Counter(_place(f, line) for f in left)
        after = Counter(_place(f, line) for f in right)
        unique = {p for p in before if before[p] == 1 and after.get(p) == 1}
        by_place = {_place(f, line): f for f in right if _place(f, line) in unique}
        pairs += [(f, by_place[_place(f, line)]) for f in left if _place(f, line) in unique]
        left = [f for f in left if _place(f, line) not in unique]
        right = [f for f in right if _place(f, line) not in unique]
    return pairs, left, right


def _finding_change(old: Finding, new: Finding) -> FindingChange | None:
    changes = []
    if old.severity != new.severity:
        changes.append("severity")
    if old.waived != new.waived:
        changes.append("waived" if new.waived else "unwaived")
    return FindingChange(old, new, tuple(changes)) if changes else None


def _risk_key(risk: Risk | None) -> tuple[int, str] | None:
    return None if risk is None else (risk.score, risk.level)


def _score(risk: Risk | None) -> int:
    return risk.score if risk is not None else -1


def _identity_order(report: Report) -> Any:
    def key(i: Identity) -> tuple[int, str]:
        return (-_score(report.risks.get(i.id)), i.id)

    return key


def _warnings(old: Side, new: Side) -> list[str]:
    """What can make a diff mislead: failed inputs, sources only one side scanned, swapped files."""
    out = []
    for side in (old, new):
        errors = side.report.errors
        if errors:
            out.append(
                f"{side.path}: its scan had {len(errors)} input error(s) (first: {errors[0].source}); "
                "findings of inputs that failed show as resolved or new"
            )
    in_old = {_source_key(s) for s in old.report.inventory.sources}
    in_new = {_source_key(s) for s in new.report.inventory.sources}
    for side, mine, theirs in ((old, in_old, in_new), (new, in_new, in_old)):
        only = sorted(k for k in mine - theirs if k[1])
        if only:
            names = ", ".join(f"{kind} {name}" for kind, name in only[:3]) + (
                f" and {len(only) - 3} more" if len(only) > 3 else ""
            )
            out.append(f"only {side.path} scanned {names}: its findings show as resolved or new")
    if old.report.as_of > new.report.as_of:
        out.append(
            f"{old.path} (as of {old.report.as_of.date()}) is later than {new.path} "
            f"(as of {new.report.as_of.date()}): are OLD and NEW swapped?"
        )
    return out


def _source_key(s: SourceRef) -> tuple[str, str]:
    """A source as two scans of the same thing agree on it: a repository by its directory name (a
    checkout and a worktree of the base branch sit at different paths), an export by its scope."""
    if s.kind == "repository":
        return (s.kind, PurePath(s.path or "").name or s.scope or "")
    return (s.kind, s.scope or PurePath(s.path or "").name)
