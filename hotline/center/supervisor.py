"""`hotline serve`: the supervisor. Starts Redis (embedded unless a URL is given), the media
workers, the Kamailio SIP edge and the HTTP app; restarts dead workers; shuts all down cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import uvicorn

from hotline.asr.engines import model_name
from hotline.asr.factory import resolve_engine
from hotline.asr.models import whisper_model_path
from hotline.asr.whisper_engine import WhisperRecognizer
from hotline.assist.registry import KnowledgeRegistry
from hotline.center.acd import Acd
from hotline.center.agents import AgentDirectory, load_agents_file
from hotline.center.assist_service import AssistService, warm_matcher
from hotline.center.bot_answers import BotAnswerService
from hotline.center.bus import PostTranscript
from hotline.center.call_events import CallEvents
from hotline.center.cluster_versions import ClusterVersions
from hotline.center.events import EventPublisher, redis_client
from hotline.center.flow_services import ivr_sources
from hotline.center.node_loop import NodeLoop, desks_gone, destinations, interrupter
from hotline.center.nodes import NodeDirectory, worker_id
from hotline.center.postcall import PostCallTranscriber
from hotline.center.recognition import service_stats, uses_service
from hotline.center.redis_server import EmbeddedRedis
from hotline.center.settings import Settings, settings_from_json, settings_to_json
from hotline.center.stores import check_database, open_call_store, open_ticket_store
from hotline.center.ticket_reminders import TicketReminders
from hotline.center.worker import QUICK_VOICES, SLOW_VOICES, flows_state_dir, prerender_prompts
from hotline.ivr.lookups import close_sources
from hotline.ivr.prompts import PromptCache
from hotline.ivr.registry import ActiveFlows, FlowRegistry
from hotline.system import metrics
from hotline.system.processes import Child, ProcessError, wait_until
from hotline.system.tasks import TaskGroupOwner
from hotline.telephony.sip.edge import KamailioEdge, sip_options_ping
from hotline.telephony.sip.endpoint import MAX_CALLS_PER_PROCESS
from hotline.web.app import AppState, create_app

log = logging.getLogger(__name__)


async def prepare_accounts(agents: AgentDirectory, s: Settings) -> bool:
    """Demo mode: the demo accounts exist. Production: they do not, and an admin must (made with the
    CLI). False (with the reason printed) when the server must not start."""
    if s.demo:
        if s.agents_file.is_file():
            added = await agents.seed(load_agents_file(s.agents_file), demo=True)
            log.info("demo accounts", extra={"file": str(s.agents_file), "added": added})
        return True
    removed = await agents.remove_demo_accounts()
    if removed:
        log.warning("demo accounts removed (production mode)", extra={"accounts": removed})
    if not any(a.has_role("admin") for a in await agents.all()):
        print("hotline: production mode and no admin account yet: create the first one with\n"
              f"  hotline users add ADMIN_NAME --roles admin --data {s.data}"
              + (f" --redis {s.redis}" if s.redis else "") + "\nthen start the server again.", file=sys.stderr)
        return False
    return True


def render_static_prompts(settings_json: str, engines: tuple[str, ...] | None = None, nice: int = 0) -> int:
    """Render every static prompt of the active flows into the prompt cache (run in a child;
    `nice` gives live calls the CPU first)."""
    if nice:
        os.nice(nice)
    s = settings_from_json(settings_json)
    flowset = ActiveFlows(flows_state_dir(s), s.flows).current()  # what the supervisor's scan activated
    return asyncio.run(prerender_prompts(flowset, PromptCache(s.prompt_dir, rate=s.media_rate,
                                                              natural=s.natural_voices), engines))


async def _service_answers(settings: Settings) -> bool:
    return await service_stats(settings) is not None


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.run_dir = settings.data / "run"
        self.workers: list[Child] = []
        self.asr: Child | None = None  # the recognition service, where the engine uses one
        self.registry: FlowRegistry
        self.knowledge = KnowledgeRegistry(settings.knowledge, warm_matcher)
        self.cluster: ClusterVersions | None = None  # flow and knowledge versions shared with other nodes
        self._stop = asyncio.Event()
        self._late_prompts: multiprocessing.process.BaseProcess | None = None

    def _worker_child(self, index: int, redis_url: str, settings_file: Path) -> Child:
        wid = worker_id(self.settings.node_id, index)
        argv = [sys.executable, "-m", "hotline.center.cli", "worker", "--settings-file", str(settings_file),
                "--id", wid, "--port", str(self.settings.worker_sip_port(index)),
                "--rtp-port", str(self.settings.worker_rtp_port(index)), "--redis", redis_url]
        return Child(wid, argv, self.settings.data / "logs" / f"worker-{wid}.log")

    async def run(self) -> int:
        s = self.settings
        s.rtp_address  # noqa: B018 (raises SettingsError for a wildcard SIP host without media_address)
        s.data.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        metrics.enable(self.run_dir / "metrics")  # before any child starts: they inherit it
        registry = self.registry = FlowRegistry(s.flows, flows_state_dir(s))
        registry.scan()
        if s.flow not in registry.active:  # nothing to serve: a broken flow stops start-up with file:line
            problems = [e for errs in registry.errors.values() for e in errs]
            for problem in problems:
                print(f"hotline: {problem}", file=sys.stderr)
            print(f"hotline: flow {s.flow!r} not found or invalid in {s.flows}", file=sys.stderr)
            return 2
        # in a child process: the voice models (Piper: ~240 MB) are then never resident here. The
        # slow Mandarin voice renders after start-up: until it is done a Chinese caller's prompt
        # is spoken on demand, sentence by sentence (the speech service, or the worker)
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            await asyncio.get_running_loop().run_in_executor(pool, render_static_prompts, settings_to_json(s),
                                                             QUICK_VOICES)
        # everything started from here on is stopped through one exit stack: each stop is registered
        # as its thing starts, so the teardown runs in reverse order of start-up, and every step runs
        # even if an earlier one fails
        try:
            async with contextlib.AsyncExitStack() as stack:
                try:
                    return await self._serve(stack)
                finally:
                    log.info("shutting down")
        except ProcessError as exc:
            log.error("start-up failed", extra={"error": str(exc)})
            print(f"hotline: {exc}", file=sys.stderr)
            return 1

    def _end_late_prompts(self) -> None:
        if self._late_prompts is not None and self._late_prompts.is_alive():
            self._late_prompts.terminate()  # what it rendered is on disk; the rest renders next time

    async def _stop_workers(self) -> None:
        # they hang up live calls (BYE goes out through the edge, stopped after them) and save records
        await asyncio.gather(*(w.stop(timeout=25.0) for w in self.workers), return_exceptions=True)

    @staticmethod
    def _tasks(stack: contextlib.AsyncExitStack) -> TaskGroupOwner:
        """An owner of background tasks, whose close (cancel, wait at most 5 s) is on the stack from now on."""
        owner = TaskGroupOwner()
        stack.push_async_callback(owner.close)
        return owner

    async def _serve(self, stack: contextlib.AsyncExitStack) -> int:
        s, registry = self.settings, self.registry
        flowset = registry.flowset()
        vocabulary = tuple(dict.fromkeys(p for f in flowset.flows.values() for p in f.vocabulary()))
        self._late_prompts = multiprocessing.get_context("spawn").Process(
            target=render_static_prompts, args=(settings_to_json(s), SLOW_VOICES, 10), name="prompts", daemon=True)
        self._late_prompts.start()
        stack.callback(self._end_late_prompts)
        engine = resolve_engine(s.asr)
        problem = check_database(s)
        if problem is not None:
            raise ProcessError(problem)
        store = open_call_store(s)
        # assembled once here, not in every worker: Whisper also serves Chinese, post-call
        # transcripts and Moonshine's fallback
        whisper_model_path(s.asr.whisper_model)
        if engine == "moonshine":
            from hotline.asr.moonshine_model import moonshine_model_path

            moonshine_model_path(s.asr.moonshine_model)  # built once here (about 20 s), not in every worker
        redis_server = EmbeddedRedis(s.data) if s.redis is None else None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        if redis_server is not None:
            stack.push_async_callback(redis_server.stop)  # a stop of a child not (fully) started is harmless
            await redis_server.start()
        redis_url = redis_server.url if redis_server else str(s.redis)
        client = redis_client(redis_url)
        stack.push_async_callback(client.aclose)
        agents = AgentDirectory(client)
        if not await prepare_accounts(agents, s):  # before anything slow starts
            return 2
        await loop.run_in_executor(None, self.knowledge.scan)
        for kb_problem in self.knowledge.errors:  # suggestions are off until it is fixed; calls are not
            print(f"hotline: knowledge: {kb_problem}", file=sys.stderr)
        self.cluster = ClusterVersions(client, registry, self.knowledge, s.node_id)
        for change in await self.cluster.sync():  # before any worker: the cluster's versions win over local files
            log.info("cluster versions", extra={"change": change})
        nodes = NodeDirectory(client, s.node_id)
        # nothing of this node runs yet: what a previous run of it left (workers, calls still `live`,
        # desks) died with it; other nodes' state is theirs
        left = await nodes.starting(interrupter(store))
        if left.live_calls or left.workers:
            log.warning("state of a previous run cleaned up", extra={"node": s.node_id, "workers": left.workers,
                                                                     "live_calls": len(left.live_calls)})
        settings_file = self.run_dir / "settings.json"
        settings_file.write_text(settings_to_json(s))
        host = s.internal_host
        if uses_service(s):
            self.asr = Child("asr", [sys.executable, "-m", "hotline.center.cli", "asr-service",
                                     "--settings-file", str(settings_file)],
                             s.data / "logs" / "asr-service.log")
            # stopped after the workers: their last segments are decoded
            stack.push_async_callback(self.asr.stop, 15.0)
            await self.asr.start()
            await wait_until(functools.partial(_service_answers, s), 180.0, "recognition service", self.asr)
        # this node's workers and the live ones of every other node (the node loop keeps it current)
        own = [(worker_id(s.node_id, i), host, s.worker_sip_port(i)) for i in range(s.workers)]
        others = [d for d in destinations(await nodes.live_workers()) if not d[0].startswith(f"{s.node_id}-w")]
        edge = KamailioEdge(s.sip_hostport[0], s.sip_hostport[1], self.run_dir, own + others, MAX_CALLS_PER_PROCESS,
                            advertise=s.rtp_address if s.internal_host != s.sip_hostport[0] else None,
                            defence=s.edge)
        stack.push_async_callback(edge.stop)  # registered before the workers': it stops after them
        self.workers = [self._worker_child(i, redis_url, settings_file) for i in range(s.workers)]
        stack.push_async_callback(self._stop_workers)
        for child in self.workers:
            await child.start()
        for i, child in enumerate(self.workers):
            port = s.worker_sip_port(i)
            await wait_until(functools.partial(sip_options_ping, host, port), 180.0, f"worker {child.name}", child)
        await edge.start()
        await desks_gone(agents, left)  # desks that reconnect soon get their state back
        stack.push_async_callback(nodes.leave)
        self._tasks(stack).spawn(NodeLoop(nodes, edge, store, agents, {
            "http": s.reachable_http, "sip": s.sip, "pid": os.getpid(), "workers": s.workers}).run(), name="node")
        acd = Acd(client, agents, s.ring_timeout_s)
        # the stream reader blocks in XREAD: it gets a connection pool of its own, so that stopping it
        # can never hand a connection still waiting for XREAD's reply to a publisher (redis-py #2663)
        events_client = redis_client(redis_url)
        stack.push_async_callback(events_client.aclose)
        call_events = CallEvents(events_client)
        publisher = EventPublisher(client)
        stack.push_async_callback(publisher.aclose)
        here_first = call_events.publisher(client)  # the app's own events reach its desks at once
        stack.push_async_callback(here_first.aclose)
        assist = AssistService(self.knowledge, store, here_first, s.asr.language)
        stack.callback(assist.close)  # queued suggestion and feedback writes reach the record
        call_events.listen(assist.on_event)
        background = self._tasks(stack)
        background.spawn(acd.run(), name="acd")
        background.spawn(call_events.run(), name="call-events")
        bot_client = redis_client(redis_url)  # BLPOP blocks: a pool of its own
        stack.push_async_callback(bot_client.aclose)
        bot = BotAnswerService(bot_client, self.knowledge)
        stack.callback(bot.close)
        self._tasks(stack).spawn(bot.run(), name="bot-answers")  # the workers' callers' questions
        sources = ivr_sources(s)
        stack.push_async_callback(close_sources, sources)  # the desk's CRM lookups
        crm_source = sources.get(s.crm.get("source", ""))

        async def crm(caller: str) -> dict[str, Any]:
            if crm_source is None:
                return {}
            return await crm_source.lookup(s.crm.get("operation", "customer"), {"caller": caller})

        tickets = open_ticket_store(s)
        reminders = TicketReminders(tickets, agents, client, publisher.publish)
        self._tasks(stack).spawn(reminders.run(), name="ticket-reminders")
        app = create_app(AppState(store, client, s.sip, edge.listening, engine,
                                  model_name(engine, s.asr),
                                  s.data, registry, tickets, agents, acd,
                                  call_events, crm, self.knowledge, assist,
                                  s.qa_rubric if s.qa_rubric.is_file() else None, auth=s.auth,
                                  recognition=functools.partial(service_stats, s) if self.asr else None,
                                  caller_signing_secret=s.caller_signing_secret,
                                  metrics_allow=tuple(s.metrics_allow), edge_stats=edge.stats, nodes=nodes, cluster=self.cluster))
        http_host, http_port = s.http_hostport
        # the app's lifespan opens and closes what the app owns
        server = uvicorn.Server(uvicorn.Config(app, host=http_host, port=http_port, log_level="warning",
                                               access_log=False, lifespan="on"))
        server_task = asyncio.create_task(server.serve(), name="http")

        async def stop_http() -> None:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server_task, 5.0)

        stack.push_async_callback(stop_http)
        if s.post_call_transcription:
            postcall = PostCallTranscriber(
                store, s.data, lambda: WhisperRecognizer(s.asr.language, s.asr.whisper_model, 1,
                                                         (*s.asr.hints, *vocabulary)), s.vad,
                on_progress=lambda call_id, post: publisher.publish(
                    PostTranscript(call_id=call_id, status=post["status"], progress=post["progress"])),
                node=s.node_id)
            stack.callback(postcall.close)
            self._tasks(stack).spawn(postcall.run(), name="postcall")
        log.info("hotline ready", extra={"sip": s.sip, "http": s.http, "workers": s.workers,
                                         "capacity": s.workers * MAX_CALLS_PER_PROCESS, "asr": engine})
        print(f"hotline ready: SIP udp:{s.sip}  HTTP http://{s.http}  ({s.workers} workers, "
              f"{s.workers * MAX_CALLS_PER_PROCESS} calls, ASR {engine})", flush=True)
        await self._watch(server_task, redis_server)
        return 0

    async def _watch(self, server_task: asyncio.Task[None], redis_server: EmbeddedRedis | None) -> None:
        while not self._stop.is_set():
            try:
                changes = self.registry.scan()  # hot reload: validated, versioned, atomic
            except OSError:
                log.exception("flow directory scan failed")
                changes = []
            if changes:
                log.info("flows changed", extra={"changes": changes})
            try:  # knowledge articles: validated and hot-reloaded alike (the matcher is rebuilt off the loop)
                await asyncio.get_running_loop().run_in_executor(None, self.knowledge.scan)
            except OSError:
                log.exception("knowledge directory scan failed")
            if self.cluster is not None:  # this node's own changes are published, then others' adopted
                cluster_changes = await self.cluster.sync()
                if cluster_changes:
                    log.info("cluster versions", extra={"changes": cluster_changes})
            if server_task.done():
                raise ProcessError("HTTP server stopped (is the HTTP port free?)")
            if redis_server is not None and not redis_server.child.running:
                # calls go on meanwhile (records are in SQLite); events resume once it is back
                log.warning("embedded redis died, restarting")
                try:
                    await redis_server.start()
                except ProcessError as exc:
                    log.error("embedded redis restart failed", extra={"error": str(exc)})
            for child in ([self.asr] if self.asr is not None else []) + self.workers:
                if not child.running:
                    child.restarts += 1
                    metrics.worker_restarts().labels(child.name).inc()
                    if child.proc is not None:
                        metrics.process_gone(child.proc.pid)
                    log.warning("child died, restarting",
                                extra={"worker": child.name, "rc": child.proc.returncode if child.proc else None,
                                       "restarts": child.restarts})
                    await child.start()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 1.0)
