"""timeparse: every date form the tools write reads as the same instant; the rest is UnreadableTime."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from nhiscan.sources.timeparse import UnreadableTime, parse_time, read_time

INSTANT = datetime(2019, 12, 18, 19, 10, 8, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "value",
    [
        "2019-12-18T19:10:08Z",
        "2019-12-18T19:10:08z",
        "2019-12-18 19:10:08+00:00",
        "2019-12-18T20:10:08+01:00",
        "2019-12-18T20:10:08+0100",
        "2019-12-18T14:10:08-05",
        "2019-12-18T19:10:08.000000000Z",
        "2019-12-18T19:10:08,0Z",
        "2019-12-18T19:10:08",
        "2019-12-18 19:10:08 UTC",
        " 2019-12-18T19:10:08Z ",
        1576696208,
        1576696208.0,
        1576696208000,
        "1576696208",
        "1576696208000",
        "1576696208.000",
        "/Date(1576696208000)/",
        "/Date(1576696208000+0100)/",
        datetime(2019, 12, 18, 19, 10, 8),
    ],
)
def test_every_form_reads_as_the_same_instant(value: object) -> None:
    assert read_time(value) == INSTANT


def test_nanoseconds_are_cut_to_microseconds() -> None:
    assert read_time("2019-12-18T19:10:08.123456789Z") == INSTANT.replace(microsecond=123456)


@pytest.mark.parametrize("value", [None, "", "N/A", "n/a", "no_information", "not_supported", "null", "-"])
def test_no_value_markers_are_none(value: object) -> None:
    assert read_time(value) is None


def test_magnitude_tells_seconds_from_milliseconds() -> None:
    assert read_time(99_999_999_999) == datetime(5138, 11, 16, 9, 46, 39, tzinfo=timezone.utc)
    assert read_time(100_000_000_000) == datetime(1973, 3, 3, 9, 46, 40, tzinfo=timezone.utc)
    assert read_time(253402300799000) == datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "value",
    [
        "last Tuesday",
        "2019-02-30T00:00:00Z",
        "2019-12-18T25:00:00Z",
        "2019-12-18T19:10:08+25:00",
        True,
        float("nan"),
        float("inf"),
        10**20,
        "12/18/2019",
        {"Value": "x"},
        [1],
    ],
)
def test_unreadable_values_raise_and_parse_time_gives_none(value: object) -> None:
    with pytest.raises(UnreadableTime) as info:
        read_time(value)
    assert str(value) not in str(info.value) or isinstance(value, bool)  # never quotes the value
    assert parse_time(value) is None
