"""The user documentation against the tool: README.md and docs/*.md must stay true.

Each test reads a part of the docs (a marked block, a table, the links) and checks it with the
real catalog, the real CLI and the real config loader, so a renamed option, a new rule or a
stale example fails here rather than in a user's pipeline.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from nhiscan.analyze.engine import effective_params, validate_settings
from nhiscan.analyze.rules import load_catalog
from nhiscan.cli import app
from nhiscan.config import load_settings
from nhiscan.waivers import load_waivers
from tests.conftest import AS_OF, ROOT, run_cli

README = ROOT / "README.md"
DOC_FILES = [README, *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(```|~~~)")


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def marked_block(text: str, name: str) -> str:
    """The text between <!-- name --> and <!-- /name --> (exactly one such block)."""
    found = re.findall(rf"<!-- {re.escape(name)} -->\n(.*?)<!-- /{re.escape(name)} -->", text, re.S)
    assert len(found) == 1, f"README.md needs exactly one <!-- {name} --> block, found {len(found)}"
    return str(found[0])


def fenced_body(block: str) -> str:
    """The content of the single fenced code block inside a marked block."""
    m = re.search(r"^```[a-z]*\n(.*?)^```", block, re.S | re.M)
    assert m, "expected a fenced code block"
    return m.group(1)


def prose_lines(text: str) -> Iterator[str]:
    """Lines outside fenced code blocks, inline code spans removed."""
    in_fence = False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            in_fence = not in_fence
            continue
        if not in_fence:
            yield re.sub(r"`[^`]*`", "", line)


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```([a-z]*)\n(.*?)^```", text, re.S | re.M)]


# -- the rules table ------------------------------------------------------------------------------


def readme_rules_table() -> list[tuple[str, str, tuple[str, ...], str]]:
    rows = []
    for line in marked_block(read(README), "rules-table").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("Rule", "---") or set(cells[0]) <= {"-"}:
            continue
        rule_id = cells[0].strip("`")
        owasp = tuple(x.strip() for x in cells[2].split(",") if x.strip())
        rows.append((rule_id, cells[1], owasp, cells[3]))
    return rows


def test_readme_rules_table_is_the_catalog() -> None:
    table = readme_rules_table()
    from_yaml = []
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        data = yaml.safe_load(read(path))
        from_yaml.append((data["id"], data["severity"], tuple(data["owasp_nhi"]), data["title"]))
    assert [r[0] for r in table] == sorted(r[0] for r in from_yaml), (
        "README rule ids differ from rules/*.yaml"
    )
    assert table == sorted(from_yaml)


def test_readme_rules_table_matches_nhiscan_rules() -> None:
    res = run_cli("rules", "--format", "json")
    assert res.code == 0, res.stderr
    catalog = [(r["id"], r["severity"], tuple(r["owasp_nhi"]), r["title"]) for r in res.json()]
    assert readme_rules_table() == catalog
    assert len(catalog) == len(load_catalog())


# -- links and anchors ----------------------------------------------------------------------------

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def github_slug(heading: str) -> str:
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in prose_lines(read(path).replace("`", "")):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*$", line)
        if not m:
            continue
        slug = github_slug(m.group(1))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def relative_links(path: Path) -> list[str]:
    return [
        target
        for line in prose_lines(read(path))
        for target in LINK.findall(line)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto:
    ]


def test_slugs_follow_github() -> None:
    assert github_slug("SCOPE=: naming the account, project, tenant or cluster") == (
        "scope-naming-the-account-project-tenant-or-cluster"
    )
    assert github_slug("nhiscan's own JSON") == "nhiscans-own-json"
    assert github_slug("Install and quick start") == "install-and-quick-start"


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_and_anchors_resolve(doc: Path) -> None:
    links = relative_links(doc)
    broken = []
    for target in links:
        file_part, _, anchor = target.partition("#")
        dest = (doc.parent / file_part).resolve() if file_part else doc
        if not dest.exists():
            broken.append(f"{target}: {dest} does not exist")
            continue
        if anchor:
            if dest.suffix != ".md":
                broken.append(f"{target}: anchor into a non-Markdown file")
            elif anchor not in anchors(dest):
                broken.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not broken, "\n".join(broken)


def test_link_checker_sees_the_links() -> None:
    # Guard against a regex that silently finds nothing: the README links to every docs page.
    links = relative_links(README)
    for page in ("docs/inputs.md", "docs/aws-live.md", "docs/gcp-live.md", "docs/architecture.md"):
        assert page in links
    assert "#exit-codes" in links


# -- CLI options ----------------------------------------------------------------------------------


def cli_commands() -> dict[str, Any]:
    """'' (the root), 'scan', 'inventory', ..., 'baseline create' -> the (Typer-vendored) click command."""
    root: Any = typer.main.get_command(app)
    assert hasattr(root, "commands")
    out: dict[str, Any] = {"": root}
    for name, cmd in root.commands.items():
        if hasattr(cmd, "commands"):
            for sub, subcmd in cmd.commands.items():
                out[f"{name} {sub}"] = subcmd
        else:
            out[name] = cmd
    return out


def long_options(cmd: Any) -> set[str]:
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")}


def readme_section(title: str) -> str:
    text = read(README)
    m = re.search(rf"^### {re.escape(title)}\n(.*?)(?=^##)", text, re.S | re.M)
    assert m, f"README.md has no section '### {title}'"
    return m.group(1)


def test_every_scan_option_is_documented() -> None:
    section = readme_section("nhiscan scan")
    options = long_options(cli_commands()["scan"]) - {"--help"}
    missing = sorted(o for o in options if f"`{o}" not in section)
    assert not missing, f"scan options not documented in README 'nhiscan scan': {missing}"
    short = {o for p in cli_commands()["scan"].params for o in p.opts if re.fullmatch(r"-[a-z]", o)}
    assert short == {"-i", "-f", "-o"}, "a short option was added or removed: document it"
    for s in short:
        assert f"`{s}" in section or f", `{s}" in section


def test_every_documented_scan_option_exists() -> None:
    options = long_options(cli_commands()["scan"])
    documented = set(re.findall(r"^\| `(--[a-z][a-z0-9-]*)", readme_section("nhiscan scan"), re.M))
    assert documented, "the scan option table was not found"
    assert documented <= options, f"documented but not scan options: {sorted(documented - options)}"


def nhiscan_invocations(text: str) -> list[list[str]]:
    """Every `nhiscan ...` command line in fenced code (continuations joined, comments dropped)."""
    out = []
    for _lang, body in code_blocks(text):
        logical: list[str] = []
        for line in body.splitlines():
            if logical and (logical[-1].endswith("\\") or (line.startswith(" ") and line.strip()[:1] == "[")):
                logical[-1] = logical[-1].rstrip("\\") + " " + line.strip()
            else:
                logical.append(line)
        for line in logical:
            for part in re.split(r"&&|;|\|(?!\])", line):
                part = part.split(" #")[0].strip()
                if part.startswith("- run: "):
                    part = part[len("- run: ") :]
                if part.startswith("nhiscan "):
                    out.append(part.split())
    return out


def command_of(words: list[str], commands: dict[str, Any]) -> str:
    if len(words) > 2 and f"{words[1]} {words[2]}" in commands:
        return f"{words[1]} {words[2]}"
    return words[1] if len(words) > 1 and words[1] in commands else ""


# Options of other tools that the README shows (pip, pytest, benchmarks, detect-secrets, az).
FOREIGN_OPTIONS = {"--quick", "--all-files", "--all", "--check"}


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_option_shown_in_a_command_exists(doc: Path) -> None:
    commands = cli_commands()
    invocations = nhiscan_invocations(read(doc))
    wrong = []
    for words in invocations:
        name = command_of(words, commands)
        valid = long_options(commands[name]) | long_options(commands[""]) | {"--help"}
        for w in words:
            opt = re.match(r"\[?(--[a-z][a-z0-9-]*)", w)
            if opt and opt.group(1) not in valid:
                wrong.append(f"nhiscan {name}: {opt.group(1)}  (in: {' '.join(words)})")
    assert not wrong, "\n".join(wrong)


def test_every_option_in_the_readme_exists_somewhere() -> None:
    known = set().union(*(long_options(c) for c in cli_commands().values())) | FOREIGN_OPTIONS | {"--help"}
    shown = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", read(README)))
    assert shown - known == set(), f"README shows options no command has: {sorted(shown - known)}"


def test_invocation_parser_sees_the_commands() -> None:
    invocations = nhiscan_invocations(read(README))
    names = {command_of(w, cli_commands()) for w in invocations}
    assert {"scan", "inventory", "rules", "report", "diff", "paths", "baseline create"} <= names


def test_every_diff_option_is_documented() -> None:
    section = readme_section("nhiscan diff")
    options = long_options(cli_commands()["diff"]) - {"--help"}
    missing = sorted(o for o in options if f"`{o}" not in section)
    assert not missing, f"diff options not documented in README 'nhiscan diff': {missing}"
    documented = set(re.findall(r"^\| `(--[a-z][a-z0-9-]*)", section, re.M))
    assert documented == options


def test_every_paths_option_is_documented() -> None:
    section = readme_section("nhiscan paths")
    options = long_options(cli_commands()["paths"]) - {"--help"}
    missing = sorted(o for o in options if f"`{o}" not in section)
    assert not missing, f"paths options not documented in README 'nhiscan paths': {missing}"
    documented = set(re.findall(r"`(--[a-z][a-z0-9-]*)", section))
    assert documented <= options, f"documented but not paths options: {sorted(documented - options)}"
    scan_options = long_options(cli_commands()["scan"])
    shared = options - {"--to", "--format", "--output", "--help"}
    assert shared <= scan_options, "paths takes the same inputs as scan"


# -- the quick start ------------------------------------------------------------------------------


def quickstart_scan_args() -> list[str]:
    body = fenced_body(marked_block(read(README), "quickstart")).strip()
    install, sep, scan = body.partition("&&")
    assert sep and install.strip() == "pip install .", "the quick start installs with `pip install . &&`"
    words = shlex.split(scan)
    assert words[:2] == ["nhiscan", "scan"]
    return words[1:]


@pytest.fixture(scope="module")
def quickstart_json() -> dict[str, Any]:
    res = run_cli(*quickstart_scan_args(), "--format", "json", cwd=ROOT)
    assert res.code == 0, res.stderr
    data: dict[str, Any] = json.loads(res.stdout)
    return data


def test_quickstart_runs_and_shows_linked_leaks() -> None:
    res = run_cli(*quickstart_scan_args(), cwd=ROOT)
    assert res.code == 0, res.stderr
    assert "nhiscan: error" not in res.stderr
    assert "leaked-credential-linked" in res.stdout
    assert "ci-deploy" in res.stdout
    # The excerpt in the README is real output: its summary line is what the scan prints.
    readme = read(README)
    summary = re.search(
        r"^│ (\d+ identities \(\d+ non-human\)\s+\d+ secrets in files\s+\d+ findings)", readme, re.M
    )
    assert summary, "README quick-start excerpt has no summary line"
    assert summary.group(1) in res.stdout, (
        "the README quick-start excerpt is stale; the scan now prints: "
        + next((ln for ln in res.stdout.splitlines() if "identities (" in ln), "?")
    )


def test_quickstart_links_leaks_to_identities(quickstart_json: dict[str, Any]) -> None:
    linked = {
        f["identity_id"] for f in quickstart_json["findings"] if f["rule_id"] == "leaked-credential-linked"
    }
    assert "arn:aws:iam::111122223333:user/service/ci-deploy" in linked
    assert "ci-deployer@acme-prod.iam.gserviceaccount.com" in linked
    assert quickstart_json["errors"] == []
    providers = {i["provider"] for i in quickstart_json["identities"]}
    assert {"aws", "gcp", "azure", "kubernetes"} <= providers


# -- configuration, waivers and other examples ----------------------------------------------------


def readme_config() -> str:
    return fenced_body(marked_block(read(README), "config-example"))


def readme_waivers() -> str:
    return fenced_body(marked_block(read(README), "waivers-example"))


def check_settings(path: Path) -> None:
    settings = load_settings(str(path))
    catalog = load_catalog()
    validate_settings(settings, catalog)
    for rule in catalog:
        effective_params(rule, settings)  # unknown parameters raise


def test_config_example_loads(tmp_path: Path) -> None:
    cfg = tmp_path / "nhiscan.toml"
    cfg.write_text(readme_config(), encoding="utf-8")
    check_settings(cfg)
    settings = load_settings(str(cfg))
    assert settings.disabled and settings.severity and settings.params and settings.exclude
    assert settings.nonhuman and settings.human and settings.agent
    assert settings.waivers == str(tmp_path / ".nhiscan-waivers.yaml")


def test_config_example_loads_from_pyproject(tmp_path: Path) -> None:
    """The README says the same keys work under [tool.nhiscan]."""
    lines = ["[tool.nhiscan]"]
    for line in readme_config().splitlines():
        m = re.match(r"^\[([^\]]+)\](.*)$", line)
        lines.append(f"[tool.nhiscan.{m.group(1)}]{m.group(2)}" if m else line)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("\n".join(lines) + "\n", encoding="utf-8")
    check_settings(pyproject)
    from dataclasses import replace

    explicit = load_settings(str(pyproject))
    found = load_settings(None, search_from=tmp_path)  # ./pyproject.toml is found without --config
    assert replace(found, path=None) == replace(explicit, path=None)
    assert explicit.disabled == frozenset({"nhi-no-owner"})


def test_waivers_example_loads(tmp_path: Path) -> None:
    path = tmp_path / ".nhiscan-waivers.yaml"
    path.write_text(readme_waivers(), encoding="utf-8")
    parsed = load_waivers(str(path), date.fromisoformat(AS_OF), [r.id for r in load_catalog()])
    assert len(parsed.waivers) == 2
    assert parsed.waivers[0].fingerprint and parsed.waivers[1].rule
    assert not parsed.expired()


def test_config_and_waivers_examples_work_in_a_scan(tmp_path: Path) -> None:
    """Through the real CLI: the config is accepted, and the README's fingerprint waiver is a real one."""
    (tmp_path / "nhiscan.toml").write_text(readme_config(), encoding="utf-8")
    (tmp_path / ".nhiscan-waivers.yaml").write_text(readme_waivers(), encoding="utf-8")
    res = run_cli(
        "scan",
        str(ROOT / "fixtures/repos/acme-web"),
        str(ROOT / "fixtures/repos/acme-infra"),
        "--input",
        str(ROOT / "fixtures/aws/acme-prod"),
        "--config",
        str(tmp_path / "nhiscan.toml"),
        "--as-of",
        AS_OF,
        "--fail-on",
        "none",
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert res.code == 0, res.stderr
    data = res.json()
    assert not any(f["rule_id"] == "nhi-no-owner" for f in data["findings"]), "disable was not applied"
    waived = [f for f in data["findings"] if f["waived"]]
    fp = yaml.safe_load(readme_waivers())["waivers"][0]["fingerprint"]
    assert [f["fingerprint"] for f in waived if f.get("waiver", {}).get("kind") == "waiver"] == [fp]
    assert waived[0]["rule_id"] == "leaked-credential-linked"
    assert waived[0]["waiver"]["owner"] == "platform-security@example.com"


def test_yaml_and_toml_examples_parse() -> None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - 3.10
        import tomli as tomllib

    langs = []
    for lang, body in code_blocks(read(README)):
        if lang == "yaml":
            yaml.safe_load(body)
        elif lang == "toml":
            tomllib.loads(body)
        elif lang == "json":
            json.loads(body)
        langs.append(lang)
    assert {"yaml", "toml", "json"} <= set(langs)


def test_baseline_example_round_trip(tmp_path: Path) -> None:
    """`baseline create` then `scan --baseline`: the same findings no longer fail the scan."""
    args = [str(ROOT / "fixtures/repos/acme-infra"), "--input", str(ROOT / "fixtures/aws/acme-prod")]
    baseline = tmp_path / ".nhiscan-baseline.json"
    created = run_cli("baseline", "create", *args, "-o", str(baseline), "--as-of", AS_OF, cwd=tmp_path)
    assert created.code == 0, created.stderr
    assert run_cli("scan", *args, "--as-of", AS_OF, cwd=tmp_path).code == 1
    again = run_cli("scan", *args, "--baseline", str(baseline), "--as-of", AS_OF, cwd=tmp_path)
    assert again.code == 0, again.stderr


# -- the JSON result ------------------------------------------------------------------------------


def missing_keys(doc: Any, real: Any, where: str = "") -> list[str]:
    """Keys present in the documented JSON but absent from the real result (recursively)."""
    if isinstance(doc, dict):
        if not isinstance(real, dict):
            return [f"{where or '.'}: documented as an object"]
        out = []
        for key, value in doc.items():
            if key not in real:
                out.append(f"{where}.{key}")
            else:
                out.extend(missing_keys(value, real[key], f"{where}.{key}"))
        return out
    if isinstance(doc, list) and doc and isinstance(doc[0], dict):
        if not isinstance(real, list) or not real:
            return [f"{where}: documented as a non-empty list"]
        out = []
        for item in doc:
            # Compare with the real items of the same rule / id when there are any, else with all;
            # the documented item is fine if one real item has every documented key.
            same = [r for k in ("rule_id", "id") if k in item for r in real if r.get(k) == item[k]]
            tries = [missing_keys(item, r, f"{where}[]") for r in (same or real) if isinstance(r, dict)]
            out.extend(min(tries, key=len) if tries else [f"{where}[]: no object to compare"])
        return out
    return []


def test_documented_json_fields_exist(quickstart_json: dict[str, Any]) -> None:
    documented = json.loads(fenced_body(marked_block(read(README), "json-result")))
    assert missing_keys(documented, quickstart_json) == []
    assert documented["schema"] == quickstart_json["schema"] == "nhiscan/v1"
    assert documented["summary"] == quickstart_json["summary"], "README JSON summary is stale"
    # Documented nulls are the contract's "null where it does not apply".
    for f in quickstart_json["findings"]:
        assert {"identity_id", "credential_id", "location"} <= f.keys()


def test_json_field_checker_catches_a_made_up_field(quickstart_json: dict[str, Any]) -> None:
    assert missing_keys({"findings": [{"rule_id": "x", "made_up": 1}]}, quickstart_json) == [
        ".findings[].made_up"
    ]


# -- docs/inputs.md -------------------------------------------------------------------------------


def detectable_kinds() -> set[str]:
    """Every kind a provider's exports.detect can return (its return values, through `x if c else y`)."""
    import ast

    def results(expr: ast.expr | None) -> set[str]:
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.IfExp):
            return results(expr.body) | results(expr.orelse)
        return set()

    kinds: set[str] = set()
    for path in sorted((ROOT / "nhiscan/sources").glob("*/exports.py")):
        for node in ast.walk(ast.parse(read(path))):
            if isinstance(node, ast.FunctionDef) and node.name == "detect":
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return):
                        kinds |= results(ret.value)
    return kinds


def test_inputs_doc_lists_every_recognised_kind() -> None:
    documented = set(re.findall(r"^\| `([a-z][a-z0-9-]+)` \|", read(ROOT / "docs/inputs.md"), re.M))
    kinds = detectable_kinds()
    assert len(kinds) >= 14
    assert documented == kinds, (
        f"docs/inputs.md: undocumented kinds {sorted(kinds - documented)}, "
        f"not recognised {sorted(documented - kinds)}"
    )


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure", "kubernetes"])
def test_every_bundled_export_is_a_documented_kind(provider: str) -> None:
    from nhiscan.config import InputSpec
    from nhiscan.sources.exports import load_inputs

    documented = set(re.findall(r"^\| `([a-z][a-z0-9-]+)` \|", read(ROOT / "docs/inputs.md"), re.M))
    for directory in sorted((ROOT / "fixtures" / provider).iterdir()):
        docs, errors = load_inputs(InputSpec(str(directory), scope="x"))
        assert not errors
        assert docs and {d.kind for d in docs} <= documented
