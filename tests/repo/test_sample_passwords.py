"""Sample passwords recognised by where they are written, and placeholder phrasing.

A keyword-assigned value is a sample when it is lower-case words in documentation, a test, a
docstring or a comment, or when such a place gives it to connection arguments of a local or
placeholder host; a value that says whose credential goes there (``yourStrong(!)Password``) is a
placeholder anywhere. Chosen values (``Password1``, ``Welcome2024``) and anything in code or in
configuration outside tests stay reported.
"""

from __future__ import annotations

import time

import pytest

from nhiscan.sources.repo.engine import ds_session
from nhiscan.sources.repo.evidence import (
    is_test_path,
    placeholder_phrase,
    python_docstrings,
    sample_word,
)
from nhiscan.sources.repo.secrets import to_secrets


@pytest.mark.parametrize("value", ["tiger", "foobar", "admin", "sadmin", "apples/oranges",
                                   "apples@oranges@@", "pass word + other:words"])  # fmt: skip
def test_lower_case_words_are_sample_words(value: str) -> None:
    assert sample_word(value)


@pytest.mark.parametrize(
    "value",
    [
        "Password1",  # a capital and a digit: chosen
        "Welcome2024",
        "Tiger",
        "hunter2",
        "tiger^5HHH",
        "kx@jj5/g",
        "xkqzvbnwtr",  # no vowel: random letters, not a word
        "qwrtzplkmn",
        "correcthorsebatterystaple",  # longer than a word
        "a/b/c/d/e",  # five words
        "",
    ],
)
def test_chosen_or_random_values_are_not_sample_words(value: str) -> None:
    assert not sample_word(value)


@pytest.mark.parametrize(
    "value", ["yourStrong(!)Password", "my_api_token", "YOUR_SECRET", "your-password", "MySecret",
              "token-here", "PASSWORD_HERE", "paste_your_key_here"],
)  # fmt: skip
def test_placeholder_phrasing(value: str) -> None:
    assert placeholder_phrase(value) is not None


@pytest.mark.parametrize(
    "value", ["MyPassw0rd!", "yourStrong1Password", "mysqlpass", "myriad-secret-x", "Password1", "Welcome2024",
              "yourself", "there", "tiger"],
)  # fmt: skip
def test_values_that_are_not_placeholder_phrasing(value: str) -> None:
    assert placeholder_phrase(value) is None


@pytest.mark.parametrize(
    "path", ["tests/test_db.py", "test/orm/inheritance/test_basic.py", "pkg/store_test.go", "web/app.spec.ts",
             "conftest.py", "src/__tests__/login.js", "spec/models/user_spec.rb", "tests/.env"],
)  # fmt: skip
def test_test_paths(path: str) -> None:
    assert is_test_path(path)


@pytest.mark.parametrize(
    "path", ["src/app.py", "latest/config.py", "contest.py", "attestation/keys.py", ".env"]
)
def test_other_paths(path: str) -> None:
    assert not is_test_path(path)


def test_python_docstrings_are_statement_strings_only() -> None:
    src = '''"""Module docstring.

    password="tiger"
"""
import os

QUERY = """
password = 'tiger'
"""


def connect():
    r"""Connect.

    e.g. # not a comment, and a quote ' inside
    """
    s = "a string with \\"\\"\\" in it"  # and a comment with """ in it
    call("""
    not a statement
    """)
    return 1
'''
    spans = python_docstrings(src.splitlines())
    assert spans == [(1, 4), (13, 16)]


@pytest.mark.parametrize(
    "hostile",
    [
        ['"""' * 3 + "'''" + '"' * 5 + "\\" + "#" + "'"] * 60_000,  # 1 MB of quote runs on short lines
        ['x = 1; """a""" ' * 70_000],  # one 1 MB line of triple-quoted strings after code
        ["'''" * 350_000],  # one line of nothing but triple quotes
    ],
    ids=["short-lines", "long-line", "quotes-only"],
)
def test_docstring_scan_is_linear_on_hostile_quotes(hostile: list[str]) -> None:
    start = time.process_time()
    python_docstrings(hostile)
    assert time.process_time() - start < 15  # quadratic would take minutes (the long line: 23 s)


def _scan(files: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """{path:line: detector} reported, {path:line: reason} suppressed."""
    reported: dict[str, str] = {}
    suppressed: dict[str, str] = {}
    with ds_session() as scanner:
        for rel, text in files.items():
            found, hidden = to_secrets(scanner.scan_text(rel, text), text, rel, keep_suppressed=True)
            reported.update({f"{rel}:{s.location.line}": s.attributes["detector"] for s in found})
            suppressed.update({f"{rel}:{s.location.line}": s.attributes["suppressed"] for s in hidden})
    return reported, suppressed


def test_sample_words_in_documentation_tests_docstrings_and_comments_are_suppressed() -> None:
    reported, suppressed = _scan(
        {
            "README.rst": "Run it::\n\n    docker run -e POSTGRES_PASSWORD='tiger' postgres\n",
            "docs/usage.md": '```python\nsession.execute(update(User), {"password": "foobar"})\n```\n',
            "tests/test_models.py": 'def test_admin():\n    a.password = "admin"\n',
            "lib/dialect.py": '"""Connect with::\n\n    URL.create(username="scott", password="tiger")\n"""\n',
            "lib/setup.py": '# connect(user="scott", password="tiger")\nimport os\n',
        }
    )
    assert reported == {}
    assert suppressed["README.rst:3"] == "sample password in documentation (lower-case words, nothing chosen)"
    assert suppressed["docs/usage.md:2"].startswith("sample password in documentation")
    assert suppressed["tests/test_models.py:2"].startswith("sample password in a test")
    assert suppressed["lib/dialect.py:3"].startswith("sample password in a docstring")
    assert suppressed["lib/setup.py:1"].startswith("sample password in a comment")


def test_weak_passwords_in_code_and_configuration_stay_reported() -> None:
    reported, suppressed = _scan(
        {
            "app/settings.py": 'DB_PASSWORD = "tiger"\n',  # code, not an example
            "lib/dialect.py": '"""Docs."""\nQUERY = """\npassword = "tiger"\n"""\n',  # assigned string
            "config/database.yaml": "production:\n  password: tiger\n",
            ".env": "DB_PASSWORD=tiger\n",
            "deploy/app.ini": "[db]\n# password = tiger\n",  # a comment in configuration
            "tests/test_login.py": 'PASSWORD = "Password1"\n',  # chosen, even in a test
            "README.md": 'Log in with `password="Welcome2024"`.\n',
        }
    )
    assert set(reported) == {
        "app/settings.py:1", "lib/dialect.py:3", "config/database.yaml:2", ".env:1", "deploy/app.ini:2",
        "tests/test_login.py:1", "README.md:1",
    }  # fmt: skip
    assert suppressed == {}


def test_connection_arguments_to_a_placeholder_host_in_documentation() -> None:
    doc = 'url = URL.create(\n    "postgresql",\n    password="kx@jj5/g",\n    host="pghost10",\n)\n'
    cli = "    sqlcmd -S localhost -U sa -Q \"CREATE LOGIN scott WITH PASSWORD = 'tiger^5HHH'\"\n"
    deployed = 'url = URL.create(\n    "postgresql",\n    password="kx@jj5/g",\n    host="db.prod.example-corp.io",\n)\n'
    reported, suppressed = _scan(
        {"docs/engines.rst": doc, "README.unittests.rst": cli, "docs/deploy.md": deployed, "app/db.py": doc}
    )
    assert suppressed["docs/engines.rst:3"] == (
        "sample password in documentation (connection arguments to a local or placeholder host)"
    )
    assert suppressed["README.unittests.rst:1"].endswith(
        "(connection arguments to a local or placeholder host)"
    )
    assert set(reported) == {"docs/deploy.md:3", "app/db.py:3"}  # a network name; code, not documentation


def test_placeholder_phrasing_is_suppressed_anywhere() -> None:
    reported, suppressed = _scan(
        {
            "docker-compose.yml": "services:\n  db:\n    environment:\n      SA_PASSWORD: yourStrong(!)Password\n",
            "app/settings.py": 'DB_URL = "postgresql://app:yourPassword!@db.prod.example-corp.io/app"\n'
            'DB_PASSWORD = "MyPassw0rd!"\n',
        }
    )
    assert suppressed["docker-compose.yml:4"] == "placeholder phrasing (your…/my… naming a credential)"
    assert suppressed["app/settings.py:1"] == "placeholder phrasing (your…/my… naming a credential)"
    assert set(reported) == {"app/settings.py:2"}
