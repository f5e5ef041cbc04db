"""HttpSource against a real HTTP server on 127.0.0.1 (stdlib, in a thread)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from hotline.ivr.lookups import HttpSource, LookupFailed, build_sources


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class ServerState:
    requests: list[Seen] = field(default_factory=list)
    flaky_hits: int = 0
    release: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return None

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode())

    def _handle(self, body: Any) -> None:
        state = self.server.state
        parts = urlsplit(self.path)
        state.requests.append(Seen(self.command, parts.path, parse_qs(parts.query), dict(self.headers), body))
        path = parts.path
        if path.startswith("/parcels/"):
            number = path.removeprefix("/parcels/")
            self._json(200, {"found": "yes", "number": number, "status": "in_transit", "pieces": 2,
                             "signed": None})
        elif path == "/flaky":
            state.flaky_hits += 1
            if state.flaky_hits == 1:
                self._json(500, {"error": "boom"})
            else:
                self._json(200, {"found": "yes", "attempt": state.flaky_hits})
        elif path == "/down":
            self._json(503, {"error": "maintenance"})
        elif path == "/slow":
            state.release.wait(5.0)
            self._json(200, {"found": "yes"})
        elif path == "/missing":
            self._json(404, {"error": "no such parcel"})
        elif path == "/html":
            self._send(200, b"<html>oops</html>", "text/html")
        elif path == "/list":
            self._json(200, [1, 2, 3])
        elif path == "/rpc":
            self._json(200, {"echo": body})
        else:
            self._json(404, {})

    def do_GET(self) -> None:
        self._handle(None)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self._handle(json.loads(self.rfile.read(length)))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: ServerState


@pytest.fixture
def server() -> Iterator[tuple[str, ServerState]]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.state = ServerState()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd.state
    finally:
        httpd.state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
async def sources() -> AsyncIterator[list[HttpSource]]:
    made: list[HttpSource] = []
    yield made
    for source in made:
        await source.aclose()


def _source(made: list[HttpSource], *args: Any, **kwargs: Any) -> HttpSource:
    source = HttpSource(*args, **kwargs)
    made.append(source)
    return source


async def test_get_fills_url_quotes_params_and_sends_the_rest_as_query(
    server: tuple[str, ServerState], sources: list[HttpSource]
) -> None:
    base, state = server
    src = _source(sources, "carrier", base + "/parcels/{number}", headers={"X-Api-Key": "secret"})
    result = await src.lookup("track", {"number": "AB 12/3", "lang": "en"})
    assert result == {"found": "yes", "number": "AB%2012%2F3", "status": "in_transit", "pieces": 2,
                      "signed": None}  # JSON types are kept
    seen = state.requests[-1]
    assert seen.method == "GET" and seen.path == "/parcels/AB%2012%2F3"
    assert seen.query == {"lang": ["en"]}
    assert seen.headers["X-Api-Key"] == "secret"
    # the one client is reused
    await src.lookup("track", {"number": "1"})
    assert len(state.requests) == 2


async def test_post_sends_operation_and_params_as_json(
    server: tuple[str, ServerState], sources: list[HttpSource]
) -> None:
    base, state = server
    src = _source(sources, "crm", base + "/rpc", method="POST")
    result = await src.lookup("redelivery_slots", {"number": "12345678", "today": "2026-11-19"})
    expected = {"operation": "redelivery_slots", "params": {"number": "12345678", "today": "2026-11-19"}}
    assert result == {"echo": expected}
    assert state.requests[-1].method == "POST" and state.requests[-1].body == expected


async def test_server_error_is_retried_then_succeeds(
    server: tuple[str, ServerState], sources: list[HttpSource]
) -> None:
    base, state = server
    src = _source(sources, "carrier", base + "/flaky", retries=1)
    started = time.monotonic()
    assert await src.lookup("track", {}) == {"found": "yes", "attempt": 2}
    assert state.flaky_hits == 2
    assert time.monotonic() - started >= 0.2  # backed off before the retry


async def test_persistent_server_error_is_retryable(
    server: tuple[str, ServerState], sources: list[HttpSource]
) -> None:
    base, state = server
    src = _source(sources, "carrier", base + "/down", retries=2)
    with pytest.raises(LookupFailed) as info:
        await src.lookup("track", {})
    assert info.value.retryable is True
    assert info.value.reason == "http_status" and info.value.status == 503
    assert len(state.requests) == 3  # the first try and two retries


async def test_slow_server_times_out_retryable(
    server: tuple[str, ServerState], sources: list[HttpSource]
) -> None:
    base, state = server
    src = _source(sources, "carrier", base + "/slow", timeout_s=0.3, retries=1)
    started = time.monotonic()
    with pytest.raises(LookupFailed) as info:
        await src.lookup("track", {})
    elapsed = time.monotonic() - started
    assert info.value.reason == "timeout" and info.value.retryable is True
    assert len(state.requests) == 2
    assert 0.6 <= elapsed < 3.0  # two timeouts and one backoff, not the server's 5 s


async def test_not_found_is_not_retried(server: tuple[str, ServerState], sources: list[HttpSource]) -> None:
    base, state = server
    src = _source(sources, "carrier", base + "/missing", retries=3)
    with pytest.raises(LookupFailed) as info:
        await src.lookup("track", {})
    assert info.value.retryable is False
    assert info.value.reason == "http_status" and info.value.status == 404
    assert len(state.requests) == 1


@pytest.mark.parametrize("path", ["/html", "/list"])
async def test_non_object_answer_is_bad_response(
    server: tuple[str, ServerState], sources: list[HttpSource], path: str
) -> None:
    base, state = server
    src = _source(sources, "carrier", base + path, retries=2)
    with pytest.raises(LookupFailed) as info:
        await src.lookup("track", {})
    assert info.value.reason == "bad_response" and info.value.retryable is False
    assert len(state.requests) == 1


async def test_unreachable_server_is_retryable(sources: list[HttpSource]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    src = _source(sources, "carrier", f"http://127.0.0.1:{port}/x", retries=1, timeout_s=2.0)
    with pytest.raises(LookupFailed) as info:
        await src.lookup("track", {})
    assert info.value.reason == "unreachable" and info.value.retryable is True


async def test_operations_map_and_missing_placeholder(
    server: tuple[str, ServerState], sources: list[HttpSource]
) -> None:
    base, state = server
    src = _source(sources, "carrier", base + "/rpc",
                  operations={"track": base + "/parcels/{number}", "ping": ""})
    assert (await src.lookup("track", {"number": "42"}))["number"] == "42"
    assert state.requests[-1].path == "/parcels/42"
    assert (await src.lookup("ping", {}))["echo"] is None  # "" falls back to the base URL (GET /rpc)
    with pytest.raises(LookupFailed) as unknown:
        await src.lookup("cancel", {"number": "42"})
    assert unknown.value.reason == "bad_request" and unknown.value.retryable is False
    with pytest.raises(LookupFailed) as missing:
        await src.lookup("track", {})
    assert missing.value.reason == "bad_request"
    unconfigured = _source(sources, "empty", "", operations={"track": ""})
    with pytest.raises(LookupFailed) as none:
        await unconfigured.lookup("track", {})
    assert none.value.reason == "not_configured"


async def test_configured_http_source_works_end_to_end(
    server: tuple[str, ServerState], sources: list[HttpSource]
) -> None:
    base, state = server
    built = build_sources({"carrier": {"type": "http", "url": base + "/parcels/{number}", "timeout": 2,
                                       "retries": 0, "headers": {"Authorization": "Bearer t"}}},
                          base_dir=Path("."))
    carrier = built["carrier"]
    assert isinstance(carrier, HttpSource)
    sources.append(carrier)
    assert (await carrier.lookup("track", {"number": "12345678"}))["status"] == "in_transit"
    assert state.requests[-1].headers["Authorization"] == "Bearer t"
