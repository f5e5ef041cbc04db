"""Post-call transcription: each finished call's recording is transcribed again with the most
accurate engine available (Whisper) and stored beside the live transcript, with progress.

Runs in the supervisor on one low-priority thread, so live calls keep the CPU they need.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
import wave
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hotline.asr.vad import Segmenter, SpeechEnd, VadConfig
from hotline.asr.whisper_engine import WhisperRecognizer
from hotline.center.privacy import UtteranceRedactor, default_redactor
from hotline.center.store import CallStore
from hotline.system.loops import supervised
from hotline.telephony.frames import MEDIA_RATES, AudioFrame, frame_bytes

log = logging.getLogger(__name__)

Progress = Callable[[str, dict[str, Any]], None]


def _lower_priority() -> None:
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def segments_of(path: Path, vad: VadConfig) -> tuple[list[SpeechEnd], int]:
    """The recording's speech segments and its sample rate."""
    with wave.open(str(path), "rb") as w:
        rate = w.getframerate()
        if rate not in MEDIA_RATES or w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path}: not an 8 or 16 kHz mono 16-bit recording")
        pcm = w.readframes(w.getnframes())
    segmenter = Segmenter(vad, rate)
    size = frame_bytes(rate)
    out: list[SpeechEnd] = []
    seq = 0
    for seq, i in enumerate(range(0, len(pcm) - size + 1, size)):
        out.extend(e for e in segmenter.push(AudioFrame(pcm[i:i + size], seq)) if isinstance(e, SpeechEnd))
    out.extend(e for e in segmenter.flush((seq + 1) * 20) if isinstance(e, SpeechEnd))
    return out, rate


class PostCallTranscriber:
    def __init__(self, store: CallStore, data_dir: Path, make_recognizer: Callable[[], WhisperRecognizer],
                 vad: VadConfig, on_progress: Progress | None = None, poll_s: float = 2.0,
                 redactor: Callable[[str], UtteranceRedactor] = default_redactor, node: str | None = None) -> None:
        self._store = store
        self._node = node  # in a cluster: only the calls of this node (their recordings are here)
        self._data = data_dir
        self._make = make_recognizer
        self._recognizer: WhisperRecognizer | None = None
        self._vad = vad
        self._on_progress = on_progress
        self._poll_s = poll_s
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="postcall", initializer=_lower_priority)
        self._redactor = redactor
        self.done = 0

    async def run(self) -> None:
        await supervised(self.step, name="postcall", every_s=self._poll_s, retry_s=self._poll_s)

    async def step(self) -> None:
        loop = asyncio.get_running_loop()
        for call_id in self._store.awaiting_post_transcript(5, self._node):
            await loop.run_in_executor(self._executor, self._transcribe, call_id, loop)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _report(self, loop: asyncio.AbstractEventLoop, call_id: str, post: dict[str, Any]) -> None:
        self._store.set_post_transcript(call_id, post)
        if self._on_progress is not None:
            loop.call_soon_threadsafe(self._on_progress, call_id, post)

    def _transcribe(self, call_id: str, loop: asyncio.AbstractEventLoop) -> None:
        record = self._store.get(call_id)
        if record is None:
            return
        post: dict[str, Any] = {"status": "running", "engine": "whisper", "model": "", "progress": 0.0,
                                "segments": [], "started_at": time.time()}
        try:
            if self._recognizer is None:
                self._recognizer = self._make()
            post["model"] = self._recognizer.model
            path = self._data / record["recordings"]["caller"]
            segments, rate = segments_of(path, self._vad)
            self._report(loop, call_id, post)
            redactor = self._redactor("en")  # card numbers, codes, phones, e-mails: as in the live transcript
            for i, seg in enumerate(segments, 1):
                text = self._recognizer.transcribe(seg.pcm, rate=rate)
                if text:
                    current, previous = redactor.redact(text)
                    if previous is not None and post["segments"]:
                        post["segments"][-1]["text"] = previous.text
                    post["segments"].append({"speaker": "caller", "text": current.text, "start_ms": seg.start_ms,
                                             "end_ms": seg.end_ms, "engine": "whisper"})
                post["progress"] = round(i / len(segments), 3)
                self._report(loop, call_id, post)
            post.update(status="done", progress=1.0, finished_at=time.time())
        except Exception as exc:  # a bad recording must not stop the job for other calls
            log.exception("post-call transcription failed", extra={"call": call_id})
            post.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        self._report(loop, call_id, post)
        self.done += 1
