"""AI-agent configuration checks: MCP client configs and agent settings that embed tokens.

Shapes handled: ``{"mcpServers": {name: {command, args, env, url, headers}}}`` (Claude Desktop,
Claude Code ``.mcp.json``, Cursor, Windsurf ``serverUrl``, Cline, Gemini, Amazon Q), VS Code's
``{"servers": {...}}`` (values may reference ``${input:id}`` / ``${env:NAME}``), and Claude Code
settings' top-level ``env``. JSON is read as YAML nodes to keep line numbers (configs.py reads the
file, after :func:`strip_comments`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

from yaml.nodes import MappingNode, Node, ScalarNode

from nhiscan.model import Observation
from nhiscan.sources.repo._common import (
    classify_token,
    is_reference,
    literal_secret,
    obs,
    secret_attrs,
    secret_name,
)
from nhiscan.sources.repo._yaml import get, items, line, pairs, scalar

# JSON with comments (VS Code, Cursor): whole-line `//` comments and `// ...` after `,` `{` `[` are
# blanked so that line numbers stay right; everything else must be plain JSON.
_LINE_COMMENT = re.compile(r"^\s*//.*$", re.M)
_TRAILING_COMMENT = re.compile(r"([,{\[])[ \t]*//[^\n\"]*$", re.M)
_FLAG = re.compile(r"^--?([A-Za-z0-9_-]+)(?:=(.*))?$")
_HEADER_ARG = re.compile(
    r"^\s*(authorization|x-api-key|api-key|private-token)\s*:\s*(?:bearer\s+|token\s+)?(\S+)\s*$", re.I
)
_BEARER = re.compile(r"^\s*(bearer|token|basic)\s+", re.I)


def client_of(path: str) -> str:
    p = path.lower()
    for marker, name in (
        ("claude_desktop_config.json", "claude-desktop"),
        (".claude", "claude-code"),
        (".mcp.json", "claude-code"),
        (".cursor/", "cursor"),
        (".vscode/", "vscode"),
        ("windsurf", "windsurf"),
        (".codeium/", "windsurf"),
        (".gemini/", "gemini-cli"),
        (".roo/", "roo-code"),
        ("cline", "cline"),
        (".amazonq/", "amazon-q"),
    ):
        if marker in p:
            return name
    return "mcp-client"


def strip_comments(text: str) -> str:
    """JSON with comments as plain JSON, every line kept where it was."""
    return _TRAILING_COMMENT.sub(r"\1", _LINE_COMMENT.sub("", text))


def scan(path: str, docs: list[Node]) -> list[Observation]:
    out: list[Observation] = []
    client = client_of(path)
    for doc in docs:
        if not isinstance(doc, MappingNode):
            continue
        for key in ("mcpServers", "servers", "mcp_servers"):
            for server, _, cfg in pairs(get(doc, key)):
                if isinstance(cfg, MappingNode):
                    out.extend(_server(path, client, server, cfg))
        for project, _, proj in pairs(get(doc, "projects")):  # ~/.claude.json keeps per-project servers
            for server, _, cfg in pairs(get(proj, "mcpServers")):
                if isinstance(cfg, MappingNode):
                    out.extend(_server(path, client, f"{project}:{server}", cfg))
        if client == "claude-code":
            out.extend(_values(path, client, "(agent settings)", "env", get(doc, "env")))
    return out


def _server(path: str, client: str, server: str, cfg: Node) -> Iterator[Observation]:
    yield from _values(path, client, server, "env", get(cfg, "env"))
    yield from _values(path, client, server, "headers", get(cfg, "headers"))
    yield from _args(path, client, server, items(get(cfg, "args")))
    command = get(cfg, "command")
    if isinstance(command, ScalarNode) and " " in str(command.value):
        # "command": "env GITHUB_TOKEN=... npx server" puts the token in the command line itself
        words = [
            ScalarNode("tag:yaml.org,2002:str", w, command.start_mark) for w in str(command.value).split()
        ]
        yield from _args(path, client, server, list(words))
    for key in ("url", "serverUrl", "httpUrl"):
        node = get(cfg, key)
        if isinstance(node, ScalarNode):
            yield from _url(path, client, server, key, node)


def _values(path: str, client: str, server: str, field: str, node: Node | None) -> Iterator[Observation]:
    for name, kn, v in pairs(node):
        value = scalar(v)
        if value is None:
            continue
        candidate = _BEARER.sub("", value) if field == "headers" else value
        if _is_token(
            name, candidate, named=field == "headers" and name.lower() in ("authorization", "x-api-key")
        ):
            yield from _report(path, client, server, field, name, line(kn), candidate.strip())


def _args(path: str, client: str, server: str, args: list[Node]) -> Iterator[Observation]:
    flag: str | None = None
    for node in args:
        value = scalar(node)
        if value is None:
            flag = None
            continue
        m = _FLAG.match(value)
        if m and m.group(2) is not None:
            name, candidate = m.group(1), m.group(2)
        elif m:
            flag = m.group(1)
            continue
        else:
            name, candidate = flag or "", value
        flag = None
        header = _HEADER_ARG.match(candidate)
        if header:  # mcp-remote style: --header "Authorization: Bearer <token>"
            if not is_reference(header.group(2)) and literal_secret(header.group(2)):
                yield from _report(path, client, server, "args", header.group(1), line(node), header.group(2))
            continue
        if "=" in candidate and not m:  # NAME=value passed through `env`-style wrappers
            name, candidate = candidate.split("=", 1)
        if _is_token(name, candidate, named=False):
            yield from _report(path, client, server, "args", name or "arg", line(node), candidate)


def _url(path: str, client: str, server: str, key: str, node: ScalarNode) -> Iterator[Observation]:
    parts = urlsplit(str(node.value))
    for name, value in parse_qsl(parts.query):
        if _is_token(name, value, named=False):
            yield from _report(path, client, server, key, name, line(node), value)
    if parts.password and not is_reference(parts.password) and literal_secret(parts.password):
        yield from _report(path, client, server, key, "password", line(node), parts.password)


def _is_token(name: str, value: str, named: bool) -> bool:
    if is_reference(value):
        return False
    if classify_token(value):
        return True
    return (named or secret_name(name.replace("-", "_"))) and literal_secret(value)


def _report(
    path: str, client: str, server: str, field: str, name: str, lineno: int, value: str
) -> Iterator[Observation]:
    attrs = {
        "agent": True,
        "agent_client": client,
        "server": server,
        "field": field,
        "name": name,
        **secret_attrs(value),
    }
    where = f"MCP server '{server}'" if not server.startswith("(") else "agent settings"
    yield obs(
        "mcp-literal-token",
        path,
        lineno,
        f"{client}: {where} has a literal token in {field} '{name}'; reference an environment variable or "
        "secret store instead",
        f"{server}:{field}:{name}",
        **attrs,
    )
    known = classify_token(value)
    if known and known[0].broad:
        ttype = known[0]
        yield obs(
            "mcp-broad-personal-token",
            path,
            lineno,
            f"{client}: {where} runs with a {ttype.note} ({ttype.name}); give the agent its own scoped, "
            "expiring token instead",
            f"{server}:{field}:{name}",
            **attrs,
        )
