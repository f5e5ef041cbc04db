"""A media worker's side of the recognition service (see service.py).

One short connection per request (a Unix-socket connect costs tens of microseconds against a
decode of tens of milliseconds), so there is no shared connection state to repair: a request cut
off by a service restart is simply sent again until `retry_s` runs out, and then the segment is
reported as not recognised (AsrOverloaded: the IVR asks for keys, the post-call transcript still
covers the audio).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hotline.asr.recognizer import AsrError, AsrOverloaded, Hypothesis
from hotline.asr.scheduled import ScheduledRecognizer
from hotline.asr.scheduler import Skipped
from hotline.asr.service import FRAME, MAX_HEADER, MAX_PAYLOAD, encode

RETRY_PAUSE_S = 0.2


class ServiceUnavailable(AsrOverloaded):
    """The recognition service did not answer within the retry time."""


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(left)
        if not chunk:
            raise ConnectionResetError("recognition service closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class RemoteBackend:
    def __init__(self, socket_path: Path, retry_s: float = 10.0, timeout_s: float = 60.0) -> None:
        """`retry_s`: how long a request keeps trying while the service is down or restarting;
        `timeout_s`: how long one request may wait for its answer (queue included)."""
        self.socket_path = socket_path
        self.retry_s = retry_s
        self.timeout_s = timeout_s
        self._partials: ThreadPoolExecutor | None = None
        self.retries = 0

    def call(self, header: dict[str, Any], payload: bytes = b"", retry_s: float | None = None,
             timeout_s: float | None = None) -> dict[str, Any]:
        return self.exchange(header, payload, retry_s, timeout_s)[0]

    def exchange(self, header: dict[str, Any], payload: bytes = b"", retry_s: float | None = None,
                 timeout_s: float | None = None) -> tuple[dict[str, Any], bytes]:
        """Send one request, return the reply's header and payload."""
        deadline = time.monotonic() + (self.retry_s if retry_s is None else retry_s)
        message = encode(header, payload)
        while True:
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.settimeout(self.timeout_s if timeout_s is None else timeout_s)
                    sock.connect(str(self.socket_path))
                    sock.sendall(message)
                    size, length = FRAME.unpack(_read_exactly(sock, FRAME.size))
                    if size > MAX_HEADER:
                        raise AsrError(f"recognition service answered a {size}-byte header")
                    if length > MAX_PAYLOAD:
                        raise AsrError(f"recognition service answered a {length}-byte payload")
                    reply = json.loads(_read_exactly(sock, size))
                    return reply, _read_exactly(sock, length)
            except TimeoutError as exc:
                raise ServiceUnavailable("recognition service did not answer in time") from exc
            except (FileNotFoundError, ConnectionError, OSError) as exc:
                if time.monotonic() + RETRY_PAUSE_S > deadline:
                    raise ServiceUnavailable(f"recognition service unavailable ({exc})") from exc
                self.retries += 1
                time.sleep(RETRY_PAUSE_S)

    @staticmethod
    def _hypothesis(reply: dict[str, Any]) -> Hypothesis:
        error = reply.get("error")
        if error == "overloaded":
            raise AsrOverloaded(str(reply.get("message", "")))
        if error:
            raise AsrError(f"recognition service: {error}: {reply.get('message', '')}")
        if reply.get("skipped"):
            raise Skipped()
        words = tuple((str(w[0]), float(w[1]), float(w[2]), float(w[3])) for w in reply.get("words", ()))
        return Hypothesis(str(reply.get("text", "")), words, str(reply.get("engine", "")))

    def final(self, stream: str, pcm: bytes, rate: int, language: str, phrases: Sequence[str] | None) -> Hypothesis:
        header = {"op": "final", "stream": stream, "rate": rate, "language": language,
                  "phrases": list(phrases) if phrases else None}
        return self._hypothesis(self.call(header, pcm))

    def partial(self, stream: str, pcm: bytes, rate: int, language: str) -> Future[Hypothesis]:
        header = {"op": "partial", "stream": stream, "rate": rate, "language": language}
        if self._partials is None:
            self._partials = ThreadPoolExecutor(max_workers=4, thread_name_prefix="asr-partial")
        # a partial is worth nothing late: no waiting for a restarting service
        return self._partials.submit(lambda: self._hypothesis(self.call(header, pcm, retry_s=0.0, timeout_s=5.0)))

    def hello(self, retry_s: float | None = None) -> dict[str, Any]:
        return self.call({"op": "hello"}, retry_s=retry_s)

    def stats(self, timeout_s: float = 1.0) -> dict[str, Any]:
        return self.call({"op": "stats"}, retry_s=0.0, timeout_s=timeout_s)


class RemoteSynthesizer:
    """The node's speech service speaking prompts for this worker (`hotline.ivr.synthesis`)."""

    def __init__(self, backend: RemoteBackend) -> None:
        self.backend = backend

    def synthesize(self, engine: str, voice: str, text: str, rate: int) -> bytes:
        reply, pcm = self.backend.exchange({"op": "speak", "engine": engine, "voice": voice, "text": text,
                                            "rate": rate})
        if reply.get("error") or not pcm:
            raise AsrError(f"speech service could not speak: {reply.get('error')}: {reply.get('message', '')}")
        return pcm

    def preload(self, engine: str, voice: str) -> None:
        pass  # the service loads a voice for its first sentence (start-up rendered the static prompts)


def remote_recognizer(socket_path: Path, retry_s: float = 60.0) -> ScheduledRecognizer:
    """A Recognizer for this worker, once the service answers (waits up to `retry_s` for it)."""
    backend = RemoteBackend(socket_path)
    info = backend.hello(retry_s)
    return ScheduledRecognizer(backend, str(info["language"]), str(info["engine"]), str(info["model"]),
                               bool(info.get("partials")))
