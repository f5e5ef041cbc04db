"""The knowledge base over HTTP: status and errors, articles (read, create, edit, delete), a
matcher try-out, the agent desk's search (the same matcher's ranking, by words, English or Chinese),
the usage report (agent desk and voice bot), and the admin page."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request

from hotline.assist.kb import KbError, article_fields, to_plain
from hotline.assist.matcher import Matcher
from hotline.assist.registry import KnowledgeRegistry
from hotline.assist.report import usage_report
from hotline.assist.text import english_tokens, normalise, stem
from hotline.center.assist_service import article_card
from hotline.center.store import CallStore
from hotline.web.access import Access
from hotline.web.pages import add_page
from hotline.web.periods import parse_time

SEARCH_RESULTS = 8
KEEP_WITHOUT_WORDS = 0.95  # of the best score: a found article that shares no word with the query
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_EXAMPLE = {"title": "Parcel arrived damaged", "tags": ["broken", "crushed"], "title_zh": "包裹破损",
            "script": "I'm sorry it arrived damaged...", "steps": ["Ask for photos", "Create a damage ticket"]}


def _plain_or_none(version: Any, article_id: str) -> dict[str, Any] | None:
    """The article as its file holds it, for the audit log's before / after; None if absent."""
    found = version.kb.by_id.get(article_id) if version is not None else None
    return to_plain(found) if found is not None else None


def _field_language(matcher: Matcher, language: str) -> str:
    """The article language whose fields the matcher reads for `language` ("zh-CN" -> "zh")."""
    lang = language.lower()
    languages = {code for article in matcher.kb for code in article.titles}
    return lang if lang in languages else lang.split("-")[0].split("_")[0]


def matched_words(matcher: Matcher, text: str, language: str, article_id: str) -> dict[str, list[str]]:
    """Per article field, the words (English: as said; Chinese: character pairs) and concepts
    ("~damaged": a word of the same meaning) the sentence shares with it."""
    analyzer = matcher.analyzer
    said = analyzer.words(text, language)
    lang = _field_language(matcher, language)
    tokens = english_tokens(text) if not lang.startswith("zh") else []
    by_stem: dict[str, str] = {}
    for token in tokens:
        by_stem.setdefault(stem(token), token)
    out: dict[str, list[str]] = {}
    for name, field_text in article_fields(matcher.kb[article_id], lang).items():
        common = set(said) & set(analyzer.words(field_text, language)) if field_text else set()
        words = sorted({by_stem.get(term, term) for term in common if not term.startswith("~")},
                       key=lambda w: normalise(text).find(w))
        # a concept named like a word already listed ("parcel" and "~parcel") says nothing more
        concepts = sorted(term for term in common if term.startswith("~") and stem(term[1:]) not in common)
        if words or concepts:
            out[name] = words + concepts
    return out


def explain_match(matcher: Matcher, text: str, language: str) -> dict[str, Any]:
    """What the matcher would show for one sentence, and why: the three best articles with their
    score and the words they share with it, the thresholds, and the rule that decided."""
    ranked = matcher.rank(text, language)
    chosen = matcher.decide(ranked, language)
    min_score, min_margin, min_relative = matcher.thresholds(language)
    best = ranked[0][1] if ranked else 0.0
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    needed = max(min_margin, min_relative * best)
    if not ranked:
        reason = f"no article has text in {language!r}"
    elif chosen is not None:
        reason = (f"shown: score {best:.3f} is at least {min_score:.3f} and leads the next article by "
                  f"{best - second:.3f} (at least {needed:.3f} needed)")
    elif best <= 0.0:
        reason = "nothing shown: no article shares anything with the sentence (every score is 0 or less)"
    elif best < min_score:
        reason = f"nothing shown: the best score {best:.3f} is below the minimum {min_score:.3f}"
    else:
        reason = (f"nothing shown: the best article leads the next by {best - second:.3f}, less than the "
                  f"{needed:.3f} needed (too close to call)")
    kb = matcher.kb
    return {"suggestion": chosen.article_id if chosen else None,
            "confidence": round(chosen.confidence, 3) if chosen else None,
            "ranked": [{"article": a, "title": kb[a].title(language), "score": round(score, 4),
                        "matched": matched_words(matcher, text, language, a)} for a, score in ranked],
            "thresholds": {"min_score": min_score, "min_margin": min_margin, "min_relative_margin": min_relative,
                           "needed_lead": round(needed, 4)},
            "lead": round(best - second, 4) if ranked else None,
            "reason": reason}


def search_language(text: str, language: str) -> str:
    """The language to search in: as asked, or for "auto" (or nothing) Chinese when the words have
    Chinese characters, else English."""
    language = language.strip().lower()
    if language and language != "auto":
        return language
    return "zh" if _CJK.search(text) else "en"


def search_articles(matcher: Matcher, text: str, language: str, k: int = SEARCH_RESULTS) -> list[dict[str, Any]]:
    """The articles that fit some words best, best first (the matcher's ranking, thresholds not
    applied; articles that share no word with the query and score clearly below the best are left
    out), each as the desk's card
    (title, script, steps, tags in `language`) with its score and the words it shares with the query."""
    found: list[dict[str, Any]] = []
    ranked = matcher.rank(text, language, k=k)
    best = ranked[0][1] if ranked else 0.0
    for rank, (article_id, score) in enumerate(ranked):
        matched = matched_words(matcher, text, language, article_id)
        shared = list(dict.fromkeys(w for ws in matched.values() for w in ws))
        words = [w for w in shared if not w.startswith("~")] + [w for w in shared if w.startswith("~")]
        # closeness in meaning alone lifts every article a little: one that shares no word (or word of
        # the same meaning) with the query stays only when it is nearly as close as the best one
        if score <= 0.0 or (found and not words and score < KEEP_WITHOUT_WORDS * best):
            continue
        found.append({**article_card(matcher.kb[article_id], language), "rank": rank, "score": round(score, 4),
                      "matched": words})
    return found


def knowledge_router(registry: KnowledgeRegistry[Matcher], store: CallStore, access: Access,
                     on_changed: Callable[[], Awaitable[object]] | None = None) -> APIRouter:
    """`on_changed`: awaited after an edit changed the knowledge files (e.g. the cluster's publish)."""
    router = APIRouter(tags=["knowledge"])

    def current() -> Any:
        version = registry.current
        if version is None:
            raise HTTPException(status_code=503, detail={"message": "no valid knowledge base loaded",
                                                         "errors": registry.errors})
        return version

    @router.get("/api/knowledge")
    async def status() -> dict[str, Any]:
        """Version, files, errors of a rejected edit (file:line), and every article's id, title and file."""
        version = registry.current
        articles = [{"id": a.id, "title": a.title("en"), "languages": list(a.languages),
                     "file": version.files.get(a.id)} for a in version.kb] if version else []
        return {**registry.status(), "items": articles}

    @router.get("/api/knowledge/report")
    async def report(since: str | None = Query(None, description="ISO date/time or epoch seconds; default 7 days ago"),
                     until: str | None = Query(None, description="ISO date/time or epoch seconds; default now"),
                     ) -> dict[str, Any]:
        """Knowledge-base usage, per article and overall: on the agent desk suggested / used / not
        relevant and the match rate, found with the desk's search / used; for the voice bot (`bot`)
        questions, matched, resolved, transferred, voicemail, no-match and the self-service rate
        (definitions: `hotline.assist.report`)."""
        end = parse_time(until, time.time(), end_of_day=True)
        start = parse_time(since, end - timedelta(days=7).total_seconds())
        if start >= end:
            raise HTTPException(status_code=422, detail="since must be before until")
        # every call of the period: those an agent took (`assist`) and those that asked the bot (`bot`)
        records = await asyncio.get_running_loop().run_in_executor(None, store.between, start, end)
        version = registry.current
        return {"since": start, "until": end, **usage_report(records, version.kb if version else None)}

    @router.get("/api/agent/knowledge/search")
    async def search(q: str = Query(..., min_length=1, max_length=500, description="words to look for"),
                     lang: str = Query("auto", max_length=8, description="en, zh... or auto (Chinese characters: zh)"),
                     limit: int = Query(SEARCH_RESULTS, ge=1, le=20)) -> dict[str, Any]:
        """The agent desk's search: the articles that fit the words best (the live matcher's ranking),
        each with its title, script and steps in the language, its score and the words in common."""
        version = current()
        language = search_language(q, lang)
        results = await asyncio.to_thread(search_articles, version.matcher, q, language, limit)
        return {"query": q, "language": language, "kb_version": version.number, "results": results}

    @router.get("/api/knowledge/suggest")
    async def suggest(text: str = Query(..., min_length=1, max_length=2000), language: str = Query("en"),
                      ) -> dict[str, Any]:
        """Try the matcher: the top three articles for a sentence (score, title, the words each shares
        with it), whether one would be shown, the thresholds, and the reason in words."""
        matcher = current().matcher
        return await asyncio.get_running_loop().run_in_executor(None, explain_match, matcher, text, language)

    @router.get("/api/knowledge/{article_id}")
    async def get_article(article_id: str) -> dict[str, Any]:
        version = current()
        article = version.kb.by_id.get(article_id)
        if article is None:
            raise HTTPException(status_code=404, detail=f"no article {article_id!r}")
        return {"article": to_plain(article), "file": version.files.get(article_id)}

    @router.put("/api/knowledge/{article_id}")
    async def put_article(request: Request, article_id: str, article: Annotated[dict[str, Any], Body(examples=[_EXAMPLE])],
                          file: str | None = Query(None, description="file for a new article (default articles.yaml)"),
                          ) -> dict[str, Any]:
        """Create or replace an article (the file layout: title, title_zh, tags, script, steps...).
        It is validated first; the file is rewritten and the matcher rebuilt at once."""
        if article.get("id", article_id) != article_id:
            raise HTTPException(status_code=422, detail=f"id in the body ({article.get('id')!r}) is not {article_id!r}")
        before = _plain_or_none(registry.current, article_id)
        try:
            created = await asyncio.get_running_loop().run_in_executor(
                None, lambda: registry.put_article({**article, "id": article_id}, file))
        except KbError as exc:
            raise HTTPException(status_code=422, detail=str(exc).splitlines()) from exc
        after = await get_article(article_id)
        await access.record(request, "knowledge.created" if created else "knowledge.edited", article_id,
                            {"version": registry.status()["version"], "before": before, "after": after["article"]})
        if on_changed is not None:
            await on_changed()
        return {"created": created, **after}

    @router.delete("/api/knowledge/{article_id}")
    async def delete_article(request: Request, article_id: str) -> dict[str, Any]:
        """Remove an article from its file (admin); the file's other content and comments stay."""
        before = _plain_or_none(registry.current, article_id)
        try:
            await asyncio.get_running_loop().run_in_executor(None, registry.delete_article, article_id)
        except KeyError as exc:
            raise HTTPException(status_code=404, detail=f"no article {article_id!r}") from exc
        except KbError as exc:
            raise HTTPException(status_code=422, detail=str(exc).splitlines()) from exc
        version = registry.status()["version"]
        await access.record(request, "knowledge.deleted", article_id, {"version": version, "before": before})
        if on_changed is not None:
            await on_changed()
        return {"deleted": article_id, "version": version}

    add_page(router, "/admin/knowledge", "knowledge.html")
    return router
