"""The demo parcel directory (`type: parcels` data source): "track" and "redelivery_slots"."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from hotline.ivr.lookups.source import LookupFailed
from hotline.ivr.lookups.spoken import (
    parse_window,
    spoken_date,
    spoken_date_zh,
    spoken_window,
    spoken_window_zh,
)

log = logging.getLogger(__name__)

STATUSES: Final = (
    "in_transit", "out_for_delivery", "delivered", "delivery_failed", "held_at_depot", "damaged", "returned",
)


def normalise_parcel_number(number: str) -> str:
    """Parcel numbers as keys: whitespace and dashes removed, upper-case."""
    return re.sub(r"[\s\-]+", "", number).upper()


# Default spoken status fragments ("Your parcel is ..."); {date} is the spoken eta_date.
_STATUS_TEXT: Final[Mapping[str, tuple[str, str]]] = {
    "in_transit": ("on its way and expected on {date}", "正在运输途中，预计{date}送达"),
    "out_for_delivery": ("out for delivery today", "今天正在派送"),
    "delivered": ("delivered on {date}", "已于{date}送达"),
    "delivery_failed": ("not delivered, because nobody was home", "派送未成功，因为无人签收"),
    "held_at_depot": ("waiting for you to collect it at our local depot", "在当地网点等待您领取"),
    "damaged": ("reported damaged in transit", "在运输途中受损"),
    "returned": ("on its way back to the sender", "正在退回寄件人"),
}
_REDELIVERABLE: Final = frozenset({"delivery_failed", "held_at_depot"})
_PARCEL_KEYS: Final = frozenset(
    {"status", "recipient_city", "eta_date", "window", "can_redeliver", "status_text", "status_text_zh"}
)


def _parcel_entry(number: str, raw: Any) -> dict[str, str]:
    """Validates one parcel from the data file and renders its spoken fields."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"parcel {number}: expected a mapping")
    unknown = set(raw) - _PARCEL_KEYS
    if unknown:
        raise ValueError(f"parcel {number}: unknown keys {sorted(map(str, unknown))}")
    status = raw.get("status")
    if status not in STATUSES:
        raise ValueError(f"parcel {number}: status must be one of {', '.join(STATUSES)}")
    eta_raw = raw.get("eta_date")
    eta: dt.date | None
    if eta_raw is None or eta_raw == "":
        eta = None
    elif isinstance(eta_raw, dt.date):
        eta = eta_raw
    else:
        try:
            eta = dt.date.fromisoformat(str(eta_raw))
        except ValueError:
            raise ValueError(f"parcel {number}: eta_date must be an ISO date") from None
    window, window_zh = "", ""
    if raw.get("window"):
        start, end = parse_window(str(raw["window"]))
        window, window_zh = spoken_window(start, end), spoken_window_zh(start, end)
    text, text_zh = _STATUS_TEXT[status]
    if "{date}" in text and eta is None:
        raise ValueError(f"parcel {number}: status {status} needs an eta_date")
    date_en, date_zh = (spoken_date(eta), spoken_date_zh(eta)) if eta else ("", "")
    can_redeliver = raw.get("can_redeliver", status in _REDELIVERABLE)
    if not isinstance(can_redeliver, bool):
        raise ValueError(f"parcel {number}: can_redeliver must be true or false")
    return {
        "found": "yes",
        "number": number,
        "status": status,
        "status_text": str(raw.get("status_text") or text.format(date=date_en)),
        "status_text_zh": str(raw.get("status_text_zh") or text_zh.format(date=date_zh)),
        "window": window,
        "window_zh": window_zh,
        "eta_date": eta.isoformat() if eta else "",
        "recipient_city": str(raw.get("recipient_city") or ""),
        "can_redeliver": "yes" if can_redeliver else "no",
    }


class ParcelDirectory:
    """Built-in demo data source answering "track" and "redelivery_slots" from parcel data
    (number -> {status, recipient_city, eta_date, window "HH:MM-HH:MM", can_redeliver})."""

    def __init__(self, parcels: Mapping[str, dict[str, Any]], name: str = "parcels") -> None:
        self.name = name
        self._parcels: dict[str, dict[str, str]] = {}
        for key, raw in parcels.items():
            number = normalise_parcel_number(str(key))
            if not number:
                raise ValueError("empty parcel number")
            self._parcels[number] = _parcel_entry(number, raw)

    @classmethod
    def from_file(cls, path: Path, name: str = "parcels") -> ParcelDirectory:
        """Loads a YAML file whose top-level `parcels` mapping (or the whole document) is the data."""
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML ({exc})") from None
        if isinstance(data, Mapping) and "parcels" in data:
            data = data["parcels"]
        if not isinstance(data, Mapping):
            raise ValueError(f"{path}: expected a mapping of parcel numbers")
        return cls(data, name=name)

    def __len__(self) -> int:
        return len(self._parcels)

    async def lookup(self, operation: str, params: Mapping[str, str]) -> dict[str, Any]:
        """Answers "track" ({number}) and "redelivery_slots" ({number, today})."""
        if operation == "track":
            result = self.track(_required(params, "number"))
        elif operation == "redelivery_slots":
            result = self.redelivery_slots(_required(params, "number"), _today(params))
        else:
            raise LookupFailed(f"{self.name}: unknown operation {operation!r}", reason="bad_request", retryable=False)
        log.info("parcel lookup", extra={"source": self.name, "operation": operation, "found": result["found"]})
        return result

    def track(self, number: str) -> dict[str, str]:
        normalised = normalise_parcel_number(number)
        entry = self._parcels.get(normalised)
        return dict(entry) if entry else {"found": "no", "number": normalised}

    def redelivery_slots(self, number: str, today: dt.date) -> dict[str, str]:
        normalised = normalise_parcel_number(number)
        entry = self._parcels.get(normalised)
        if entry is None:
            return {"found": "no", "number": normalised}
        result = {"found": "yes", "number": normalised, "can_redeliver": entry["can_redeliver"]}
        for i, day in enumerate(next_working_days(today, 3), start=1):
            result[f"slot{i}"] = day.isoformat()
            result[f"slot{i}_spoken"] = spoken_date(day)
            result[f"slot{i}_spoken_zh"] = spoken_date_zh(day)
        return result

    async def aclose(self) -> None:
        return None


def next_working_days(after: dt.date, count: int) -> list[dt.date]:
    """The next `count` Mondays-to-Fridays strictly after `after`."""
    days: list[dt.date] = []
    day = after
    while len(days) < count:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days


def _required(params: Mapping[str, str], key: str) -> str:
    value = params.get(key, "")
    if not value or not str(value).strip():
        raise LookupFailed(f"missing parameter {key!r}", reason="bad_request", retryable=False)
    return str(value)


def _today(params: Mapping[str, str]) -> dt.date:
    raw = params.get("today", "")
    if not raw:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise LookupFailed("parameter 'today' must be an ISO date", reason="bad_request", retryable=False) from None

