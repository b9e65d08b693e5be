"""End to end through the installed `nhiscan`: bad inputs give exit 2, one line per problem naming
the file, no traceback, and the good inputs given alongside are still reported (and written)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nhiscan.config import Settings
from nhiscan.sources.collect import normalize_all
from nhiscan.sources.documents import RawDocument
from tests.conftest import AS_OF, FIXTURES, run_cli

GOOD = FIXTURES / "rules" / "nhi-no-owner" / "fires" / "inventory.json"
GOOD_ID = json.loads(GOOD.read_text("utf-8"))["identities"][0]["id"]
ERROR_LINE = re.compile(r"^nhiscan: error: (?P<source>[^:]+): \S.*$")


def _bad_files(tmp: Path) -> dict[str, bytes]:
    k8s = json.loads((FIXTURES / "kubernetes" / "prod-cluster" / "rbac-and-serviceaccounts.json").read_text())
    role = next(i for i in k8s["items"] if i.get("rules"))
    role["rules"][0] = None
    bomb = ["apiVersion: v1", "kind: List", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        bomb.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb += ["items:", "- kind: ServiceAccount", "  apiVersion: v1", "  metadata:", "    name: x"]
    bomb += ["    annotations:", "      bomb: *i"]
    return {
        "truncated-gaad.json": (FIXTURES / "aws" / "acme-prod" / "gaad.json").read_bytes()[:5000],
        "empty.json": b"",
        "latin1.json": '{"UserDetailList": [{"UserName": "caf\xe9"}]}'.encode("latin-1"),
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
        "bomb.yaml": "\n".join(bomb).encode(),
        "invalid.yaml": b"apiVersion: v1\nkind: List\nitems: [\n  - a\n",
        "k8s-null-rule.json": json.dumps(k8s).encode(),
        "wrong-types-sp.json": json.dumps(
            [{"id": "x", "appId": "y", "servicePrincipalType": "Application", "passwordCredentials": -1}]
        ).encode(),
    }


def test_every_bad_input_is_one_clean_line_and_the_good_one_is_written(tmp_path: Path) -> None:
    args = ["scan", "--as-of", AS_OF, "--format", "json", "--fail-on", "none"]
    files = _bad_files(tmp_path)
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
        args += ["--input", str(tmp_path / name)]
    out = tmp_path / "out" / "result.json"
    res = run_cli(*args, "--input", str(GOOD), "--output", str(out), timeout=120)
    assert "Traceback" not in res.stderr, res.stderr
    assert res.code == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("nhiscan: error:")]
    for line in lines:
        assert ERROR_LINE.match(line), line
    named = {Path(ERROR_LINE.match(ln).group("source")).name for ln in lines}  # type: ignore[union-attr]
    assert named == set(files), res.stderr  # every bad file named, and nothing else
    result = json.loads(out.read_text("utf-8"))
    assert GOOD_ID in {i["id"] for i in result["identities"]}
    assert any(f["rule_id"] == "nhi-no-owner" for f in result["findings"])
    # the k8s file lost one object, not the file: its other service accounts are there
    assert any(i["id"].startswith("k8s:") for i in result["identities"])


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "csv", "markdown", "html"])
def test_names_no_encoding_can_write_are_escaped_not_fatal(fmt: str, tmp_path: Path) -> None:
    """JSON may spell a lone surrogate (`\\udcff`) or a newline inside a name; every format and
    stderr line must still be written."""
    sps = json.loads((FIXTURES / "azure" / "contoso" / "sp-list.json").read_text("utf-8"))
    sps[0]["displayName"] = "bad\udcffname"
    sps[1]["id"] = "multi\nline\udcff"
    sps[2]["passwordCredentials"] = "\udcff\nnot a list"
    odd = tmp_path / "sp-list.json"
    odd.write_text(json.dumps(sps), "utf-8")
    out = tmp_path / f"result.{fmt}"
    res = run_cli("scan", "--input", str(odd), "--as-of", AS_OF, "--format", fmt, "-o", str(out))
    assert "Traceback" not in res.stderr, res.stderr
    assert res.code == 2, res.stderr
    errors = res.stderr.splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"nhiscan: error: {odd}: [2]"), errors
    assert out.read_text("utf-8")


@pytest.mark.parametrize("shape", [b"\xef\xbb\xbf", b""], ids=["bom", "crlf"])
def test_bom_and_crlf_exports_are_accepted_end_to_end(shape: bytes, tmp_path: Path) -> None:
    src = FIXTURES / "aws" / "acme-prod" / "credential-report.csv"
    odd = tmp_path / "credential-report.csv"
    odd.write_bytes(shape + src.read_bytes().replace(b"\n", b"\r\n"))
    res = run_cli("scan", "--input", str(odd), "--as-of", AS_OF, "--format", "json", "--fail-on", "none")
    assert res.code == 0, res.stderr
    assert res.stderr == ""
    assert len(res.json()["identities"]) > 1


def test_a_normalizer_crash_costs_only_its_own_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """The net under the normalizers: an unexpected exception names the file that caused it."""
    import nhiscan.sources.gcp as gcp

    real = gcp.normalize

    def flaky(docs, settings):  # type: ignore[no-untyped-def]
        if any(d.path == "poison.json" for d in docs):
            raise RuntimeError("boom")
        return real(docs, settings)

    monkeypatch.setattr(gcp, "normalize", flaky)
    good = json.loads((FIXTURES / "gcp" / "acme-prod" / "service-accounts.json").read_text("utf-8"))
    docs = [
        RawDocument("gcp-service-accounts", "gcp", "good.json", good),
        RawDocument("gcp-service-accounts", "gcp", "poison.json", good),
    ]
    result = normalize_all(docs, Settings())
    assert [(e.source, e.message) for e in result.errors] == [
        ("poison.json", "cannot read gcp-service-accounts export (RuntimeError: boom)")
    ]
    assert len(result.identities) == len(good)
