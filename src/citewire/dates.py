"""Dates in, timezone-aware UTC datetimes out.

Two entry points with different tempers:

- ``parse_date`` reads whatever an input happened to carry (ISO 8601 strings, RFC 2822 feed dates,
  "2022/06/17", "June 17, 2022", epoch numbers, feedparser's ``struct_time``, ``datetime``/``date``)
  and never raises: an unusable value is simply no date, because ingest must carry on and a missing
  date is recorded as missing rather than guessed.
- ``parse_user_date`` reads what a person typed for ``--since``/``--until``/``--as-of`` and raises
  ``ConfigError`` with a hint, because a typo there should stop the command, not silently widen it.

Precision is "second" when the input named a time of day and "day" when it gave a date only
(stored as midnight UTC). Partial dates such as "June 2022" are rejected by ``parse_date``:
turning them into "June 1" would invent a day the source never stated.
"""

from __future__ import annotations

import calendar
import email.utils
import re
import time
import warnings
from datetime import UTC, date, datetime, timedelta

from dateutil import parser as dateutil_parser
from dateutil import tz as dateutil_tz

from citewire.errors import ConfigError

__all__ = ["parse_date", "parse_user_date"]

# Dates before this are a parsing accident or a placeholder (epoch 0, "0001-01-01").
MIN_YEAR = 1900
# Past "now" plus a day (clock skew, time zones) is a typo or a placeholder like 2099-12-31.
FUTURE_SLACK = timedelta(days=1)
# dateutil is slow and permissive on long strings; no real date string is this long.
MAX_DATE_STRING = 80

# Two defaults that differ in every field: a field that comes out equal under both was in the input.
_DEFAULT_A = datetime(1901, 1, 1, 0, 0, 0)
_DEFAULT_B = datetime(1902, 2, 2, 1, 1, 1)

# US zone abbreviations are common in feeds and bylines; dateutil does not know them by default and
# would warn and drop the zone. Fixed offsets, so "EST" in July is still UTC-5 as written.
_TZINFOS: dict[str, int] = {
    # Listed so that dateutil does not map them to the machine's local zone (see _as_utc).
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "EST": -5 * 3600,
    "EDT": -4 * 3600,
    "CST": -6 * 3600,
    "CDT": -5 * 3600,
    "MST": -7 * 3600,
    "MDT": -6 * 3600,
    "PST": -8 * 3600,
    "PDT": -7 * 3600,
    "BST": 1 * 3600,
    "CET": 1 * 3600,
    "CEST": 2 * 3600,
    "IST": 5 * 3600 + 1800,
    "JST": 9 * 3600,
    "AEST": 10 * 3600,
    "AEDT": 11 * 3600,
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DIGITS = re.compile(r"[+-]?\d+(?:\.\d+)?")
_RFC2822_HINT = re.compile(r"^\s*(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d")
_DATE_ONLY_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Parsed = tuple[datetime | None, str | None]
_NOTHING: Parsed = (None, None)


def parse_date(value: object) -> tuple[datetime | None, str | None]:
    """Return ``(datetime in UTC, precision)`` or ``(None, None)``; never raises."""
    try:
        parsed, precision = _parse_any(value)
    except (ValueError, OverflowError, TypeError, ArithmeticError):
        # Out-of-range components (month 13, year 10000, huge epoch) surface as any of these.
        return _NOTHING
    if parsed is None or not _plausible(parsed):
        return _NOTHING
    return parsed, precision


def parse_user_date(text: str, end_of_day: bool = False) -> datetime:
    """Parse a CLI date bound: "2022-06-17", "2022-06", "2022" or an ISO 8601 datetime.

    A date-only value means the start of that day/month/year, or with ``end_of_day=True`` (for
    ``--until``) its last instant, so that ``--until 2022-06`` includes the whole of June.
    """
    value = text.strip()
    hint = "use YYYY, YYYY-MM, YYYY-MM-DD or an ISO 8601 datetime such as 2022-06-17T14:30:00Z"
    match = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", value)
    if match:
        year = int(match[1])
        month = int(match[2]) if match[2] else None
        day = int(match[3]) if match[3] else None
        try:
            return _calendar_bound(year, month, day, end_of_day)
        except ValueError as err:
            raise ConfigError(f"not a valid date: {text!r} ({err})", hint=hint) from err
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        # Also take the full dates parse_date understands ("2022/06/17", "June 17, 2022").
        parsed_any, precision = parse_date(value) if value else _NOTHING
        if parsed_any is None:
            raise ConfigError(f"not a date: {text!r}", hint=hint) from None
        if precision == "day" and end_of_day:
            return parsed_any + timedelta(days=1, microseconds=-1)
        return parsed_any
    return _as_utc(parsed)


def _calendar_bound(year: int, month: int | None, day: int | None, end: bool) -> datetime:
    if month is None:
        first, last_month, last_day = date(year, 1, 1), 12, 31
    elif day is None:
        first = date(year, month, 1)
        last_month, last_day = month, calendar.monthrange(year, month)[1]
    else:
        first = date(year, month, day)
        last_month, last_day = month, day
    if not end:
        return datetime(first.year, first.month, first.day, tzinfo=UTC)
    return datetime(year, last_month, last_day, 23, 59, 59, 999999, tzinfo=UTC)


def _parse_any(value: object) -> Parsed:
    # bool is an int subclass; True is not 1970-01-01T00:00:01.
    if value is None or isinstance(value, bool):
        return _NOTHING
    if isinstance(value, datetime):
        return _as_utc(value), "second"
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC), "day"
    if isinstance(value, time.struct_time):
        # feedparser normalises every entry date to a UTC struct_time; it cannot tell a date-only
        # value from midnight, so callers that have the raw string should parse that instead.
        return datetime(*value[:6], tzinfo=UTC), "second"
    if isinstance(value, int | float):
        return _parse_number(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return _parse_string(value)
    return _NOTHING


def _parse_number(number: float) -> Parsed:
    if number != number or number in (float("inf"), float("-inf")):
        return _NOTHING
    # Below a million seconds (12 days after 1970) a number is a year, a count or a placeholder.
    if abs(number) < 1e6:
        return _NOTHING
    if isinstance(number, int) or number.is_integer():
        compact = _parse_compact_digits(str(int(number)))
        if compact[0] is not None:
            return compact
    # Epoch milliseconds (JavaScript exports) are 13 digits today; 1e11 seconds is the year 5138,
    # so anything larger must be milliseconds.
    seconds = number / 1000 if abs(number) >= 1e11 else number
    # Arithmetic, not fromtimestamp(): that one's range and errors depend on the platform.
    return _EPOCH + timedelta(seconds=seconds), "second"


def _parse_compact_digits(digits: str) -> Parsed:
    # YYYYMMDD and YYYYMMDDHHMMSS (GDELT-style) integers. As epoch seconds they would fall in
    # 1970-1971 or far in the future, so reading them as calendar dates loses nothing real.
    if len(digits) == 8:
        return datetime.strptime(digits, "%Y%m%d").replace(tzinfo=UTC), "day"
    if len(digits) == 14:
        return datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC), "second"
    return _NOTHING


def _parse_string(raw: str) -> Parsed:
    text = raw.strip()
    if not text or len(text) > MAX_DATE_STRING:
        return _NOTHING
    if _DIGITS.fullmatch(text):
        if len(text) in (8, 14) and text.isdigit():
            return _parse_compact_digits(text)
        # A 4-digit year alone is a partial date, not epoch second 2022.
        if len(text.lstrip("+-").split(".")[0]) <= 6:
            return _NOTHING
        return _parse_number(float(text))
    if _DATE_ONLY_ISO.match(text):
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC), "day"
    try:
        # Python 3.11 reads nearly all of ISO 8601, including a trailing "Z".
        return _as_utc(datetime.fromisoformat(text)), "second"
    except ValueError:
        pass
    if _RFC2822_HINT.match(text):
        try:
            # The stdlib knows RFC 2822's obsolete zone names (EST, PDT, GMT) and "-0000".
            return _as_utc(email.utils.parsedate_to_datetime(text)), "second"
        except (ValueError, TypeError):
            pass  # looked like RFC 2822 but was not; let dateutil try
    return _parse_lenient(text)


def _parse_lenient(text: str) -> Parsed:
    with warnings.catch_warnings():
        # An unknown zone name makes dateutil warn and return a naive time, which we take as UTC.
        warnings.simplefilter("ignore", dateutil_parser.UnknownTimezoneWarning)
        first = dateutil_parser.parse(text, default=_DEFAULT_A, tzinfos=_TZINFOS)
        second = dateutil_parser.parse(text, default=_DEFAULT_B, tzinfos=_TZINFOS)
    if (first.year, first.month, first.day) != (second.year, second.month, second.day):
        return _NOTHING  # year, month or day was not in the text
    if first.hour != second.hour:
        return datetime(first.year, first.month, first.day, tzinfo=UTC), "day"
    # Minutes and seconds may be absent ("10am", "10:30"): zero, not whatever the default held.
    minute = first.minute if first.minute == second.minute else 0
    second_of_minute = first.second if first.second == second.second else 0
    return _as_utc(first.replace(minute=minute, second=second_of_minute, microsecond=0)), "second"


def _as_utc(value: datetime) -> datetime:
    # A naive datetime carries no zone at all; we take it as UTC rather than the machine's local
    # zone so that the same input gives the same stored date on every machine.
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        return value.replace(tzinfo=UTC)
    if isinstance(value.tzinfo, dateutil_tz.tzlocal):
        # dateutil maps a zone name it does not know to the local zone when the machine happens
        # to use that name; results must not depend on the machine, so treat it as unknown.
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _plausible(value: datetime) -> bool:
    return value.year >= MIN_YEAR and value <= datetime.now(UTC) + FUTURE_SLACK
