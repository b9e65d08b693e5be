"""Export variants: every form the real tools write gives the findings of the canonical fixture,
and what still cannot be read is one error naming the file, the record and the field.

Blinding by format: an export re-saved by Windows PowerShell (UTF-16 with a BOM, CRLF), written by
another CLI version (``2019-12-18 19:10:08+00:00``), by boto3 / JavaScript tools (epoch seconds or
milliseconds), by PowerShell 5.1 ``ConvertTo-Json`` (``/Date(ms)/``) or re-cased by hand or a
spreadsheet must not lose a single finding quietly. The comparison is on (rule id, identity id) of
every finding, never on counts.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import AS_OF, FIXTURES, run_cli
from tests.hostile.harness import GOOD_EXPORT_ID, HostileResult, hostile_scan

TIMEOUT = 120
PLUS_1 = timezone(timedelta(hours=1))
Files = dict[str, bytes]  # file name -> content
Transform = Callable[[str, bytes], bytes]  # (file name, content) -> content


@dataclass(frozen=True)
class ExportSet:
    """One account / project / tenant / cluster as its exports: fixture files and their SCOPE=."""

    name: str
    files: tuple[Path, ...]
    scopes: dict[str, str] = field(default_factory=dict)

    def read(self) -> Files:
        return {p.name: p.read_bytes() for p in self.files}


ACME = FIXTURES / "aws" / "acme-prod"
GCP = FIXTURES / "gcp" / "acme-prod"
AZURE = FIXTURES / "azure" / "contoso"
K8S = FIXTURES / "kubernetes" / "prod-cluster"
SETS = {
    "aws": ExportSet(
        "aws", tuple(ACME / n for n in ("gaad.json", "credential-report.csv", "list-access-keys.json"))
    ),
    "gcp": ExportSet("gcp", tuple(sorted(GCP.glob("*.json"))), {"project-iam-policy.json": "acme-prod"}),
    "azure": ExportSet("azure", tuple(sorted(AZURE.glob("*.json")))),
    "kubernetes": ExportSet("kubernetes", (K8S / "rbac-and-serviceaccounts.json",), {"*": "gke-prod"}),
}
ACME_PROBLEMS = {
    (p["rule"], p["identity"]) for p in yaml.safe_load((ACME / "expected.yaml").read_text())["problems"]
}


def write_set(root: Path, files: Files, scopes: dict[str, str]) -> list[str]:
    root.mkdir(parents=True, exist_ok=True)
    args: list[str] = []
    for name, data in files.items():
        (root / name).write_bytes(data)
        scope = scopes.get(name) or scopes.get("*")
        args += ["--input", f"{scope}={root / name}" if scope else str(root / name)]
    return args


def scan_set(tmp: Path, files: Files, scopes: dict[str, str], *, expect_code: int) -> HostileResult:
    return hostile_scan(tmp, *write_set(tmp / "in", files, scopes), expect_code=expect_code, timeout=TIMEOUT)


def pairs(res: HostileResult) -> set[tuple[str, str | None]]:
    return {(f["rule_id"], f["identity_id"]) for f in res.findings()}


@cache
def _inventory_bytes() -> bytes:
    """What `nhiscan inventory` writes for the acme-prod exports (the inventory JSON kind)."""
    args = [a for p in SETS["aws"].files for a in ("--input", str(p))]
    res = run_cli("inventory", *args, "--as-of", AS_OF, timeout=TIMEOUT)
    assert res.code == 0, res.stderr
    return res.stdout.encode("utf-8")


def set_files(kind: str) -> tuple[Files, dict[str, str]]:
    if kind == "inventory":
        return {"inventory.json": _inventory_bytes()}, {}
    s = SETS[kind]
    return s.read(), s.scopes


_canonical: dict[str, set[tuple[str, str | None]]] = {}


def canonical(kind: str, tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str | None]]:
    if kind not in _canonical:
        files, scopes = set_files(kind)
        res = scan_set(tmp_path_factory.mktemp(f"canonical-{kind}"), files, scopes, expect_code=1)
        assert res.errors == [], res.errors
        _canonical[kind] = pairs(res)
    return _canonical[kind]


# --- the forms the real tools write ---------------------------------------------------------------

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$")


def _when(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def json_times(form: Callable[[datetime], Any], only: str | None = None) -> Transform:
    """Every timestamp string in a JSON export (or only in file ``only``) rewritten by ``form``."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str) and _ISO.match(value) and not value.startswith("9999-"):
            return form(_when(value))  # GCP's "no expiry" 9999-12-31 is written as it is by every tool
        return value

    def apply(name: str, data: bytes) -> bytes:
        if not name.endswith(".json") or (only and name != only):
            return data
        return json.dumps(walk(json.loads(data)), indent=4).encode("utf-8")

    return apply


def json_fields(only: str, fields: dict[str, Callable[[Any], Any]]) -> Transform:
    """Values of the named keys (anywhere in file ``only``) rewritten, e.g. an enum re-cased."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: fields[k](v) if k in fields and v is not None else walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    def apply(name: str, data: bytes) -> bytes:
        return json.dumps(walk(json.loads(data)), indent=4).encode("utf-8") if name == only else data

    return apply


def encoded(codec: str, bom: str = "\ufeff", crlf: bool = True) -> Transform:
    """Windows PowerShell 5.1: `>` and Out-File write UTF-16 LE with a BOM and CRLF line ends;
    `-Encoding BigEndianUnicode` UTF-16 BE, `-Encoding UTF32` UTF-32 LE, `-Encoding UTF8` a BOM."""

    def apply(name: str, data: bytes) -> bytes:
        text = data.decode("utf-8")
        if crlf:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
            text += "" if text.endswith("\r\n") else "\r\n"
        return (bom + text).encode(codec)

    return apply


def csv_cells(fn: Callable[[str, str], str]) -> Transform:
    """Every cell of the credential report rewritten by ``fn(column, value)`` (header kept)."""

    def apply(name: str, data: bytes) -> bytes:
        if not name.endswith(".csv"):
            return data
        lines = data.decode("utf-8").splitlines()
        header = lines[0].split(",")
        rows = [",".join(fn(c, v) for c, v in zip(header, ln.split(","), strict=True)) for ln in lines[1:]]
        return ("\n".join([lines[0], *rows]) + "\n").encode("utf-8")

    return apply


def report_as_json(name: str, data: bytes) -> bytes:
    """The JSON `aws iam get-credential-report` prints: the CSV base64 in Content."""
    if not name.endswith(".csv"):
        return data
    doc = {
        "Content": base64.b64encode(data).decode("ascii"),
        "ReportFormat": "text/csv",
        "GeneratedTime": "2026-10-31T23:00:00+00:00",
    }
    return json.dumps(doc, indent=4).encode("utf-8")


def epoch_s(dt: datetime) -> float:
    return dt.timestamp()


def epoch_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


VARIANTS: dict[str, Transform] = {
    # how the files were saved
    "utf8-bom": encoded("utf-8", crlf=False),
    "utf16le-powershell": encoded("utf-16-le"),
    "utf16be-powershell": encoded("utf-16-be"),
    "utf32le-powershell": encoded("utf-32-le"),
    # timestamps
    "dates-cli-v1-space": json_times(lambda d: d.strftime("%Y-%m-%d %H:%M:%S+00:00")),
    "dates-fraction-offset": json_times(lambda d: d.astimezone(PLUS_1).isoformat(timespec="microseconds")),
    "dates-fraction-z": json_times(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%f") + "1Z"),
    "dates-no-zone": json_times(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S")),
    "dates-epoch-ms": json_times(epoch_ms),
    "dates-epoch-ms-string": json_times(lambda d: str(epoch_ms(d))),
    "dates-powershell-5": json_times(lambda d: f"/Date({epoch_ms(d)})/"),
}
# Variants only some kinds have (their fields, their tools).
KIND_VARIANTS: dict[str, dict[str, Transform]] = {
    "aws": {
        "status-lower-case": json_fields("list-access-keys.json", {"Status": str.lower}),
        "status-upper-case": json_fields("list-access-keys.json", {"Status": str.upper}),
        "keys-epoch-ms": json_times(epoch_ms, only="list-access-keys.json"),
        "keys-epoch-seconds": json_times(epoch_s, only="list-access-keys.json"),
        "keys-epoch-seconds-string": json_times(lambda d: f"{epoch_s(d):.0f}", only="list-access-keys.json"),
        "gaad-basic-offset": json_times(
            lambda d: d.astimezone(PLUS_1).strftime("%Y-%m-%dT%H:%M:%S%z"), only="gaad.json"
        ),
        "report-flags-excel": csv_cells(lambda c, v: v.upper() if v in ("true", "false") else v),
        "report-json-base64": report_as_json,
    },
    "gcp": {"key-type-lower-case": json_fields("keys-terraform.json", {"keyType": str.lower})},
    "azure": {
        "principal-type-lower-case": json_fields("role-assignments.json", {"principalType": str.lower}),
        "sp-type-lower-case": json_fields("sp-list.json", {"servicePrincipalType": str.lower}),
    },
    "kubernetes": {
        "kubectl-yaml": lambda n, d: yaml.safe_dump(json.loads(d), sort_keys=False).encode("utf-8"),
        "nested-lists": lambda n, d: json.dumps(_nest(json.loads(d))).encode("utf-8"),
    },
}


def _nest(doc: dict[str, Any]) -> dict[str, Any]:
    """Two kubectl Lists (as `jq -s` joins them) inside one List."""
    items = doc["items"]
    half = len(items) // 2
    inner = [{"apiVersion": "v1", "kind": "List", "items": part} for part in (items[:half], items[half:])]
    return {"apiVersion": "v1", "kind": "List", "items": inner}


KINDS = ("aws", "gcp", "azure", "kubernetes", "inventory")
CASES = [(k, v) for k in KINDS for v in (*VARIANTS, *KIND_VARIANTS.get(k, {}))]


def variant_files(kind: str, variant: str) -> tuple[Files, dict[str, str]]:
    files, scopes = set_files(kind)
    transform = VARIANTS.get(variant) or KIND_VARIANTS[kind][variant]
    return {n: transform(n, d) for n, d in files.items()}, scopes


def test_acme_canonical_holds_every_planted_problem(tmp_path_factory: pytest.TempPathFactory) -> None:
    assert canonical("aws", tmp_path_factory) >= ACME_PROBLEMS
    assert len(ACME_PROBLEMS) == 21


@pytest.mark.parametrize(("kind", "variant"), CASES, ids=[f"{k}-{v}" for k, v in CASES])
def test_variant_gives_the_canonical_findings(
    kind: str, variant: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    expected = canonical(kind, tmp_path_factory)
    files, scopes = variant_files(kind, variant)
    assert files != set_files(kind)[0], "the variant must change the files"
    res = scan_set(tmp_path, files, scopes, expect_code=1)
    assert res.errors == [], res.errors
    assert pairs(res) == expected, {"lost": expected - pairs(res), "new": pairs(res) - expected}
    if kind == "aws":
        assert pairs(res) >= ACME_PROBLEMS


# --- what cannot be read: one error naming file, record and field; the rest still reported --------


def _edit_json(files: Files, name: str, edit: Callable[[Any], None]) -> None:
    doc = json.loads(files[name])
    edit(doc)
    files[name] = json.dumps(doc, indent=4).encode("utf-8")


def _set(path: list[Any], value: Any) -> Callable[[Any], None]:
    def edit(doc: Any) -> None:
        for step in path[:-1]:
            doc = doc[step]
        doc[path[-1]] = value

    return edit


@dataclass(frozen=True)
class Unreadable:
    kind: str
    file: str
    edit: Callable[[Any], None]
    where: str  # the record (index and name) and field the error must name
    lost: str | None  # the identity (id suffix) whose findings may change: its record was skipped


def _fixture(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


_KEY_USER = str(_fixture(ACME / "list-access-keys.json")["AccessKeyMetadata"][2]["UserName"])
_ROLE = _fixture(ACME / "gaad.json")["RoleDetailList"][3]
_GCP_KEY_SA = str(_fixture(GCP / "keys-terraform.json")[0]["name"]).split("/")[3]
_AZURE_APP_ID = _fixture(AZURE / "app-list.json")[0]["appId"]
_AZURE_SP = next(sp["id"] for sp in _fixture(AZURE / "sp-list.json") if sp["appId"] == _AZURE_APP_ID)
_K8S_ITEMS = _fixture(K8S / "rbac-and-serviceaccounts.json")["items"]
_K8S_SA = next(i for i, o in enumerate(_K8S_ITEMS) if o["kind"] == "ServiceAccount" and i > 3)
_K8S_SA_ID = "k8s:gke-prod:{namespace}/{name}".format(**_K8S_ITEMS[_K8S_SA]["metadata"])


def _nested_with_null(doc: dict[str, Any]) -> None:
    """The fixture as two Lists in a List, the second one's first item null."""
    doc.update(_nest(doc))
    doc["items"][1]["items"][0] = None


UNREADABLE = {
    "aws-key-create-date": Unreadable(
        "aws",
        "list-access-keys.json",
        _set(["AccessKeyMetadata", 2, "CreateDate"], "last Tuesday"),
        f"AccessKeyMetadata[2] ({_KEY_USER}): CreateDate: expected a date and time",
        f"/{_KEY_USER}",
    ),
    "aws-key-status": Unreadable(
        "aws",
        "list-access-keys.json",
        _set(["AccessKeyMetadata", 2, "Status"], "Enabled"),
        f"AccessKeyMetadata[2] ({_KEY_USER}): Status: expected one of Active, Inactive, Expired",
        f"/{_KEY_USER}",
    ),
    "aws-role-create-date": Unreadable(
        "aws",
        "gaad.json",
        _set(["RoleDetailList", 3, "CreateDate"], "2024-13-45T99:00:00Z"),
        f"RoleDetailList[3] ({_ROLE['RoleName']}): CreateDate: expected a date and time",
        _ROLE["Arn"],
    ),
    "aws-role-last-used": Unreadable(
        "aws",
        "gaad.json",
        _set(["RoleDetailList", 3, "RoleLastUsed"], {"LastUsedDate": True}),
        f"RoleDetailList[3] ({_ROLE['RoleName']}): RoleLastUsed.LastUsedDate: expected a date",
        _ROLE["Arn"],
    ),
    "gcp-key-valid-after": Unreadable(
        "gcp",
        "keys-terraform.json",
        _set([0, "validAfterTime"], "yesterday"),
        f"[0] (projects/acme-prod/serviceAccounts/{_GCP_KEY_SA}/keys/",
        _GCP_KEY_SA,
    ),
    "gcp-key-type": Unreadable(
        "gcp",
        "keys-terraform.json",
        _set([0, "keyType"], "MANAGED_BY_ME"),
        "keyType: expected one of USER_MANAGED, SYSTEM_MANAGED",
        _GCP_KEY_SA,
    ),
    "azure-secret-end": Unreadable(
        "azure",
        "app-list.json",
        _set([0, "passwordCredentials"], [{"keyId": "8c1f", "endDateTime": "2026-02-30T00:00:00Z"}]),
        "passwordCredentials[0].endDateTime: expected a date and time",
        _AZURE_SP,
    ),
    "azure-sp-without-id": Unreadable(
        "azure",
        "sp-list.json",
        lambda doc: doc[0].pop("id"),
        "[0] (",
        str(_fixture(AZURE / "sp-list.json")[0]["id"]),
    ),
    "kubernetes-creation": Unreadable(
        "kubernetes",
        "rbac-and-serviceaccounts.json",
        _set(["items", _K8S_SA, "metadata", "creationTimestamp"], "soon"),
        f"items[{_K8S_SA}] (ServiceAccount {_K8S_ITEMS[_K8S_SA]['metadata']['name']}): "
        "metadata.creationTimestamp: expected a date and time",
        _K8S_SA_ID,
    ),
    "kubernetes-item-not-object": Unreadable(
        "kubernetes",
        "rbac-and-serviceaccounts.json",
        _set(["items", 0], "ServiceAccount/default"),
        "items[0]: expected an object, got a string",
        "k8s:gke-prod:default/default",
    ),
    "kubernetes-item-without-kind": Unreadable(
        "kubernetes",
        "rbac-and-serviceaccounts.json",
        lambda doc: doc["items"][1].pop("kind"),
        "items[1] (default): object without kind",
        "k8s:gke-prod:kube-system/default",
    ),
    "kubernetes-nested-list-item": Unreadable(
        "kubernetes",
        "rbac-and-serviceaccounts.json",
        _nested_with_null,
        "items[1].items[0]: expected an object, got null",
        "",  # set below: whatever the first item of the second half is
    ),
    "inventory-credential-created": Unreadable(
        "inventory",
        "inventory.json",
        lambda doc: doc["identities"][0]["credentials"].append(
            {"id": "AKIAEXAMPLEBADDATE01", "kind": "aws-access-key", "created": "2025-02-30"}
        ),
        "identities[0] (",
        None,  # set below: the first identity of the written inventory
    ),
}
_PLANTED = ("last Tuesday", "Enabled", "yesterday", "soon", "2024-13-45", "2026-02-30", "MANAGED_BY_ME")


def _lost(case: str, u: Unreadable, files: Files) -> str | None:
    if case == "inventory-credential-created":
        return str(json.loads(files[u.file])["identities"][0]["id"])
    if case == "kubernetes-nested-list-item":
        md = _K8S_ITEMS[len(_K8S_ITEMS) // 2].get("metadata") or {}
        return f"{md.get('namespace') or ''}/{md.get('name')}"
    return u.lost


@pytest.mark.parametrize("case", list(UNREADABLE), ids=list(UNREADABLE))
def test_unreadable_value_is_one_error_naming_file_record_and_field(
    case: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    u = UNREADABLE[case]
    expected = canonical(u.kind, tmp_path_factory)
    files, scopes = set_files(u.kind)
    lost = _lost(case, u, files)
    _edit_json(files, u.file, u.edit)
    res = scan_set(tmp_path, files, scopes, expect_code=2)
    assert len(res.errors) == 1, res.errors
    line = res.errors[0]
    assert f"{tmp_path / 'in' / u.file}:" in line, line
    assert u.where in line, line
    assert not [p for p in _PLANTED if p in line], line  # the value is never quoted
    if case == "inventory-credential-created":
        assert "credentials[" in line and "].created: expected a date and time" in line, line
    # every other record, and the other files, still reported in full
    keep = {p for p in expected if lost is None or not str(p[1]).endswith(lost)}
    if case == "kubernetes-creation" and _federates(_K8S_ITEMS[_K8S_SA]):
        # the dropped service account was one of the workloads a shared cloud identity serves
        keep.discard(("cloud-identity-shared-by-workloads", None))
    missing = keep - pairs(res)
    assert not missing, missing


def _federates(item: dict[str, Any]) -> bool:
    annotations = (item.get("metadata") or {}).get("annotations") or {}
    return any(k in annotations for k in ("eks.amazonaws.com/role-arn", "iam.gke.io/gcp-service-account"))


def test_credential_report_without_a_column_is_an_error_naming_it(tmp_path: Path) -> None:
    files, scopes = set_files("aws")
    lines = files["credential-report.csv"].decode("utf-8").splitlines()
    header = lines[0].split(",")
    col = header.index("access_key_1_last_used_date")
    cut = "\n".join(",".join(c for i, c in enumerate(ln.split(",")) if i != col) for ln in lines) + "\n"
    files["credential-report.csv"] = cut.encode("utf-8")
    res = scan_set(tmp_path, files, scopes, expect_code=2)
    assert len(res.errors) == 1, res.errors
    line = res.errors[0]
    assert f"{tmp_path / 'in' / 'credential-report.csv'}:" in line and "access_key_1_last_used_date" in line
    # the rest of the report is still used: root's key (only the report holds it), passwords, and
    # every finding that does not depend on when a key was last used
    usage_rules = {"aws-credential-unused", "aws-access-key-never-used", "aws-two-active-keys"}
    missing = {p for p in ACME_PROBLEMS if p[0] not in usage_rules} - pairs(res)
    assert not missing, missing
    assert ("aws-root-access-keys", "arn:aws:iam::111122223333:root") in pairs(res)
    assert ("aws-machine-user-console-password", "arn:aws:iam::111122223333:user/deploy-bot") in pairs(res)


def test_credential_report_cell_unreadable_names_line_user_and_column(tmp_path: Path) -> None:
    files, scopes = set_files("aws")
    text = files["credential-report.csv"].decode("utf-8")
    lines = text.splitlines()
    n = next(i for i, ln in enumerate(lines) if ln.startswith("jenkins-legacy,"))
    cells = lines[n].split(",")
    cells[lines[0].split(",").index("access_key_1_last_rotated")] = "Feb 2024"
    lines[n] = ",".join(cells)
    files["credential-report.csv"] = ("\n".join(lines) + "\n").encode("utf-8")
    res = scan_set(tmp_path, files, scopes, expect_code=2)
    assert len(res.errors) == 1, res.errors
    line = res.errors[0]
    assert f"line {n + 1} (jenkins-legacy): column access_key_1_last_rotated: expected a date" in line, line
    assert "Feb 2024" not in line
    others = {p for p in ACME_PROBLEMS if not str(p[1]).endswith("/jenkins-legacy")}
    assert not others - pairs(res)


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        ("utf16-without-bom", "looks like UTF-16 or UTF-32 without a byte-order mark"),
        ("latin-1", "not UTF-8 text at byte"),
        ("bom-lies", "not valid UTF-16 LE at byte"),
    ],
)
def test_encoding_that_cannot_be_told_is_an_error_never_a_guess(
    variant: str, message: str, tmp_path: Path
) -> None:
    files, scopes = set_files("aws")
    data = files["list-access-keys.json"]
    if variant == "utf16-without-bom":
        data = data.decode("utf-8").encode("utf-16-le")
    elif variant == "latin-1":
        data = data.decode("utf-8").replace("frank.moreau", "fr\u00e4nk.moreau").encode("latin-1")
    else:
        data = b"\xff\xfe" + data[:-1] + b"\x00\xd8"  # a lone surrogate half at the end
    files["list-access-keys.json"] = data
    res = scan_set(tmp_path, files, scopes, expect_code=2)
    assert len(res.errors) == 1, res.errors
    assert f"{tmp_path / 'in' / 'list-access-keys.json'}:" in res.errors[0] and message in res.errors[0]
    # the GAAD export and the credential report are still read in full
    assert ("aws-root-access-keys", "arn:aws:iam::111122223333:root") in pairs(res)
    assert ("aws-oidc-trust-without-sub", "arn:aws:iam::111122223333:role/github-actions-infra") in pairs(res)


# --- list-users / list-roles: the subset of GAAD records those calls return ------------------------


def _listings() -> Files:
    """`aws iam list-users` / `list-roles` of acme-prod: the fields those calls return (no policies,
    no tags, no RoleLastUsed), and `aws iam get-role` of one role."""
    gaad = _fixture(ACME / "gaad.json")
    user_keys = ("Path", "UserName", "UserId", "Arn", "CreateDate", "PasswordLastUsed")
    role_keys = (
        "Path",
        "RoleName",
        "RoleId",
        "Arn",
        "CreateDate",
        "AssumeRolePolicyDocument",
        "MaxSessionDuration",
    )
    users = [{k: u[k] for k in user_keys if k in u} for u in gaad["UserDetailList"]]
    roles = [{k: r[k] for k in role_keys if k in r} for r in gaad["RoleDetailList"]]
    return {
        "list-users.json": json.dumps({"Users": users, "IsTruncated": False}, indent=4).encode(),
        "list-roles.json": json.dumps({"Roles": roles, "IsTruncated": False}, indent=4).encode(),
        "get-role.json": json.dumps({"Role": roles[0]}, indent=4).encode(),
    }


def test_list_users_and_roles_beside_gaad_lose_nothing(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    files, scopes = set_files("aws")
    files = {**_listings(), **files}  # read before the GAAD: its fuller records still win
    res = scan_set(tmp_path, files, scopes, expect_code=1)
    assert res.errors == [], res.errors
    assert pairs(res) == canonical("aws", tmp_path_factory)
    kinds = {s["kind"] for s in res.result["sources"]}
    assert {"aws-list-users", "aws-list-roles"} <= kinds


def test_list_users_and_roles_alone_are_read_without_claiming_missing_owners(tmp_path: Path) -> None:
    res = scan_set(tmp_path, _listings(), {}, expect_code=1)
    assert res.errors == [], res.errors
    ids = {i["id"] for i in res.result["identities"]}
    gaad = _fixture(ACME / "gaad.json")
    assert {u["Arn"] for u in gaad["UserDetailList"]} | {r["Arn"] for r in gaad["RoleDetailList"]} <= ids
    # trust policies are in list-roles: their findings are made
    assert ("aws-oidc-trust-without-sub", "arn:aws:iam::111122223333:role/github-actions-infra") in pairs(res)
    # list calls return no tags: "no owner" would be a guess, so it is not reported
    assert not [f for f in res.findings("nhi-no-owner") if f["identity_id"] in ids - {GOOD_EXPORT_ID}]


def test_credential_report_row_cut_short_is_an_error_not_missing_facts(tmp_path: Path) -> None:
    """A row with fewer cells than the header (a line cut off) would read as 'no such facts'."""
    files, scopes = set_files("aws")
    lines = files["credential-report.csv"].decode("utf-8").splitlines()
    n = next(i for i, ln in enumerate(lines) if ln.startswith("deploy-bot,"))
    lines[n] = ",".join(lines[n].split(",")[:4])
    files["credential-report.csv"] = ("\n".join(lines) + "\n").encode("utf-8")
    res = scan_set(tmp_path, files, scopes, expect_code=2)
    assert len(res.errors) == 1, res.errors
    assert f"line {n + 1} (deploy-bot): 4 cells, the header has 22; row skipped" in res.errors[0]
    assert not {p for p in ACME_PROBLEMS if not str(p[1]).endswith("/deploy-bot")} - pairs(res)
