"""Fake credentials for the hostile tests: random and correctly shaped, never real."""

from __future__ import annotations

import random
import string

ALNUM = string.ascii_letters + string.digits


def aws_pair(rng: random.Random) -> tuple[str, str]:
    """An AWS access key id and secret access key."""
    key_id = "AKIA" + "".join(rng.choice(string.ascii_uppercase + "234567") for _ in range(16))
    secret = "".join(rng.choice(ALNUM + "+/") for _ in range(40))
    return key_id, secret


def github_token(rng: random.Random) -> str:
    return "ghp_" + "".join(rng.choice(ALNUM) for _ in range(36))


def leak(key_id: str, secret: str) -> str:
    """Source lines that commit an AWS key pair."""
    return f'AWS_ACCESS_KEY_ID = "{key_id}"\nAWS_SECRET_ACCESS_KEY = "{secret}"\n'
