"""Dates and delivery windows as a voice says them, in English and Chinese."""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

_WEEKDAYS_ZH: Final = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def spoken_date(day: dt.date) -> str:
    """English date as a voice says it: "Tuesday the 24th of November"."""
    return f"{day.strftime('%A')} the {_ordinal(day.day)} of {day.strftime('%B')}"


def spoken_date_zh(day: dt.date) -> str:
    """Chinese date as a voice says it: "11月24日星期二"."""
    return f"{day.month}月{day.day}日{_WEEKDAYS_ZH[day.weekday()]}"


def parse_window(text: str) -> tuple[dt.time, dt.time]:
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
    if not match:
        raise ValueError(f"window must look like 14:00-16:00, not {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = dt.time(h1, m1), dt.time(h2, m2)
    if end <= start:
        raise ValueError(f"window {text!r} ends before it starts")
    return start, end


def _clock(t: dt.time) -> str:
    hour = t.hour % 12 or 12
    return f"{hour}:{t.minute:02d}" if t.minute else str(hour)


def _am_pm(t: dt.time) -> str:
    return "am" if t.hour < 12 else "pm"


def spoken_window(start: dt.time, end: dt.time) -> str:
    """"between 2 and 4 pm", "between 11 am and 1 pm"."""
    if _am_pm(start) == _am_pm(end):
        return f"between {_clock(start)} and {_clock(end)} {_am_pm(end)}"
    return f"between {_clock(start)} {_am_pm(start)} and {_clock(end)} {_am_pm(end)}"


def _clock_zh(t: dt.time) -> str:
    return f"{t.hour % 12 or 12}点" + (f"{t.minute}分" if t.minute else "")


def _period_zh(t: dt.time) -> str:
    if t.hour < 12:
        return "上午"
    if t.hour == 12:
        return "中午"
    return "下午" if t.hour < 18 else "晚上"


def spoken_window_zh(start: dt.time, end: dt.time) -> str:
    """"下午2点到4点", "上午11点到下午1点"."""
    if _period_zh(start) == _period_zh(end):
        return f"{_period_zh(start)}{_clock_zh(start)}到{_clock_zh(end)}"
    return f"{_period_zh(start)}{_clock_zh(start)}到{_period_zh(end)}{_clock_zh(end)}"

