"""Streaming JSON output: the same bytes as the one-shot encoder, written atomically."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

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
