"""`nhiscan paths` and the escalation graph's marks on `scan`, through the installed command."""

from __future__ import annotations

import copy
import json
import secrets
import string
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AS_OF, FIXTURES, run_cli

CHAIN = FIXTURES / "escalation" / "aws-role-chain"
GOOD, LOOKALIKE = str(CHAIN / "exploitable"), str(CHAIN / "lookalike")
ACCT = "111122223333"
USER = f"arn:aws:iam::{ACCT}:user/service/svc-deployer"


def role(name: str) -> str:
    return f"arn:aws:iam::{ACCT}:role/{name}"


def names(path: list[dict[str, Any]]) -> list[str]:
    return [path[0]["from"].rsplit("/", 1)[-1], *(h["to"].rsplit("/", 1)[-1] for h in path)]


def test_paths_to_admin_walks_the_three_hop_chain() -> None:
    res = run_cli("paths", "svc-deployer", "--input", GOOD, "--as-of", AS_OF, "--to", "admin")
    assert res.code == 1, res.stderr  # a path exists: the gate fails
    out = res.stdout
    assert "svc-deployer -> admin: a path" in out
    for step in (
        "1. svc-deployer -> start-role",
        "2. start-role -> intermediate-role",
        "3. intermediate-role -> admin-role",
    ):
        assert step in out
    assert out.count("[aws-assume-role]") == 3 and out.count("file: ") == 3
    js = run_cli("paths", USER, "--input", GOOD, "--as-of", AS_OF, "--to", "admin", "--format", "json")
    assert js.code == 1
    doc = js.json()
    assert doc["schema"] == "nhiscan-paths/v1" and doc["from"] == USER and doc["to"] == "admin"
    [p] = doc["paths"]
    assert p["hops"] == 3 and p["to"] == role("admin-role") and p["to_privilege"] == "admin"
    assert names(p["path"]) == ["svc-deployer", "start-role", "intermediate-role", "admin-role"]
    assert {h["kind"] for h in p["path"]} == {"aws-assume-role"}
    assert all(h["file"].endswith("exploitable/gaad.json") and h["conditional"] is False for h in p["path"])
    assert p["path"][1]["via"].endswith(f"trust policy of intermediate-role names {role('start-role')}")


def test_lookalike_has_no_path_and_exits_0() -> None:
    res = run_cli("paths", "svc-deployer", "--input", LOOKALIKE, "--as-of", AS_OF, "--to", "admin")
    assert res.code == 0, res.stderr
    assert "svc-deployer -> admin: no path" in res.stdout


def test_every_nonhuman_identity_that_reaches_admin_shortest_first() -> None:
    res = run_cli("paths", "--to", "admin", "--input", GOOD, "--as-of", AS_OF, "--format", "json")
    assert res.code == 1, res.stderr
    rows = res.json()["paths"]
    assert [(r["from"], r["hops"]) for r in rows] == [
        (role("intermediate-role"), 1),
        (role("start-role"), 2),
        (USER, 3),
    ]
    look = run_cli("paths", "-", "--to", "admin", "--input", LOOKALIKE, "--as-of", AS_OF, "--format", "json")
    assert look.code == 1  # intermediate-role itself still may assume admin-role
    assert [r["from"] for r in look.json()["paths"]] == [role("intermediate-role")]


def test_what_an_identity_reaches_and_a_path_to_one_identity() -> None:
    res = run_cli("paths", "svc-deployer", "--input", GOOD, "--as-of", AS_OF, "--format", "json")
    assert res.code == 0, res.stderr
    rows = res.json()["paths"]
    assert [(r["to"].rsplit("/", 1)[-1], r["hops"], r["to_privilege"]) for r in rows] == [
        ("start-role", 1, "write"),
        ("intermediate-role", 2, "write"),
        ("admin-role", 3, "admin"),
    ]  # not other-role: an admin's same-account assumptions are not edges (it can become anyone)
    one = run_cli("paths", "svc-deployer", "--to", "intermediate-role", "--input", GOOD, "--as-of", AS_OF)
    assert one.code == 1 and "2. start-role -> intermediate-role" in one.stdout
    back = run_cli("paths", "other-role", "--to", "svc-deployer", "--input", GOOD, "--as-of", AS_OF)
    assert back.code == 0 and "no path" in back.stdout


def test_unknown_ambiguous_and_missing_identity_are_usage_errors(tmp_path: Path) -> None:
    res = run_cli("paths", "nobody", "--input", GOOD, "--as-of", AS_OF)
    assert res.code == 2 and res.stdout == ""
    assert res.stderr.strip().splitlines() == [
        "nhiscan: error: identity 'nobody': no identity in the scanned inputs has this id, ARN, email or name"
    ]
    gaad = json.loads((CHAIN / "exploitable" / "gaad.json").read_text())
    twin = copy.deepcopy(gaad["UserDetailList"][0])
    twin.update(UserName="start-role", Arn=f"arn:aws:iam::{ACCT}:user/start-role", Path="/")
    gaad["UserDetailList"].append(twin)
    (tmp_path / "gaad.json").write_text(json.dumps(gaad))
    amb = run_cli("paths", "start-role", "--input", str(tmp_path / "gaad.json"), "--as-of", AS_OF)
    assert amb.code == 2
    assert "ambiguous" in amb.stderr and role("start-role") in amb.stderr
    assert f"arn:aws:iam::{ACCT}:user/start-role" in amb.stderr
    byarn = run_cli("paths", role("start-role"), "--input", str(tmp_path / "gaad.json"), "--as-of", AS_OF)
    assert byarn.code == 0, byarn.stderr
    none = run_cli("paths", "--input", GOOD)
    assert none.code == 2 and "give an IDENTITY, --to" in none.stderr


def test_a_broken_input_is_named_and_the_rest_answered(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"UserDetailList": [')
    res = run_cli(
        "paths",
        "svc-deployer",
        "--to",
        "admin",
        "--input",
        GOOD,
        "--input",
        str(bad),
        "--as-of",
        AS_OF,
        "--format",
        "json",
    )
    assert res.code == 2
    assert "broken.json" in res.stderr
    assert res.json()["paths"][0]["hops"] == 3


def test_scan_json_carries_reachable_privilege_and_the_rule_fires_from_two_hops(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    res = run_cli("scan", "--input", GOOD, "--as-of", AS_OF, "--format", "json", "-o", str(out))
    assert res.code == 1, res.stderr
    doc = json.loads(out.read_text())
    by_name = {i["name"]: i for i in doc["identities"]}
    assert by_name["svc-deployer"]["reachable_privilege"] == "admin"
    assert names(by_name["svc-deployer"]["escalation_path"])[-1] == "admin-role"
    assert len(by_name["start-role"]["escalation_path"]) == 2
    assert by_name["admin-role"]["reachable_privilege"] == "admin"
    assert by_name["admin-role"]["escalation_path"] == []
    assert by_name["other-role"]["reachable_privilege"] == "read"
    assert "reaches-admin" in by_name["intermediate-role"]["risk_factors"]
    hits = {f["identity_id"]: f for f in doc["findings"] if f["rule_id"] == "nhi-transitive-escalation"}
    assert set(hits) == {USER, role("start-role")}  # intermediate-role is one hop away: below min_hops
    f = hits[USER]
    assert f["severity"] == "high" and "NHI5:2025" in f["owasp_nhi"]
    assert "reaches admin in 3 hops" in f["message"]
    assert (
        "1. svc-deployer -> start-role" in f["message"]
        and "3. intermediate-role -> admin-role" in f["message"]
    )
    assert f["evidence"]["hops"] == 3 and len(f["evidence"]["path"]) == 3
    assert set(f["evidence"]["path"][0]) == {"from", "to", "kind", "via", "file", "conditional", "condition"}
    # `nhiscan report` reads the new fields back: the same JSON again, and the HTML draws the chain
    again = run_cli("report", str(out), "--format", "json")
    assert again.json()["identities"] == doc["identities"]
    html = run_cli("report", str(out), "--format", "html")
    assert html.stdout.count('<ol class="chain">') == 3
    assert "Escalation path: reaches admin in 3 hop(s)" in html.stdout
    silent = run_cli("scan", "--input", LOOKALIKE, "--as-of", AS_OF, "--format", "json", "--fail-on", "none")
    assert not [f for f in silent.json()["findings"] if f["rule_id"] == "nhi-transitive-escalation"]


def _fake_key() -> tuple[str, str]:
    alpha = string.ascii_uppercase + "234567"
    key_id = "AKIA" + "".join(secrets.choice(alpha) for _ in range(16))
    secret = "".join(secrets.choice(string.ascii_letters + string.digits + "/+") for _ in range(40))
    return key_id, secret


def test_a_leaked_key_reaches_admin_through_its_identity(tmp_path: Path) -> None:
    key_id, secret = _fake_key()
    repo, exports = tmp_path / "repo", tmp_path / "exports"
    repo.mkdir()
    exports.mkdir()
    (repo / "deploy.env").write_text(f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\n")
    (exports / "gaad.json").write_text((CHAIN / "exploitable" / "gaad.json").read_text())
    keys = {"AccessKeyMetadata": [{"UserName": "svc-deployer", "AccessKeyId": key_id, "Status": "Active",
                                   "CreateDate": "2026-01-10T10:00:00Z"}]}  # fmt: skip
    (exports / "list-access-keys.json").write_text(json.dumps(keys))
    scan = run_cli("scan", str(repo), "--input", str(exports), "--as-of", AS_OF, "--format", "json")
    leak = next(f for f in scan.json()["findings"] if f["rule_id"] == "leaked-credential-linked")
    assert leak["severity"] == "critical"
    assert "this leaked key reaches admin in 4 hops" in leak["message"]
    assert "the identity reaches admin in 3 hop(s)" in leak["message"]
    assert leak["evidence"]["reachable_privilege"] == "admin"
    assert [h["kind"] for h in leak["evidence"]["escalation_path"]] == ["leaked-credential"] + [
        "aws-assume-role"
    ] * 3
    assert secret not in scan.stdout
    res = run_cli("paths", "-", str(repo), "--to", "admin", "--input", str(exports), "--as-of", AS_OF,
                  "--format", "json")  # fmt: skip
    assert res.code == 1, res.stderr
    from_secret = [r for r in res.json()["paths"] if r["from"].startswith("secret:")]
    assert from_secret and all(r["hops"] == 4 for r in from_secret)
    assert secret not in res.stdout
    # without `-`, the first PATH would be taken for an IDENTITY: the error says what to do
    wrong = run_cli("paths", str(repo), "--input", str(exports), "--to", "admin", "--as-of", AS_OF)
    assert wrong.code == 2 and "write - in its place" not in wrong.stderr
    two = run_cli("paths", str(repo), str(repo), "--input", str(exports), "--to", "admin", "--as-of", AS_OF)
    assert two.code == 2 and "write - in its place" in two.stderr


def _gaad_with_assume_star(tmp_path: Path, trusting_role: bool) -> Path:
    gaad = json.loads((CHAIN / "lookalike" / "gaad.json").read_text())
    user = gaad["UserDetailList"][0]
    user["UserPolicyList"][0]["PolicyDocument"]["Statement"][0]["Resource"] = "*"
    for r in gaad["RoleDetailList"]:
        stmt = r["AssumeRolePolicyDocument"]["Statement"][0]
        stmt["Principal"] = {"Service": "lambda.amazonaws.com"}
        if trusting_role and r["RoleName"] == "other-role":
            stmt["Principal"] = {"AWS": f"arn:aws:iam::{ACCT}:root"}
    path = tmp_path / f"gaad-{trusting_role}.json"
    path.write_text(json.dumps(gaad))
    return path


@pytest.mark.parametrize("trusting_role", [False, True])
def test_assume_role_on_star_is_high_only_when_some_trust_admits_it(
    tmp_path: Path, trusting_role: bool
) -> None:
    gaad = _gaad_with_assume_star(tmp_path, trusting_role)
    res = run_cli("scan", "--input", str(gaad), "--as-of", AS_OF, "--format", "json", "--fail-on", "none")
    [f] = [
        f
        for f in res.json()["findings"]
        if f["rule_id"] == "aws-privilege-escalation" and f["identity_id"] == USER
    ]
    [path] = f["evidence"]["paths"]
    assert path["name"] == "assume-any-role"
    if trusting_role:
        assert f["severity"] == "high"
        assert path["assumable_roles"] == [role("other-role")]
    else:
        assert f["severity"] == "medium"
        assert path["assumable_roles"] == []
        assert "no trust policy in the scanned inventory admits this identity" in f["message"]
