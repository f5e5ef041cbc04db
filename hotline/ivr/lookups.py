"""Data sources for the IVR `lookup` action: the built-in demo parcel directory and an HTTP adapter
for a real carrier system.

A source answers `lookup(operation, params)` with a flat JSON object whose values the flow stores as
call variables. Failures raise `LookupFailed`, whose `retryable` flag tells the flow whether asking
again later could help.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import quote

import httpx
import yaml

from hotline.ivr.actions import Lookup, LookupDone
from hotline.system.errors import HotlineError

log = logging.getLogger(__name__)

REASONS: Final = ("timeout", "http_status", "bad_response", "not_configured", "bad_request", "unreachable")

STATUSES: Final = (
    "in_transit", "out_for_delivery", "delivered", "delivery_failed", "held_at_depot", "damaged", "returned",
)

DEFAULT_SOURCES: Final[Mapping[str, Mapping[str, Any]]] = {
    "parcels": {"type": "parcels", "file": "config/parcels.yaml"},
}
"""The `data_sources` configuration used when the settings give none (paths relative to the base dir)."""


class LookupFailed(HotlineError):
    """A data source could not answer. `reason` is one of `REASONS`; `status` is the HTTP status
    for reason "http_status"."""

    def __init__(self, message: str, *, reason: str, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retryable = retryable
        self.status = status


class DataSource(Protocol):
    """What the IVR `lookup` action calls."""

    name: str

    async def lookup(self, operation: str, params: Mapping[str, str]) -> dict[str, Any]: ...


async def run_lookup(sources: Mapping[str, DataSource], action: Lookup) -> LookupDone:
    """The answer to a flow's `lookup` action, for a live call and the simulator alike: the
    source's data, or the reason it has none (the flow's error path)."""
    source = sources.get(action.source)
    if source is None:
        return LookupDone(action.token, None, "not_configured")
    try:
        return LookupDone(action.token, await source.lookup(action.operation, action.params))
    except LookupFailed as exc:
        return LookupDone(action.token, None, exc.reason)


def normalise_parcel_number(number: str) -> str:
    """Parcel numbers as keys: whitespace and dashes removed, upper-case."""
    return re.sub(r"[\s\-]+", "", number).upper()


# --- spoken dates and windows -------------------------------------------------------------------

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


def _parse_window(text: str) -> tuple[dt.time, dt.time]:
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


# --- the demo parcel directory ------------------------------------------------------------------

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
        start, end = _parse_window(str(raw["window"]))
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


# --- HTTP adapter -------------------------------------------------------------------------------


class HttpSource:
    """A carrier system behind HTTP. `url` (or `operations[operation]`, which overrides it per
    operation and, when given, limits the operations served) may contain `{operation}` and
    `{param}` placeholders, filled URL-quoted. GET sends the other params as the query string;
    POST sends `{"operation": ..., "params": {all params}}` as JSON. The answer must be a JSON
    object. Timeouts, connection errors, 429 and 5xx are retried `retries` times, then raise
    `LookupFailed(retryable=True)`; other error statuses raise at once, not retryable."""

    def __init__(
        self,
        name: str,
        url: str,
        method: str = "GET",
        timeout_s: float = 3.0,
        retries: int = 1,
        headers: Mapping[str, str] | None = None,
        operations: Mapping[str, str] | None = None,
    ) -> None:
        method = method.upper()
        if method not in ("GET", "POST"):
            raise ValueError(f"{name}: method must be GET or POST")
        if timeout_s <= 0 or retries < 0:
            raise ValueError(f"{name}: timeout must be > 0 and retries >= 0")
        self.name = name
        self.url = url
        self.method = method
        self.timeout_s = timeout_s
        self.retries = retries
        self.headers = dict(headers or {})
        self.operations = dict(operations) if operations is not None else None
        self._client: httpx.AsyncClient | None = None

    def _client_for_call(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s, headers=self.headers)
        return self._client

    def _template(self, operation: str) -> str:
        if self.operations is not None:
            if operation not in self.operations:
                raise LookupFailed(f"{self.name}: unknown operation {operation!r}", reason="bad_request",
                                   retryable=False)
            return self.operations[operation] or self.url
        return self.url

    def _build(self, operation: str, params: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        template = self._template(operation)
        if not template:
            raise LookupFailed(f"{self.name}: no URL configured", reason="not_configured", retryable=False)
        values = {"operation": operation, **params}
        used: set[str] = set()
        parts: list[str] = []
        for literal, field, _spec, _conv in string.Formatter().parse(template):
            parts.append(literal)
            if field is None:
                continue
            if field not in values:
                raise LookupFailed(f"{self.name}: missing parameter {field!r}", reason="bad_request",
                                   retryable=False)
            used.add(field)
            parts.append(quote(str(values[field]), safe=""))
        rest = {k: str(v) for k, v in params.items() if k not in used}
        return "".join(parts), rest

    async def lookup(self, operation: str, params: Mapping[str, str]) -> dict[str, Any]:
        url, rest = self._build(operation, params)
        attempts = self.retries + 1
        last: LookupFailed | None = None
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                await asyncio.sleep(0.2 * (attempt - 1))
            try:
                return await self._attempt(operation, url, rest, params)
            except LookupFailed as exc:
                if not exc.retryable:
                    raise
                last = exc
                log.warning("lookup attempt failed", extra={
                    "source": self.name, "operation": operation, "attempt": attempt, "attempts": attempts,
                    "reason": exc.reason, "status": exc.status,
                })
        assert last is not None
        raise last

    async def _attempt(
        self, operation: str, url: str, rest: Mapping[str, str], params: Mapping[str, str]
    ) -> dict[str, Any]:
        client = self._client_for_call()
        try:
            async with asyncio.timeout(self.timeout_s):
                if self.method == "GET":
                    response = await client.get(url, params=dict(rest))
                else:
                    response = await client.post(url, json={"operation": operation, "params": dict(params)})
        except (TimeoutError, httpx.TimeoutException):
            raise LookupFailed(f"{self.name}: timed out", reason="timeout", retryable=True) from None
        except httpx.HTTPError as exc:
            raise LookupFailed(f"{self.name}: unreachable ({type(exc).__name__})", reason="unreachable",
                               retryable=True) from None
        status = response.status_code
        if status >= 300:
            retryable = status >= 500 or status == 429
            raise LookupFailed(f"{self.name}: HTTP {status}", reason="http_status", retryable=retryable,
                               status=status)
        try:
            data = response.json()
        except ValueError:  # also covers UnicodeDecodeError
            raise LookupFailed(f"{self.name}: response is not JSON", reason="bad_response",
                               retryable=False) from None
        if not isinstance(data, dict):
            raise LookupFailed(f"{self.name}: response is not a JSON object", reason="bad_response",
                               retryable=False)
        return data

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


async def close_sources(sources: Mapping[str, DataSource]) -> None:
    """Closes every source that holds connections."""
    for source in sources.values():
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()


# --- configuration ------------------------------------------------------------------------------

_HTTP_KEYS: Final = frozenset({"type", "url", "method", "timeout", "retries", "headers", "operations"})


def _str_map(name: str, key: str, raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str | int | float) and not isinstance(v, bool) for k, v in raw.items()
    ):
        raise ValueError(f"data_sources.{name}: {key} must map names to strings")
    return {k: str(v) for k, v in raw.items()}


def _http_source(name: str, spec: Mapping[str, Any]) -> HttpSource:
    unknown = set(spec) - _HTTP_KEYS
    if unknown:
        raise ValueError(f"data_sources.{name}: unknown keys {sorted(map(str, unknown))}")
    url = spec.get("url")
    operations = _str_map(name, "operations", spec.get("operations")) if "operations" in spec else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        if not (url is None and operations):
            raise ValueError(f"data_sources.{name}: url must be an http:// or https:// URL")
    for op_url in (operations or {}).values():
        if op_url and not op_url.startswith(("http://", "https://")):
            raise ValueError(f"data_sources.{name}: operation URLs must be http:// or https:// URLs")
    timeout = spec.get("timeout", 3.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ValueError(f"data_sources.{name}: timeout must be a positive number of seconds")
    retries = spec.get("retries", 1)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise ValueError(f"data_sources.{name}: retries must be an integer from 0 to 10")
    method = spec.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in ("GET", "POST"):
        raise ValueError(f"data_sources.{name}: method must be GET or POST")
    return HttpSource(name, url or "", method=method, timeout_s=float(timeout), retries=retries,
                      headers=_str_map(name, "headers", spec.get("headers")), operations=operations)


def _parcel_source(name: str, spec: Mapping[str, Any], base_dir: Path) -> ParcelDirectory:
    unknown = set(spec) - {"type", "file"}
    if unknown:
        raise ValueError(f"data_sources.{name}: unknown keys {sorted(map(str, unknown))}")
    file = spec.get("file")
    if not isinstance(file, str) or not file:
        raise ValueError(f"data_sources.{name}: file is required")
    path = Path(file) if Path(file).is_absolute() else base_dir / file
    if not path.is_file():
        raise ValueError(f"data_sources.{name}: file not found: {path}")
    try:
        return ParcelDirectory.from_file(path, name=name)
    except ValueError as exc:
        raise ValueError(f"data_sources.{name}: {exc}") from None


def build_sources(config: Mapping[str, Any], base_dir: Path) -> dict[str, DataSource]:
    """Data sources from the settings' `data_sources` mapping (name -> {type: parcels|http, ...});
    relative files resolve against `base_dir`. Raises ValueError("data_sources.<name>: ...")."""
    if not isinstance(config, Mapping):
        raise ValueError("data_sources: expected a mapping of source names")
    sources: dict[str, DataSource] = {}
    for name, spec in config.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
            raise ValueError(f"data_sources.{name}: source names are letters, digits, '_' and '-'")
        if not isinstance(spec, Mapping):
            raise ValueError(f"data_sources.{name}: expected a mapping")
        kind = spec.get("type")
        if kind == "parcels":
            sources[name] = _parcel_source(name, spec, base_dir)
        elif kind == "http":
            sources[name] = _http_source(name, spec)
        elif kind == "customers":
            from hotline.ivr.customers import CustomerDirectory

            file = Path(str(spec.get("file", "")))
            sources[name] = CustomerDirectory.from_file(file if file.is_absolute() else base_dir / file, name)
        else:
            raise ValueError(f"data_sources.{name}: type must be 'parcels', 'customers' or 'http'")
    return sources
