"""The rule catalog's precompiled form is true to rules/*.yaml and rules/frameworks/*.yaml, or not used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nhiscan.analyze import rules, rules_cache, rules_data
from nhiscan.errors import NhiscanError


def _from_files() -> tuple[rules.Rule, ...]:
    rules.load_catalog.cache_clear()
    return rules.load_catalog(rules.rules_dir())  # a directory given: always parsed from the files


def test_precompiled_form_is_current() -> None:
    assert rules_cache.digest(rules.rules_dir()) == rules_data.DIGEST, (
        "rules/ changed: run `python -m nhiscan.analyze.rules_cache`"
    )
    assert rules_cache.DATA_MODULE.read_text(encoding="utf-8") == rules_cache.render(rules.rules_dir())


def test_precompiled_catalog_equals_the_yaml_files() -> None:
    parsed = rules_cache.load(rules.rules_dir())
    assert parsed is not None
    assert set(parsed) == {
        rules_cache.name(rules.rules_dir(), p) for p in rules_cache.files(rules.rules_dir())
    }
    from_files = _from_files()
    rules.load_catalog.cache_clear()
    bundled = rules.load_catalog()
    assert bundled == from_files  # every field of every rule, frameworks included
    assert [r.frameworks for r in bundled] == [r.frameworks for r in from_files]
    assert any(r.frameworks for r in bundled) and any(r.param_spec for r in bundled)


def _copy(tmp_path: Path) -> Path:
    base = tmp_path / "rules"
    shutil.copytree(rules.rules_dir(), base)
    return base


def test_an_edited_catalog_is_read_from_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = _copy(tmp_path)
    assert rules_cache.load(base) is not None  # the same bytes elsewhere: the same catalog
    target = base / "aws-access-key-too-old.yaml"
    text = target.read_text(encoding="utf-8")
    title = next(line for line in text.splitlines() if line.startswith("title:"))
    target.write_text(text.replace(title, "title: Edited title"), encoding="utf-8")
    assert rules_cache.load(base) is None
    monkeypatch.setattr(rules, "rules_dir", lambda: base)
    rules.load_catalog.cache_clear()
    try:
        edited = {r.id: r.title for r in rules.load_catalog()}
    finally:
        rules.load_catalog.cache_clear()
    assert edited["aws-access-key-too-old"] == "Edited title"


def test_an_edited_framework_file_is_read_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = _copy(tmp_path)
    fw = next((base / "frameworks").glob("*.yaml"))
    fw.write_text(fw.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # one byte more
    assert rules_cache.load(base) is None


def test_a_broken_rule_still_fails_validation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = _copy(tmp_path)
    target = base / "aws-access-key-too-old.yaml"
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("severity:", "severity: nonsense\nx_severity:", 1), encoding="utf-8")
    monkeypatch.setattr(rules, "rules_dir", lambda: base)
    rules.load_catalog.cache_clear()
    try:
        with pytest.raises(NhiscanError, match="aws-access-key-too-old"):
            rules.load_catalog()
    finally:
        rules.load_catalog.cache_clear()


def test_only_plain_values_are_precompiled() -> None:
    with pytest.raises(ValueError, match="date"):
        rules_cache._plain({"a": [__import__("datetime").date(2026, 1, 1)]}, "x.yaml")
