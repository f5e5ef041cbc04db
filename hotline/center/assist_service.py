"""Live knowledge suggestions: the caller's final transcripts in, suggestion cards out.

Runs in the app process on the call event stream. Once an agent is connected to a call, each
final caller utterance goes to that call's :class:`~hotline.assist.matcher.Suggester`; a
suggestion is published as an ``assist.suggestion`` event on the same Redis stream (the agent
desk watching the call receives it over its WebSocket) and appended to the call record, with the
article's title, script and steps in the caller's language. The agent's "used" / "not relevant"
verdict is written next to it. Matching embeds the sentence (~30-50 ms of CPU), so it runs on
one ``assist-match`` thread, in order, never on the event loop; the card is handed back to the
loop with ``call_soon_threadsafe`` and published there. At most ``MAX_PENDING`` sentences wait
for that thread: beyond it a sentence is dropped and counted (a card that late is no use). The
record writes run on another single background thread, in order, so they never delay the card.

An article the agent finds with the desk's search box and opens during a call is recorded as a card
too (``"source": "search"``, :meth:`AssistService.record_search`), numbered with the pushed cards, so
"used" on it is the same :meth:`AssistService.feedback` and the usage report counts it apart.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from hotline.assist.kb import Article, KnowledgeBase
from hotline.assist.matcher import Matcher, Suggester
from hotline.assist.registry import KbVersion, KnowledgeRegistry
from hotline.assist.report import SEARCH as SEARCH_SOURCE
from hotline.center.bus import (
    AgentConnected,
    AssistFeedback,
    AssistSuggestion,
    CallEnded,
    CallEvent,
    EventSink,
    TranscriptFinal,
)
from hotline.center.store import CallStore
from hotline.system import metrics

log = logging.getLogger(__name__)
VERDICTS = ("used", "not_relevant")
MAX_PENDING = 64  # sentences waiting for the match thread
MAX_SEARCHED = 1000  # searched articles remembered for calls that are not live here


@dataclass
class _CallState:
    language: str = ""
    suggester: Suggester | None = None
    kb_version: int = 0
    shown: dict[int, str] = field(default_factory=dict)  # card number -> article id
    next_card: int = 0
    utterances: int = 0


def warm_matcher(kb: KnowledgeBase) -> Matcher:
    """A matcher whose first real sentence is as fast as the rest (caches filled, code paths run)."""
    matcher = Matcher(kb)
    for language in sorted({lang for article in kb for lang in article.titles}):
        matcher.match("hello", language)
    return matcher


def article_card(article: Article, language: str) -> dict[str, Any]:
    """What the desk shows: the article in the caller's language (else English, else any)."""
    return {"article": article.id, "title": article.title(language), "script": article.script(language),
            "steps": list(article.steps_in(language)), "tags": list(article.tags_in(language))}


class AssistService:
    def __init__(self, registry: KnowledgeRegistry[Matcher], store: CallStore, publisher: EventSink,
                 default_language: str = "en", clock: Callable[[], float] = time.time) -> None:
        self.registry = registry
        self.store = store
        self.publisher = publisher
        self.default_language = default_language
        self.clock = clock
        self._calls: dict[str, _CallState] = {}
        self._lock = threading.Lock()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assist-store")
        self._matching = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assist-match")
        self._pending = 0
        self._searched: dict[tuple[str, int], str] = {}  # (call, card) -> article, for calls not live here
        self.matched = 0
        self.abstained = 0
        self.dropped = 0

    def on_event(self, event: CallEvent) -> None:
        """Every event of the call stream (`hotline.center.call_events.CallEvents` calls this)."""
        call = event.call_id
        match event:
            case AgentConnected():
                with self._lock:
                    if call not in self._calls:
                        self._calls[call] = _CallState()
                        self._write(self.store.set_paths, call, {"$.assist": {"utterances": 0, "suggestions": []}})
            case CallEnded():
                with self._lock:
                    self._calls.pop(call, None)
            case TranscriptFinal(speaker="caller"):
                with self._lock:
                    state = self._calls.get(call)
                if state is not None:
                    self._submit_final(call, state, event)

    def _submit_final(self, call: str, state: _CallState, event: TranscriptFinal) -> None:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # called from a plain thread (tests, tools): match right here
            loop = None
        if loop is None:
            self._on_caller_final(call, state, event, None)
            return
        with self._lock:
            if self._pending >= MAX_PENDING:
                self.dropped += 1
                log.warning("assist match queue full; sentence dropped", extra={"call": call, "dropped": self.dropped})
                return
            self._pending += 1

        def run() -> None:
            try:
                self._on_caller_final(call, state, event, loop)
            except Exception:  # noqa: BLE001 (a failed match is logged; the live call goes on)
                log.exception("assist match failed", extra={"call": call})
            finally:
                with self._lock:
                    self._pending -= 1

        self._matching.submit(run)

    def _suggester(self, state: _CallState, version: KbVersion[Matcher], language: str) -> Suggester:
        if state.suggester is None or state.kb_version != version.number or state.language != language:
            state.suggester = Suggester(version.matcher, language)
            state.kb_version, state.language = version.number, language
        return state.suggester

    def _on_caller_final(self, call: str, state: _CallState, event: TranscriptFinal,
                         loop: asyncio.AbstractEventLoop | None) -> None:
        version = self.registry.current
        text = event.text.strip()
        if version is None or not text:
            return
        language = event.language or state.language or self.default_language
        started = time.perf_counter()
        suggestion = self._suggester(state, version, language).on_final(text)
        match_ms = (time.perf_counter() - started) * 1000
        metrics.assist_match_seconds().observe(match_ms / 1000)
        state.utterances += 1
        self._write(self.store.set_paths, call, {"$.assist.utterances": state.utterances})
        if suggestion is None or suggestion.article_id not in version.kb.by_id:
            self.abstained += 1
            return
        self.matched += 1
        fields = article_card(version.kb[suggestion.article_id], language)
        with self._lock:  # the card's number is its index in the record's list: append in that order
            n = state.next_card
            state.next_card += 1
            state.shown[n] = suggestion.article_id
            self._write(self.store.append, call, "$.assist.suggestions",
                        {"n": n, "article": suggestion.article_id, "title": fields["title"],
                         "score": round(suggestion.score, 4), "confidence": round(suggestion.confidence, 3),
                         "language": language, "kb_version": version.number, "utterance_end_ms": event.end_ms,
                         "at": round(self.clock(), 3), "feedback": None})
        card = AssistSuggestion(call_id=call, n=n, **fields, score=round(suggestion.score, 4),
                                confidence=round(suggestion.confidence, 3), language=language,
                                kb_version=version.number, utterance_end_ms=event.end_ms, transcript_ts=event.ts,
                                match_ms=round(match_ms, 3))
        if loop is None:
            self.publisher.publish(card)
        else:
            loop.call_soon_threadsafe(self.publisher.publish, card)
        log.info("suggestion", extra={"call": call, "card": n, "article": suggestion.article_id,
                                      "confidence": card.confidence, "match_ms": card.match_ms})

    def record_search(self, call: str, article_id: str, language: str, agent: str,
                      rank: int | None = None) -> Future[int | None]:
        """An article the agent found with the desk's search and opened during ``call``: it goes into
        the call record as a card of its own (``"source": "search"``, no verdict yet), so the agent's
        "used" is :meth:`feedback` on its number, as for a pushed card. The future gives that number,
        or None when the call has no record (or the article is not in the knowledge base)."""
        version = self.registry.current
        done: Future[int | None] = Future()
        if version is None or article_id not in version.kb.by_id:
            done.set_result(None)
            return done
        entry: dict[str, Any] = {"article": article_id, "title": version.kb[article_id].title(language),
                                 "source": SEARCH_SOURCE, "rank": rank, "language": language,
                                 "kb_version": version.number, "by": agent, "feedback": None}
        with self._lock:
            state = self._calls.get(call)
            if state is not None:  # a live call of this process: numbered with its pushed cards, in order
                n = state.next_card
                state.next_card += 1
                state.shown[n] = article_id
                self._write(self.store.append, call, "$.assist.suggestions", {"n": n, **entry,
                                                                               "at": round(self.clock(), 3)})
                self._write(lambda *_: done.set_result(n), call)
                return done

        def append_to_record() -> None:
            # no live state here (the call is over, or another node matches it): no card is being
            # added to this record meanwhile, so its next number is its list's length
            record = self.store.get(call)
            if record is None:
                done.set_result(None)
                return
            assist = record.get("assist")
            if not isinstance(assist, dict):
                self.store.set_paths(call, {"$.assist": {"utterances": 0, "suggestions": []}})
                assist = {}
            n = len(assist.get("suggestions") or [])
            self.store.append(call, "$.assist.suggestions", {"n": n, **entry, "at": round(self.clock(), 3)})
            with self._lock:
                self._searched[(call, n)] = article_id
                while len(self._searched) > MAX_SEARCHED:
                    self._searched.pop(next(iter(self._searched)))
            done.set_result(n)

        def run() -> None:
            try:
                append_to_record()
            except Exception as exc:  # noqa: BLE001 (logged; the desk is told it was not recorded)
                log.exception("assist search record failed", extra={"call": call})
                if not done.done():
                    done.set_exception(exc)

        self._writer.submit(run)
        return done

    def feedback(self, call: str, n: int, verdict: str, agent: str) -> str | None:
        """Record an agent's verdict on card ``n``; returns an error message, or None when stored."""
        if verdict not in VERDICTS:
            return f"verdict must be one of {VERDICTS}"
        with self._lock:
            state = self._calls.get(call)
            article = state.shown.get(n) if state is not None else None
            article = article or self._searched.get((call, n))
        if article is None:  # the call may be over already: the record knows what was shown
            record = self.store.get(call) or {}
            shown = (record.get("assist") or {}).get("suggestions") or []
            article = next((s["article"] for s in shown if s.get("n") == n), None)
            if article is None:
                return f"no suggestion {n} on this call"
        at = round(self.clock(), 3)
        self._write(self.store.set_paths, call, {f"$.assist.suggestions[{n}].feedback": verdict,
                                                 f"$.assist.suggestions[{n}].feedback_by": agent,
                                                 f"$.assist.suggestions[{n}].feedback_at": at})
        self.publisher.publish(AssistFeedback(call_id=call, n=n, article=article, verdict=verdict, agent=agent))
        log.info("suggestion feedback", extra={"call": call, "card": n, "article": article, "verdict": verdict})
        return None

    def _write(self, fn: Callable[..., Any], *args: Any) -> None:
        def run() -> None:
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 (a failed write is logged; the live call goes on)
                log.exception("assist record write failed", extra={"call": args[0]})

        self._writer.submit(run)

    def flush(self) -> None:
        """Wait until queued matches and record writes are done."""
        self._matching.submit(lambda: None).result()
        self._writer.submit(lambda: None).result()

    def close(self) -> None:
        self._matching.shutdown(wait=True)
        self._writer.shutdown(wait=True)
