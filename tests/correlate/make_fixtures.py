"""Regenerate the correlation fixtures (deterministic): python -m tests.correlate.make_fixtures fixtures

Writes fixtures/rules/<rule-id>/{fires,silent}/inventory.json for the rules of this area and
fixtures/correlate/combined/{inventory,expected}.json (planted leaks with known owners, and decoys).
Secret values are random and only their hash and redacted preview are written.
"""

import hashlib
import json
import random
import string
import sys
from pathlib import Path

ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else "fixtures")
rnd = random.Random(20261101)


def akid():
    return "AKIA" + "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))


def hexid(n=40):
    return "".join(rnd.choice("0123456789abcdef") for _ in range(n))


def guid():
    h = hexid(32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def secret_value(prefix, n=40):
    return prefix + "".join(rnd.choice(string.ascii_letters + string.digits + "/+") for _ in range(n))


def sec(stype, provider, path, line, repo, value, attrs, commit=None):
    h = hashlib.sha256(value.encode()).hexdigest()
    loc = {"path": path, "line": line, "repository": repo}
    if commit:
        loc["commit"] = commit
    return {
        "type": stype,
        "provider": provider,
        "location": loc,
        "redacted": value[:4] + "…#" + h[:8],
        "hash": "sha256:" + h,
        "attributes": attrs,
    }


def ident(
    id,
    provider,
    kind,
    name,
    scope,
    creds=(),
    grants=(),
    trusts=(),
    tags=None,
    attrs=None,
    owner="team-platform",
):
    return {
        "id": id,
        "provider": provider,
        "kind": kind,
        "name": name,
        "scope": scope,
        "owner": owner,
        "nonhuman": True,
        "classification": "",
        "created": "2025-01-10T09:00:00+00:00",
        "last_used": None,
        "tags": tags or {},
        "credentials": list(creds),
        "grants": list(grants),
        "trusts": list(trusts),
        "attributes": attrs or {},
    }


def cred(id, kind, active=True, last_used="2026-10-25T08:12:00+00:00", attrs=None):
    return {
        "id": id,
        "kind": kind,
        "created": "2025-02-01T00:00:00+00:00",
        "last_used": last_used,
        "expires": None,
        "active": active,
        "attributes": attrs or {},
    }


ADMIN = {
    "effect": "Allow",
    "actions": ["*"],
    "resources": ["*"],
    "scope": "111122223333",
    "via": "AdministratorAccess",
}
READ = {
    "effect": "Allow",
    "actions": ["s3:GetObject", "s3:ListBucket"],
    "resources": ["arn:aws:s3:::reports/*"],
    "scope": "111122223333",
    "via": "inline:read-reports",
}
MINT = {
    "effect": "Allow",
    "actions": ["iam:CreateAccessKey", "iam:ListUsers"],
    "resources": ["*"],
    "scope": "111122223333",
    "via": "inline:key-rotation",
}


def doc(identities, secrets_, observations=(), sources=None):
    return {
        "schema": "nhiscan-inventory/v1",
        "generator": "nhiscan fixture",
        "as_of": None,
        "sources": sources or [{"kind": "nhiscan-inventory", "scope": None, "path": "inventory.json"}],
        "identities": identities,
        "secrets": secrets_,
        "observations": list(observations),
    }


def write(rel, data):
    p = ROOT / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


ACCT = "111122223333"


def aws_user(
    name, key, grants, active=True, last_used="2026-10-25T08:12:00+00:00", tags=None, scope=ACCT, attrs=None
):
    return ident(
        f"arn:aws:iam::{scope}:user/{name}",
        "aws",
        "aws-iam-user",
        name,
        scope,
        [cred(key, "aws-access-key", active, last_used)],
        grants,
        tags=tags,
        attrs=attrs,
    )


def aws_secret_pair(key, path, line, repo):
    # the access key id and, next to it, the secret access key (same key_id attribute)
    return [
        sec("AWS Access Key", "aws", path, line, repo, key, {"key_id": key}),
        sec("AWS Secret Access Key", "aws", path, line + 1, repo, secret_value("", 40), {"key_id": key}),
    ]


# ---------------- leaked-credential-linked
k_admin, k_other = akid(), akid()
sa_email = "etl-loader@acme-data-prod.iam.gserviceaccount.com"
gkey = hexid(40)
app_id, sp_id, hint = guid(), guid(), "Q7x"
ids = [
    aws_user("ci-deployer", k_admin, [ADMIN]),
    ident(
        f"projects/acme-data-prod/serviceAccounts/{sa_email}",
        "gcp",
        "gcp-service-account",
        sa_email,
        "acme-data-prod",
        [
            cred(
                f"projects/acme-data-prod/serviceAccounts/{sa_email}/keys/{gkey}",
                "gcp-sa-key",
                last_used=None,
            )
        ],
        [
            {
                "effect": "Allow",
                "role": "roles/bigquery.dataViewer",
                "scope": "projects/acme-data-prod",
                "via": "project-iam",
            }
        ],
        attrs={"email": sa_email},
    ),
    ident(
        sp_id,
        "azure",
        "azure-service-principal",
        "invoice-sync",
        "tenant-0f1e",
        [cred(guid(), "azure-client-secret", attrs={"hint": hint})],
        attrs={"appId": app_id},
    ),
]
secs = aws_secret_pair(k_admin, "deploy/settings.py", 8, "web-app") + aws_secret_pair(
    k_admin, ".env", 3, "infra-tools"
)
gval = secret_value("-----BEGIN PRIVATE KEY-----", 60)
secs.append(
    sec(
        "GCP Service Account Key",
        "gcp",
        "keys/etl.json",
        1,
        "data-pipelines",
        gval,
        {"private_key_id": gkey, "client_email": sa_email},
    )
)
secs.append(
    sec(
        "Azure Client Secret",
        "azure",
        "appsettings.json",
        12,
        "invoice-sync",
        hint + secret_value("~", 37),
        {"client_id": app_id, "hint": hint},
    )
)
write("rules/leaked-credential-linked/fires/inventory.json", doc(ids, secs))
# silent: the leaked keys belong to nobody in this inventory
secs_s = aws_secret_pair(akid(), "deploy/settings.py", 8, "web-app")
secs_s.append(
    sec(
        "GCP Service Account Key",
        "gcp",
        "keys/other.json",
        1,
        "data-pipelines",
        secret_value("-----BEGIN PRIVATE KEY-----", 60),
        {"private_key_id": hexid(40), "client_email": "other@elsewhere-123.iam.gserviceaccount.com"},
    )
)
secs_s.append(
    sec(
        "Azure Client Secret",
        "azure",
        "appsettings.json",
        12,
        "invoice-sync",
        "Zz9" + secret_value("~", 37),
        {"hint": "Zz9"},
    )
)
write("rules/leaked-credential-linked/silent/inventory.json", doc(ids, secs_s))

# ---------------- secret-reused-across-repositories
tok = "ghp_" + "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(36))
write(
    "rules/secret-reused-across-repositories/fires/inventory.json",
    doc(
        [],
        [
            sec("GitHub Token", None, ".github/workflows/release.yml", 22, "web-app", tok, {}),
            sec("GitHub Token", None, "scripts/publish.sh", 4, "docs-site", tok, {}),
        ],
    ),
)
write(
    "rules/secret-reused-across-repositories/silent/inventory.json",
    doc(
        [],
        [
            sec("GitHub Token", None, ".github/workflows/release.yml", 22, "web-app", tok, {}),
            sec("GitHub Token", None, "scripts/publish.sh", 4, "web-app", tok, {}),
            sec("GitHub Token", None, "scripts/other.sh", 4, "docs-site", "ghp_" + secret_value("", 36), {}),
        ],
    ),
)

# ---------------- nhi-cross-environment
k_env = akid()
envu = aws_user("billing-sync", k_env, [READ])
write(
    "rules/nhi-cross-environment/fires/inventory.json",
    doc(
        [envu],
        aws_secret_pair(k_env, "config/prod/billing.env", 2, "billing")
        + aws_secret_pair(k_env, "config/staging/billing.env", 2, "billing"),
    ),
)
envu_s = aws_user("billing-sync", k_env, [READ], tags={"env": "prod"})
write(
    "rules/nhi-cross-environment/silent/inventory.json",
    doc(
        [envu_s],
        aws_secret_pair(k_env, "config/prod/billing.env", 2, "billing")
        + aws_secret_pair(k_env, "docs/production-notes/billing.env", 2, "billing"),
    ),
)

# ---------------- cloud-identity-shared-by-workloads
role_arn = f"arn:aws:iam::{ACCT}:role/app-shared"
role = ident(
    role_arn,
    "aws",
    "aws-iam-role",
    "app-shared",
    ACCT,
    grants=[READ],
    trusts=[
        {
            "principal_type": "Federated",
            "principal": f"arn:aws:iam::{ACCT}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/5C1A",
            "actions": ["sts:AssumeRoleWithWebIdentity"],
            "effect": "Allow",
            "conditions": {
                "StringLike": {"oidc.eks.eu-west-1.amazonaws.com/id/5C1A:sub": "system:serviceaccount:*:*"}
            },
        }
    ],
)


def ksa(ns, name, target, key="eks.amazonaws.com/role-arn"):
    return ident(
        f"k8s:prod-eu/{ns}/{name}",
        "kubernetes",
        "kubernetes-service-account",
        name,
        "prod-eu",
        attrs={"namespace": ns, "annotations": {key: target}},
    )


write(
    "rules/cloud-identity-shared-by-workloads/fires/inventory.json",
    doc(
        [
            role,
            ksa("checkout", "checkout-api", role_arn),
            ksa("payments", "payments-worker", role_arn),
            ksa("search", "indexer", role_arn),
        ],
        [],
    ),
)
role2_arn = f"arn:aws:iam::{ACCT}:role/app-indexer"
role2 = ident(
    role2_arn,
    "aws",
    "aws-iam-role",
    "app-indexer",
    ACCT,
    grants=[READ],
    trusts=[
        {
            "principal_type": "Service",
            "principal": "ec2.amazonaws.com",
            "actions": ["sts:AssumeRole"],
            "effect": "Allow",
            "conditions": {},
        }
    ],
)
write(
    "rules/cloud-identity-shared-by-workloads/silent/inventory.json",
    doc([role, role2, ksa("checkout", "checkout-api", role_arn), ksa("search", "indexer", role2_arn)], []),
)

# ---------------- agent-identity-privileged
bedrock_trust = {
    "principal_type": "Service",
    "principal": "bedrock.amazonaws.com",
    "actions": ["sts:AssumeRole"],
    "effect": "Allow",
    "conditions": {},
}
agent_role = ident(
    f"arn:aws:iam::{ACCT}:role/support-assistant",
    "aws",
    "aws-iam-role",
    "support-assistant",
    ACCT,
    grants=[MINT],
    trusts=[bedrock_trust],
)
write("rules/agent-identity-privileged/fires/inventory.json", doc([agent_role], []))
agent_ro = ident(
    f"arn:aws:iam::{ACCT}:role/support-assistant",
    "aws",
    "aws-iam-role",
    "support-assistant",
    ACCT,
    grants=[READ],
    trusts=[bedrock_trust],
)
cw = ident(
    f"arn:aws:iam::{ACCT}:role/cloudwatch-agent-admin",
    "aws",
    "aws-iam-role",
    "cloudwatch-agent-admin",
    ACCT,
    grants=[ADMIN],
    trusts=[
        {
            "principal_type": "Service",
            "principal": "ec2.amazonaws.com",
            "actions": ["sts:AssumeRole"],
            "effect": "Allow",
            "conditions": {},
        }
    ],
)
write("rules/agent-identity-privileged/silent/inventory.json", doc([agent_ro, cw], []))

# ---------------- combined fixture: planted leaks with known owners, plus decoys with none
planted = []  # (credential id, identity id, expected status)
c_ids, c_secs, c_obs = [], [], []
k1, k2, k3, k8, k9 = akid(), akid(), akid(), akid(), akid()
u1 = aws_user("ci-deployer", k1, [ADMIN])
c_ids.append(u1)
c_secs += aws_secret_pair(k1, "deploy/settings.py", 8, "web-app") + aws_secret_pair(
    k1, "ci/prod.env", 1, "infra-tools"
)
planted.append((k1, u1["id"], "active"))
u2 = aws_user("legacy-etl", k2, [READ], active=False, last_used="2025-06-01T00:00:00+00:00")
c_ids.append(u2)
c_secs += aws_secret_pair(k2, "etl/old_config.ini", 14, "data-pipelines")
planted.append((k2, u2["id"], "inactive"))
u3 = aws_user("report-reader", k3, [READ])
c_ids.append(u3)
c_secs += aws_secret_pair(k3, "reports/staging.env", 2, "web-app")
planted.append((k3, u3["id"], "active"))
g4key = hexid(40)
g4mail = "ml-train@acme-ml-dev.iam.gserviceaccount.com"
g4 = ident(
    f"projects/acme-ml-dev/serviceAccounts/{g4mail}",
    "gcp",
    "gcp-service-account",
    g4mail,
    "acme-ml-dev",
    [cred(g4key, "gcp-sa-key", last_used=None)],
    [{"effect": "Allow", "role": "roles/owner", "scope": "projects/acme-ml-dev", "via": "project-iam"}],
    attrs={"email": g4mail},
)
c_ids.append(g4)
c_secs.append(
    sec(
        "GCP Service Account Key",
        "gcp",
        "notebooks/sa.json",
        1,
        "ml-research",
        secret_value("-----BEGIN PRIVATE KEY-----", 60),
        {"private_key_id": g4key, "client_email": g4mail},
    )
)
planted.append((g4key, g4["id"], "active"))
g5mail = "backup@acme-ops.iam.gserviceaccount.com"
g5old = hexid(40)
g5 = ident(
    f"projects/acme-ops/serviceAccounts/{g5mail}",
    "gcp",
    "gcp-service-account",
    g5mail,
    "acme-ops",
    [cred(f"projects/acme-ops/serviceAccounts/{g5mail}/keys/{hexid(40)}", "gcp-sa-key")],
    attrs={"email": g5mail},
)
c_ids.append(g5)
c_secs.append(
    sec(
        "GCP Service Account Key",
        "gcp",
        "backup/key.json",
        1,
        "ops-scripts",
        secret_value("-----BEGIN PRIVATE KEY-----", 60),
        {"private_key_id": g5old, "client_email": g5mail},
    )
)
planted.append((g5old, g5["id"], "not-found"))
a6app, a6hint = guid(), "p8Q"
a6 = ident(
    guid(),
    "azure",
    "azure-service-principal",
    "invoice-sync",
    "tenant-0f1e",
    [cred(guid(), "azure-client-secret", attrs={"hint": a6hint})],
    attrs={"appId": a6app},
)
c_ids.append(a6)
c_secs.append(
    sec(
        "Azure Client Secret",
        "azure",
        "appsettings.Production.json",
        12,
        "invoice-sync",
        a6hint + secret_value("~", 37),
        {"client_id": a6app, "hint": a6hint},
    )
)
planted.append((a6["credentials"][0]["id"], a6["id"], "active"))
a7app = guid()
a7 = ident(
    guid(),
    "azure",
    "azure-service-principal",
    "hr-export",
    "tenant-0f1e",
    [cred(guid(), "azure-client-secret", attrs={"hint": "mN2"})],
    attrs={"appId": a7app},
)
c_ids.append(a7)
c_secs.append(
    sec(
        "Azure Client Secret",
        "azure",
        "export/.env",
        5,
        "hr-tools",
        secret_value("", 40),
        {"client_id": a7app},
    )
)
planted.append((None, a7["id"], "unverified"))
u8 = aws_user("nightly-sync", k8, [READ])
c_ids.append(u8)
c_secs += aws_secret_pair(k8, "sync.py", 30, "ops-scripts")
c_secs.append(
    sec(
        "AWS Access Key",
        "aws",
        "sync.py",
        30,
        "ops-scripts",
        k8,
        {"key_id": k8},
        commit="9f2c4e1a7b3d5f60718293a4b5c6d7e8f9012345",
    )
)
planted.append((k8, u8["id"], "active"))
u9 = aws_user("release-helper", k9, [MINT])
c_ids.append(u9)
c_secs += aws_secret_pair(k9, ".cursor/mcp.json", 9, "web-app")
c_obs.append(
    {
        "rule_id": "agent-config-observed",
        "location": {"path": ".cursor/mcp.json", "line": 1, "repository": "web-app"},
        "message": "MCP server configuration",
        "attributes": {"agent": True, "client": "cursor"},
    }
)
planted.append((k9, u9["id"], "active"))
# decoys: owners not in the inventory
n_before = len(c_secs)
c_secs += aws_secret_pair(akid(), "tmp/notes.txt", 1, "web-app")
c_secs.append(
    sec(
        "GCP Service Account Key",
        "gcp",
        "x/key.json",
        1,
        "web-app",
        secret_value("-----BEGIN PRIVATE KEY-----", 60),
        {"private_key_id": hexid(40), "client_email": "ghost@other-proj.iam.gserviceaccount.com"},
    )
)
c_secs.append(
    sec(
        "Azure Client Secret",
        "azure",
        "y/app.json",
        3,
        "web-app",
        a6hint + secret_value("~", 37),
        {"hint": a6hint},
    )
)
c_secs.append(
    sec(
        "Azure Client Secret",
        "azure",
        "z/app.json",
        3,
        "web-app",
        secret_value("~", 40),
        {"client_id": guid(), "hint": "r4T"},
    )
)
write("correlate/combined/inventory.json", doc(c_ids, c_secs, c_obs))
write(
    "correlate/combined/expected.json",
    {
        "planted": [{"credential_id": c, "identity_id": i, "status": s} for c, i, s in planted],
        "decoy_secrets": len(c_secs) - n_before,
    },
)
