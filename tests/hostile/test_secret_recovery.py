"""Exfiltration by guessing: no output lets anyone confirm a guess of a secret offline.

Weak passwords (`Summer2024!`, `Password1`), a secret of four characters and strong tokens are
planted in two repositories (fixtures/secret-ids, plus a random token made here). The scan is
written in every format, with `inventory` and `baseline create` beside it, and every byte of every
output is searched for the values, their md5/sha1/sha256/sha512 (hex and base64, alone or salted
with the rule, path or repository), and more of a value than the redacted form may show. Then a
dictionary attack that knows nhiscan's own formulas (the fingerprint, the ids, scrypt with the salt
nhiscan uses) runs over the outputs and must not confirm the right guess. Reuse detection and the
per-repository findings still work.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import shutil
import string
from pathlib import Path

import pytest

from nhiscan import secret_ids
from tests.conftest import AS_OF, FIXTURES, run_cli
from tests.hostile.harness import hostile_scan

SOURCE = FIXTURES / "secret-ids"
WEAK = ("Summer2024!", "Password1", "Winter2025#x")
SHORT = "k9Q!"
STRONG_FIXED = ("ghp_fVB5QSmJdQM8yNC8JUealj0kq2n6oxEtshFb", "xoxb-868061886751-fCsQbX9Fv8PKpFSKyAkxnUR4")
FORMATS = ("table", "json", "sarif", "csv", "markdown", "html")
# A small attacker's dictionary with the right answers among the wrong ones.
DICTIONARY = (
    "password",
    "123456",
    "Password1",
    "Spring2024!",
    "Summer2023!",
    "Summer2024!",
    "Summer2025!",
    "Autumn2024!",
    "Winter2025#x",
    "Winter2025#",
    "k9Q!",
    "k9Q?",
    "letmein",
    "qwerty123",
    "admin",
)
RULES = ("secret-generic", "secret-api-token", "ci-literal-credential", "secret-reused-across-repositories")


def _random_token() -> str:
    return "ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("recovery")
    for name in ("repo-a", "repo-b"):
        shutil.copytree(SOURCE / name, root / name)
    token = _random_token()
    (root / "repo-b" / "app" / "extra.py").write_text(f'DEPLOY_TOKEN = "{token}"\n', encoding="utf-8")
    return root, token


@pytest.fixture(scope="module")
def outputs(planted: tuple[Path, str]) -> dict[str, str]:
    """Every output nhiscan writes for the planted repositories, by name."""
    root, _ = planted
    repos = (str(root / "repo-a"), str(root / "repo-b"))
    out: dict[str, str] = {}
    for fmt in FORMATS:
        res = run_cli("scan", *repos, "--as-of", AS_OF, "--format", fmt, timeout=120)
        assert res.code == 1, res.stderr
        out[f"scan --format {fmt}"] = res.stdout
        out[f"scan --format {fmt} (stderr)"] = res.stderr
    inv = run_cli("inventory", *repos, timeout=120)
    assert inv.code == 0, inv.stderr
    out["inventory"], out["inventory (stderr)"] = inv.stdout, inv.stderr
    baseline = root / "baseline.json"
    made = run_cli("baseline", "create", *repos, "--as-of", AS_OF, "--output", str(baseline), timeout=120)
    assert made.code == 0, made.stderr
    out["baseline"], out["baseline (stderr)"] = baseline.read_text("utf-8"), made.stderr
    return out


def _encodings(raw: bytes) -> set[str]:
    b64 = base64.b64encode(raw).decode("ascii")
    url = base64.urlsafe_b64encode(raw).decode("ascii")
    return {raw.hex(), raw.hex().upper(), b64, b64.rstrip("="), url, url.rstrip("=")}


def _salts(value: str, places: list[str]) -> list[str]:
    """The value alone and salted with each rule, path and repository, the usual ways."""
    out = [value]
    for salt in (*RULES, *places):
        for sep in ("", ":", "/", "\x1f", "\x00", " "):
            out += [salt + sep + value, value + sep + salt]
    return out


def _digests(text: str) -> set[str]:
    data = text.encode("utf-8")
    found: set[str] = set()
    for algo in ("md5", "sha1", "sha256", "sha512"):
        found |= _encodings(hashlib.new(algo, data).digest())
    return found


def _places(outputs: dict[str, str]) -> list[str]:
    doc = json.loads(outputs["scan --format json"])
    places = set()
    for f in doc["findings"]:
        loc = f["location"] or {}
        for k in ("path", "repository", "repository_name"):
            if loc.get(k):
                places.add(str(loc[k]))
        if loc.get("path") and loc.get("repository"):
            places.add(f"{loc['repository']}/{loc['path']}")
    return sorted(places)


def _all_values(token: str) -> tuple[str, ...]:
    return (*WEAK, SHORT, *STRONG_FIXED, token)


def test_hostile_scan_shows_no_value(tmp_path: Path, planted: tuple[Path, str]) -> None:
    root, token = planted
    res = hostile_scan(
        tmp_path,
        str(root / "repo-a"),
        str(root / "repo-b"),
        expect_code=1,
        timeout=120,
        forbidden=_all_values(token),
    )
    assert res.findings("secret-generic")


def test_no_output_holds_a_value_or_a_plain_hash_of_it(
    outputs: dict[str, str], planted: tuple[Path, str]
) -> None:
    _, token = planted
    places = _places(outputs)
    for value in _all_values(token):
        needles = {value}
        for salted in _salts(value, places):
            needles |= _digests(salted)
        # the short id earlier versions showed: the first 8 hex digits of the plain hashes
        needles |= {
            hashlib.sha256(value.encode()).hexdigest()[:8],
            hashlib.sha1(value.encode()).hexdigest()[:8],
        }
        for name, text in outputs.items():
            hits = [n for n in needles if n in text]
            assert not hits, (name, value[:2], hits[:3])


def test_redacted_forms_show_only_what_is_public(outputs: dict[str, str], planted: tuple[Path, str]) -> None:
    _, token = planted
    doc = json.loads(outputs["scan --format json"])
    forms = {s["redacted"] for s in doc["secrets"]}
    forms |= {r for f in doc["findings"] for r in _as_list(f["evidence"].get("redacted"))}
    assert forms
    for form in forms:
        assert secret_ids.REDACTED.fullmatch(form), form
        shown = form.split(secret_ids.ELLIPSIS, 1)[0]
        assert shown in secret_ids.PUBLIC_PREFIXES or len(shown) <= 2, form
    for name, text in outputs.items():
        # nothing of a weak or short value before an ellipsis, not even the 3 characters
        for value in (*WEAK, SHORT):
            for k in (3, 4):
                for dots in ("…", "...", "\\u2026"):
                    assert value[:k] + dots not in text, (name, k)
        assert SHORT[:3] not in text, name
        # of a strong token, at most its public prefix
        for value in (*STRONG_FIXED, token):
            prefix = next(p for p in secret_ids.PUBLIC_PREFIXES if value.startswith(p))
            assert value[: len(prefix) + 3] not in text, name


def _as_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _hex_tokens(text: str) -> set[str]:
    return set(re.findall(r"[0-9a-f]{16,}", text))


def test_a_dictionary_attack_that_knows_the_formulas_confirms_nothing(outputs: dict[str, str]) -> None:
    """Every way an attacker can test a guess against the outputs, with nhiscan's own formulas."""
    doc = json.loads(outputs["scan --format json"])
    seen = set().union(*(_hex_tokens(t) for t in outputs.values()))
    confirmed: list[tuple[str, str]] = []
    for guess in DICTIONARY:
        d = hashlib.sha256(guess.encode()).digest()
        candidates = {d.hex(), hashlib.sha1(guess.encode()).hexdigest()}
        for f in doc["findings"]:
            loc = f["location"] or {}
            ident, cred = f["identity_id"] or "", f["credential_id"] or ""
            base = [f["rule_id"], ident, cred, loc.get("path", ""), loc.get("commit") or ""]
            repo = loc.get("repository_name") or loc.get("repository") or ""
            for key in (d.hex(), "sha256:" + d.hex()):
                for extra in ([], [f"repository={repo}"]):
                    candidates.add(hashlib.sha256("\x1f".join([*base, key, *extra]).encode()).hexdigest())
            # the slow salted id, tried with the salt nhiscan uses for this finding's place
            for category in ("generic", "token"):
                salt = "\x1f".join(("nhiscan/fingerprint/v2", category, repo, loc.get("path", "")))
                sid = hashlib.scrypt(
                    d, salt=salt.encode(), n=secret_ids.SCRYPT_N, r=secret_ids.SCRYPT_R, p=1, dklen=16
                )
                candidates.add(sid.hex())
                for key in ("scrypt:" + sid.hex(),):
                    for extra in ([], [f"repository={repo}"]):
                        candidates.add(hashlib.sha256("\x1f".join([*base, key, *extra]).encode()).hexdigest())
        confirmed += [(guess, c[:12]) for c in candidates if c in seen or c[:32] in seen]
    assert not confirmed, confirmed


def test_reuse_and_per_repository_findings_still_work(outputs: dict[str, str]) -> None:
    doc = json.loads(outputs["scan --format json"])
    reused = [f for f in doc["findings"] if f["rule_id"] == "secret-reused-across-repositories"]
    assert len(reused) == 1 and reused[0]["evidence"]["repositories"] == sorted(
        reused[0]["evidence"]["repositories"]
    )
    assert [Path(r).name for r in reused[0]["evidence"]["repositories"]] == ["repo-a", "repo-b"]
    # the same workflow in two repositories: two findings, each naming its repository
    static = [f for f in doc["findings"] if f["rule_id"] == "gha-static-cloud-credentials"]
    assert sorted(Path(f["location"]["repository"]).name for f in static) == ["repo-a", "repo-b"]
    assert sorted(f["location"]["repository_name"] for f in static) == ["repo-a", "repo-b"]
    assert len({f["fingerprint"] for f in static}) == 2
    # equal values, equal labels; different values, different labels
    labels = {f["evidence"]["redacted"] for f in doc["findings"] if f["rule_id"] == "secret-api-token"}
    assert len(labels) == 3  # the reused token once, the Slack token, the random token


def test_keyed_ids_are_stable_across_runs_and_still_no_oracle(
    planted: tuple[Path, str], tmp_path: Path
) -> None:
    root, token = planted
    key = secrets.token_urlsafe(32)
    args = ("scan", str(root / "repo-a"), str(root / "repo-b"), "--as-of", AS_OF, "--format", "json")
    env = {secret_ids.KEY_ENV: key}
    first, second = run_cli(*args, env=env, timeout=120), run_cli(*args, env=env, timeout=120)
    assert first.code == second.code == 1, first.stderr
    assert first.stdout == second.stdout
    assert json.loads(first.stdout)["secrets"][0]["hash"].startswith("hmac:")
    for value in _all_values(token):
        for digest in _digests(value):
            assert digest not in first.stdout
    assert key not in first.stdout and key not in first.stderr


@pytest.mark.parametrize(
    "command",
    [("scan", str(SOURCE / "repo-a"), "--as-of", AS_OF), ("report", str(SOURCE / "legacy" / "result.json"))],
)
def test_a_short_key_is_refused_in_one_line(command: tuple[str, ...]) -> None:
    key = "tiny-key-9"
    res = run_cli(*command, env={secret_ids.KEY_ENV: key}, timeout=60)
    assert res.code == 2
    assert res.stderr.strip().splitlines() == [res.stderr.strip()]
    assert res.stderr.startswith(f"nhiscan: error: {secret_ids.KEY_ENV}: ")
    assert key not in res.stderr and "Traceback" not in res.stderr


def test_reuse_fingerprint_does_not_depend_on_how_paths_are_spelled(planted: tuple[Path, str]) -> None:
    root, _ = planted
    link = root / "zz-checkout"
    if not link.exists():
        link.symlink_to(root / "repo-a", target_is_directory=True)

    def reuse_fp(*paths: str) -> str:
        res = run_cli("scan", *paths, "--as-of", AS_OF, "--format", "json", cwd=root, timeout=120)
        assert res.code == 1, res.stderr
        (f,) = [
            f
            for f in json.loads(res.stdout)["findings"]
            if f["rule_id"] == "secret-reused-across-repositories"
        ]
        return str(f["fingerprint"])

    assert reuse_fp("repo-a", "repo-b") == reuse_fp("zz-checkout", str(root / "repo-b"))
