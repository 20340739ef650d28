"""citewire.dates: lenient parsing of what inputs carry, strict parsing of what users type."""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from citewire.dates import parse_date, parse_user_date
from citewire.errors import ConfigError

JUNE_17 = datetime(2022, 6, 17, tzinfo=UTC)
AT_0745 = datetime(2022, 6, 17, 7, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected", "precision"),
    [
        # ISO 8601, with and without zones; the zone is converted, the instant kept.
        ("2022-06-17", JUNE_17, "day"),
        ("2022-06-17T09:45:00+02:00", AT_0745, "second"),
        ("2022-06-17T07:45:00Z", AT_0745, "second"),
        ("2022-06-17T07:45:00.123Z", AT_0745.replace(microsecond=123000), "second"),
        ("2022-06-17 07:45", AT_0745, "second"),  # naive: taken as UTC
        # RFC 2822, as RSS pubDate has it, including the obsolete US zone names.
        ("Fri, 17 Jun 2022 09:45:00 +0200", AT_0745, "second"),
        ("Fri, 17 Jun 2022 07:45:00 GMT", AT_0745, "second"),
        ("Fri, 17 Jun 2022 03:45:00 EDT", AT_0745, "second"),
        ("17 Jun 2022 07:45:00 -0000", AT_0745, "second"),
        # What exports and bylines write.
        ("2022/06/17", JUNE_17, "day"),
        ("June 17, 2022", JUNE_17, "day"),
        ("17 June 2022", JUNE_17, "day"),
        ("Friday, June 17, 2022", JUNE_17, "day"),
        ("June 17, 2022 3:45 AM EDT", AT_0745, "second"),
        ("June 17, 2022 at 9:45 CEST", AT_0745, "second"),
        ("20220617", JUNE_17, "day"),
        ("20220617074500", AT_0745, "second"),
        ("  2022-06-17  ", JUNE_17, "day"),
        (b"2022-06-17", JUNE_17, "day"),
        # Numbers: epoch seconds, epoch milliseconds, YYYYMMDD.
        (1655451900, AT_0745, "second"),
        (1655451900.0, AT_0745, "second"),
        (1655451900000, AT_0745, "second"),
        ("1655451900", AT_0745, "second"),
        (20220617, JUNE_17, "day"),
        # Python objects, including feedparser's UTC struct_time.
        (time.struct_time((2022, 6, 17, 7, 45, 0, 4, 168, 0)), AT_0745, "second"),
        (datetime(2022, 6, 17, 7, 45), AT_0745, "second"),
        (datetime(2022, 6, 17, 9, 45, tzinfo=timezone(timedelta(hours=2))), AT_0745, "second"),
        (date(2022, 6, 17), JUNE_17, "day"),
    ],
)
def test_parse_date(value: object, expected: datetime, precision: str) -> None:
    parsed, got_precision = parse_date(value)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None
    assert parsed.utcoffset() == timedelta(0)
    assert got_precision == precision


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "garbage",
        "not a date at all",
        "Friday",
        "June 2022",  # partial: turning it into June 1 would invent a day
        "2022",
        2022,
        0,
        True,
        "2022-13-45",
        "31/02/2022",
        "1850-01-01",  # implausible: before 1900
        "2999-01-01",  # implausible: in the future
        (datetime.now(UTC) + timedelta(days=3)).isoformat(),
        float("nan"),
        float("inf"),
        1e300,
        -1e20,
        "9" * 40,
        "x" * 10_000,
        [2022, 6, 17],
        {"date": "2022-06-17"},
        object(),
    ],
)
def test_unusable_values_are_no_date(value: object) -> None:
    assert parse_date(value) == (None, None)


def test_tomorrow_is_still_plausible() -> None:
    # Clock skew and time zones: an article stamped a few hours ahead of us is real.
    soon = (datetime.now(UTC) + timedelta(hours=12)).replace(microsecond=0)
    assert parse_date(soon.isoformat()) == (soon, "second")


def test_unknown_zone_name_does_not_warn() -> None:
    # pytest turns warnings into errors here; dateutil would warn about "XYZ".
    parsed, precision = parse_date("June 17, 2022 07:45 XYZ")
    assert parsed == AT_0745 and precision == "second"


@pytest.mark.parametrize(
    ("text", "end_of_day", "expected"),
    [
        ("2022-06-17", False, JUNE_17),
        ("2022-06-17", True, datetime(2022, 6, 17, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2022-06", False, datetime(2022, 6, 1, tzinfo=UTC)),
        ("2022-06", True, datetime(2022, 6, 30, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2024-02", True, datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2022", False, datetime(2022, 1, 1, tzinfo=UTC)),
        ("2022", True, datetime(2022, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2022-06-17T09:45:00+02:00", True, AT_0745),  # a time is kept as given
        ("2022-06-17T07:45Z", False, AT_0745),
        ("2022-06-17 07:45", False, AT_0745),
        (" 2022-06-17 ", False, JUNE_17),
        ("June 17, 2022", True, datetime(2022, 6, 17, 23, 59, 59, 999999, tzinfo=UTC)),
    ],
)
def test_parse_user_date(text: str, end_of_day: bool, expected: datetime) -> None:
    assert parse_user_date(text, end_of_day=end_of_day) == expected


@pytest.mark.parametrize("text", ["", "yesterday-ish", "2022-13", "2022-02-30", "17/06/20222"])
def test_parse_user_date_rejects_garbage_with_a_hint(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_user_date(text)
    assert "YYYY-MM-DD" in info.value.one_line()
    assert repr(text) in str(info.value)


def test_parse_date_never_raises_on_date_like_noise() -> None:
    rng = random.Random(11)
    alphabet = "0123456789 -/:.,+TZtzAPMapmJunJanFriSat()EDTGMTUTC年月日\u00a0"
    for _ in range(3000):
        noise = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        parsed, precision = parse_date(noise)
        assert (parsed is None) == (precision is None)
        if parsed is not None:
            assert parsed.utcoffset() == timedelta(0)
