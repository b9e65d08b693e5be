"""Property tests: a mutated export never crashes the scan, every problem names that file, and the
other inputs given alongside are still fully reported.

Deterministic (derandomize=True) and bounded, so the suite stays fast and reproducible.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhiscan.model import Report
from tests.robustness.harness import (
    CSV_OPS,
    EXPORTS,
    ODD_VALUES,
    OPS,
    Export,
    clean_ids,
    loaded,
    mutate,
    mutate_csv,
    others,
    scan,
    siblings,
    spec,
)

JSON_EXPORTS = [e for e in EXPORTS if e.path.suffix == ".json"]
CSV_EXPORTS = [e for e in EXPORTS if e.path.suffix == ".csv"]

FUZZ = settings(
    derandomize=True,
    # NHISCAN_FUZZ_EXAMPLES=1000 for a deeper (slower) local run; the default keeps CI fast.
    max_examples=int(os.environ.get("NHISCAN_FUZZ_EXAMPLES", "40")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check(export: Export, mutated: Path, report: Report) -> None:
    for err in report.errors:
        assert err.source == str(mutated), f"error names another source: {err}"
        assert err.message and "\n" not in err.message, f"not a one-line message: {err.message!r}"
    got = {i.id for i in report.inventory.identities}
    missing = clean_ids(export.provider) - got
    assert not missing, f"identities of untouched inputs lost: {sorted(missing)[:5]}"


def _run(export: Export, mutated: Path) -> Report:
    report = scan([spec(export, mutated), *(spec(o) for o in others(export))])
    _check(export, mutated, report)
    return report


@pytest.mark.parametrize("export", JSON_EXPORTS, ids=lambda e: e.name)
@FUZZ
@given(data=st.data())
def test_structural_mutation_of_json_export(export: Export, data: st.DataObject, tmp_path: Path) -> None:
    doc, paths = loaded(export.path)
    path = data.draw(st.sampled_from(paths), label="path")
    op = data.draw(st.sampled_from(OPS), label="op")
    odd = data.draw(st.sampled_from(ODD_VALUES), label="odd")
    mutated = tmp_path / export.path.name
    mutated.write_text(json.dumps(mutate(doc, path, op, odd)), encoding="utf-8")
    _run(export, mutated)


@pytest.mark.parametrize("export", EXPORTS, ids=lambda e: e.name)
@FUZZ
@given(cut=st.floats(0.0, 1.0))
def test_truncated_export(export: Export, cut: float, tmp_path: Path) -> None:
    raw = export.path.read_bytes()
    mutated = tmp_path / export.path.name
    mutated.write_bytes(raw[: int(len(raw) * cut)])
    _run(export, mutated)


@pytest.mark.parametrize("export", EXPORTS, ids=lambda e: e.name)
@settings(FUZZ, max_examples=10)
@given(where=st.floats(0.0, 1.0), byte=st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"]))
def test_invalid_bytes_in_export(export: Export, where: float, byte: bytes, tmp_path: Path) -> None:
    raw = export.path.read_bytes()
    at = int(len(raw) * where)
    mutated = tmp_path / export.path.name
    mutated.write_bytes(raw[:at] + byte + raw[at:])
    _run(export, mutated)


@pytest.mark.parametrize("export", CSV_EXPORTS, ids=lambda e: e.name)
@FUZZ
@given(
    op=st.sampled_from(CSV_OPS),
    row=st.integers(0, 50),
    col=st.integers(0, 30),
    odd=st.sampled_from(["", "garbage", "N/A", "2026-13-45T99:99:99+00:00", "1767225600", "true", "\udcff"]),
)
def test_csv_mutation(export: Export, op: str, row: int, col: int, odd: str, tmp_path: Path) -> None:
    text = export.path.read_text("utf-8")
    mutated = tmp_path / export.path.name
    mutated.write_text(mutate_csv(text, op, row, col, odd), encoding="utf-8", errors="surrogateescape")
    _run(export, mutated)


# --- valid real-world shapes are accepted, with the same result -------------------------------------


def _ids(report: Report) -> list[str]:
    return sorted(i.id for i in report.inventory.identities)


@pytest.mark.parametrize("export", EXPORTS, ids=lambda e: e.name)
@pytest.mark.parametrize("shape", ["bom", "crlf", "bom+crlf", "trailing-whitespace"])
def test_bom_and_crlf_are_accepted(export: Export, shape: str, tmp_path: Path) -> None:
    raw = export.path.read_bytes()
    if "crlf" in shape:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if "bom" in shape:
        raw = b"\xef\xbb\xbf" + raw
    if shape == "trailing-whitespace":
        raw = raw + b"\n\n  \n"
    mutated = tmp_path / export.path.name
    mutated.write_bytes(raw)
    alongside = [spec(s) for s in siblings(export)]
    clean = scan([spec(export), *alongside])
    odd = scan([spec(export, mutated), *alongside])
    assert not odd.errors, odd.errors
    assert _ids(odd) == _ids(clean)
    assert _findings_of(odd) == _findings_of(clean)


def _findings_of(report: Report) -> list[tuple[str, str | None, str | None]]:
    return sorted((f.rule_id, f.identity_id, f.credential_id) for f in report.findings)


def _gaad() -> tuple[Export, Any]:
    export = next(e for e in EXPORTS if e.path.name == "gaad.json")
    return export, loaded(export.path)[0]


def _policy_docs(gaad: Any) -> list[dict[str, Any]]:
    """Every policy-document-bearing record of a GAAD export (by reference, for in-place edits)."""
    out = []
    for rec in gaad.get("UserDetailList", []) + gaad.get("GroupDetailList", []):
        out.extend(rec.get("UserPolicyList") or [])
        out.extend(rec.get("GroupPolicyList") or [])
    for rec in gaad.get("RoleDetailList", []):
        out.extend(rec.get("RolePolicyList") or [])
    return out


@pytest.mark.parametrize("form", ["url-encoded", "json-text", "statement-dict", "action-string"])
def test_equivalent_policy_shapes_are_accepted(form: str, tmp_path: Path) -> None:
    """AWS GAAD ships policy documents URL-encoded; the CLI decodes them; both must read the same."""
    export, gaad = _gaad()
    gaad = copy.deepcopy(gaad)
    docs: list[tuple[dict[str, Any], str]] = [(p, "PolicyDocument") for p in _policy_docs(gaad)]
    docs += [(r, "AssumeRolePolicyDocument") for r in gaad.get("RoleDetailList", [])]
    for pol in gaad.get("Policies", []):
        docs += [(v, "Document") for v in pol.get("PolicyVersionList") or []]
    assert docs
    for holder, key in docs:
        doc = holder[key]
        if isinstance(doc, str):
            continue
        if form == "url-encoded":
            holder[key] = quote(json.dumps(doc))
        elif form == "json-text":
            holder[key] = json.dumps(doc)
        else:
            stmts = doc.get("Statement")
            if form == "statement-dict" and isinstance(stmts, list) and len(stmts) == 1:
                doc["Statement"] = stmts[0]
            if form == "action-string":
                for st_ in stmts if isinstance(stmts, list) else [stmts]:
                    if isinstance(st_.get("Action"), list) and len(st_["Action"]) == 1:
                        st_["Action"] = st_["Action"][0]
    mutated = tmp_path / "gaad.json"
    mutated.write_text(json.dumps(gaad), encoding="utf-8")
    clean = scan([spec(export)])
    odd = scan([spec(export, mutated)])
    assert not odd.errors, odd.errors
    assert _ids(odd) == _ids(clean)
    assert _findings_of(odd) == _findings_of(clean)


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEqualsIgnoreCaseIfExists": {"aws:PrincipalTag/x": 5}},
        {"ForAnyValue:StringLike": {"token.actions.githubusercontent.com:sub": ["repo:*", None, 3]}},
        {"BogusOperator": "x"},
        {"StringEquals": None},
        {"StringEquals": ["a"]},
        [],
    ],
    ids=str,
)
def test_odd_condition_operators_are_read(condition: Any, tmp_path: Path) -> None:
    """IAM keeps whatever operator a policy names; nhiscan must read it, not fall over."""
    export, gaad = _gaad()
    gaad = copy.deepcopy(gaad)
    for rec in gaad["RoleDetailList"]:
        trust = rec.get("AssumeRolePolicyDocument")
        if isinstance(trust, dict):
            stmts = trust["Statement"]
            for st_ in stmts if isinstance(stmts, list) else [stmts]:
                st_["Condition"] = condition
    mutated = tmp_path / "gaad.json"
    mutated.write_text(json.dumps(gaad), encoding="utf-8")
    report = scan([spec(export, mutated)])
    assert not report.errors, report.errors
    assert _ids(report) == _ids(scan([spec(export)]))


def test_a_condition_that_is_not_an_object_skips_only_its_role(tmp_path: Path) -> None:
    export, gaad = _gaad()
    gaad = copy.deepcopy(gaad)
    role = next(r for r in gaad["RoleDetailList"] if isinstance(r.get("AssumeRolePolicyDocument"), dict))
    stmts = role["AssumeRolePolicyDocument"]["Statement"]
    (stmts[0] if isinstance(stmts, list) else stmts)["Condition"] = "StringEquals"
    mutated = tmp_path / "gaad.json"
    mutated.write_text(json.dumps(gaad), encoding="utf-8")
    report = scan([spec(export, mutated)])
    assert [(e.source, e.message) for e in report.errors] == [
        (
            str(mutated),
            f"{role['Arn']}: cannot normalize (trust policy Condition is not an object (got str)); skipped",
        )
    ]
    assert set(_ids(scan([spec(export)]))) - set(_ids(report)) == {role["Arn"]}
