"""Exfiltration through error messages, and blinding through ambiguous YAML.

A parser error on the line of a secret used to quote that line (and pieces of it) on stderr, in
the JSON `errors` and in every report. Errors name file, line and column, never content. Keys
written twice are not silently resolved: kubectl outputs appended to one file are all read;
elsewhere the duplicate is an error naming its line."""

from __future__ import annotations

import json
import secrets
import string
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.hostile.harness import HostileResult, hostile_scan

B64 = string.ascii_letters + string.digits + "+/"


def secret_value(n: int = 40) -> str:
    return "".join(secrets.choice(B64) for _ in range(n))


def pieces(value: str) -> tuple[str, ...]:
    """The value and every 6-character piece of it: none may be shown anywhere."""
    return (value, *(value[i : i + 6] for i in range(0, len(value) - 5, 3)))


SECRET_EXPORT = """apiVersion: v1
kind: Secret
metadata:
  name: ci-token
  namespace: default
type: kubernetes.io/service-account-token
data:
  token: {broken}
"""

# Ways to break the Secret's line so that PyYAML stops on it, each quoting something different.
BREAKS = {
    "unknown-escape": '"{v}\\q"',
    "mapping-in-scalar": "{v}: {v}",
    "text-after-quote": '"{v}" {v}',
    "unclosed-quote": '"{v}',
    "undefined-alias": "*{v6}",
    "bad-indent": "{v}\n   more: {v}",
}


def _all_reports(tmp_path: Path, res: HostileResult, forbidden: tuple[str, ...]) -> None:
    """Every report format rendered from the saved result: none shows the forbidden strings."""
    saved = tmp_path / "hostile-out" / "result.json"
    for fmt in ("table", "sarif", "csv", "markdown", "html", "json"):
        out = run_cli("report", str(saved), "--format", fmt, timeout=120)
        assert out.code in (0, 1), (fmt, out.stderr)
        for value in forbidden:
            assert value not in out.stdout, (fmt, value)


@pytest.mark.parametrize("how", sorted(BREAKS))
def test_yaml_export_error_on_a_secret_line_quotes_nothing(tmp_path: Path, how: str) -> None:
    value = secret_value()
    broken = BREAKS[how].format(v=value, v6=value[:12])
    export = tmp_path / "secret.yaml"
    export.write_text(SECRET_EXPORT.format(broken=broken))
    res = hostile_scan(tmp_path, "--input", str(export), expect_code=2, timeout=60, forbidden=pieces(value))
    assert len(res.errors) == 1, res.errors
    error = res.errors[0]
    assert error.startswith(f"nhiscan: error: {export}: ")
    assert " at line 8 column " in error or " at line 9 column " in error, error
    assert [e["source"] for e in res.result["errors"]] == [str(export)]
    _all_reports(tmp_path, res, pieces(value))


def test_workflow_error_on_a_secret_line_quotes_nothing(tmp_path: Path) -> None:
    value = secret_value()
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(
        f'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    env:\n      DEPLOY_KEY: "{value}\\q"\n'
    )
    res = hostile_scan(
        tmp_path, str(repo), "--fail-on", "none", expect_code=2, timeout=60, forbidden=pieces(value)
    )
    assert len(res.errors) == 1, res.errors
    assert f"{repo}/.github/workflows/ci.yml: invalid YAML at line 6 column " in res.errors[0]
    _all_reports(tmp_path, res, pieces(value))


def test_json_export_error_on_a_secret_line_quotes_nothing(tmp_path: Path) -> None:
    value = secret_value()
    export = tmp_path / "keys.json"
    export.write_text(
        f'{{"AccessKeyMetadata": [\n  {{"UserName": "ci", "Secret": "{value}" "{value}"}}\n]}}\n'
    )
    res = hostile_scan(tmp_path, "--input", str(export), expect_code=2, timeout=60, forbidden=pieces(value))
    assert len(res.errors) == 1 and "invalid JSON at line 2 column " in res.errors[0], res.errors


def test_waivers_and_settings_errors_quote_nothing(tmp_path: Path) -> None:
    value = secret_value()
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(f'- rule: secret-generic\n  reason: "{value}\\q"\n')
    res = run_cli("scan", str(tmp_path), "--waivers", str(waivers), timeout=60)
    assert res.code == 2 and "Traceback" not in res.stderr
    assert f"{waivers}: invalid YAML at line 2 column " in res.stderr, res.stderr
    settings = tmp_path / "nhiscan.toml"
    settings.write_text(f'fail_on = "high"\nwaivers = "{value}\\q"\n')
    res2 = run_cli("scan", str(tmp_path), "--config", str(settings), timeout=60)
    assert res2.code == 2 and "Traceback" not in res2.stderr
    assert f"{settings}: invalid TOML" in res2.stderr and "line 2" in res2.stderr, res2.stderr
    for value_piece in pieces(value):
        for out in (res, res2):
            assert value_piece not in out.stdout + out.stderr


LIST = """apiVersion: v1
items:
{items}kind: List
metadata:
  resourceVersion: ""
"""
SA = """- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: {name}
    namespace: default
"""


def test_appended_kubectl_lists_report_every_object(tmp_path: Path) -> None:
    # kubectl get sa -o yaml > f; kubectl get sa -n x -o yaml >> f; ... : no `---` between them.
    names = [f"svc-{i}" for i in range(6)]
    export = tmp_path / "all.yaml"
    export.write_text(
        "".join(LIST.format(items="".join(SA.format(name=n) for n in names[i : i + 2])) for i in (0, 2, 4))
    )
    res = hostile_scan(tmp_path, "--input", str(export), "--fail-on", "none", expect_code=0, timeout=60)
    assert res.errors == []
    reported = {i["name"] for i in res.result["identities"] if i["provider"] == "kubernetes"}
    assert reported == set(names)


def test_dashed_documents_and_appended_single_objects_are_all_read(tmp_path: Path) -> None:
    one = tmp_path / "dashed.yaml"
    one.write_text(
        "---\n"
        + LIST.format(items=SA.format(name="a"))
        + "---\n"
        + SA.format(name="b")[2:].replace("\n  ", "\n")
    )
    two = tmp_path / "appended.yaml"
    two.write_text(
        SA.format(name="c")[2:].replace("\n  ", "\n") + SA.format(name="d")[2:].replace("\n  ", "\n")
    )
    res = hostile_scan(
        tmp_path, "--input", str(one), "--input", str(two), "--fail-on", "none", expect_code=0, timeout=60
    )
    assert res.errors == []
    assert {i["name"] for i in res.result["identities"] if i["provider"] == "kubernetes"} == {
        "a",
        "b",
        "c",
        "d",
    }


def test_duplicate_key_nested_in_an_export_is_an_error_naming_the_line(tmp_path: Path) -> None:
    export = tmp_path / "sa.yaml"
    export.write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  name: b\n  namespace: default\n"
    )
    res = hostile_scan(tmp_path, "--input", str(export), expect_code=2, timeout=60)
    assert len(res.errors) == 1, res.errors
    assert "duplicate mapping key at line 5 column 3" in res.errors[0]
    assert "first set at line 4 column 3" in res.errors[0]


DUPLICATE_PERMISSIONS = """on: push
permissions: read-all
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make
permissions: write-all
"""


def test_workflow_with_a_key_written_twice_is_reported_and_analysed_as_run(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(DUPLICATE_PERMISSIONS)
    (repo / ".gitlab-ci.yml").write_text(
        "build:\n  script: [make]\n  variables:\n    DB_PASSWORD: $VAULT_DB\n  variables:\n"
        f"    DB_PASSWORD: {secret_value(24).replace('+', 'a').replace('/', 'b')}\n"
    )
    res = hostile_scan(tmp_path, str(repo), "--fail-on", "none", expect_code=2, timeout=60)
    errors = sorted(res.errors)
    assert len(errors) == 2, errors
    assert ".github/workflows/ci.yml: duplicate mapping key at line 8 column 1" in errors[0]
    assert "GitHub Actions refuses to run" in errors[0]
    assert ".gitlab-ci.yml: duplicate mapping key at line 5 column 3" in errors[1]
    assert "GitLab CI silently uses the last value" in errors[1]
    # Analysed with the value the systems that accept the file use: the last.
    assert [f["location"]["line"] for f in res.findings("gha-permissions-write-all")] == [8]
    assert [f["location"]["line"] for f in res.findings("gitlab-literal-secret-variable")] == [6]
    # The rest of the file is analysed as before.
    assert res.findings("gha-missing-permissions") == []
    assert json.dumps(res.result).count("duplicate mapping key") == 2


def test_inventory_record_error_quotes_nothing(tmp_path: Path) -> None:
    from tests.hostile.harness import GOOD_EXPORT

    value = secret_value()
    doc = json.loads(GOOD_EXPORT.read_text("utf-8"))
    bad = dict(doc["identities"][0], id="arn:aws:iam::111122223333:role/other", created=value)
    doc["identities"] = [bad]
    export = tmp_path / "inventory.json"
    export.write_text(json.dumps(doc))
    res = hostile_scan(tmp_path, "--input", str(export), expect_code=2, timeout=60, forbidden=pieces(value))
    assert len(res.errors) == 1 and "created: expected a date and time" in res.errors[0], res.errors
