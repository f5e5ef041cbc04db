"""`hotline worker`: one media worker process (a pjsua2 endpoint with up to 4 calls)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Collection
from pathlib import Path
from typing import Any, assert_never

import redis.asyncio as aioredis

from hotline.assist.kb import KbError
from hotline.assist.registry import load_directory as load_knowledge
from hotline.center.bot_answers import WAIT_S, BotAnswerClient
from hotline.center.desk_control import DeskRequest, DeskRequests
from hotline.center.events import EventPublisher, redis_client
from hotline.center.flow_services import StoreTicketSink, ivr_sources
from hotline.center.keys import WORKERS_KEY
from hotline.center.queueing import QueueDirectory
from hotline.center.recognition import flow_vocabulary, worker_recognizer, worker_synthesizer
from hotline.center.session import CallSession, SessionDeps
from hotline.center.settings import Settings
from hotline.center.store_writer import WriteBehindStore
from hotline.center.stores import open_call_store, open_ticket_store
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
            found += _static_texts(node.confirm) + _static_texts(getattr(node, "no_answer", Prompt({})))
            if node.type in ASKING_TYPES:
                for name in ("no_input", "no_match", "speech_unavailable"):
                    apology = getattr(node, name, None)
                    if apology is None or apology.empty:
                        apology = flow.message(name)
                    found += _static_texts(node.prompt, apology)
            texts.update((flow.voice(node.language or lang), text) for lang, text in found)
    return await _render(prompts, texts, engines)


async def prerender_answers(knowledge: Path, flows: FlowSet, prompts: PromptCache,
                            engines: Collection[str] = QUICK_VOICES) -> int:
    """The sentences of the knowledge base's spoken answers in the flows' languages, where a flow has
    a voice bot (`answer` node): the first caller to ask a question then does not wait for TTS."""
    if not any(node.type == "answer" for flow in flows.flows.values() for node in flow.nodes.values()):
        return 0
    try:
        kb, _files = await asyncio.to_thread(load_knowledge, knowledge)
    except KbError:
        return 0  # the app reports the knowledge base's problems; answers render on demand
    voices = {lang: flow.voice(lang) for flow in flows.flows.values() for lang in flow.languages}
    texts = {(voices[lang], sentence) for article in kb for lang, answer in article.answers.items()
             if lang in voices for sentence in split_sentences(answer)}
    return await _render(prompts, texts, engines)


async def _render(prompts: PromptCache, texts: set[tuple[str, str]], engines: Collection[str] | None) -> int:
    """Render (voice, text) prompts into the cache, by the voices' engines in ``engines`` (None: all)."""
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
        """Until SIGTERM/SIGINT. What is acquired registers its release on an exit stack, so teardown
        runs in reverse: calls end (and save their records) before the endpoint, Redis and the
        stores they write to are closed."""
        async with contextlib.AsyncExitStack() as stack:
            await self._start(stack)
            await self._stop.wait()

    async def _start(self, stack: contextlib.AsyncExitStack) -> None:
        settings = self.settings
        active = ActiveFlows(flows_state_dir(settings), settings.flows)
        flowset = active.current()
        loop = asyncio.get_running_loop()
        recognizer = await loop.run_in_executor(None, worker_recognizer, settings, flow_vocabulary(flowset))
        prompts = PromptCache(settings.prompt_dir, rate=settings.media_rate, natural=settings.natural_voices,
                              synthesizer=worker_synthesizer(settings))
        count = await prerender_prompts(flowset, prompts, QUICK_VOICES)
        store = WriteBehindStore(open_call_store(settings))  # no database wait on the media loop
        stack.callback(store.close)
        tickets = open_ticket_store(settings)
        stack.callback(tickets.close)
        sources = ivr_sources(settings)
        stack.push_async_callback(close_sources, sources)
        interrupted = store.mark_interrupted(self.id)  # left live by a previous run of this worker
        client = redis_client(self.redis_url)
        stack.push_async_callback(client.aclose)
        stack.push_async_callback(self._unregister, client)
        publisher = EventPublisher(client)
        stack.push_async_callback(publisher.aclose)
        bot_client = redis_client(self.redis_url, timeout=WAIT_S + 2.0)  # its own: BLPOP blocks
        stack.push_async_callback(bot_client.aclose)
        deps = SessionDeps(flows=active.current, flow=settings.flow, recognizer=recognizer, prompts=prompts,
                           store=store, publisher=publisher, worker_id=self.id, node=settings.node_id, vad=settings.vad,
                           data_dir=settings.data, use_grammar=settings.asr.grammar, rate=settings.media_rate,
                           sources=sources, tickets=StoreTicketSink(tickets), now=settings.now,
                           queues=QueueDirectory(client, settings.queues),
                           answers=BotAnswerClient(bot_client, self.id))
        endpoint = SipEndpoint(settings.internal_host, self.sip_port, self.rtp_port, lambda leg: self._on_call(leg, deps),
                               media_address=settings.rtp_address, rtp_bind=settings.sip_hostport[0],
                               rate=settings.media_rate)
        endpoint.start()
        stack.push_async_callback(endpoint.stop)
        intake = self.webrtc = WebRtcIntake(redis_client(self.redis_url, timeout=5.0), self.id, settings.media_rate,
                                            lambda leg: self._on_call(leg, deps, "webrtc"), self._on_agent,
                                            self._on_monitor)
        stack.push_async_callback(intake.client.aclose)
        background = TaskGroupOwner()  # the intake and the heartbeat
        stack.push_async_callback(background.close)
        intake_task = background.spawn(intake.run(), name="webrtc-intake")
        background.spawn(DeskRequests(intake.client, self.id, self._on_desk_request).run(), name="desk-requests")
        background.spawn(self._answer_prompts(settings, flowset, prompts), name="answer-prompts")
        background.spawn(self._heartbeat(publisher, endpoint, recognizer.name, recognizer.model, active, prompts),
                         name="heartbeat")
        stack.push_async_callback(self._end_calls, endpoint, intake, intake_task)
        log.info("worker ready", extra={"worker": self.id, "sip_port": self.sip_port, "engine": recognizer.name,
                                        "model": recognizer.model, "prompts": count, "interrupted": interrupted})
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)

    async def _answer_prompts(self, settings: Settings, flowset: FlowSet, prompts: PromptCache) -> None:
        count = await prerender_answers(settings.knowledge, flowset, prompts)
        log.info("bot answers rendered", extra={"worker": self.id, "prompts": count})

    async def _end_calls(self, endpoint: SipEndpoint, intake: WebRtcIntake, intake_task: asyncio.Task[Any]) -> None:
        """No new calls; the calls in progress are hung up and save their records."""
        log.info("worker stopping", extra={"worker": self.id, "calls": len(endpoint.calls)})
        intake_task.cancel()
        for leg in list(intake.legs):
            leg.hangup_call()
        await endpoint.hangup_all()
        if self.sessions:
            await asyncio.wait(self.sessions, timeout=15.0)
        await self.tasks.close()
        await intake.tasks.close()

    async def _unregister(self, client: aioredis.Redis) -> None:
        with contextlib.suppress(Exception):  # Redis may be gone by now: readers see the heartbeat stop
            await client.hdel(WORKERS_KEY, self.id)

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

    def _on_monitor(self, leg: CallLeg, call: str, supervisor: str, mode: str) -> bool:
        """A supervisor joins a call held here (listen, whisper or barge)."""
        session = self.by_record.get(call)
        return session is not None and session.monitor(leg, supervisor, mode)

    def _on_desk_request(self, request: DeskRequest) -> None:
        """The desk acts on a call held here: hold, resume, transfer to a queue or an agent; or a
        supervisor on it changes mode or leaves."""
        session = self.by_record.get(request.call)
        if session is None:
            return
        match request.op:
            case "hold" | "resume":
                session.hold(request.op == "hold")
            case "transfer":
                self.tasks.spawn(session.transfer_from_desk(request.queue, request.skill, request.agent))
            case "monitor_mode":
                session.monitor_mode(request.by, request.mode)
            case "unmonitor":
                session.unmonitor(request.by)
            case _:
                assert_never(request.op)

    async def _heartbeat(self, publisher: EventPublisher, endpoint: SipEndpoint, engine: str, model: str,
                         active: ActiveFlows, prompts: PromptCache) -> None:
        version = active.current().version
        while True:
            current = active.current()
            if current.version != version:  # a reload: new calls start on it; render its prompts now
                version = current.version
                log.info("flows reloaded", extra={"worker": self.id, "flow_set": version})
                # beside the beat, not in its way: a late beat takes the worker out of the edges' lists
                self.tasks.spawn(prerender_prompts(current, prompts, QUICK_VOICES), name="prerender")
            publisher.heartbeat(self.id, {
                "sip": f"{self.settings.internal_host}:{self.sip_port}", "listening": endpoint.listening,
                "calls": len(endpoint.calls), "max_calls": MAX_CALLS_PER_PROCESS,
                "webrtc_calls": sum(not leg.disconnected.is_set() for leg in self.webrtc.legs),
                "asr_engine": engine, "asr_model": model, "pid": os.getpid(), "flow_set": version,
                "node": self.settings.node_id,
            })
            await asyncio.sleep(2.0)
