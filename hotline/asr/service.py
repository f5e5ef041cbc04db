"""The node's recognition service: one process holds the models and decodes for every worker.

A model per media worker cost 300 MB (Moonshine) to 500 MB (Whisper) each and let every worker
schedule alone; here one set of models (`EngineSet`) and one `Scheduler` see every call of the
node, so a short answer is taken before a long monologue whichever worker it came from.

Workers talk to it over a Unix socket (`RemoteBackend`), one request per connection. A message is
`!II` (header length, payload length), a JSON header, then the payload (s16 mono PCM):

    {"op": "final", "stream": "...", "rate": 8000, "language": "en", "phrases": [...]} + pcm
      -> {"text": "...", "engine": "moonshine", "words": [...]}
         or {"error": "overloaded" | "failed", "message": "..."}
    {"op": "partial", ...} + pcm -> the same, or {"skipped": true}
    {"op": "hello"} -> {"engine": ..., "model": ..., "language": ..., "partials": ...}
    {"op": "stats"} -> the scheduler's queue and timings, the engines' counters
    {"op": "speak", "engine": "piper", "voice": "...", "text": "...", "rate": 8000}
      -> {"engine": "piper"} + pcm, or {"error": "failed" | "bad_request", "message": "..."}

It also speaks for the workers: the natural voices of prompts that are not cached yet (see
`hotline.ivr.synthesis`), one sentence at a time on a thread of their own, so a node holds one
copy of each voice model instead of one per worker.

The supervisor restarts it if it dies; a worker whose request was cut off retries it until the
service is back (see remote.py), so a restart loses no finished segment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import struct
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hotline.asr.engines import EngineSet
from hotline.asr.recognizer import AsrOverloaded, Hypothesis
from hotline.asr.scheduled import LocalBackend
from hotline.asr.scheduler import Scheduler, SchedulerConfig, Skipped
from hotline.ivr.synthesis import LOCAL, Synthesizer

log = logging.getLogger(__name__)

FRAME = struct.Struct("!II")
MAX_HEADER = 64 * 1024
MAX_PAYLOAD = 16000 * 2 * 120  # two minutes of 16 kHz audio: far beyond any VAD segment or prompt sentence
MAX_SPOKEN_TEXT = 2000  # characters of one "speak" request (prompts are spoken sentence by sentence)


def encode(header: dict[str, Any], payload: bytes = b"") -> bytes:
    raw = json.dumps(header, ensure_ascii=False).encode()
    return FRAME.pack(len(raw), len(payload)) + raw + payload


async def read_message(reader: asyncio.StreamReader) -> tuple[dict[str, Any], bytes] | None:
    try:
        head = await reader.readexactly(FRAME.size)
    except asyncio.IncompleteReadError:
        return None
    size, length = FRAME.unpack(head)
    if size > MAX_HEADER or length > MAX_PAYLOAD:
        raise ValueError(f"message too large ({size} + {length} bytes)")
    header = json.loads(await reader.readexactly(size))
    if not isinstance(header, dict):
        raise ValueError("header is not an object")
    return header, await reader.readexactly(length)


def scheduler_config(decoders: int, max_queued: int) -> SchedulerConfig:
    n = decoders or os.cpu_count() or 1
    return SchedulerConfig(decoders=n, max_queued=max_queued or 16 * n)


def hypothesis_reply(hyp: Hypothesis) -> dict[str, Any]:
    return {"text": hyp.text, "engine": hyp.engine, "words": [list(w) for w in hyp.words]}


class RecognitionService:
    def __init__(self, engines: EngineSet, scheduler: Scheduler, socket_path: Path,
                 synthesizer: Synthesizer = LOCAL) -> None:
        self.engines = engines
        self.synthesizer = synthesizer
        self._speech = ThreadPoolExecutor(1, thread_name_prefix="speak")  # the voices speak one at a time anyway
        # the same new sentence asked by several workers at once (each caches on disk only after
        # its answer) is spoken once
        self._speaking: dict[tuple[str, str, str, int], asyncio.Future[bytes]] = {}
        self.spoken = 0
        self.backend = LocalBackend(engines, scheduler)
        self.scheduler = scheduler
        self.socket_path = socket_path
        self._server: asyncio.AbstractServer | None = None

    def hello(self) -> dict[str, Any]:
        cfg = self.engines.cfg
        primary = self.engines.primary
        return {"engine": primary, "model": self.engines.model_of(primary), "language": cfg.language,
                "partials": cfg.partials, "pid": os.getpid()}

    def stats(self) -> dict[str, Any]:
        return {**self.scheduler.stats(), **self.engines.stats(), "prompts_spoken": self.spoken}

    async def start(self) -> None:
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()  # left by a previous run that died
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.socket_path))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self.scheduler.close()
        self._speech.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    message = await read_message(reader)
                except (ValueError, json.JSONDecodeError, asyncio.IncompleteReadError) as exc:
                    writer.write(encode({"error": "bad_request", "message": str(exc)}))
                    break
                if message is None:
                    break
                header, payload = message
                if header.get("op") == "speak":
                    writer.write(encode(*await self._speak(header)))
                else:
                    writer.write(encode(await self._handle(header, payload)))
                await writer.drain()
        except (ConnectionError, OSError):
            pass  # the worker went away; its job (if any) still ran
        except asyncio.CancelledError:
            pass  # shutting down: the worker retries against the next service
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _speak(self, header: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        engine, voice, text = header.get("engine"), header.get("voice"), header.get("text")
        rate = header.get("rate")
        if (engine not in ("piper", "kokoro") or not isinstance(voice, str) or not isinstance(text, str)
                or not text.strip() or len(text) > MAX_SPOKEN_TEXT or rate not in (8000, 16000, 48000)):
            return {"error": "bad_request", "message": "speak needs engine piper|kokoro, voice, text "
                    f"(1-{MAX_SPOKEN_TEXT} characters) and rate 8000|16000|48000"}, b""
        key = (engine, voice, text, rate)
        try:
            pending = self._speaking.get(key)
            if pending is not None:
                return {"engine": engine}, await asyncio.shield(pending)
            pending = self._speaking[key] = asyncio.get_running_loop().run_in_executor(
                self._speech, self.synthesizer.synthesize, engine, voice, text, rate)
            try:
                pcm = await asyncio.shield(pending)
            finally:
                self._speaking.pop(key, None)
        except Exception as exc:
            log.warning("prompt synthesis failed", extra={"engine": engine, "error": type(exc).__name__})
            return {"error": "failed", "message": f"{type(exc).__name__}: {exc}"}, b""
        self.spoken += 1
        return {"engine": engine}, pcm

    async def _handle(self, header: dict[str, Any], payload: bytes) -> dict[str, Any]:
        op = header.get("op")
        if op == "hello":
            return self.hello()
        if op == "stats":
            return self.stats()
        if op not in ("final", "partial"):
            return {"error": "bad_request", "message": f"unknown op {op!r}"}
        try:
            rate = int(header.get("rate", 16000))
            language = str(header.get("language") or self.engines.cfg.language)
            stream = str(header.get("stream", ""))
            phrases = header.get("phrases")
            if rate not in (8000, 16000, 48000) or len(payload) % 2:
                raise ValueError(f"expected s16 mono PCM at 8, 16 or 48 kHz (rate {rate}, {len(payload)} bytes)")
        except (TypeError, ValueError) as exc:
            return {"error": "bad_request", "message": str(exc)}
        future: Future[Hypothesis]
        if op == "partial":
            future = self.backend.partial(stream, payload, rate, language)
        else:
            ph = tuple(str(p) for p in phrases) if isinstance(phrases, list) and phrases else None
            future = self.backend.submit_final(stream, payload, rate, language, ph)
        try:
            return hypothesis_reply(await asyncio.wrap_future(future))
        except Skipped:
            return {"skipped": True}
        except AsrOverloaded as exc:
            return {"error": "overloaded", "message": str(exc)}
        except Exception as exc:
            log.exception("decode failed")
            return {"error": "failed", "message": f"{type(exc).__name__}: {exc}"}


async def serve(engines: EngineSet, config: SchedulerConfig, socket_path: Path,
                voices: Sequence[tuple[str, str]] = ()) -> None:
    """Run until SIGTERM/SIGINT: load the primary engine (and start loading the natural `voices`,
    (engine, voice)), listen, drain the queue on the way out."""
    loop = asyncio.get_running_loop()
    for engine, voice in voices:
        LOCAL.preload(engine, voice)
    await loop.run_in_executor(None, engines.load, engines.cfg.language)
    service = RecognitionService(engines, Scheduler(config), socket_path)
    await service.start()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("recognition service ready", extra={**service.hello(), "decoders": config.decoders,
                                                  "max_queued": config.max_queued})
    try:
        await stop.wait()
    finally:
        await service.stop()
