"""Unit tests for CI pipeline and agent config checks (nhiscan/sources/repo/configs.py)."""

from __future__ import annotations

import pytest

from nhiscan.model import Observation
from nhiscan.secret_ids import REDACTED
from nhiscan.sources.repo.configs import ConfigParseError, config_kind, is_config_file, scan_config_file

GHP = "ghp_G6e1EL2CNOpWPTBI5ZATMSnDtyvYxSgdSoC9"
GLPAT = "glpat-SfZ9J9qhOlk44MFM1ELl"
LITERAL = "Hj4kL9mN2pQ7rS1tV6wX"


def rules(found: list[Observation]) -> list[tuple[str, int | None]]:
    return sorted((o.rule_id, o.location.line) for o in found)


def of(found: list[Observation], rule_id: str) -> list[Observation]:
    return [o for o in found if o.rule_id == rule_id]


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (".github/workflows/ci.yml", "github"),
        ("svc/.github/workflows/ci.yaml", "github"),
        (".github/workflows/README.md", None),
        (".github/ci.yml", None),
        (".gitlab-ci.yml", "gitlab"),
        (".gitlab/ci/deploy.gitlab-ci.yml", "gitlab"),
        ("azure-pipelines.yml", "azure"),
        (".circleci/config.yml", "circleci"),
        ("config.yml", None),
        ("bitbucket-pipelines.yml", "bitbucket"),
        ("Jenkinsfile", "jenkins"),
        ("ci/deploy.Jenkinsfile", "jenkins"),
        (".mcp.json", "agent"),
        (".cursor/mcp.json", "agent"),
        (".vscode/mcp.json", "agent"),
        (".vscode/settings.json", None),
        (".claude/settings.local.json", "agent"),
        ("claude_desktop_config.json", "agent"),
        (".codeium/windsurf/mcp_config.json", "agent"),
        ("package.json", None),
    ],
)
def test_config_kind(path: str, kind: str | None) -> None:
    assert config_kind(path) == kind
    assert is_config_file(path) is (kind is not None)


def test_non_config_file_yields_nothing() -> None:
    assert scan_config_file("src/app.py", "TOKEN = 'x'") == []


# --- GitHub Actions ---------------------------------------------------------------------------------

PRT = """\
on: pull_request_target
permissions: {contents: read}
jobs:
  t:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: refs/pull/${{ github.event.number }}/merge
"""


def test_on_key_is_not_read_as_boolean_true() -> None:
    # YAML 1.1 loaders turn the key `on` into True; the trigger must still be seen.
    found = scan_config_file(".github/workflows/t.yml", PRT)
    assert rules(found) == [("gha-untrusted-checkout-with-secrets", 9)]


def test_crlf_line_endings_keep_line_numbers() -> None:
    found = scan_config_file(".github/workflows/t.yml", PRT.replace("\n", "\r\n"))
    assert rules(found) == [("gha-untrusted-checkout-with-secrets", 9)]


def test_workflow_run_head_sha_checkout_and_gh_pr_checkout() -> None:
    text = """\
on:
  workflow_run:
    workflows: [ci]
    types: [completed]
permissions: {contents: read}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with: {ref: "${{ github.event.workflow_run.head_sha }}"}
  b:
    runs-on: ubuntu-latest
    steps:
      - run: gh pr checkout ${{ github.event.workflow_run.pull_requests[0].number }}
"""
    found = of(scan_config_file(".github/workflows/t.yml", text), "gha-untrusted-checkout-with-secrets")
    assert [(o.attributes["job"], o.location.line) for o in found] == [("a", 11), ("b", 15)]


def test_multi_document_and_quoted_keys() -> None:
    text = """\
---
"on": push
"jobs":
  "build":
    runs-on: ubuntu-latest
    steps: [{run: make}]
---
on: push
permissions: write-all
jobs:
  other: {runs-on: ubuntu-latest, steps: [{run: make}]}
"""
    found = scan_config_file(".github/workflows/t.yml", text)
    assert rules(found) == [("gha-missing-permissions", 4), ("gha-permissions-write-all", 9)]


def test_anchors_and_merge_keys_are_followed() -> None:
    text = """\
on: push
permissions: {contents: read}
jobs:
  a:
    runs-on: ubuntu-latest
    env: &aws
      AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}
      AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
    steps: [{run: aws s3 ls}]
  b:
    runs-on: ubuntu-latest
    env:
      <<: *aws
      AWS_REGION: eu-west-1
    steps: [{run: aws s3 ls}]
"""
    found = of(scan_config_file(".github/workflows/t.yml", text), "gha-static-cloud-credentials")
    assert {o.attributes["key"] for o in found} == {"env:job a:aws", "env:job b:aws"}
    assert all(o.attributes["variables"] == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] for o in found)


def test_matrix_jobs_and_static_keys_kept_alongside_role() -> None:
    text = """\
on: push
permissions: {contents: read, id-token: write}
jobs:
  deploy:
    strategy:
      matrix:
        region: [eu-west-1, us-east-1]
    runs-on: ubuntu-latest
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: arn:aws:iam::111122223333:role/deploy
          aws-region: ${{ matrix.region }}
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-secret-access-key: ${{ secrets.KEY }}
          aws-access-key-id: ${{ secrets.ID }}
          role-to-assume: arn:aws:iam::111122223333:role/chained
      - uses: google-github-actions/auth@v2
        with:
          credentials_json: ${{ secrets.GCP_SA_KEY }}
      - uses: azure/login@v2
        with:
          creds: ${{ secrets.AZURE_CREDENTIALS }}
"""
    found = of(scan_config_file(".github/workflows/t.yml", text), "gha-static-cloud-credentials")
    assert [(o.attributes["cloud"], o.location.line) for o in found] == [
        ("aws", 16),
        ("gcp", 21),
        ("azure", 24),
    ]


@pytest.mark.parametrize(
    ("line", "fires"),
    [
        ('echo "${{ secrets.TOKEN }}"', True),
        ("printf '%s' ${{ secrets['TOKEN'] }}", True),
        ("echo ${{ secrets.TOKEN }} | base64 -w0", True),
        ("echo $TOKEN_ENV | rev", True),
        ('echo "$TOKEN_ENV" | docker login -u bot --password-stdin', False),
        ('echo "${{ secrets.TOKEN }}" > .npmrc', False),
        ('echo "::add-mask::${{ secrets.TOKEN }}"', False),
        ("echo building && curl -H $TOKEN_ENV https://x", False),
        ("echo ${{ secrets.GITHUB_TOKEN }}", False),
        ("echo start; echo ${{ secrets.TOKEN }}", True),
    ],
)
def test_secret_echo_patterns(line: str, fires: bool) -> None:
    text = f"""\
on: push
permissions: {{contents: read}}
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - name: s
        env:
          TOKEN_ENV: ${{{{ secrets.TOKEN }}}}
        run: |
          true
          {line}
"""
    found = of(scan_config_file(".github/workflows/t.yml", text), "gha-secret-echoed")
    assert [o.location.line for o in found] == ([12] if fires else [])


def test_set_x_traces_secret_use() -> None:
    text = """\
on: push
permissions: {contents: read}
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - run: |
          set -eux
          curl -u "bot:${{ secrets.PASSWORD }}" https://example.com
"""
    found = of(scan_config_file(".github/workflows/t.yml", text), "gha-secret-echoed")
    assert [o.location.line for o in found] == [9]
    assert "set -x" in found[0].message


def test_literal_env_credential_is_redacted() -> None:
    text = f"""\
on: push
permissions: {{contents: read}}
jobs:
  j:
    runs-on: ubuntu-latest
    env:
      API_TOKEN: {LITERAL}
    steps: [{{run: make}}]
"""
    found = of(scan_config_file(".github/workflows/t.yml", text), "ci-literal-credential")
    assert [o.location.line for o in found] == [7]
    assert LITERAL not in repr(found)
    # no public prefix: at most two characters of a long value, and an id that is not its hash
    assert REDACTED.fullmatch(found[0].attributes["redacted"])
    assert found[0].attributes["redacted"].startswith(LITERAL[:2] + "…")
    assert LITERAL[:3] not in found[0].attributes["redacted"]


def test_invalid_yaml_is_empty_or_raises_when_strict() -> None:
    bad = "on: push\njobs: [\n  a: b\n"
    assert scan_config_file(".github/workflows/bad.yml", bad) == []
    with pytest.raises(ConfigParseError) as info:
        scan_config_file(".github/workflows/bad.yml", bad, strict=True)
    assert info.value.path == ".github/workflows/bad.yml"
    assert "invalid YAML" in info.value.detail


def test_non_workflow_yaml_is_ignored() -> None:
    assert scan_config_file(".github/workflows/t.yml", "- just\n- a list\n") == []
    assert scan_config_file(".github/workflows/t.yml", "") == []


# --- other CI systems ----------------------------------------------------------------------------------


def test_gitlab_job_variables_and_script_exports() -> None:
    text = f"""\
variables:
  SAFE: "1"
deploy:
  variables:
    DEPLOY_TOKEN: {{value: "{LITERAL}", description: deploy}}
    AWS_ACCESS_KEY_ID: AKIALXACQYIXDXXQIRQD
  script:
    - export API_KEY={LITERAL}x
    - curl -H "PRIVATE-TOKEN: $GITLAB_TOKEN" https://gitlab.example.com
"""
    found = scan_config_file(".gitlab-ci.yml", text)
    assert rules(found) == [("ci-literal-credential", 8), ("gitlab-literal-secret-variable", 5)]
    assert found[0].attributes["system"] in ("GitLab CI",)


def test_jenkinsfile_literals_but_not_credentials_bindings() -> None:
    text = f"""\
pipeline {{
  environment {{
    TOKEN = credentials('jenkins-token')
    SLACK_TOKEN = "{LITERAL}"
    TOKEN_URL = "https://auth.example.com/token"
    GREETING = "{LITERAL}"
  }}
  stages {{ stage('x') {{ steps {{
    // PASSWORD = "{LITERAL}"
    sh "curl -u admin:$PASSWORD https://x"
    sh 'docker login -u bot -p {LITERAL} registry.example.com'
  }} }} }}
}}
"""
    found = scan_config_file("Jenkinsfile", text)
    assert rules(found) == [("ci-literal-credential", 4), ("ci-literal-credential", 11)]


def test_azure_and_circleci_literals() -> None:
    azure = f"""\
variables:
  dbPassword: {LITERAL}
  buildConfiguration: Release
jobs:
  - job: build
    variables:
      - name: apiKey
        value: $(ApiKeyFromGroup)
    steps:
      - bash: |
          export SERVICE_TOKEN={LITERAL}
"""
    assert rules(scan_config_file("azure-pipelines.yml", azure)) == [
        ("ci-literal-credential", 2),
        ("ci-literal-credential", 11),
    ]
    circle = f"""\
version: 2.1
executors:
  py:
    docker:
      - image: cimg/python:3.12
        auth:
          username: bot
          password: $DOCKERHUB_PASSWORD
    environment:
      PYPI_TOKEN: {LITERAL}
"""
    assert rules(scan_config_file(".circleci/config.yml", circle)) == [("ci-literal-credential", 10)]


# --- agent configs --------------------------------------------------------------------------------------


def test_mcp_literal_in_args_headers_and_url() -> None:
    text = f"""\
{{
  "mcpServers": {{
    "gitlab": {{"command": "npx", "args": ["-y", "mcp-gitlab", "--token", "{GLPAT}"]}},
    "notion": {{"url": "https://mcp.example.com/sse?api_key={LITERAL}"}},
    "linear": {{"serverUrl": "https://mcp.linear.app/sse", "headers": {{"Authorization": "Bearer {LITERAL}"}}}},
    "safe": {{"command": "uvx", "args": ["mcp-server-git", "--repository", "."], "env": {{"TOKEN": "${{GH_TOKEN}}"}}}}
  }}
}}
"""
    found = scan_config_file(".codeium/windsurf/mcp_config.json", text)
    assert rules(found) == [
        ("mcp-broad-personal-token", 3),
        ("mcp-literal-token", 3),
        ("mcp-literal-token", 4),
        ("mcp-literal-token", 5),
    ]
    broad = of(found, "mcp-broad-personal-token")[0]
    assert broad.attributes["token_type"] == "gitlab-pat"
    assert broad.attributes["agent"] is True
    assert broad.attributes["agent_client"] == "windsurf"
    assert broad.attributes["server"] == "gitlab"
    text_out = repr(found)
    assert GLPAT not in text_out and LITERAL not in text_out


def test_vscode_inputs_and_env_references_are_silent() -> None:
    ok = """{"servers": {"gh": {"type": "stdio", "command": "gh-mcp",
      "env": {"GITHUB_TOKEN": "${input:gh}", "OTHER_TOKEN": "${env:OTHER_TOKEN}"}}}}"""
    assert scan_config_file(".vscode/mcp.json", ok) == []


def test_jsonc_comments_and_trailing_commas_keep_lines() -> None:
    text = f"""{{
  // my servers
  "servers": {{
    "gh": {{"url": "https://api.example.com/mcp", "env": {{"GITHUB_TOKEN": "{GHP}"}}}}, // personal
  }}
}}
"""
    assert rules(scan_config_file(".vscode/mcp.json", text)) == [
        ("mcp-broad-personal-token", 4),
        ("mcp-literal-token", 4),
    ]


def test_invalid_json_raises_config_parse_error() -> None:
    with pytest.raises(ConfigParseError):
        scan_config_file(".mcp.json", '{"mcpServers": {"a": ', strict=True)


def test_claude_settings_env_with_personal_tokens() -> None:
    text = f'{{"env": {{"GITHUB_TOKEN": "{GHP}", "SLACK_TOKEN": "xoxp-186296643621-077230994233-0813980632161-135e649cf383ef6d846c468b68390aab"}}}}'
    found = scan_config_file(".claude/settings.local.json", text)
    types = sorted(o.attributes["token_type"] for o in of(found, "mcp-broad-personal-token"))
    assert types == ["github-classic-pat", "slack-user-token"]
    assert len(of(found, "mcp-literal-token")) == 2


def test_fingerprint_key_does_not_depend_on_line() -> None:
    base = f'{{"mcpServers": {{"gh": {{"env": {{"GITHUB_TOKEN": "{GHP}"}}}}}}}}'
    moved = "\n\n\n" + base
    a = scan_config_file(".mcp.json", base)
    b = scan_config_file(".mcp.json", moved)
    assert [o.attributes["key"] for o in a] == [o.attributes["key"] for o in b]
    assert [o.location.line for o in a] != [o.location.line for o in b]


def test_reusable_workflow_without_permissions_is_judged_at_the_caller() -> None:
    text = """\
on:
  workflow_call:
    secrets:
      TOKEN: {required: true}
jobs:
  build: {runs-on: ubuntu-latest, steps: [{run: make}]}
"""
    assert scan_config_file(".github/workflows/reusable.yml", text) == []
    both = text.replace("  workflow_call:", "  push:\n  workflow_call:")
    assert rules(scan_config_file(".github/workflows/reusable.yml", both)) == [("gha-missing-permissions", 7)]


def test_token_inlined_in_mcp_command() -> None:
    text = f"""{{"mcpServers": {{"gh": {{"command": "env GITHUB_TOKEN={GHP} npx -y gh-mcp"}}}}}}"""
    found = scan_config_file("claude_desktop_config.json", text)
    assert rules(found) == [("mcp-broad-personal-token", 1), ("mcp-literal-token", 1)]
    assert found[0].attributes["agent_client"] == "claude-desktop"
    assert GHP not in repr(found)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("API_TOKEN", True),
        ("DB_PASSWORD", True),
        ("SSH_PRIVATE_KEY", True),
        ("NPM_AUTH", True),
        ("AWS_ACCESS_KEY_ID", False),
        ("TOKEN_URL", False),
        ("SSH_PUBLIC_KEY", False),
        ("STRIPE_PUBLISHABLE_KEY", False),
        ("RECAPTCHA_SITE_KEY", False),
        ("AUTH0_DOMAIN", False),
        ("CACHE_KEY", False),
        ("GIT_AUTHOR_NAME", False),
    ],
)
def test_secret_variable_names(name: str, secret: bool) -> None:
    from nhiscan.sources.repo._common import secret_name

    assert secret_name(name) is secret


def test_mcp_remote_header_argument() -> None:
    text = f"""{{"mcpServers": {{"remote": {{"command": "npx",
      "args": ["mcp-remote", "https://mcp.example.com/sse", "--header", "Authorization: Bearer {LITERAL}"]}},
      "ok": {{"command": "npx", "args": ["mcp-remote", "https://x/sse", "--header", "Authorization: Bearer ${{AUTH_TOKEN}}"]}}}}}}"""
    found = scan_config_file(".mcp.json", text)
    assert rules(found) == [("mcp-literal-token", 2)]
    assert found[0].attributes["server"] == "remote"
