"""`hotline worker`: one media worker process (a pjsua2 endpoint with up to 4 calls)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path

from hotline.asr.factory import build_recognizer
from hotline.center.events import EventPublisher, redis_client
from hotline.center.session import CallSession, SessionDeps
from hotline.center.settings import Settings
from hotline.center.store import SqliteCallStore
from hotline.ivr.flow import Flow, load_flow, render
from hotline.ivr.prompts import PromptCache
from hotline.telephony.sip.call import SipCallLeg
from hotline.telephony.sip.endpoint import MAX_CALLS_PER_PROCESS, SipEndpoint

log = logging.getLogger(__name__)


def flow_path(settings: Settings) -> Path:
    return settings.flows / f"{settings.flow}.yaml"


async def prerender_prompts(flow: Flow, prompts: PromptCache) -> int:
    """Render every prompt that has no variables, so the first caller does not wait for TTS."""
    texts = {flow.goodbye}
    for node in flow.nodes.values():
        for text in (node.prompt, f"{node.no_match_prompt} {node.prompt}", f"{node.no_input_prompt} {node.prompt}",
                     f"{flow.speech_unavailable} {node.prompt}" if node.type in ("menu", "gather") else ""):
            if text.strip() and render(text, {}) == text:
                texts.add(text)
    for text in texts:
        await prompts.get(text, flow.voice)
    return len(texts)


class Worker:
    def __init__(self, settings: Settings, worker_id: str, sip_port: int, rtp_port: int, redis_url: str) -> None:
        self.settings = settings
        self.id = worker_id
        self.sip_port, self.rtp_port = sip_port, rtp_port
        self.redis_url = redis_url
        self.sessions: set[asyncio.Task[object]] = set()
        self._stop = asyncio.Event()

    async def run(self) -> None:
        settings = self.settings
        flow = load_flow(flow_path(settings))
        recognizer = build_recognizer(settings.asr, flow.vocabulary())
        prompts = PromptCache(settings.data / "prompts", flow.voice, rate=settings.media_rate)
        count = await prerender_prompts(flow, prompts)
        store = SqliteCallStore(settings.data / "calls.db")
        interrupted = store.mark_interrupted(self.id)  # left live by a previous run of this worker
        client = redis_client(self.redis_url)
        publisher = EventPublisher(client)
        deps = SessionDeps(flow, recognizer, prompts, store, publisher, self.id, settings.vad, settings.data,
                           settings.asr.grammar, settings.media_rate)
        endpoint = SipEndpoint(settings.internal_host, self.sip_port, self.rtp_port, lambda leg: self._on_call(leg, deps),
                               media_address=settings.rtp_address, rtp_bind=settings.sip_hostport[0],
                               rate=settings.media_rate)
        endpoint.start()
        log.info("worker ready", extra={"worker": self.id, "sip_port": self.sip_port, "engine": recognizer.name,
                                        "model": recognizer.model, "prompts": count, "interrupted": interrupted})
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        beat = asyncio.create_task(self._heartbeat(publisher, endpoint, recognizer.name, recognizer.model))
        try:
            await self._stop.wait()
        finally:
            log.info("worker stopping", extra={"worker": self.id, "calls": len(endpoint.calls)})
            await endpoint.hangup_all()
            if self.sessions:  # let sessions save their records
                await asyncio.wait(self.sessions, timeout=15.0)
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            await endpoint.stop()
            await publisher.aclose()
            with contextlib.suppress(Exception):
                await client.hdel("hotline:workers", self.id)
            await client.aclose()
            store.close()

    def _on_call(self, leg: SipCallLeg, deps: SessionDeps) -> None:
        session = CallSession(leg, deps)
        task = asyncio.get_running_loop().create_task(session.run(), name=f"call-{session.record.id}")
        self.sessions.add(task)

        def done(t: asyncio.Task[object]) -> None:
            self.sessions.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("call session failed", exc_info=t.exception(), extra={"call": session.record.id})

        task.add_done_callback(done)

    async def _heartbeat(self, publisher: EventPublisher, endpoint: SipEndpoint, engine: str, model: str) -> None:
        while True:
            publisher.heartbeat(self.id, {
                "sip": f"{self.settings.internal_host}:{self.sip_port}", "listening": endpoint.listening,
                "calls": len(endpoint.calls), "max_calls": MAX_CALLS_PER_PROCESS,
                "asr_engine": engine, "asr_model": model, "pid": os.getpid(),
            })
            await asyncio.sleep(2.0)
