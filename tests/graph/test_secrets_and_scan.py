"""Leaked secret edges, the graph built once per scan, and reachable privilege in the score."""

from __future__ import annotations

import dataclasses

from nhiscan.analyze.graph import MEMO_KEY, graph_for
from nhiscan.analyze.graph.edges_secrets import edges as secret_edges
from nhiscan.config import Settings
from nhiscan.model import Grant, Inventory, Secret, Trust
from tests.correlate.helpers import AS_OF, aws_user, role, scan, secret

KEY = "AKIAQ3EGRZKCJ4VWXN2T"
ADMIN = Grant(effect="Allow", actions=("*",), resources=("*",), via="managed:AdministratorAccess")
ASSUME_ADMIN = Grant(
    effect="Allow",
    actions=("sts:AssumeRole",),
    resources=("arn:aws:iam::111122223333:role/admin",),
    via="inline:a",
)


def leaked(key: str = KEY) -> Secret:
    return dataclasses.replace(secret("AKIA-not-a-value", key_id=key), fingerprint_id="fp-1")


def test_a_working_leaked_key_is_an_edge_to_its_identity() -> None:
    inv = Inventory(identities=(aws_user("ci", KEY),), secrets=(leaked(),))
    [e] = list(secret_edges(inv, AS_OF))
    assert (e.source, e.target, e.kind) == (
        "secret:fp-1",
        "arn:aws:iam::111122223333:user/ci",
        "leaked-credential",
    )
    assert not e.conditional and e.path == "app/settings.py"
    assert "AKIA-not-a-value" not in e.via  # the redacted form only


def test_a_disabled_or_unknown_key_is_no_edge() -> None:
    inv = Inventory(identities=(aws_user("ci", KEY, active=False),), secrets=(leaked(),))
    assert list(secret_edges(inv, AS_OF)) == []
    inv = Inventory(identities=(aws_user("ci", "AKIAZZZZZZZZZZZZZZZZ"),), secrets=(leaked(),))
    assert list(secret_edges(inv, AS_OF)) == []


def _estate() -> Inventory:
    ci = aws_user("ci", KEY, grants=(ASSUME_ADMIN,))
    admin = role(
        "admin",
        trusts=(Trust("AWS", "arn:aws:iam::111122223333:root", ("sts:AssumeRole",)),),
        grants=(ADMIN,),
    )
    return Inventory(identities=(ci, admin), secrets=(leaked(),))


def test_the_scan_builds_the_graph_once_and_reports_reach() -> None:
    report = scan(_estate())
    ci = "arn:aws:iam::111122223333:user/ci"
    assert report.reach[ci].level == "admin"
    assert [h["kind"] for h in report.reach[ci].path] == ["aws-assume-role"]
    assert report.reach["arn:aws:iam::111122223333:role/admin"].path == ()
    # one hop: below the rule's min_hops, so the score carries it as a factor of its own
    assert not [f for f in report.findings if f.rule_id == "nhi-transitive-escalation"]
    assert "reaches-admin" in report.risks[ci].factors
    leak = next(f for f in report.findings if f.rule_id == "leaked-credential-linked")
    assert leak.severity.value == "critical" and "reaches admin in 2 hops" in leak.message
    memo: dict[str, object] = {}
    g1 = graph_for(_estate(), AS_OF, memo)
    assert memo[MEMO_KEY] is g1 and graph_for(_estate(), AS_OF, memo) is g1


def test_min_hops_one_reports_the_single_hop() -> None:
    settings = Settings(params={"nhi-transitive-escalation": {"min_hops": 1}})
    report = scan(_estate(), settings)
    [f] = [f for f in report.findings if f.rule_id == "nhi-transitive-escalation"]
    assert f.identity_id == "arn:aws:iam::111122223333:user/ci" and "reaches admin in 1 hops" in f.message
    # its finding carries the weight: no second reaches-admin factor on top
    assert "reaches-admin" not in report.risks[f.identity_id].factors


def test_a_conditional_trust_lowers_the_finding_and_says_so() -> None:
    inv = _estate()
    cond = Trust(
        "AWS",
        "arn:aws:iam::111122223333:root",
        ("sts:AssumeRole",),
        conditions={"Bool": {"aws:SecureTransport": "true"}},
    )
    admin = dataclasses.replace(inv.identities[1], trusts=(cond,))
    report = scan(
        dataclasses.replace(inv, identities=(inv.identities[0], admin)),
        Settings(params={"nhi-transitive-escalation": {"min_hops": 1}}),
    )
    [f] = [f for f in report.findings if f.rule_id == "nhi-transitive-escalation"]
    assert (
        f.severity.value == "medium"
        and "conditional" in f.message
        and "Bool aws:SecureTransport" in f.message
    )
    assert f.evidence["conditional"] is True
