"""The cheap looks the workflow checks take before their regexes (nhiscan/sources/repo/
gha_tokens.py, gha_model.py) must never hide a finding: publishing commands written in any case,
in ASCII or not (a case-insensitive regex matches the long s, U+017F, for `s`)."""

from __future__ import annotations

import pytest

from nhiscan.sources.repo.configs import scan_config_file

WORKFLOW = """on: push
permissions:
  contents: read
jobs:
  release:
    runs-on: ubuntu-latest
    env:
      {env}: ${{{{ secrets.REGISTRY_TOKEN }}}}
    steps:
      - run: |
          echo building
          {command}
"""

CASES = [
    ("TWINE_PASSWORD", "twine upload dist/*", "PyPI"),
    ("TWINE_PASSWORD", "TWINE  UPLOAD dist/*", "PyPI"),
    ("UV_PUBLISH_TOKEN", "uv publish", "PyPI"),
    ("NPM_TOKEN", "pnpm publish --access public", "npm"),
    ("NODE_AUTH_TOKEN", "yarn npm publish", "npm"),
    ("GEM_HOST_API_KEY", "gem push pkg/*.gem", "RubyGems"),
    ("GEM_HOST_API_KEY", "bundle exec Rake Release", "RubyGems"),
    ("POETRY_PYPI_TOKEN_PYPI", "Poetry Publish --build", "PyPI"),
    ("PDM_PUBLISH_PASSWORD", "pdm\tpublish", "PyPI"),
    ("NPM_TOKEN", "npm publish", "npm"),
    ("NPM_TOKEN", "YARN publish", "npm"),
    ("GEM_HOST_API_KEY", "git push origin main && gem  push x.gem", "RubyGems"),
    ("CARGO_REGISTRY_TOKEN", "cargo publish", "crates.io"),
    ("CARGO_REGISTRY_TOKEN", "cargo publi\u017fh  # \u00e9", "crates.io"),  # long s: not ASCII
    ("NUGET_API_KEY", "dotnet NuGet Push out/*.nupkg", "NuGet"),
    ("NUGET_API_KEY", "nuget pu\u017fh x.nupkg", "NuGet"),
]


@pytest.mark.parametrize(("env", "command", "registry"), CASES, ids=[c[1] for c in CASES])
def test_publishing_commands_found_in_any_spelling(env: str, command: str, registry: str) -> None:
    found = scan_config_file(".github/workflows/release.yml", WORKFLOW.format(env=env, command=command))
    hits = [o for o in found if o.rule_id == "gha-long-lived-publish-token"]
    assert [h.attributes["registry"] for h in hits] == [registry]
    assert hits[0].attributes["secrets"] == ["REGISTRY_TOKEN"]


def test_no_publishing_word_no_finding() -> None:
    text = WORKFLOW.format(env="NPM_TOKEN", command="npm ci && npm test")
    found = scan_config_file(".github/workflows/release.yml", text)
    assert not [o for o in found if o.rule_id == "gha-long-lived-publish-token"]


def test_word_groups_are_necessary_for_each_publishing_command() -> None:
    """Every ASCII script a registry's command regex matches holds all the words of one of its
    groups (the look taken before the regex), and each group holds a word of the first look."""
    from nhiscan.sources.repo.gha_tokens import _PUBLISH_NEEDS, _PUBLISH_WORDS, _PUBLISHERS

    words = ["twine", "upload", "uv", "poetry", "hatch", "flit", "pdm", "publish", "npm", "pnpm", "yarn"]
    words += ["gem", "push", "rake", "release", "cargo", "nuget", "dotnet", "git", "Publish", "PUSH"]
    scripts = [f"{a} {b}" for a in words for b in words] + [
        f"{a}  {b} {c}" for a in words[8:11] for b in ("npm", "") for c in ("publish",)
    ]
    scripts += [command for _, command, _ in CASES if command.isascii()]
    matched = 0
    for registry, command, _, _ in _PUBLISHERS:
        groups = _PUBLISH_NEEDS[registry]
        assert all(any(w in group for w in _PUBLISH_WORDS) for group in groups)
        for script in scripts:
            if command.search(script):
                matched += 1
                low = script.lower()
                assert any(all(w in low for w in group) for group in groups), (registry, script)
    assert matched >= 12
