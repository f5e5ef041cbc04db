"""Periods in query strings: the ``since`` / ``until`` of the report routes."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import HTTPException


def parse_time(value: str | None, default: float, end_of_day: bool = False) -> float:
    """An ISO date or date-time (``2026-11-22``, ``2026-11-22T08:00``) or epoch seconds; a bare date
    as the end of a period means the end of that day."""
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=f"bad time {value!r}: use 2026-11-22, "
                                                    "2026-11-22T08:00 or epoch seconds") from exc
    if end_of_day and len(value) == 10:
        moment += timedelta(days=1)
    if moment.tzinfo is None:
        moment = moment.astimezone()  # the server's local time zone
    return moment.timestamp()
