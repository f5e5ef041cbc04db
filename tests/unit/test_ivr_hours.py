from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.ivr.hours import (
    END_OF_DAY,
    Schedule,
    ScheduleError,
    closed_reason,
    hours_on,
    is_open,
    next_opening,
    parse_schedule,
)

LONDON = ZoneInfo("Europe/London")
SHANGHAI = ZoneInfo("Asia/Shanghai")

LONDON_DATA: dict[str, object] = {
    "timezone": "Europe/London",
    "weekly": {
        "mon": "09:00-18:00",
        "tue": "09:00-12:00, 13:00-18:00",
        "sat": "10:00-14:00",
        "sun": "closed",
    },
    "holidays": ["2026-12-25", {"date": "2026-12-26", "name": "Boxing Day"}],
    "special": {"2026-12-24": "09:00-13:00"},
}


@pytest.fixture(scope="module")
def london() -> Schedule:
    return parse_schedule(LONDON_DATA)


def at(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def test_parse_schedule(london: Schedule) -> None:
    assert london.timezone == "Europe/London"
    assert london.weekly[0] == ((time(9), time(18)),)
    assert london.weekly[1] == ((time(9), time(12)), (time(13), time(18)))
    assert london.weekly[5] == ((time(10), time(14)),)
    assert london.weekly.get(6, ()) == ()
    assert 2 not in london.weekly  # days missing from weekly are closed
    assert london.holidays == {date(2026, 12, 25): "", date(2026, 12, 26): "Boxing Day"}
    assert london.special == {date(2026, 12, 24): ((time(9), time(13)),)}


def test_day_ranges_and_overrides() -> None:
    s = parse_schedule(
        {
            "timezone": "UTC",
            "weekly": {"mon-fri": "09:00-17:00", "wed": "09:00-12:00", "fri-sun": "10:00-11:00"},
        }
    )
    assert s.weekly[0] == s.weekly[1] == s.weekly[3] == ((time(9), time(17)),)
    assert s.weekly[2] == ((time(9), time(12)),)  # a later entry overrides the range
    assert s.weekly[4] == s.weekly[5] == s.weekly[6] == ((time(10), time(11)),)


def test_accepts_yaml_shapes() -> None:
    s = parse_schedule(
        {
            "timezone": "Asia/Shanghai",
            "weekly": {"Monday": ["09:00-12:00", "13:00 - 18:00"], "sat, sun": None, "tue": False},
            "holidays": {date(2026, 10, 1): "National Day", "2026-10-02": None},  # YAML reads dates
            "special": {date(2026, 9, 27): "09:00-24:00"},
        }
    )
    assert s.weekly[0] == ((time(9), time(12)), (time(13), time(18)))
    assert s.weekly[5] == s.weekly[6] == s.weekly[1] == ()
    assert s.holidays == {date(2026, 10, 1): "National Day", date(2026, 10, 2): ""}
    assert s.special[date(2026, 9, 27)] == ((time(9), END_OF_DAY),)


def test_monday_morning_open(london: Schedule) -> None:
    now = at(LONDON, 2026, 1, 5, 10, 0)  # a Monday
    assert is_open(london, now)
    assert closed_reason(london, now) == ""
    assert next_opening(london, now) == now


def test_saturday_afternoon_closed(london: Schedule) -> None:
    now = at(LONDON, 2026, 1, 10, 15, 0)
    assert not is_open(london, now)
    assert closed_reason(london, now) == "after closing"
    assert next_opening(london, now) == at(LONDON, 2026, 1, 12, 9, 0)  # Sunday closed, Monday 09:00


def test_before_opening_and_lunch_break(london: Schedule) -> None:
    assert closed_reason(london, at(LONDON, 2026, 1, 5, 8, 59)) == "before opening"
    lunch = at(LONDON, 2026, 1, 6, 12, 30)
    assert not is_open(london, lunch)
    assert closed_reason(london, lunch) == "before opening"
    assert next_opening(london, lunch) == at(LONDON, 2026, 1, 6, 13, 0)


def test_range_end_is_exclusive(london: Schedule) -> None:
    assert is_open(london, at(LONDON, 2026, 1, 5, 17, 59))
    assert not is_open(london, at(LONDON, 2026, 1, 5, 18, 0))
    assert is_open(london, at(LONDON, 2026, 1, 5, 9, 0))


def test_day_not_in_weekly_is_closed(london: Schedule) -> None:
    now = at(LONDON, 2026, 1, 7, 10, 0)  # Wednesday
    assert not is_open(london, now)
    assert closed_reason(london, now) == "closed today"
    assert closed_reason(london, at(LONDON, 2026, 1, 11, 10, 0)) == "closed today"  # Sunday: "closed"


def test_christmas_is_a_holiday(london: Schedule) -> None:
    christmas = at(LONDON, 2026, 12, 25, 11, 0)
    assert not is_open(london, christmas)
    assert closed_reason(london, christmas) == "holiday"
    boxing_day = at(LONDON, 2026, 12, 26, 11, 0)  # a Saturday, normally open at 11:00
    assert not is_open(london, boxing_day)
    assert closed_reason(london, boxing_day) == "holiday: Boxing Day"
    assert next_opening(london, christmas) == at(LONDON, 2026, 12, 28, 9, 0)


def test_special_date_overrides_weekly(london: Schedule) -> None:
    eve = date(2026, 12, 24)  # a Thursday: closed by the weekly hours
    assert hours_on(london, eve) == ((time(9), time(13)),)
    assert is_open(london, at(LONDON, 2026, 12, 24, 12, 0))
    assert closed_reason(london, at(LONDON, 2026, 12, 24, 14, 0)) == "after closing"
    closed = parse_schedule(
        {"timezone": "Europe/London", "weekly": {"mon": "09:00-18:00"}, "special": {"2026-01-05": "closed"}}
    )
    assert not is_open(closed, at(LONDON, 2026, 1, 5, 10, 0))
    assert closed_reason(closed, at(LONDON, 2026, 1, 5, 10, 0)) == "closed today"


def test_dst_spring_forward_day() -> None:
    # 2026-03-29: London clocks go from 01:00 GMT to 02:00 BST
    s = parse_schedule({"timezone": "Europe/London", "weekly": {"sun": "09:00-17:00"}})
    assert is_open(s, datetime(2026, 3, 29, 8, 30, tzinfo=UTC))  # 09:30 BST
    assert not is_open(s, datetime(2026, 3, 29, 16, 30, tzinfo=UTC))  # 17:30 BST
    opening = next_opening(s, datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert opening == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    assert opening is not None and opening.utcoffset() == timedelta(hours=1)
    assert (opening.hour, opening.minute) == (9, 0)


def test_dst_opening_time_skipped_by_the_clocks() -> None:
    s = parse_schedule({"timezone": "Europe/London", "weekly": {"sun": "01:30-03:00"}})
    opening = next_opening(s, datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert opening == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 02:00 BST, the first instant past 01:30
    assert opening is not None and is_open(s, opening)
    assert not is_open(s, opening.astimezone(UTC) - timedelta(seconds=1))  # 00:59:59 GMT


def test_dst_fall_back_day() -> None:
    # 2026-10-25: London clocks go from 02:00 BST back to 01:00 GMT, so 01:00-02:00 happens twice
    s = parse_schedule({"timezone": "Europe/London", "weekly": {"sun": "01:30-01:45, 09:00-17:00"}})
    # (ambiguous local times never compare equal across zones, so compare in UTC)
    first = next_opening(s, datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    assert first is not None
    assert first.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    second = next_opening(s, datetime(2026, 10, 25, 0, 50, tzinfo=UTC))  # 01:50 BST, between the two
    assert second is not None
    assert second.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 01:30 GMT
    assert (second.hour, second.minute, second.fold) == (1, 30, 1)
    assert is_open(s, datetime(2026, 10, 25, 9, 30, tzinfo=UTC))  # 09:30 GMT
    assert not is_open(s, datetime(2026, 10, 25, 17, 30, tzinfo=UTC))  # 17:30 GMT


def test_utc_now_converted_to_shanghai() -> None:
    s = parse_schedule({"timezone": "Asia/Shanghai", "weekly": {"mon-fri": "09:00-18:00"}})
    monday_morning = datetime(2026, 1, 5, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    assert is_open(s, monday_morning)
    sunday_night = datetime(2026, 1, 4, 23, 0, tzinfo=UTC)  # Monday 07:00 in Shanghai
    assert not is_open(s, sunday_night)
    assert closed_reason(s, sunday_night) == "before opening"
    opening = next_opening(s, sunday_night)
    assert opening == at(SHANGHAI, 2026, 1, 5, 9, 0)
    assert opening is not None and opening.tzinfo == SHANGHAI
    assert not is_open(s, datetime(2026, 1, 5, 10, 0, tzinfo=UTC))  # 18:00 in Shanghai


def test_open_until_midnight() -> None:
    s = parse_schedule({"timezone": "UTC", "weekly": {"mon": "20:00-24:00", "tue": "00:00-02:00"}})
    assert is_open(s, datetime(2026, 1, 5, 23, 59, 59, tzinfo=UTC))
    assert is_open(s, datetime(2026, 1, 6, 0, 0, tzinfo=UTC))
    assert not is_open(s, datetime(2026, 1, 6, 2, 0, tzinfo=UTC))


def test_next_opening_looks_fourteen_days_ahead() -> None:
    s = parse_schedule(
        {"timezone": "UTC", "weekly": {"mon": "09:00-10:00"}, "holidays": ["2026-01-12", "2026-01-19"]}
    )
    assert next_opening(s, datetime(2026, 1, 5, 11, 0, tzinfo=UTC)) is None  # next is the 26th
    assert next_opening(s, datetime(2026, 1, 12, 11, 0, tzinfo=UTC)) == datetime(
        2026, 1, 26, 9, 0, tzinfo=UTC
    )
    assert next_opening(parse_schedule({"timezone": "UTC"}), datetime(2026, 1, 5, tzinfo=UTC)) is None


def test_naive_now_is_rejected(london: Schedule) -> None:
    with pytest.raises(ValueError, match="aware"):
        is_open(london, datetime(2026, 1, 5, 10, 0))


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "unknown time zone"),
        ({"timezone": "../etc/passwd"}, "timezone", "unknown time zone"),
        ({"weekly": {}}, "timezone", "missing"),
        ({"timezone": 5}, "timezone", "time zone"),
        ({"timezone": "UTC", "weekly": {"tue": "18:00-09:00"}}, "weekly.tue", "end must be after"),
        ({"timezone": "UTC", "weekly": {"tue": "09:00-09:00"}}, "weekly.tue", "end must be after"),
        ({"timezone": "UTC", "weekly": {"tue": "9am-5pm"}}, "weekly.tue", "bad time"),
        ({"timezone": "UTC", "weekly": {"tue": "09:00-25:00"}}, "weekly.tue", "bad time"),
        ({"timezone": "UTC", "weekly": {"tue": "24:00-24:00"}}, "weekly.tue", "bad time"),
        ({"timezone": "UTC", "weekly": {"tue": "09:00"}}, "weekly.tue", "bad time range"),
        ({"timezone": "UTC", "weekly": {"tue": "09:00-12:00, 11:00-13:00"}}, "weekly.tue", "overlap"),
        ({"timezone": "UTC", "weekly": {"tue": 9}}, "weekly.tue", "expected opening times"),
        ({"timezone": "UTC", "weekly": {"tuesdai": "09:00-12:00"}}, "weekly.tuesdai", "bad day name"),
        ({"timezone": "UTC", "weekly": {"mon-fri-sat": "09:00-12:00"}}, "weekly.mon-fri-sat", "bad day name"),
        ({"timezone": "UTC", "weekly": ["mon"]}, "weekly", "mapping"),
        ({"timezone": "UTC", "holidays": ["2026-12-25", "2026-13-01"]}, "holidays[1]", "bad date"),
        ({"timezone": "UTC", "holidays": ["25/12/2026"]}, "holidays[0]", "bad date"),
        ({"timezone": "UTC", "holidays": [{"name": "Xmas"}]}, "holidays[0]", "missing 'date'"),
        (
            {"timezone": "UTC", "holidays": [{"date": "2026-12-25", "nmae": "X"}]},
            "holidays[0].nmae",
            "unknown key",
        ),
        ({"timezone": "UTC", "holidays": "2026-12-25"}, "holidays", "list"),
        ({"timezone": "UTC", "special": {"2026-02-30": "09:00-12:00"}}, "special.2026-02-30", "bad date"),
        (
            {"timezone": "UTC", "special": {"2026-12-24": "13:00-09:00"}},
            "special.2026-12-24",
            "end must be after",
        ),
        (
            {"timezone": "UTC", "holidays": ["2026-12-25"], "special": {"2026-12-25": "09:00-12:00"}},
            "special.2026-12-25",
            "also a holiday",
        ),
        ({"timezone": "UTC", "holiday": []}, "holiday", "unknown key"),
        (["timezone"], "", "mapping"),
    ],
)
def test_errors_carry_key(data: object, key: str, words: str) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_schedule(data)
    assert info.value.key == key
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)
