"""Fixtures for the live AWS tests: one moto server per test session (worker), reset per test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.aws_live.moto_peer import MotoPeer, moto_peer
from tests.conftest import CliResult, run_cli

# Every identity moto creates is "now"; evaluate ages 200 days later so age rules have something to say.
AS_OF = (datetime.now(timezone.utc) + timedelta(days=200)).strftime("%Y-%m-%d")
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
S3_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}],
}
PASS_ROLE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["iam:PassRole", "lambda:CreateFunction"], "Resource": "*"}],
}


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoPeer]:
    with moto_peer() as peer:
        yield peer


@pytest.fixture
def peer(moto_server: MotoPeer) -> Iterator[MotoPeer]:
    moto_server.reset()
    yield moto_server
    moto_server.reset()


def nhiscan(peer: MotoPeer, *args: str, env: dict[str, str] | None = None) -> CliResult:
    """The installed console script against the moto peer (recorder cleared first)."""
    peer.recorder.calls.clear()
    return run_cli(*args, env={**peer.env(), **(env or {})}, timeout=120)


def ssh_public_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def signing_certificate() -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nhiscan-test")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class Account:
    """What build_account planted, to assert on."""

    account_id: str
    users: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    key_users: dict[str, list[str]] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)


def build_account(iam: Any, account_id: str = "123456789012") -> Account:
    """A small but realistic account: machine users with keys, groups, inline and managed policies,
    a human with a password and MFA, roles trusting GitHub OIDC, another account and anyone."""
    acct = Account(account_id)

    def user(name: str, path: str = "/", tags: dict[str, str] | None = None) -> None:
        kw: dict[str, Any] = {"UserName": name, "Path": path}
        if tags:
            kw["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        iam.create_user(**kw)
        acct.users.append(name)

    def key(name: str) -> None:
        k = iam.create_access_key(UserName=name)["AccessKey"]
        acct.key_users.setdefault(name, []).append(k["AccessKeyId"])
        acct.secrets.append(k["SecretAccessKey"])

    s3_read = iam.create_policy(PolicyName="s3-read", PolicyDocument=json.dumps(S3_READ))["Policy"]["Arn"]
    admin = iam.create_policy(PolicyName="admin-all", PolicyDocument=json.dumps(ADMIN))["Policy"]["Arn"]

    # machine user with two active keys and an inline admin policy
    user("svc-deploy", "/svc/", {"owner": "platform-team"})
    key("svc-deploy")
    key("svc-deploy")
    iam.put_user_policy(UserName="svc-deploy", PolicyName="everything", PolicyDocument=json.dumps(ADMIN))

    # machine user in a group with a managed policy and a group inline policy
    iam.create_group(GroupName="deployers")
    iam.attach_group_policy(GroupName="deployers", PolicyArn=s3_read)
    iam.put_group_policy(GroupName="deployers", PolicyName="pass-role", PolicyDocument=json.dumps(PASS_ROLE))
    user("build-bot", "/ci/")
    iam.add_user_to_group(GroupName="deployers", UserName="build-bot")
    key("build-bot")
    iam.upload_ssh_public_key(UserName="build-bot", SSHPublicKeyBody=ssh_public_key())

    # machine user that also has a console password, and a signing certificate
    user("svc-legacy", "/svc/")
    key("svc-legacy")
    iam.create_login_profile(UserName="svc-legacy", Password="Legacy-Passw0rd!xyz")
    iam.upload_signing_certificate(UserName="svc-legacy", CertificateBody=signing_certificate())
    iam.attach_user_policy(UserName="svc-legacy", PolicyArn=admin)

    # a human: password and a virtual MFA device, no keys
    user("alice")
    iam.create_login_profile(UserName="alice", Password="Alice-Passw0rd!xyz")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="alice", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )

    # a user with no credentials at all
    user("report-reader")
    iam.attach_user_policy(UserName="report-reader", PolicyArn=s3_read)

    # roles: GitHub OIDC without a sub condition, cross-account without ExternalId, wildcard, service
    oidc = iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com",
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"],
    )["OpenIDConnectProviderArn"]
    trust_oidc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": oidc},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
                },
            }
        ],
    }
    trust_xacct = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    trust_any = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    trust_lambda = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    for name, trust, policy in (
        ("gha-deploy", trust_oidc, admin),
        ("partner-read", trust_xacct, s3_read),
        ("open-door", trust_any, s3_read),
        ("fn-worker", trust_lambda, s3_read),
    ):
        # fn-worker hands out 12-hour sessions (aws-role-long-session); the others the default hour
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            MaxSessionDuration=43200 if name == "fn-worker" else 3600,
        )
        iam.attach_role_policy(RoleName=name, PolicyArn=policy)
        acct.roles.append(name)
    iam.put_role_policy(RoleName="fn-worker", PolicyName="logs", PolicyDocument=json.dumps(S3_READ))
    iam.create_saml_provider(Name="corp-idp", SAMLMetadataDocument="a" * 1000)
    iam.create_account_alias(AccountAlias="acme-moto")
    return acct


def aws_cli(peer: MotoPeer, *args: str) -> Any:
    """The real AWS CLI (awscli, test extra) against the peer; its JSON output."""
    exe = Path(sys.executable).parent / "aws"
    env = {**os.environ, **peer.env()}
    proc = subprocess.run(
        [str(exe), *args, "--endpoint-url", peer.url, "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def finding_keys(result: Any) -> set[tuple[str, str | None, str | None]]:
    return {(f["rule_id"], f["identity_id"], f["credential_id"]) for f in result["findings"]}


@dataclass
class Org:
    management: str
    members: list[str]


def build_org(peer: MotoPeer, members: int, role: str = "NhiscanAudit", users_per_account: int = 2) -> Org:
    """An organization whose member accounts each hold `role` and a few machine users with keys."""
    org = peer.client("organizations")
    management = org.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
    sts = peer.client("sts")
    ids: list[str] = []
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{management}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    for n in range(members):
        status = org.create_account(AccountName=f"member-{n}", Email=f"member-{n}@example.com")
        acct = status["CreateAccountStatus"]["AccountId"]
        ids.append(acct)
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{acct}:role/{role}", RoleSessionName="setup")[
            "Credentials"
        ]
        iam = peer.client(
            "iam", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"]
        )
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
        for u in range(users_per_account):
            iam.create_user(UserName=f"svc-{n}-{u}", Path="/svc/")
            iam.create_access_key(UserName=f"svc-{n}-{u}")
    return Org(management, ids)
