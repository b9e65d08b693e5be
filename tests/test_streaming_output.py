"""Streaming JSON output: the same bytes as the one-shot encoder, written atomically."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nhiscan import output
from nhiscan.model import Credential, Grant, Identity, Inventory, Risk, Trust
from nhiscan.model.identity_text import GrantTexts
from nhiscan.model.jsonstream import COMPACT, Lazy, chunked, dumps_document, iter_document
from nhiscan.model.serialize import built, identity_out, inventory_document
from nhiscan.output import write_pieces

SHARED = tuple(
    Grant(actions=tuple(f"s3:Get{n}" for n in range(12)), via="managed:ReadOnly") for _ in range(1)
)


def identities() -> list[Identity]:
    odd = 'caf\u00e9 \u202e\udcff \x1b[31m "quoted" \\'
    return [
        Identity(
            id=f"arn:aws:iam::1:role/r{i}",
            provider="aws",
            kind="aws-iam-role",
            name=odd if i == 1 else f"r{i}",
            scope="1",
            tags={"owner": odd} if i % 2 else {},
            credentials=(Credential(id=f"k{i}", kind="aws-access-key", attributes={"grants": []}),),
            grants=(*SHARED, Grant(actions=("s3:*",), resources=(f"arn:aws:s3:::b{i}",), via="inline:x"))
            if i != 2
            else (),
            trusts=(Trust("Service", "ec2.amazonaws.com", ("sts:AssumeRole",)),),
            attributes={"policies": ["inline:x"], "note": odd},
        )
        for i in range(4)
    ]


def test_identity_text_is_what_the_encoder_writes() -> None:
    texts = GrantTexts()
    for ident in identities():
        for risk in (None, Risk(40, "medium", ("leaked-credential",))):
            assert texts.identity(ident, risk) == COMPACT(identity_out(ident, risk))
            assert json.loads(texts.identity(ident, risk)) == json.loads(
                json.dumps(identity_out(ident, risk))
            )


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_lazy_document_is_the_built_document(depth: int) -> None:
    inv = Inventory(identities=tuple(identities()))
    doc = inventory_document(inv, None, "t")
    expected = dumps_document(built(inventory_document(inv, None, "t")), depth=depth)
    assert "".join(iter_document(doc, depth=depth)) == expected
    encoded = "".join(iter_document(inventory_document(inv, None, "t", encoded=True)))
    assert encoded == dumps_document(built(inventory_document(inv, None, "t")))
    empty = {"a": Lazy(iter(())), "b": Lazy(iter([1, {"x": []}]))}
    assert "".join(iter_document(empty, depth=depth)) == dumps_document(
        {"a": [], "b": [1, {"x": []}]}, depth=depth
    )


def test_chunked_joins_pieces_without_losing_any() -> None:
    pieces = [str(i) * (i % 7) for i in range(1000)]
    out = list(chunked(pieces, size=50))
    assert "".join(out) == "".join(pieces)
    assert all(len(c) >= 50 for c in out[:-1])


def test_a_failing_write_leaves_the_previous_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    target.write_text("previous\n")

    def pieces() -> Iterator[str]:
        yield "{\n"
        yield "x" * 100_000
        raise RuntimeError("encoding failed half way")

    with pytest.raises(RuntimeError):
        write_pieces(target, pieces())
    assert target.read_text() == "previous\n"
    assert os.listdir(tmp_path) == ["result.json"]
    write_pieces(target, iter(["new ", "text\n"]))
    assert target.read_text() == "new text\n"
    assert os.listdir(tmp_path) == ["result.json"]


def _cached_bytes(path: Path) -> int:
    """How much of ``path`` the kernel holds in its page cache (util-linux fincore)."""
    out = subprocess.run(
        ["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.split()[0])


@pytest.mark.skipif(shutil.which("fincore") is None or not hasattr(os, "posix_fadvise"), reason="Linux")
def test_a_large_report_does_not_stay_in_the_page_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Write-behind: a report larger than a window is written out and dropped as it goes (not
    filling memory with it); a small one is left to the kernel. Both are written whole."""
    monkeypatch.setattr(output, "WINDOW", 4 << 20)
    piece = "".join(chr(97 + i % 26) for i in range(1 << 20))
    large, small = tmp_path / "large.json", tmp_path / "small.json"
    write_pieces(large, (piece for _ in range(48)))
    write_pieces(small, (piece for _ in range(2)))
    assert large.stat().st_size == 48 << 20 and small.stat().st_size == 2 << 20
    with large.open() as fh:
        assert all(fh.read(1 << 20) == piece for _ in range(48)) and fh.read() == ""
    # reading it back brought it into the cache: write it again and look before reading
    write_pieces(large, (piece for _ in range(48)))
    assert _cached_bytes(large) <= 4 << 20
    assert _cached_bytes(small) == 2 << 20
