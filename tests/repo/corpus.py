"""A generated source tree (code, configs, docs) with planted secrets, for tests and the benchmark.

Deterministic for a seed. Secrets are random and correctly shaped, never real.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

_WORDS = [
    "account",
    "client",
    "config",
    "request",
    "response",
    "handler",
    "service",
    "region",
    "bucket",
    "session",
    "token",
    "cache",
    "build",
    "deploy",
    "stage",
    "user",
    "group",
    "policy",
    "role",
    "queue",
    "topic",
    "event",
    "stream",
    "record",
    "table",
    "index",
    "value",
    "metric",
    "alarm",
    "logger",
    "parser",
    "render",
    "module",
    "package",
    "version",
    "status",
    "retry",
    "timeout",
    "endpoint",
]
ALNUM = string.ascii_letters + string.digits


def _rs(rng: random.Random, n: int, cs: str = ALNUM) -> str:
    return "".join(rng.choice(cs) for _ in range(n))


def planted_secret(rng: random.Random) -> tuple[str, str]:
    """(assignment line, kind) of one random, correctly shaped fake credential."""
    up = string.ascii_uppercase + string.digits
    choices = [
        (f'AWS_ACCESS_KEY_ID = "AKIA{_rs(rng, 16, up)}"', "aws"),
        (f'aws_secret_access_key = "{_rs(rng, 40, ALNUM + "/+")}"', "aws-secret"),
        (f'GITHUB_TOKEN = "ghp_{_rs(rng, 36)}"', "github"),
        (f'token = "github_pat_{_rs(rng, 22)}_{_rs(rng, 59)}"', "github-pat"),
        (f'ANTHROPIC_API_KEY = "sk-ant-api03-{_rs(rng, 93, ALNUM + "_-")}AA"', "anthropic"),
        (f'OPENAI_API_KEY = "sk-proj-{_rs(rng, 120, ALNUM + "_-")}"', "openai"),
        (f'HF_TOKEN = "hf_{_rs(rng, 34, string.ascii_letters)}"', "hf"),
        (
            f'slack = "xoxb-{rng.randrange(10**11, 10**12)}-{rng.randrange(10**12, 10**13)}-{_rs(rng, 24)}"',
            "slack",
        ),
        (f'stripe_key = "sk_live_{_rs(rng, 24)}"', "stripe"),
        (f'GITLAB = "glpat-{_rs(rng, 20, ALNUM + "_-")}"', "gitlab"),
        (f'db_password = "{_rs(rng, 18)}"', "keyword"),
        (f'checksum = "{_rs(rng, 40, "0123456789abcdef")}"', "hex"),
        (f'blob = "{_rs(rng, 48, ALNUM + "+/")}"', "b64"),
        (f'client_secret = "{_rs(rng, 3)}8Q~{_rs(rng, 34, ALNUM + "_~.-")}"', "azure"),
        (f'NPM = "npm_{_rs(rng, 36)}"', "npm"),
        (f'jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ7{_rs(rng, 20)}fQ.{_rs(rng, 43, ALNUM + "_-")}"', "jwt"),
    ]
    return rng.choice(choices)


def _ident(rng: random.Random) -> str:
    return "_".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 3)))


def _python(rng: random.Random, lines: int, secret: str | None) -> str:
    out = ['"""Module generated for benchmarks."""', "", "import os", "import json", ""]
    while len(out) < lines:
        name = _ident(rng)
        out += [
            f"def {name}(request, {_ident(rng)}=None):",
            f'    """Return the {rng.choice(_WORDS)} for {rng.choice(_WORDS)}."""',
            f'    value = request.get("{_ident(rng)}", {rng.randint(0, 999)})',
            f"    if value > {rng.randint(0, 99)}:",
            f'        raise ValueError("bad {rng.choice(_WORDS)}: %s" % value)',
            f'    url = "https://api.example.com/v1/{rng.choice(_WORDS)}/{rng.randint(1, 9999)}"',
            f"    return json.dumps({{'{_ident(rng)}': value, 'url': url}})",
            "",
        ]
        if rng.random() < 0.05:
            out.append(f'PASSWORD_ENV = os.environ.get("{_ident(rng).upper()}_PASSWORD")')
    if secret:
        out.insert(rng.randint(5, len(out)), secret)
    return "\n".join(out) + "\n"


def _yaml(rng: random.Random, lines: int, secret: str | None) -> str:
    out = ["apiVersion: apps/v1", "kind: Deployment", "metadata:", f"  name: {rng.choice(_WORDS)}", "spec:"]
    while len(out) < lines:
        out += [
            f"  - name: {_ident(rng)}",
            f"    image: registry.example.com/{rng.choice(_WORDS)}:{rng.randint(1, 40)}.{rng.randint(0, 9)}",
            f"    replicas: {rng.randint(1, 5)}",
            f"    env: {{ {rng.choice(_WORDS).upper()}: '{rng.choice(_WORDS)}' }}",
        ]
    if secret:
        key, _, val = secret.partition(" = ")
        out.append(f"  {key.strip().lower()}: {val}")
    return "\n".join(out) + "\n"


def _json(rng: random.Random, items: int, secret: str | None) -> str:
    data = {
        "name": rng.choice(_WORDS),
        "items": [
            {
                "id": i,
                "label": _ident(rng),
                "weight": rng.random(),
                "tags": [rng.choice(_WORDS) for _ in range(3)],
            }
            for i in range(items)
        ],
    }
    if secret:
        key, _, val = secret.partition(" = ")
        data[key.strip()] = val.strip().strip('"')
    return json.dumps(data, indent=2) + "\n"


def _markdown(rng: random.Random, lines: int) -> str:
    out = [f"# {rng.choice(_WORDS).title()} guide", ""]
    while len(out) < lines:
        out.append(" ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 16))) + ".")
        if rng.random() < 0.1:
            out += ["", "```bash", f"export {rng.choice(_WORDS).upper()}_TOKEN=<your-token>", "```", ""]
    return "\n".join(out) + "\n"


def generate(dest: Path, target_bytes: int, seed: int = 7, secret_rate: float = 0.08) -> dict[str, int]:
    """Write files under ``dest`` until about ``target_bytes``; returns counts by kind of planted secret."""
    rng = random.Random(seed)
    dest.mkdir(parents=True, exist_ok=True)
    written = 0
    planted: dict[str, int] = {}
    n = 0
    while written < target_bytes:
        n += 1
        pkg = dest / f"pkg{n % 37}" / rng.choice(["core", "api", "deploy", "docs", "config"])
        pkg.mkdir(parents=True, exist_ok=True)
        secret = None
        if rng.random() < secret_rate:
            secret, kind = planted_secret(rng)
            planted[kind] = planted.get(kind, 0) + 1
        kind_of_file = rng.random()
        if kind_of_file < 0.55:
            path, text = pkg / f"{_ident(rng)}_{n}.py", _python(rng, rng.randint(40, 400), secret)
        elif kind_of_file < 0.75:
            path, text = pkg / f"{rng.choice(_WORDS)}_{n}.yaml", _yaml(rng, rng.randint(20, 200), secret)
        elif kind_of_file < 0.9:
            path, text = pkg / f"{rng.choice(_WORDS)}_{n}.json", _json(rng, rng.randint(5, 120), secret)
        else:
            path, text = pkg / f"{rng.choice(_WORDS)}_{n}.md", _markdown(rng, rng.randint(20, 200))
        path.write_text(text, encoding="utf-8")
        written += len(text)
    return planted
