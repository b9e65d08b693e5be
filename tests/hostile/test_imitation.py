"""Blinding by imitation: no content makes nhiscan skip a secret. A file that starts like (or is) an
nhiscan report, baseline or inventory is scanned like any other; only the values nhiscan itself
writes in it (redacted previews, digests, fingerprints, the key ids and inventory values it names)
are not reported.

The outputs are real: produced by the installed CLI in every format, so these tests stay right when
the report formats or the redacted form change.
"""

from __future__ import annotations

import json
import random
import shutil
import string
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AS_OF, FIXTURES, run_cli
from tests.hostile import planted
from tests.hostile.fakes import aws_pair, github_token
from tests.hostile.harness import hostile_scan
from tests.hostile.planted import fingerprint_key  # noqa: F401 (fingerprint_key: a fixture)

# Planted values are recognised by their keyed fingerprint ids (tests/hostile/planted.py).
pytestmark = pytest.mark.usefixtures("fingerprint_key")

R = random.Random(20261201)
FORMATS = ("json", "sarif", "csv", "markdown", "html", "table")
EXPORT_ARGS = (
    *("--input", str(FIXTURES / "aws" / "acme-prod")),
    *("--input", f"acme-prod={FIXTURES / 'gcp' / 'acme-prod'}"),
    *("--input", str(FIXTURES / "azure" / "contoso")),
    *("--input", str(FIXTURES / "kubernetes" / "prod-cluster")),
)


def source_tree(root: Path) -> Path:
    """A repository with a leak of its own, so every output names a key id, digests and previews."""
    src = root / "src"
    shutil.copytree(FIXTURES / "repos" / "acme-web", src)
    key_id, secret = aws_pair(R)
    (src / "deploy.env").write_text(f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\n", "utf-8")
    return src


def write_outputs(src: Path, out: Path, *extra: str) -> list[str]:
    """Every kind of file nhiscan writes, produced by the CLI: each report format, an inventory and a
    baseline. Returns their names."""
    out.mkdir(parents=True)
    common = (str(src), *extra, "--as-of", AS_OF)
    names = []
    for fmt in FORMATS:
        name = f"report.{fmt}"
        res = run_cli("scan", *common, "--fail-on", "none", "--format", fmt, "--output", str(out / name))
        assert res.code == 0, res.stderr
        names.append(name)
    assert run_cli("inventory", *common, "-o", str(out / "inventory.json")).code == 0
    assert run_cli("baseline", "create", *common, "-o", str(out / ".nhiscan-baseline.json")).code == 0
    return sorted([*names, "inventory.json", ".nhiscan-baseline.json"])


def repository(result: dict[str, Any], path: Path) -> dict[str, Any]:
    return next(s for s in result["sources"] if s["kind"] == "repository" and s["path"] == str(path))


def findings_at(result: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [f for f in result["findings"] if (f.get("location") or {}).get("path") == name]


def found(result: dict[str, Any], name: str, value: str) -> bool:
    """Whether a secret reported at file ``name`` is ``value`` (known by its keyed fingerprint id)."""
    return planted.found(result, value, name)


def key_id_found(result: dict[str, Any], name: str, key_id: str) -> bool:
    """An AWS access key id is an identifier: reported in full (with its secret key) or redacted."""
    return any(key_id in f["message"] for f in findings_at(result, name)) or found(result, name, key_id)


@pytest.mark.parametrize("with_exports", [False, True], ids=["repo-scan", "repo-and-cloud-scan"])
def test_a_tree_of_nhiscan_outputs_gives_no_finding_against_them(tmp_path: Path, with_exports: bool) -> None:
    src = source_tree(tmp_path)
    out = tmp_path / "ws"
    names = write_outputs(src, out, *(EXPORT_ARGS if with_exports else ()))
    res = hostile_scan(tmp_path, str(out), expect_code=0, timeout=300)
    assert res.errors == []
    assert repository(res.result, out)["nhiscan_files"] == names
    against = {f["location"]["path"] for f in res.result["findings"] if f.get("location")}
    if with_exports:
        # Known limit: the HTML report shows trust-policy conditions as JSON text, and a quoted hex
        # sts:ExternalId there is a generic high-entropy string (low severity) like in any file.
        html = findings_at(res.result, "report.html")
        assert {f["rule_id"] for f in html} <= {"secret-generic"}
        against.discard("report.html")
    assert against == set(), sorted(against)


def paste_lone_key_id(text: str, fmt: str, key_id: str) -> str:
    """An AWS access key id alone, away from the pasted secret key, in a real output."""
    if fmt in ("json", "sarif"):
        doc = json.loads(text)
        first = next(iter(doc))  # stays first: the document is still recognised as nhiscan's
        return json.dumps({first: doc.pop(first), "legacy": {"access_key": key_id}, **doc}, indent=2)
    return text + "\n" * 8 + f"legacy_access_key = {key_id}\n"


def paste(text: str, fmt: str, lines: str, values: dict[str, str]) -> str:
    """Put secrets into a real output such that it is still recognised as nhiscan's: a JSON document
    stays valid, text formats get the lines in the middle (their first lines are kept)."""
    if fmt in ("json", "sarif"):
        doc = json.loads(text)
        doc["notes"] = values
        return json.dumps(doc, indent=2)
    head = text.splitlines(keepends=True)
    mid = max(3, len(head) // 2)
    return "".join(head[:mid]) + lines + "".join(head[mid:])


def test_a_key_pasted_into_each_real_output_is_found(tmp_path: Path) -> None:
    src = source_tree(tmp_path)
    out = tmp_path / "ws"
    names = write_outputs(src, out, *EXPORT_ARGS)
    planted: dict[str, tuple[str, str, str]] = {}
    for name in names:
        key_id, secret = aws_pair(R)
        token = github_token(R)
        path = out / name
        fmt = "json" if name.endswith(".json") else path.suffix.lstrip(".")
        lines = f'aws_access_key_id = "{key_id}"\naws_secret_access_key = "{secret}"\ntoken = "{token}"\n'
        values = {"aws_access_key_id": key_id, "aws_secret_access_key": secret, "token": token}
        lone = aws_pair(R)[0]
        text = paste_lone_key_id(paste(path.read_text("utf-8"), fmt, lines, values), fmt, lone)
        path.write_text(text, "utf-8")
        planted[name] = (lone, secret, token)
    res = hostile_scan(tmp_path, str(out), expect_code=1, timeout=300)
    # still recognised as nhiscan's outputs (named in the result) and still scanned
    assert repository(res.result, out)["nhiscan_files"] == names
    for name, (lone, secret, token) in planted.items():
        assert found(res.result, name, secret), name
        assert found(res.result, name, token), name
        assert key_id_found(res.result, name, lone), name  # a key id alone, not where nhiscan names ids
        assert secret not in json.dumps(res.result) and token not in json.dumps(res.result)


IMITATIONS = {
    "markdown": "## nhiscan: non-human identity scan\n\n",
    "csv": "severity,rule_id,title,owasp_nhi,identity_id,provider,identity_kind,credential_id,path,line\n",
    "html": '<!doctype html>\n<html><head><meta name="generator" content="nhiscan 0.1.0"></head>\n',
    "table": "╭─ nhiscan ──────╮\n│ 0 identities (0 non-human)  \n",
    "json-prefix": '{"schema": "nhiscan/v1",\n',
}


@pytest.mark.parametrize("kind", sorted(IMITATIONS))
def test_imitation_headers_hide_nothing(tmp_path: Path, kind: str) -> None:
    tree = tmp_path / "repo"
    tree.mkdir()
    key_id, secret = aws_pair(R)
    token = github_token(R)
    password = "".join(R.choice(string.ascii_letters + string.digits) for _ in range(24))
    body = (
        f'aws_access_key_id = "{key_id}"\naws_secret_access_key = "{secret}"\n'
        f'github_token = "{token}"\ndb_password = "{password}"\n'
    )
    (tree / "notes.txt").write_text(IMITATIONS[kind] + body, "utf-8")
    res = hostile_scan(tmp_path, str(tree), expect_code=1, timeout=120, forbidden=(secret, token, password))
    assert key_id_found(res.result, "notes.txt", key_id), kind
    for value in (secret, token, password):
        assert found(res.result, "notes.txt", value), (kind, value, res.result["findings"])


def test_valid_nhiscan_json_imitation_hides_no_secret(tmp_path: Path) -> None:
    """A complete, valid nhiscan document (recognised as one) with secrets outside its data."""
    tree = tmp_path / "repo"
    tree.mkdir()
    secret = aws_pair(R)[1]
    token = github_token(R)
    password = "".join(R.choice(string.ascii_letters + string.digits) for _ in range(24))
    doc = {
        "schema": "nhiscan/v1",
        "sources": [],
        "identities": [],
        "findings": [],
        "config": {"aws_secret_access_key": secret, "token": token, "db_password": password},
    }
    (tree / "result.json").write_text(json.dumps(doc, indent=2), "utf-8")
    res = hostile_scan(tmp_path, str(tree), expect_code=1, timeout=120, forbidden=(secret, token, password))
    assert repository(res.result, tree)["nhiscan_files"] == ["result.json"]
    for value in (secret, token, password):
        assert found(res.result, "result.json", value), value
