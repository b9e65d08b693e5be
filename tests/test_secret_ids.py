"""nhiscan/secret_ids.py and sources/repo/naming.py: what outputs say about a secret and a repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nhiscan import secret_ids
from nhiscan.sources.repo.naming import repository_name, repository_names


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("ghp_" + "a1B2c3D4e5" * 3 + "a1B2c3", "ghp_"),
        ("xoxb-868061886751-fCsQbX9Fv8PKpFSKyAkxnUR4", "xoxb-"),
        ("sk_live_" + "Zq8xW2mN4bV6cX1zA3sDfG", "sk_live_"),
        ("AKIAWWI577QXFUQBTMDN", "AKIA"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN RSA PRIVATE KEY-----",
        ),
        ("Summer2024!", ""),  # a password: nothing of it
        ("k9Q!", ""),  # short: nothing of it
        ("sk-x", ""),  # a prefix that would be most of the value
        ("qLETz8Rk2mPw9sXa4bNc7", "qL"),  # long, no known prefix: two characters
    ],
)
def test_redact_shows_only_what_is_public(value: str, shown: str) -> None:
    form = secret_ids.redact(value, "hmac:0123456789abcdef")
    assert form == f"{shown}…#01234567"
    assert secret_ids.REDACTED.fullmatch(form)


def test_run_ids_group_equal_values_and_change_with_the_run_key() -> None:
    d = secret_ids.digest("Summer2024!")
    assert secret_ids.run_id(d) == secret_ids.run_id(secret_ids.digest("Summer2024!"))
    assert secret_ids.run_id(d) != secret_ids.run_id(secret_ids.digest("Summer2025!"))
    before = secret_ids.run_key()
    try:
        secret_ids.set_run_key(b"\x01" * 32)
        other = secret_ids.run_id(d)
    finally:
        secret_ids.set_run_key(before)
    assert other != secret_ids.run_id(d)


def _fp(
    value: str, detector: str = "GitHub Token", path: str = "a.py", repo: str = "r", ctx: str = ""
) -> str:
    return secret_ids.fingerprint_id(
        secret_ids.digest(value), detector=detector, category="token", repository=repo, path=path, context=ctx
    )


def test_fingerprint_ids_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(secret_ids.KEY_ENV, raising=False)
    token = "ghp_" + "Zq8xW2mN4b" * 3 + "V6cX1z"
    # machine-made values: slow and salted by place (one guess, one finding)
    assert _fp(token).startswith("scrypt:")
    assert _fp(token) == _fp(token) != _fp(token, path="b.py") != _fp(token, repo="s")
    # values people choose: where they sit, never what they are
    a = _fp("Summer2024!", detector="Secret Keyword", ctx='DB_PASSWORD = ""\x1f1')
    b = _fp("Winter2025!", detector="Secret Keyword", ctx='DB_PASSWORD = ""\x1f1')
    assert a == b and a.startswith("ctx:")


def test_fingerprint_ids_with_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(secret_ids.KEY_ENV, "k" * 32)
    first = _fp("Summer2024!", detector="Secret Keyword", ctx="x")
    assert first.startswith("hmac:") and first != _fp("Winter2025!", detector="Secret Keyword", ctx="x")
    monkeypatch.setenv(secret_ids.KEY_ENV, "j" * 32)
    assert _fp("Summer2024!", detector="Secret Keyword", ctx="x") != first
    monkeypatch.setenv(secret_ids.KEY_ENV, "short")
    with pytest.raises(secret_ids.FingerprintKeyError):
        secret_ids.check_key()


def test_blank_values_removes_every_value_of_the_line() -> None:
    line = 'user = "admin-bot"  password = "Summer2024!"  token = "ghp_x"'
    assert (
        secret_ids.blank_values(line, ["Summer2024!", "ghp_x"])
        == 'user = "admin-bot" password = "" token = ""'
    )


def test_legacy_forms_are_replaced_consistently() -> None:
    forms = secret_ids.LegacyForms()
    text = (
        "GitHub token ghp_...2d9e5afd found; again ghp_...2d9e5afd; Summ...323725e8; Wint…sha256:4611c3d6a1ab"
    )
    assert forms.scrub(text) == "GitHub token ghp_…#1 found; again ghp_…#1; …#2; …#3"
    assert secret_ids.legacy_digest("sha256:" + "ab" * 32) == bytes.fromhex("ab" * 32)
    assert secret_ids.legacy_digest("run:3") is None


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


@pytest.mark.parametrize(
    "url",
    ["git@github.com:acme/acme-web.git", "https://github.com/acme/acme-web", "https://x/acme/acme-web.git/"],
)
def test_repository_name_is_the_remote_name(tmp_path: Path, url: str) -> None:
    checkout = tmp_path / "my-local-clone"
    checkout.mkdir()
    _git(checkout, "init", "-q")
    _git(checkout, "remote", "add", "origin", url)
    assert repository_name(str(checkout)) == "acme-web"
    (checkout / "services" / "api").mkdir(parents=True)
    assert repository_name(str(checkout / "services" / "api")) == "acme-web/services/api"


def test_repository_name_without_git_and_on_collision(tmp_path: Path) -> None:
    (tmp_path / "one" / "api").mkdir(parents=True)
    (tmp_path / "two" / "api").mkdir(parents=True)
    (tmp_path / "web").mkdir()
    assert repository_name(str(tmp_path / "web")) == "web"
    args = [str(tmp_path / "one" / "api"), str(tmp_path / "two" / "api"), str(tmp_path / "web")]
    # two different directories named api: each is named by its path as given
    assert repository_names(args) == {args[0]: args[0], args[1]: args[1], args[2]: "web"}
