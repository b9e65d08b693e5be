"""Environment classification, cross-environment use and identities shared by many workloads."""

from __future__ import annotations

import pytest

from nhiscan.analyze.environment import NONPROD, PROD, EnvClassifier, tokens
from nhiscan.analyze.workloads import TargetResolver, federations, trust_workloads
from nhiscan.model import Identity, Inventory, Location, Trust
from tests.correlate.helpers import aws_user, role, scan, secret

KEY = "AKIAQX3TJ7ZP5RWM2KDA"
ROLE_ARN = "arn:aws:iam::111122223333:role/app-shared"


@pytest.mark.parametrize(
    ("text", "env"),
    [
        ("config/prod/app.env", PROD),
        ("settings_production.py", PROD),
        ("config/staging/app.env", NONPROD),
        ("acme-non-prod", NONPROD),
        ("pre_prod/values.yaml", NONPROD),
        ("acme-nonprod-eu", NONPROD),
        ("products/catalog.py", None),  # "products" is not "prod"
        ("prod-vs-dev.md", None),  # names both: no verdict
        ("src/app.py", None),
    ],
)
def test_environment_of_text(text: str, env: str | None) -> None:
    assert EnvClassifier().of_text(text) == env


def test_tokens_join_compound_markers() -> None:
    assert tokens("Non-Prod_Account") == ["nonprod", "account"]


def test_identity_environment_prefers_tags_then_scope() -> None:
    c = EnvClassifier()
    ident = Identity(
        id="x", provider="gcp", kind="k", name="n", scope="acme-dev", tags={"Environment": "Production"}
    )
    assert c.of_identity(ident) == (PROD, "tag Environment=Production")
    ident = Identity(id="x", provider="aws", kind="k", name="n", scope="111122223333")
    assert c.of_identity(ident) is None
    assert c.of_identity(ident, {"111122223333": "acme-staging"}) == (NONPROD, "scope acme-staging")


def test_credential_leaked_in_prod_and_staging_configs_is_cross_environment() -> None:
    inv = Inventory(
        identities=(aws_user("billing", KEY),),
        secrets=(
            secret(KEY, path="config/prod/app.env", key_id=KEY),
            secret(KEY, path="config/staging/app.env", key_id=KEY),
        ),
    )
    (f,) = [f for f in scan(inv).findings if f.rule_id == "nhi-cross-environment"]
    assert f.identity_id == aws_user("billing", KEY).id
    assert f.evidence["prod"] and f.evidence["non_prod"]


def test_prod_identity_trusted_by_a_dev_account_role_is_cross_environment() -> None:
    dev = Identity(
        id="arn:aws:iam::444455556666:role/dev-ci",
        provider="aws",
        kind="aws-iam-role",
        name="dev-ci",
        scope="444455556666",
        attributes={"account_alias": "acme-dev"},
    )
    prod = role("deployer", trusts=(Trust("AWS", dev.id),), tags={"env": "prod"})
    hits = [
        f for f in scan(Inventory(identities=(dev, prod))).findings if f.rule_id == "nhi-cross-environment"
    ]
    assert [f.identity_id for f in hits] == [prod.id]
    # The same trust between two prod identities is fine.
    dev_prod = Identity(**{**_fields(dev), "attributes": {"account_alias": "acme-prod"}})
    assert not [
        f
        for f in scan(Inventory(identities=(dev_prod, prod))).findings
        if f.rule_id == "nhi-cross-environment"
    ]


def _fields(i: Identity) -> dict[str, object]:
    return {k: getattr(i, k) for k in i.__dataclass_fields__}


def ksa(
    ns: str, name: str, annotations: dict[str, str], flat: bool = False, cluster: str = "prod-eu"
) -> Identity:
    attrs: dict[str, object] = {"namespace": ns}
    if flat:
        attrs.update(annotations)
    else:
        attrs["annotations"] = annotations
    return Identity(
        id=f"k8s:{cluster}/{ns}/{name}",
        provider="kubernetes",
        kind="kubernetes-service-account",
        name=name,
        scope=cluster,
        attributes=attrs,
    )


def test_federation_annotations_nested_or_flat_resolve_to_the_role() -> None:
    target = role("app-shared")
    sas = [
        ksa("a", "one", {"eks.amazonaws.com/role-arn": ROLE_ARN}),
        ksa(
            "b",
            "two",
            {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/team/app-shared"},
            flat=True,
        ),
    ]
    feds = federations(sas)
    assert len(feds) == 2
    resolver = TargetResolver([target, *sas])
    assert all(resolver.resolve(f.provider, f.target) == target for f in feds)


def test_role_shared_by_three_service_accounts_fires_two_does_not() -> None:
    target = role("app-shared")
    sas = [ksa(ns, f"sa-{ns}", {"eks.amazonaws.com/role-arn": ROLE_ARN}) for ns in ("a", "b", "c")]
    hits = [
        f
        for f in scan(Inventory(identities=(target, *sas))).findings
        if f.rule_id == "cloud-identity-shared-by-workloads"
    ]
    assert [f.identity_id for f in hits] == [target.id] and hits[0].evidence["workloads"] == 3
    hits = [
        f
        for f in scan(Inventory(identities=(target, *sas[:2]))).findings
        if f.rule_id == "cloud-identity-shared-by-workloads"
    ]
    assert hits == []


def test_trust_subjects_count_once_with_matching_annotations() -> None:
    oidc = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/X"
    subs = ["system:serviceaccount:a:sa-a", "system:serviceaccount:b:sa-b"]
    target = role(
        "app-shared",
        trusts=(
            Trust(
                "Federated",
                oidc,
                conditions={"StringEquals": {"oidc.eks.eu-west-1.amazonaws.com/id/X:sub": subs}},
            ),
        ),
    )
    assert len(trust_workloads(target)) == 2
    sas = [ksa(ns, f"sa-{ns}", {"eks.amazonaws.com/role-arn": ROLE_ARN}) for ns in ("a", "b")]
    hits = [
        f
        for f in scan(Inventory(identities=(target, *sas))).findings
        if f.rule_id == "cloud-identity-shared-by-workloads"
    ]
    assert hits == []  # two workloads, seen twice each, are still two


def test_same_secret_in_two_repositories_is_reuse_one_repository_is_not() -> None:
    one = Inventory(secrets=(secret("tok", path="a", repo="r1"), secret("tok", path="b", repo="r1")))
    assert not [f for f in scan(one).findings if f.rule_id == "secret-reused-across-repositories"]
    two = Inventory(secrets=(secret("tok", path="a", repo="r1"), secret("tok", path="a", repo="r2")))
    (f,) = [f for f in scan(two).findings if f.rule_id == "secret-reused-across-repositories"]
    assert f.evidence["repositories"] == ["r1", "r2"] and f.location == Location("a", 1, None, "r1")


def test_a_correlated_credential_is_one_reuse_finding_whatever_its_parts() -> None:
    inv = Inventory(
        identities=(aws_user("ci", KEY),),
        secrets=(
            secret(KEY, path="a", repo="r1", key_id=KEY),
            secret("secret-key-1", path="a", repo="r1", line=2, key_id=KEY),
            secret(KEY, path="b", repo="r2", key_id=KEY),
            secret("secret-key-1", path="b", repo="r2", line=2, key_id=KEY),
        ),
    )
    (f,) = [f for f in scan(inv).findings if f.rule_id == "secret-reused-across-repositories"]
    assert f.identity_id == aws_user("ci", KEY).id and f.credential_id == KEY
    assert len(f.evidence["locations"]) == 4 and "ci" in f.message
