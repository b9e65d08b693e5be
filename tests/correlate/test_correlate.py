"""Matching logic of secret <-> identity correlation, and the measured figure on the combined fixture."""

from __future__ import annotations

import json

from nhiscan.analyze.correlate import (
    ACTIVE,
    INACTIVE,
    NOT_FOUND,
    UNVERIFIED,
    build_index,
    correlate,
    match_secret,
)
from nhiscan.model import Credential, Grant, Identity, Inventory, Severity
from nhiscan.model.serialize import inventory_from_dict
from tests.conftest import FIXTURES
from tests.correlate.helpers import aws_user, scan, secret

KEY = "AKIAQX3TJ7ZP5RWM2KDA"
SA = "loader@acme-prod.iam.gserviceaccount.com"
KEY_ID = "0f6c1de2a9b84c7e95d3a1b2c3d4e5f60718293a"
APP = "5b3c1a2e-8d7f-4e6a-9b0c-1d2e3f4a5b6c"


def gcp_sa(keys: tuple[str, ...]) -> Identity:
    return Identity(
        id=f"projects/acme-prod/serviceAccounts/{SA}",
        provider="gcp",
        kind="gcp-service-account",
        name=SA,
        scope="acme-prod",
        credentials=tuple(
            Credential(id=f"projects/acme-prod/serviceAccounts/{SA}/keys/{k}", kind="gcp-sa-key")
            for k in keys
        ),
    )


def azure_sp(hints: tuple[str, ...], active: bool = True) -> Identity:
    return Identity(
        id="7c0f1e2d-3b4a-4c5d-8e9f-0a1b2c3d4e5f",
        provider="azure",
        kind="azure-service-principal",
        name="invoice-sync",
        scope="tenant",
        credentials=tuple(
            Credential(id=f"cred-{h}", kind="azure-client-secret", active=active, attributes={"hint": h})
            for h in hints
        ),
        attributes={"appId": APP},
    )


def test_aws_key_id_matches_user_and_key_case_insensitively() -> None:
    idx = build_index([aws_user("ci-deployer", KEY)])
    m = match_secret(secret("x", key_id=KEY.lower()), idx)
    assert m is not None and m.identity.name == "ci-deployer" and m.credential is not None
    assert m.credential.id == KEY and m.status == ACTIVE and m.matched_on == ("key_id",)
    assert match_secret(secret("x", key_id="AKIAOTHEROTHEROTHER1"), idx) is None


def test_inactive_aws_key_is_still_linked() -> None:
    m = match_secret(secret("x", key_id=KEY), build_index([aws_user("old", KEY, active=False)]))
    assert m is not None and m.status == INACTIVE


def test_gcp_key_matches_by_private_key_id_against_full_key_name() -> None:
    idx = build_index([gcp_sa((KEY_ID,))])
    m = match_secret(secret("x", private_key_id=KEY_ID, client_email=SA), idx)
    assert m is not None and m.status == ACTIVE and m.matched_on == ("private_key_id",)
    assert m.credential is not None and m.credential.id.endswith(KEY_ID)


def test_gcp_key_of_known_account_but_deleted_key_is_not_found() -> None:
    idx = build_index([gcp_sa(("aaaa",))])
    m = match_secret(secret("x", private_key_id=KEY_ID, client_email=SA.upper()), idx)
    assert m is not None and m.status == NOT_FOUND and m.matched_on == ("client_email",)
    assert m.credential is not None and m.credential.id == KEY_ID
    assert (
        match_secret(secret("x", private_key_id=KEY_ID, client_email="x@y.iam.gserviceaccount.com"), idx)
        is None
    )


def test_azure_needs_client_id_and_uses_hint_to_pick_the_secret() -> None:
    idx = build_index([azure_sp(("Q7x", "Ab1"))])
    m = match_secret(secret("x", client_id=APP.upper(), hint="Ab1"), idx)
    assert m is not None and m.credential is not None and m.credential.id == "cred-Ab1" and m.status == ACTIVE
    # Hint alone is never enough: three characters would attribute on a guess.
    assert match_secret(secret("x", hint="Ab1"), idx) is None
    # Known app, hint of no current secret: rotated or deleted.
    m = match_secret(secret("x", client_id=APP, hint="Zz9"), idx)
    assert m is not None and m.credential is None and m.status == NOT_FOUND
    # Known app, no hint, enabled secrets exist: possibly active.
    m = match_secret(secret("x", client_id=APP), idx)
    assert m is not None and m.status == UNVERIFIED


def test_copies_of_one_credential_become_one_leak_with_all_locations() -> None:
    inv = Inventory(
        identities=(aws_user("ci-deployer", KEY),),
        secrets=(
            secret(KEY, path="b.py", repo="repo-b", key_id=KEY),
            secret("secret-part", path="b.py", repo="repo-b", line=2, key_id=KEY),
            secret(KEY, path="a.py", repo="repo-a", key_id=KEY),
            secret("unrelated", path="c.py", key_id="AKIAZZZZZZZZZZZZZZZZ"),
        ),
    )
    leaks = correlate(inv)
    assert len(leaks) == 1
    assert [(loc.repository, loc.path, loc.line) for loc in leaks[0].locations] == [
        ("repo-a", "a.py", 1),
        ("repo-b", "b.py", 1),
        ("repo-b", "b.py", 2),
    ]


def test_severity_follows_status_and_blast_radius() -> None:
    admin = (Grant(actions=("*",), resources=("*",)),)
    cases = [
        (aws_user("a", KEY, grants=admin), Severity.CRITICAL),
        (aws_user("a", KEY), Severity.HIGH),
        (aws_user("a", KEY, active=False, grants=admin), Severity.MEDIUM),
    ]
    for ident, expected in cases:
        report = scan(Inventory(identities=(ident,), secrets=(secret(KEY, key_id=KEY),)))
        (f,) = [f for f in report.findings if f.rule_id == "leaked-credential-linked"]
        assert f.severity == expected, (ident, f.message)
        assert f.identity_id == ident.id and f.credential_id == KEY
        assert "leaked-credential" in report.risks[ident.id].factors
    gone = scan(
        Inventory(
            identities=(gcp_sa(("aaaa",)),), secrets=(secret("k", private_key_id=KEY_ID, client_email=SA),)
        )
    )
    (f,) = [f for f in gone.findings if f.rule_id == "leaked-credential-linked"]
    assert f.severity == Severity.LOW and f.evidence["credential_status"] == NOT_FOUND


def test_every_planted_leak_of_the_combined_fixture_is_correlated() -> None:
    base = FIXTURES / "correlate" / "combined"
    inv = inventory_from_dict(json.loads((base / "inventory.json").read_text()))
    expected = json.loads((base / "expected.json").read_text())
    report = scan(inv)
    linked = {
        (f.identity_id, f.credential_id): f
        for f in report.findings
        if f.rule_id == "leaked-credential-linked"
    }
    planted = {(p["identity_id"], p["credential_id"]) for p in expected["planted"]}
    assert set(linked) == planted  # all planted leaks found, nothing attributed to a decoy
    for p in expected["planted"]:
        assert linked[(p["identity_id"], p["credential_id"])].evidence["credential_status"] == p["status"]
    correlated_secrets = sum(len(leak.secrets) for leak in correlate(inv))
    assert len(inv.secrets) - correlated_secrets == expected["decoy_secrets"]


def test_fingerprint_survives_a_new_copy_of_the_same_leak() -> None:
    ident = aws_user("ci-deployer", KEY)
    first = Inventory(identities=(ident,), secrets=(secret(KEY, path="m.py", key_id=KEY),))
    more = Inventory(identities=(ident,), secrets=(*first.secrets, secret(KEY, path="a.py", key_id=KEY)))
    fp = [
        next(f.fingerprint for f in scan(inv).findings if f.rule_id == "leaked-credential-linked")
        for inv in (first, more)
    ]
    assert fp[0] == fp[1]
    other = Inventory(
        identities=(aws_user("ci-deployer", "AKIAOTHERKEYOTHERKEY"),),
        secrets=(secret("k", key_id="AKIAOTHERKEYOTHERKEY"),),
    )
    assert (
        next(f.fingerprint for f in scan(other).findings if f.rule_id == "leaked-credential-linked") != fp[0]
    )


def test_azure_owner_is_the_object_holding_the_secrets() -> None:
    app_reg = Identity(
        id="app-object",
        provider="azure",
        kind="azure-application",
        name="invoice-sync",
        scope="t",
        attributes={"appId": APP},
    )
    idx = build_index([app_reg, azure_sp(("Q7x",))])
    m = match_secret(secret("x", client_id=APP), idx)
    assert m is not None and m.identity.kind == "azure-service-principal" and m.status == UNVERIFIED
