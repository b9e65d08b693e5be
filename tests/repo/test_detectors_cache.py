"""The detector catalogue's precompiled form is true to rules/detectors/*.yaml, or not used."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from nhiscan.sources.repo import detectors, detectors_cache, detectors_data


def _same(a: detectors.Detector, b: detectors.Detector) -> None:
    assert a == b  # every field: sources of both regexes, literals, examples, group, flags
    assert a.regex.pattern == b.regex.pattern and a.regex.flags == b.regex.flags
    assert a.regex.groups == b.regex.groups
    assert (a.value is None) == (b.value is None)
    if a.value is not None and b.value is not None:
        assert a.value.pattern == b.value.pattern


def test_precompiled_form_is_current() -> None:
    """Fails after a detector file changed until the data is rebuilt (the command in the message)."""
    assert detectors_cache.digest(detectors.detectors_dir()) == detectors_data.DIGEST, (
        "rules/detectors changed: run `python -m nhiscan.sources.repo.detectors_cache`"
    )
    assert detectors_cache.DATA_MODULE.read_text(encoding="utf-8") == detectors_cache.render(
        detectors.detectors_dir()
    )


def test_precompiled_detectors_equal_the_yaml_files() -> None:
    from_yaml = detectors.read_detectors(detectors.detectors_dir())
    cached = detectors_cache.load(detectors.detectors_dir())
    assert cached is not None
    assert [d.id for d in cached] == [d.id for d in from_yaml]
    for a, b in zip(cached, from_yaml, strict=True):
        _same(a, b)
    assert detectors.load_detectors() == from_yaml


def test_each_lazy_regex_finds_its_examples() -> None:
    """The regexes compiled on first use are the ones validation compiled, and work."""
    for det in detectors_cache.load(detectors.detectors_dir()) or ():
        assert "regex" not in det.__dict__  # not compiled until used
        compiled = det.regex
        assert compiled is det.regex  # once
        assert compiled.pattern == det.source
        positives = [e for e in det.examples if e.positive]
        assert any(compiled.search(e.render()) for e in positives), det.id


def test_edited_catalogue_is_read_from_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalogue that differs from the one the data was built from (one byte) is parsed from YAML."""
    base = tmp_path / "detectors"
    shutil.copytree(detectors.detectors_dir(), base)
    assert detectors_cache.load(base) is not None  # same bytes elsewhere: same catalogue
    target = base / "vcs.yaml"
    text = target.read_text(encoding="utf-8")
    assert "name: GitHub personal access token (classic)" in text
    target.write_text(text.replace("name: GitHub personal access token (classic)", "name: Edited name"))
    assert detectors_cache.load(base) is None
    monkeypatch.setattr(detectors, "detectors_dir", lambda: base)
    detectors.load_detectors.cache_clear()
    try:
        names = {d.id: d.name for d in detectors.load_detectors()}
    finally:
        detectors.load_detectors.cache_clear()
    assert names["github-pat-token"] == "Edited name"


def test_a_broken_edit_still_fails_validation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "detectors"
    shutil.copytree(detectors.detectors_dir(), base)
    target = base / "vcs.yaml"
    text = target.read_text(encoding="utf-8")
    first = re.search(r"regex: '([^'\n]+)'", text)
    assert first is not None
    target.write_text(text.replace(first.group(0), "regex: '(unclosed'", 1))
    monkeypatch.setattr(detectors, "detectors_dir", lambda: base)
    detectors.load_detectors.cache_clear()
    try:
        with pytest.raises(detectors.NhiscanError, match="invalid regex"):
            detectors.load_detectors()
    finally:
        detectors.load_detectors.cache_clear()
