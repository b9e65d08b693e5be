"""The error for an input nobody recognises names the file and points to the inputs documentation."""

from __future__ import annotations

from pathlib import Path

import pytest

from nhiscan.config import InputSpec
from nhiscan.errors import InputError
from nhiscan.sources.exports import INPUTS_DOC, load_input, load_inputs

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("name", "content", "shape"),
    [
        ("notes.json", '{"foo": 1, "bar": [2]}', "a JSON dict with keys ['bar', 'foo']"),
        ("list.json", "[1, 2, 3]", "a JSON list"),
        ("report.csv", "name,created\nx,2026-01-01\n", "not JSON, YAML or a known CSV report"),
    ],
)
def test_unknown_format_points_to_inputs_doc(tmp_path: Path, name: str, content: str, shape: str) -> None:
    f = tmp_path / name
    f.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_input(InputSpec(str(f)))
    assert info.value.source == str(f)
    assert shape in info.value.detail
    assert info.value.detail.startswith("unrecognised export format")
    assert info.value.detail.rstrip(")").endswith(f"see {INPUTS_DOC}")


def test_unknown_file_in_a_directory_points_to_inputs_doc(tmp_path: Path) -> None:
    (tmp_path / "odd.json").write_text('{"foo": 1}', encoding="utf-8")
    docs, errors = load_inputs(InputSpec(str(tmp_path)))
    assert docs == []
    assert [e.source for e in errors] == [str(tmp_path / "odd.json")]
    assert INPUTS_DOC in errors[0].message


def test_the_pointer_leads_to_a_real_page() -> None:
    page = ROOT / INPUTS_DOC
    assert page.is_file()
    assert "## When a file is not recognised" in page.read_text(encoding="utf-8")
