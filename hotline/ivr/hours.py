"""Business hours: weekly opening times, holidays and special dates in one time zone.

Opening times are wall-clock times in the schedule's zone. The current time is always passed in
(an aware datetime), and local times are built through zoneinfo so that days on which the clocks
change are handled: an opening time that the clocks skip takes effect when they jump past it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotline.system.errors import HotlineError

Ranges = tuple[tuple[time, time], ...]

END_OF_DAY = time.max
"""How "24:00" is stored as the end of a range: open until midnight."""

LOOKAHEAD = timedelta(days=14)

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {
    **{d: i for i, d in enumerate(_DAYS)},
    **{d: i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))},
    "tues": 1, "weds": 2, "thur": 3, "thurs": 3,
}  # fmt: skip
_CLOSED_WORDS = frozenset({"", "closed", "none", "off"})
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_RANGE = re.compile(r"\s*(\S+?)\s*[-\u2013]\s*(\S+)\s*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TOP_KEYS = ("timezone", "weekly", "holidays", "special")


class ScheduleError(HotlineError, ValueError):
    """A schedule that cannot be used; `key` is the dotted path of the bad entry ("weekly.tue")."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key
        self.message = message


@dataclass(frozen=True)
class Schedule:
    """Opening hours. weekly maps 0=Monday..6=Sunday to ranges; days not in it are closed.

    holidays maps a date to its name ("" when unnamed) and closes that date; special maps a date
    to ranges that replace the weekly ones (an empty tuple closes it). A range's end of
    END_OF_DAY means "24:00".
    """

    timezone: str
    weekly: dict[int, Ranges] = field(default_factory=dict)
    holidays: dict[date, str] = field(default_factory=dict)
    special: dict[date, Ranges] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        """The schedule's time zone as a ZoneInfo."""
        return ZoneInfo(self.timezone)


# --- parsing -------------------------------------------------------------------------------


def _zone(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ScheduleError("timezone", f"expected a time zone name such as 'Europe/London', got {name!r}")
    try:
        ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError("timezone", f"unknown time zone {name!r}") from None
    return name.strip()


def _time(text: str, key: str, *, end: bool) -> time:
    m = _TIME.fullmatch(text)
    if m is None:
        raise ScheduleError(key, f"bad time {text!r}: expected HH:MM")
    hour, minute = int(m.group(1)), int(m.group(2))
    if end and (hour, minute) == (24, 0):
        return END_OF_DAY
    if hour > 23 or minute > 59:
        raise ScheduleError(key, f"bad time {text!r}: hours run 00-23 (24:00 only as an end), minutes 00-59")
    return time(hour, minute)


# "09:00-12:00, 13:00-18:00" (or a list of such strings; "closed", "" or None = closed).
def _ranges(value: object, key: str) -> Ranges:
    if value is None or value is False:
        return ()
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, list | tuple) and all(isinstance(p, str) for p in value):
        parts = [str(p) for p in value]
    else:
        raise ScheduleError(key, f"expected opening times such as '09:00-18:00' or 'closed', got {value!r}")
    if len(parts) == 1 and parts[0].strip().lower() in _CLOSED_WORDS:
        return ()
    out: list[tuple[time, time]] = []
    for part in parts:
        m = _RANGE.fullmatch(part)
        if m is None:
            raise ScheduleError(key, f"bad time range {part.strip()!r}: expected HH:MM-HH:MM")
        start, stop = _time(m.group(1), key, end=False), _time(m.group(2), key, end=True)
        if stop <= start:
            raise ScheduleError(key, f"bad time range {part.strip()!r}: the end must be after the start")
        out.append((start, stop))
    out.sort()
    for (_, prev_end), (start, _) in zip(out, out[1:], strict=False):
        if start < prev_end:
            raise ScheduleError(key, f"time ranges overlap in {value!r}")
    return tuple(out)


# "mon", "monday", "mon-fri" (wrapping: "fri-mon"), or a comma list "sat, sun".
def _days(spec: object, key: str) -> list[int]:
    if not isinstance(spec, str):
        raise ScheduleError(key, f"bad day name {spec!r}")
    days: list[int] = []
    for part in spec.lower().split(","):
        ends = [e.strip() for e in part.split("-")]
        if len(ends) > 2 or any(e not in _DAY_NAMES for e in ends):
            raise ScheduleError(
                key, f"bad day name {part.strip()!r}: use mon..sun or a range such as mon-fri"
            )
        first, last = _DAY_NAMES[ends[0]], _DAY_NAMES[ends[-1]]
        days += [(first + i) % 7 for i in range((last - first) % 7 + 1)]
    return days


def _date(value: object, key: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # YAML reads an unquoted 2026-12-25 as a date
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ScheduleError(key, f"bad date {value!r}: expected YYYY-MM-DD")


def _mapping(value: object, key: str) -> Mapping[object, object]:
    if not isinstance(value, Mapping):
        raise ScheduleError(key, f"expected a mapping, got {type(value).__name__}")
    return value


def _holidays(value: object) -> dict[date, str]:
    if value is None:
        return {}
    out: dict[date, str] = {}
    if isinstance(value, Mapping):  # {"2026-12-25": "Christmas Day"}
        for raw, name in value.items():
            key = f"holidays.{raw}"
            out[_date(raw, key)] = "" if name is None else str(name)
        return out
    if not isinstance(value, list):
        raise ScheduleError("holidays", "expected a list of dates (or of {date, name} mappings)")
    for i, item in enumerate(value):
        key = f"holidays[{i}]"
        if isinstance(item, Mapping):
            unknown = sorted(str(k) for k in item if k not in ("date", "name"))
            if unknown:
                raise ScheduleError(f"{key}.{unknown[0]}", "unknown key; a holiday has 'date' and 'name'")
            if "date" not in item:
                raise ScheduleError(key, "missing 'date'")
            name = item.get("name")
            out[_date(item["date"], key)] = "" if name is None else str(name)
        else:
            out[_date(item, key)] = ""
    return out


def parse_schedule(data: object) -> Schedule:
    """A Schedule from YAML-style data; raises ScheduleError naming the bad key.

    Example: {"timezone": "Europe/London", "weekly": {"mon-fri": "09:00-18:00", "sat": "10:00-14:00"},
    "holidays": ["2026-12-25", {"date": "2026-12-26", "name": "Boxing Day"}],
    "special": {"2026-12-24": "09:00-13:00"}}. Weekly entries apply in order, so a later "wed"
    overrides an earlier "mon-fri" for Wednesday.
    """
    top = _mapping(data, "")
    for k in top:
        if k not in _TOP_KEYS:
            raise ScheduleError(str(k), f"unknown key; expected one of {', '.join(_TOP_KEYS)}")
    if "timezone" not in top:
        raise ScheduleError("timezone", "missing time zone")
    timezone = _zone(top["timezone"])

    weekly: dict[int, Ranges] = {}
    for spec, value in _mapping(top.get("weekly") or {}, "weekly").items():
        key = f"weekly.{spec}"
        ranges = _ranges(value, key)
        for weekday in _days(spec, key):
            weekly[weekday] = ranges

    holidays = _holidays(top.get("holidays"))

    special: dict[date, Ranges] = {}
    for raw, value in _mapping(top.get("special") or {}, "special").items():
        key = f"special.{raw}"
        day = _date(raw, key)
        if day in holidays:
            raise ScheduleError(key, "this date is also a holiday; list it in one place only")
        special[day] = _ranges(value, key)

    return Schedule(timezone, dict(sorted(weekly.items())), holidays, special)


# --- queries -------------------------------------------------------------------------------


def hours_on(schedule: Schedule, day: date) -> Ranges:
    """The opening ranges on a local date (holidays and special dates applied)."""
    if day in schedule.holidays:
        return ()
    if day in schedule.special:
        return schedule.special[day]
    return schedule.weekly.get(day.weekday(), ())


def _local(schedule: Schedule, now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(schedule.zone)


def _within(t: time, start: time, end: time) -> bool:
    return start <= t and (t < end or end == END_OF_DAY)


# The instants (in UTC) at which the local clock reaches `wall` on `day`.
# Usually one; two when the clocks go back over it; for a wall time that the clocks skip
# (spring forward), the moment of the change, when the clock jumps past it.
def _openings(day: date, wall: time, zone: ZoneInfo) -> list[datetime]:
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
        return sorted({first.astimezone(UTC), second.astimezone(UTC)})
    # in a gap: fold=1 reads the wall time with the offset after the change, which lands before it
    lo, hi = int(second.timestamp()), int(first.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return [datetime.fromtimestamp(hi, UTC)]


def is_open(schedule: Schedule, now: datetime) -> bool:
    """Whether the line is open at `now` (any aware datetime; it is converted to the schedule's zone)."""
    local = _local(schedule, now)
    wall = local.time()
    return any(_within(wall, start, end) for start, end in hours_on(schedule, local.date()))


def next_opening(schedule: Schedule, now: datetime) -> datetime | None:
    """The next moment the line is open, in the schedule's zone: `now` itself when open, else the
    next opening within 14 days, or None when there is none in that window."""
    local = _local(schedule, now)
    if is_open(schedule, now):
        return local
    zone = schedule.zone
    # compare in UTC: aware datetimes that share a tzinfo compare by wall time, ignoring fold
    utc_now = now.astimezone(UTC)
    limit = utc_now + LOOKAHEAD
    for offset in range(LOOKAHEAD.days + 1):
        day = local.date() + timedelta(days=offset)
        for start, _ in hours_on(schedule, day):
            for opening in _openings(day, start, zone):
                if opening > utc_now:
                    return opening.astimezone(zone) if opening <= limit else None
    return None


def closed_reason(schedule: Schedule, now: datetime) -> str:
    """Why the line is closed at `now`: "holiday: <name>" (or "holiday"), "closed today",
    "before opening" (also during a break between two ranges), "after closing"; "" when open."""
    local = _local(schedule, now)
    if is_open(schedule, now):
        return ""
    today = local.date()
    if today in schedule.holidays:
        name = schedule.holidays[today]
        return f"holiday: {name}" if name else "holiday"
    ranges = hours_on(schedule, today)
    if not ranges:
        return "closed today"
    wall = local.time()
    if any(wall < start for start, _ in ranges):
        return "before opening"
    return "after closing"
