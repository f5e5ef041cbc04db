"""`hotline worker`: one media worker process (a pjsua2 endpoint with up to 4 calls)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Collection
from pathlib import Path
from typing import Any

from hotline.center.events import EventPublisher, redis_client
from hotline.center.flow_services import StoreTicketSink, ivr_sources
from hotline.center.keys import WORKERS_KEY
from hotline.center.queueing import QueueDirectory
from hotline.center.recognition import flow_vocabulary, worker_recognizer, worker_synthesizer
from hotline.center.session import CallSession, SessionDeps
from hotline.center.settings import Settings
from hotline.center.store import SqliteCallStore
from hotline.center.store_writer import WriteBehindStore
from hotline.center.tickets import SqliteTicketStore
from hotline.center.webrtc_signalling import WebRtcIntake
from hotline.ivr.lookups import close_sources
from hotline.ivr.model import ASKING_TYPES, UNKNOWN, FlowSet, Prompt, render, sample_digits
from hotline.ivr.prompts import PromptCache, PromptError, split_sentences
from hotline.ivr.registry import ActiveFlows
from hotline.system.tasks import TaskGroupOwner
from hotline.telephony.leg import CallLeg
from hotline.telephony.sip.endpoint import MAX_CALLS_PER_PROCESS, SipEndpoint

log = logging.getLogger(__name__)


def flows_state_dir(settings: Settings) -> Path:
    """Where the supervisor keeps the active flow versions and their history."""
    return settings.data / "flows"


QUICK_VOICES = ("piper", "espeak")  # rendered before the first call: about 0.1 CPU-s per prompt
SLOW_VOICES = ("kokoro",)  # 0.5 CPU-s per second of speech: minutes for the demo, rendered after start-up


def _static_texts(prompt: Prompt, prefix: Prompt | None = None) -> list[tuple[str, str]]:
    out = []
    for lang, variant in prompt.variants.items():
        if variant.file:
            continue
        text = variant.text
        if prefix is not None and lang in prefix.variants:
            text = f"{prefix.variants[lang].text} {text}".strip()
        if text.strip() and render(text, {}) == text:
            out.append((lang, text))
    return out


def _template_pieces(prompt: Prompt) -> list[tuple[str, str]]:
    """The sentences of a prompt with variables that can be rendered before a call: those whose
    only variables are numbers read digit by digit (spliced from the words around them and the
    digits, see `hotline.ivr.prompts`) or that have no variable at all."""
    out = []
    for lang, variant in prompt.variants.items():
        if variant.file or render(variant.text, {}) == variant.text:
            continue
        out += [(lang, s) for s in split_sentences(sample_digits(variant.text)) if UNKNOWN not in s]
    return out


async def prerender_prompts(flows: FlowSet, prompts: PromptCache, engines: Collection[str] | None = None) -> int:
    """Render every prompt that has no variables, and the pieces of those with numbers read digit
    by digit, so the first caller does not wait for TTS; only the voices of `engines` ("piper",
    "kokoro", "espeak") when given."""
    texts: set[tuple[str, str]] = set()
    for flow in flows.flows.values():
        for message in flow.messages.values():
            texts.update((flow.voice(lang), text) for lang, text in _static_texts(message) + _template_pieces(message))
        for node in flow.nodes.values():
            found = _static_texts(node.prompt) + _template_pieces(node.prompt) + _template_pieces(node.confirm)
            if node.type in ASKING_TYPES:
                for name in ("no_input", "no_match", "speech_unavailable"):
                    apology = getattr(node, name, None)
                    if apology is None or apology.empty:
                        apology = flow.message(name)
                    found += _static_texts(node.prompt, apology)
            texts.update((flow.voice(node.language or lang), text) for lang, text in found)
    if engines is not None:
        texts = {(voice, text) for voice, text in texts if prompts.engine_of(voice) in engines}
    for voice, text in sorted(texts):
        try:
            await prompts.get(text, voice)
        except PromptError:
            log.exception("prompt could not be rendered", extra={"voice": voice})
    return len(texts)


class Worker:
    def __init__(self, settings: Settings, worker_id: str, sip_port: int, rtp_port: int, redis_url: str) -> None:
        self.settings = settings
        self.id = worker_id
        self.sip_port, self.rtp_port = sip_port, rtp_port
        self.redis_url = redis_url
        self.sessions: set[asyncio.Task[object]] = set()
        self.by_record: dict[str, CallSession] = {}
        self.tasks = TaskGroupOwner()  # desk requests being carried out (transfers)
        self._stop = asyncio.Event()

    async def run(self) -> None:
        settings = self.settings
        active = ActiveFlows(flows_state_dir(settings), settings.flows)
        flowset = active.current()
        loop = asyncio.get_running_loop()
        recognizer = await loop.run_in_executor(None, worker_recognizer, settings, flow_vocabulary(flowset))
        prompts = PromptCache(settings.prompt_dir, rate=settings.media_rate, natural=settings.natural_voices,
                              synthesizer=worker_synthesizer(settings))
        count = await prerender_prompts(flowset, prompts, QUICK_VOICES)
        store = WriteBehindStore(SqliteCallStore(settings.data / "calls.db"))  # no SQLite lock on the media loop
        tickets = SqliteTicketStore(settings.data / "tickets.db")
        sources = ivr_sources(settings)
        interrupted = store.mark_interrupted(self.id)  # left live by a previous run of this worker
        client = redis_client(self.redis_url)
        publisher = EventPublisher(client)
        deps = SessionDeps(active.current, settings.flow, recognizer, prompts, store, publisher, self.id,
                           settings.vad, settings.data, settings.asr.grammar, settings.media_rate, sources,
                           StoreTicketSink(tickets), settings.now, QueueDirectory(client, settings.queues))
        endpoint = SipEndpoint(settings.internal_host, self.sip_port, self.rtp_port, lambda leg: self._on_call(leg, deps),
                               media_address=settings.rtp_address, rtp_bind=settings.sip_hostport[0],
                               rate=settings.media_rate)
        endpoint.start()
        intake = self.webrtc = WebRtcIntake(redis_client(self.redis_url, timeout=5.0), self.id, settings.media_rate,
                                            lambda leg: self._on_call(leg, deps, "webrtc"), self._on_agent,
                                            self._on_control)
        intake_task = asyncio.create_task(intake.run(), name="webrtc-intake")
        log.info("worker ready", extra={"worker": self.id, "sip_port": self.sip_port, "engine": recognizer.name,
                                        "model": recognizer.model, "prompts": count, "interrupted": interrupted})
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        beat = asyncio.create_task(self._heartbeat(publisher, endpoint, recognizer.name, recognizer.model, active,
                                                   prompts))
        try:
            await self._stop.wait()
        finally:
            log.info("worker stopping", extra={"worker": self.id, "calls": len(endpoint.calls)})
            intake_task.cancel()
            for leg in list(intake.legs):
                leg.hangup_call()
            await endpoint.hangup_all()
            if self.sessions:  # let sessions save their records
                await asyncio.wait(self.sessions, timeout=15.0)
            await self.tasks.close()
            await intake.tasks.close()
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            await endpoint.stop()
            await publisher.aclose()
            with contextlib.suppress(Exception):
                await client.hdel(WORKERS_KEY, self.id)
            await client.aclose()
            await intake.client.aclose()
            await close_sources(sources)
            store.close()
            tickets.close()

    def _on_call(self, leg: CallLeg, deps: SessionDeps, channel: str = "sip") -> None:
        session = CallSession(leg, deps, channel)
        task = asyncio.get_running_loop().create_task(session.run(), name=f"call-{session.record.id}")
        self.sessions.add(task)
        self.by_record[session.record.id] = session

        def done(t: asyncio.Task[object]) -> None:
            self.sessions.discard(t)
            self.by_record.pop(session.record.id, None)
            if not t.cancelled() and t.exception() is not None:
                log.error("call session failed", exc_info=t.exception(), extra={"call": session.record.id})

        task.add_done_callback(done)

    def _on_agent(self, leg: CallLeg, call: str, agent: str) -> bool:
        """An agent answered a queued call held here: bridge the agent's leg into that call."""
        session = self.by_record.get(call)
        return session is not None and session.attach_agent(leg, agent)

    def _on_control(self, message: dict[str, Any]) -> None:
        """The desk acts on a call held here: hold, resume, transfer to a queue or an agent."""
        session = self.by_record.get(str(message.get("call", "")))
        if session is None:
            return
        op = message.get("op")
        if op in ("hold", "resume"):
            session.hold(op == "hold")
        elif op == "transfer":
            self.tasks.spawn(session.transfer_from_desk(
                str(message.get("queue", "general")), str(message.get("skill", "")), str(message.get("agent", ""))))

    async def _heartbeat(self, publisher: EventPublisher, endpoint: SipEndpoint, engine: str, model: str,
                         active: ActiveFlows, prompts: PromptCache) -> None:
        version = active.current().version
        while True:
            current = active.current()
            if current.version != version:  # a reload: new calls start on it; render its prompts now
                version = current.version
                log.info("flows reloaded", extra={"worker": self.id, "flow_set": version})
                await prerender_prompts(current, prompts, QUICK_VOICES)
            publisher.heartbeat(self.id, {
                "sip": f"{self.settings.internal_host}:{self.sip_port}", "listening": endpoint.listening,
                "calls": len(endpoint.calls), "max_calls": MAX_CALLS_PER_PROCESS,
                "webrtc_calls": sum(not leg.disconnected.is_set() for leg in self.webrtc.legs),
                "asr_engine": engine, "asr_model": model, "pid": os.getpid(), "flow_set": version,
            })
            await asyncio.sleep(2.0)
