"""Keyword values, bot-token look-alikes and private key markers that are not credentials."""

from __future__ import annotations

import pytest

from nhiscan.sources.repo.engine import ds_session
from nhiscan.sources.repo.evidence import not_a_password
from nhiscan.sources.repo.secrets import to_secrets


@pytest.mark.parametrize(
    "value",
    [
        "AWS_SECRET_ACCESS_KEY",
        "secret_key",
        "mypassword",
        "FROM_CREDS_FILE_2",
        "2016-09-08T21:47:36Z",
        "The password for the kmsuser crypto user in the cluster.",
        "eggs",
    ],
)
def test_names_dates_sentences_and_stand_ins_are_not_passwords(value: str) -> None:
    assert not_a_password(value) is not None


@pytest.mark.parametrize(
    "value",
    [
        "hunter2hunter2",
        "correcthorsebatterystaple",
        "Tr0ub4dor&3",
        "h]6EszR}vJ*m",
        "OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV",
        "XqztWbcdRmnpKlvsFgthJkwzQrtsMnbv",
        "Password1",
        "Welcome2024",
        "SummerPassword7",
    ],
)
def test_chosen_and_random_values_stay_passwords(value: str) -> None:
    assert not_a_password(value) is None


def _reported(name: str, text: str) -> list[str]:
    with ds_session() as scanner:
        found, _ = to_secrets(scanner.scan_text(name, text), text, name)
    return [s.type for s in found]


def test_arn_account_id_is_not_a_bot_token() -> None:
    arn = '"Topic": "arn:aws:sns:us-west-2:111111111111:Glacier-InventoryRetrieval-topic-Name",\n'
    assert "Telegram bot token" not in _reported("examples.json", arn)
    bot = 'bot = "1234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq"\n'
    assert "Telegram bot token" in _reported("bot.py", bot)


def test_private_key_marker_without_material_is_not_a_key() -> None:
    pattern = (
        '"pattern":"-{5}BEGIN PRIVATE KEY-{5}\\\\u000A([A-Za-z0-9/+]{64}\\\\u000A)*-{5}END PRIVATE KEY-{5}"\n'
    )
    assert _reported("service.json", pattern) == []
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"
    pem = f"-----BEGIN PRIVATE KEY-----\n{body}\n{body}\n-----END PRIVATE KEY-----\n"
    assert _reported("key.pem", pem) == ["private key"]


def test_sample_password_in_a_local_url_is_not_reported() -> None:
    sample = 'engine = create_engine("postgresql://scott:tiger@localhost/test")\n'
    assert _reported("app.py", sample) == []
    leaked = 'engine = create_engine("postgresql://app:tiger@db.prod.internal.net/app")\n'
    assert _reported("app.py", leaked) != []
    placeholder_host = 'url = "dbtype://username:apples%2Foranges@hostspec/database"\n'
    assert _reported("test_url.py", placeholder_host) == []
    deployed = 'DATABASE_URL = "postgresql://app:Ti9er-x7Q@db.example-corp.io:5432/app"\n'
    assert _reported("settings.py", deployed) != []
