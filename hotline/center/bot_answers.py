"""The voice bot's answers: callers' questions (IVR `answer` nodes) matched against the knowledge base.

Matching happens in the app process only, with the live knowledge registry's matcher: each SIP
worker loading the multilingual model (~150 MB) would multiply it by the number of workers. A
worker's call pushes a request to one Redis list (`BOT_QUESTIONS_KEY`):
``{"id", "call", "question", "language", "reply_to", "expires_at"}``; the app's
:class:`BotAnswerService` takes them one at a time, matches on a thread of its own (never on the
event loop) and pushes the reply on the request's own key (`reply_to`), which expires. The call
waits a few seconds (:class:`BotAnswerClient`); when no answer comes (the app is down, Redis is
away, matching is slow) the bot says it cannot help and the flow's no-match path runs.

An article is offered by voice only when it has a spoken answer in the caller's language
(`Article.spoken_answer`): a question the best article answers only in writing is a no-match.
The simulator and the flow tests match with the local knowledge directory (:class:`LocalAnswers`).
Questions are never written into log messages; the logs carry the call, the article and timings.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hotline.center.keys import BOT_ANSWER_PREFIX, BOT_QUESTIONS_KEY, bot_answer_key
from hotline.ivr.actions import AnswerFound, FindAnswer
from hotline.system.loops import supervised

if TYPE_CHECKING:
    from hotline.assist.kb import KnowledgeBase
    from hotline.assist.matcher import Matcher
    from hotline.assist.registry import KnowledgeRegistry

log = logging.getLogger(__name__)

WAIT_S = 4.0  # how long a call waits for the app's answer
ANSWER_TTL_S = 30  # a reply nobody took (the call hung up, or gave up waiting) goes away
QUEUE_TTL_S = 60  # the request list itself, when no app has been reading it for this long
RANKED = 5
# a caller read a wrong answer loses more than an agent shown a wrong card: with the multilingual
# scorer the bot also wants this much score (cosine + lexical). On the shared dev set no null
# sentence in either language reached it, while direct questions score 0.9-1.05; off-topic ones
# ("what will the weather be like tomorrow") pass the cards' margin rule at 0.80-0.84
BOT_MIN_SCORE = {"en": 0.85, "zh": 0.884}


@dataclass(frozen=True)
class BotAnswer:
    """The best article for a question: `article` "" when nothing fits (`reason` says why)."""

    article: str = ""
    title: str = ""
    answer: str = ""  # its spoken answer in the question's language
    score: float = 0.0
    reason: str = ""  # "", "no_match", "no_spoken_answer", "no_knowledge", "failed"


def answer_question(matcher: Matcher, kb: KnowledgeBase, question: str, language: str) -> BotAnswer:
    """What the bot reads for `question`: the matcher's decision on its ranking, when that article
    has a spoken answer in `language` (a caller is never read an answer in another language)."""
    ranked = matcher.rank(question, language, k=RANKED)
    decided = matcher.decide(ranked, language)
    floor = BOT_MIN_SCORE.get(language.lower()[:2], 0.0) if matcher.scorer == "e5+lexical" else 0.0
    if decided is None or decided.article_id not in kb.by_id or decided.score < floor:
        return BotAnswer(score=round(ranked[0][1], 4) if ranked else 0.0, reason="no_match")
    article = kb.by_id[decided.article_id]
    spoken = article.spoken_answer(language)
    if not spoken:
        return BotAnswer(score=round(decided.score, 4), reason="no_spoken_answer")
    return BotAnswer(article.id, article.title(language), spoken, round(decided.score, 4))


def _found(token: int, answer: BotAnswer) -> AnswerFound:
    return AnswerFound(token, answer.article, answer.title, answer.answer, answer.score,
                       "" if answer.article else answer.reason)


class BotAnswerService:
    """App side: answers the workers' questions with the knowledge registry's current matcher.

    Give it a client of its own: it blocks in BLPOP."""

    def __init__(self, client: aioredis.Redis, registry: KnowledgeRegistry[Matcher],
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.registry = registry
        self.clock = clock
        self._matching = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bot-match")
        self.answered = 0
        self.expired = 0

    async def run(self) -> None:
        await supervised(self.step, name="bot-answers")

    async def step(self) -> None:
        """Answer the next question (waits up to a second for one)."""
        item = await self.client.blpop([BOT_QUESTIONS_KEY], timeout=1)
        if item is None:
            return
        try:
            request = json.loads(item[1])
            reply_to, call = str(request["reply_to"]), str(request.get("call", ""))
            question, language = str(request["question"]), str(request.get("language") or "en")
        except (ValueError, KeyError, TypeError):
            log.warning("bot question not understood, dropped")
            return
        if not reply_to.startswith(BOT_ANSWER_PREFIX):
            log.warning("bot question with a bad reply key, dropped", extra={"call": call})
            return
        if float(request.get("expires_at") or 0) and float(request["expires_at"]) < self.clock():
            self.expired += 1  # the caller has gone on without it
            log.info("bot question expired before it was answered", extra={"call": call})
            return
        started = time.perf_counter()
        answer = await self.answer(call, question, language)
        await self.client.rpush(reply_to, json.dumps(asdict(answer)))
        await self.client.expire(reply_to, ANSWER_TTL_S)
        self.answered += 1
        log.info("bot question answered", extra={
            "call": call, "language": language, "article": answer.article, "reason": answer.reason,
            "score": answer.score, "ms": round((time.perf_counter() - started) * 1000, 1)})

    async def answer(self, call: str, question: str, language: str) -> BotAnswer:
        version = self.registry.current
        if version is None:
            return BotAnswer(reason="no_knowledge")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._matching, answer_question, version.matcher, version.kb,
                                              question, language)
        except Exception:  # noqa: BLE001 (the caller is told the bot cannot help; the log keeps why)
            log.exception("bot question could not be matched", extra={"call": call})
            return BotAnswer(reason="failed")

    def close(self) -> None:
        self._matching.shutdown(wait=True)


class BotAnswerClient:
    """Worker side (`hotline.center.call_deps.Answers`): asks the app and waits for its answer.

    Give it a client of its own, whose socket timeout is longer than `wait_s` (BLPOP blocks)."""

    def __init__(self, client: aioredis.Redis, worker: str, wait_s: float = WAIT_S) -> None:
        self.client = client
        self.worker = worker
        self.wait_s = wait_s

    async def find(self, call: str, action: FindAnswer) -> AnswerFound:
        request = uuid.uuid4().hex
        reply_to = bot_answer_key(request)
        started = time.monotonic()
        body = {"id": request, "call": call, "question": action.question, "language": action.language,
                "reply_to": reply_to, "worker": self.worker, "expires_at": round(time.time() + self.wait_s, 3)}
        try:
            await self.client.rpush(BOT_QUESTIONS_KEY, json.dumps(body))
            await self.client.expire(BOT_QUESTIONS_KEY, QUEUE_TTL_S)
            item = await self.client.blpop([reply_to], timeout=self.wait_s)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("bot answer unavailable, no-match path", extra={"call": call, "error": type(exc).__name__})
            return AnswerFound(action.token, error="unavailable")
        ms = round((time.monotonic() - started) * 1000, 1)
        if item is None:
            log.warning("bot answer timed out, no-match path", extra={"call": call, "wait_s": self.wait_s})
            return AnswerFound(action.token, error="timeout")
        try:
            data = json.loads(item[1])
            answer = BotAnswer(str(data.get("article") or ""), str(data.get("title") or ""),
                               str(data.get("answer") or ""), float(data.get("score") or 0.0),
                               str(data.get("reason") or ""))
        except (ValueError, TypeError, AttributeError):
            log.warning("bot answer not understood, no-match path", extra={"call": call})
            return AnswerFound(action.token, error="bad_reply")
        log.info("bot answer", extra={"call": call, "article": answer.article, "reason": answer.reason,
                                      "score": answer.score, "ms": ms})
        return _found(action.token, answer)


class LocalAnswers:
    """The simulator's and the flow tests' bot (`hotline.ivr.simulator.AnswerSource`): the same
    matching as the app's, on the knowledge directory given, built on the first question. A
    directory that does not load gives no answers (and says why once)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._loaded: tuple[Matcher, KnowledgeBase] | None = None
        self._error = ""

    def _load(self) -> tuple[Matcher, KnowledgeBase] | None:
        if self._loaded is None and not self._error:
            from hotline.assist.kb import KbError
            from hotline.assist.matcher import Matcher
            from hotline.assist.registry import load_directory

            try:
                kb, _files = load_directory(self.directory)
            except KbError as exc:
                self._error = str(exc)
                log.warning("knowledge directory not loaded: the bot finds no answers",
                            extra={"dir": str(self.directory), "error": self._error.splitlines()[0]})
                return None
            self._loaded = (Matcher(kb), kb)
        return self._loaded

    async def find(self, action: FindAnswer) -> AnswerFound:
        loaded = await asyncio.to_thread(self._load)
        if loaded is None:
            return AnswerFound(action.token, error="no_knowledge")
        matcher, kb = loaded
        answer = await asyncio.to_thread(answer_question, matcher, kb, action.question, action.language)
        return _found(action.token, answer)
