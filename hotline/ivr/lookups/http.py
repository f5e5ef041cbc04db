"""A carrier system behind HTTP (`type: http` data source), with timeouts and retries."""

from __future__ import annotations

import asyncio
import logging
import string
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from hotline.ivr.lookups.source import LookupFailed

log = logging.getLogger(__name__)

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

