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
