"""`nhiscan rules RULE --format markdown` is Markdown a renderer turns into a heading, a table, paragraphs
and links (parsed here with markdown-it-py, CommonMark plus GitHub tables, as GitHub renders it)."""

from __future__ import annotations

import json

from markdown_it import MarkdownIt

from tests.conftest import run_cli


def test_rule_markdown_renders_heading_facts_paragraphs_and_links() -> None:
    rule = json.loads(run_cli("rules", "leaked-credential-linked", "--format", "json").stdout)
    res = run_cli("rules", "leaked-credential-linked", "--format", "markdown")
    assert res.code == 0, res.stderr
    html = MarkdownIt("commonmark").enable("table").render(res.stdout)
    assert html.startswith(
        "<h2><code>leaked-credential-linked</code>: Leaked credential belongs to a known identity</h2>"
    )
    table = html.split("<table>", 1)[1].split("</table>", 1)[0]
    assert "<td><strong>Severity</strong></td>\n<td>high</td>" in table
    assert "<td><strong>OWASP NHI</strong></td>\n<td>NHI2:2025 Secret Leakage</td>" in table
    assert "PR.AA-01 Identities and credentials for authorized users" in table  # CSF id with its name
    assert "<h3>Why it matters</h3>\n<p>A secret in a file is only as dangerous" in html
    assert "<h3>Remediation</h3>\n<p>Revoke the credential now" in html
    links = [f'<li><a href="{url}">{url}</a></li>' for url in rule["references"]]
    assert links and all(link in html for link in links)
    # nothing of the old "Key: value" lines
    assert "Severity:" not in res.stdout and "Remediation:" not in res.stdout


def test_rule_markdown_lists_parameters_in_the_table() -> None:
    md = run_cli("rules", "aws-access-key-too-old", "--format", "markdown").stdout
    html = MarkdownIt("commonmark").enable("table").render(md)
    assert "<td><strong>Parameters</strong></td>\n<td><code>max_age_days</code> = <code>90</code>" in html
