"""The detect-secrets adapter: extra detectors, exact agreement with plain detect-secrets, no leaks."""

from __future__ import annotations

import os
import random
import string
from pathlib import Path

import pytest

from nhiscan.sources.repo.detectors import TYPE_PREFIX
from nhiscan.sources.repo.engine import ds_session
from nhiscan.sources.repo.prefilter import min_run as _min_run
from tests.repo.corpus import generate

ALNUM = string.ascii_letters + string.digits
R = random.Random(1234)


def rs(n: int, cs: str = ALNUM) -> str:
    return "".join(R.choice(cs) for _ in range(n))


POSITIVE = {
    "Anthropic API Key": f'key = "sk-ant-api03-{rs(93, ALNUM + "_-")}AA"',
    "OpenAI Project Key": f"OPENAI_API_KEY=sk-proj-{rs(156, ALNUM + '_-')}",
    "Hugging Face Token": f"token: hf_{rs(34, string.ascii_letters)}",
    "Azure AD Client Secret": f"secret={rs(3)}8Q~{rs(34, ALNUM + '_~.-')}",
    "GitHub Fine-Grained Token": f"export GH=github_pat_{rs(22)}_{rs(59)}",
    "npm Access Token": f"NPM_TOKEN=npm_{rs(36)}",
    "AWS Secret Access Key": f"aws_secret_access_key = {rs(40, ALNUM + '/+')}",
    "GitHub Token": f'app = "ghs_{rs(36)}"',
    "GitLab Token": f"GL=glpat-{rs(20, ALNUM + '_-')}",
    "Slack Token": f"hook = https://hooks.slack.com/services/T{rs(8).upper()}/B{rs(10).upper()}/{rs(24)}",
    "Stripe Access Key": f"k = rk_live_{rs(24)}",
    "PyPI Token": f"password = pypi-AgEIcHlwaS5vcmc{rs(100, ALNUM + '-_')}",
    "JSON Web Token": f"t = eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.{rs(43, ALNUM + '_-')}",
}

NEGATIVE = {
    "Anthropic API Key": "key = 'sk-ant-api03-short'",
    "OpenAI Project Key": "sk-proj- is the prefix of project keys",
    "Hugging Face Token": "hf_hub_download(repo_id=name)",
    "Azure AD Client Secret": "ratio 8Q~ is not a secret",
    "GitHub Fine-Grained Token": "github_pat_ tokens are fine-grained",
    "npm Access Token": "npm_config_registry=https://registry.npmjs.org",
    "AWS Secret Access Key": "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}",
    "GitHub Token": "ghs_ prefix marks app installation tokens",
    "GitLab Token": "glpat- prefix",
    "Slack Token": "see https://api.slack.com/messaging/webhooks",
    "Stripe Access Key": "sk_live_ keys are secret",
    "PyPI Token": "pypi-AgEIcHlwaS5vcmc is the prefix",
    "JSON Web Token": "eyJ starts a JWT",
}


@pytest.mark.parametrize("kind", sorted(POSITIVE))
def test_detector_positive_and_negative_samples(kind: str) -> None:
    with ds_session() as scanner:
        found = {r.type for r in scanner.scan_text("sample.txt", POSITIVE[kind] + "\n")}
        assert kind in found, found
        missed = {r.type for r in scanner.scan_text("sample.txt", NEGATIVE[kind] + "\n")}
        assert kind not in missed, missed


def test_min_run_matches_entropy_limits() -> None:
    assert _min_run(4.5) == 23  # log2(22) < 4.5 < log2(23)
    assert _min_run(3.0) == 9  # entropy must exceed the limit: log2(8) == 3 is not enough


def test_settings_do_not_leak_between_scans() -> None:
    from detect_secrets.settings import get_settings

    before = get_settings().json()
    with ds_session():
        assert "AnthropicKeyDetector" in get_settings().plugins
        assert (
            "detect_secrets.filters.common.is_ignored_due_to_verification_policies"
            not in get_settings().filters
        )
    assert get_settings().json() == before


def _plain_detect_secrets(root: Path) -> set[tuple[str, str, str]]:
    """What detect-secrets' own scan_file reports for every file under root (same plugin set)."""
    from detect_secrets.core.scan import scan_file

    out = set()
    cwd = os.getcwd()
    os.chdir(root)
    try:
        with ds_session():
            for p in sorted(root.rglob("*")):
                if p.is_file():
                    rel = str(p.relative_to(root))
                    out |= {(rel, s.type, s.secret_hash) for s in scan_file(rel)}
    finally:
        os.chdir(cwd)
    return out


def test_differential_every_detect_secrets_finding_is_found(tmp_path: Path) -> None:
    generate(tmp_path, 600_000, seed=11, secret_rate=0.5)
    (tmp_path / "settings.ini").write_text(f"[db]\npassword = {rs(20)}\nblob = {rs(30)}\n")
    (tmp_path / "app.cfg").write_text(f"[x]\nkey = {rs(40, ALNUM + '+/')}\n")
    (tmp_path / "notes").write_text(f"api_key: {rs(32)}\n")
    expected = _plain_detect_secrets(tmp_path)
    from detect_secrets.core.potential_secret import PotentialSecret

    ours = set()
    with ds_session() as scanner:
        for p in sorted(tmp_path.rglob("*")):
            if p.is_file():
                rel = str(p.relative_to(tmp_path))
                for r in scanner.scan_text(rel, p.read_text()):
                    if r.type.startswith(TYPE_PREFIX):
                        continue  # nhiscan's own catalogue: compared with its examples elsewhere
                    ours.add((rel, r.type, PotentialSecret.hash_secret(r.value)))
    assert len(expected) > 40
    assert expected - ours == set()
    assert ours - expected == set()


def test_indirect_reference_filter_same_answers_as_detect_secrets() -> None:
    """nhiscan answers detect-secrets' is_indirect_reference itself (linear instead of quadratic up
    to 1000 characters): same answer on every line, including vertical tabs and long lines."""
    import random
    import time

    from detect_secrets.filters.heuristic import is_indirect_reference as theirs

    from nhiscan.sources.repo.engine import is_indirect_reference as ours

    rng = random.Random(7)
    for alphabet in ("a_.-=:!([)] \x0b\t\"'1", "a=([)]\x0b :", "ab=c(d)e[f]\x0b \u00e9\u2003"):
        for _ in range(20_000):
            line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
            assert ours(line) == theirs(line), repr(line)
    assert ours("secret = get_secret_key()") and ours("x = request.headers['apikey']")
    assert not ours("password = 'hunter2hunter2'")
    slow = "a" * 999  # no operator: detect-secrets' pattern retries from every position
    start = time.process_time()
    for _ in range(200):
        assert ours(slow) is False
    assert time.process_time() - start < 1.0


def test_eager_ini_skip_only_where_configparser_fails() -> None:
    """A text nhiscan does not hand to the eager config transformer is one configparser rejects."""
    import io
    import random

    from detect_secrets.transformers.config import EagerConfigFileTransformer
    from detect_secrets.transformers.exceptions import ParsingError

    from nhiscan.sources.repo.ds_text import may_be_headerless_ini as _may_be_headerless_ini

    rng = random.Random(5)
    pieces = [
        "{",
        "}",
        "a = 1",
        "b: 2",
        "# c",
        "; d",
        "",
        "  x",
        "[s]",
        "=v",
        ":v",
        "k=",
        '"k": "v",',
        "def f():",
    ]
    transformer = EagerConfigFileTransformer()
    for _ in range(3000):
        text = "\n".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) + "\n"
        if _may_be_headerless_ini(text):
            continue
        f = io.StringIO(text)
        f.name = "x.txt"  # type: ignore[misc]
        with pytest.raises(ParsingError):
            transformer.parse_file(f)  # type: ignore[arg-type]
