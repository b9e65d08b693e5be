"""nhiscan.display.printable: the one place data-derived text is made safe to show."""

from __future__ import annotations

import unicodedata

import pytest

from nhiscan.display import printable, printable_lines


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("ci-deploy", "ci-deploy"),
        ("café 東京 🚀", "café 東京 🚀"),  # printable text of any script stays as it is
        ("a\x1b[2Jb", "a\\x1b[2Jb"),  # CSI
        (
            "\x1b]8;;https://x.example\x07l\x1b]8;;\x07",
            "\\x1b]8;;https://x.example\\x07l\\x1b]8;;\\x07",
        ),  # OSC 8
        ("\x9b31m\x85\x7f", "\\x9b31m\\x85\\x7f"),  # C1 CSI, NEL, DEL
        (
            "a\u202eb\u2066c\u2069\u200bd\ufeff",
            "a\\u202eb\\u2066c\\u2069\\u200bd\\ufeff",
        ),  # bidi, zero-width, BOM
        ("x\u2028y\u00a0z", "x\\u2028y\\xa0z"),  # line separator, no-break space
        ("tag\U000e0041", "tag\\U000e0041"),  # invisible tag character
        ("new\nline\tand\rcr", "new\\nline\\tand\\rcr"),
        ("bad\udcffname", "bad\\xffname"),  # a file name that is not UTF-8
        ("lone\ud800", "lone\\ud800"),
    ],
)
def test_printable_escapes_what_a_terminal_would_act_on_or_hide(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    printable(raw).encode("utf-8")  # always encodable
    assert all(unicodedata.category(c) not in {"Cc", "Cf", "Cs", "Zl", "Zp"} for c in printable(raw))


def test_printable_lines_keeps_line_breaks_only() -> None:
    assert printable_lines("why:\nit \x1b[1mmatters\u202e") == "why:\nit \\x1b[1mmatters\\u202e"


def test_printable_is_linear() -> None:
    assert len(printable("\x1b" * 200_000)) == 4 * 200_000


def test_live_collector_warnings_and_progress_show_names_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    from nhiscan.sources.feedback import Feedback

    Feedback(False).warn("acct\x1b[2J", "role \u202egnp.exe unreadable")
    assert capsys.readouterr().err == "nhiscan: warning: acct\\x1b[2J: role \\u202egnp.exe unreadable\n"

    fb = Feedback(True)
    task = fb.task("project [link=https://evil.example]x[/link] \x1b]0;title\x07", total=2)
    progress = fb._progress
    (state,) = progress.tasks
    assert (
        task is not None
        and state.description == "project [link=https://evil.example]x[/link] \\x1b]0;title\\x07"
    )
    shown = progress.columns[1].render(state)  # the description column: markup is not read
    assert shown.plain == state.description and not shown.spans
