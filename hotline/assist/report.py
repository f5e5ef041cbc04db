"""Knowledge-base usage over a period, from the ``assist`` and ``bot`` parts of call records.

**Agent desk** (``assist.suggestions``). Each entry is a knowledge card the agent saw on a call. Cards
the matcher pushed have no ``source`` (or ``"source": "match"``); articles the agent found with the
desk's search box and opened during the call are entries with ``"source": "search"`` (and the same
``feedback``: ``"used"``, ``"not_relevant"`` or None). Per article: how often it was suggested,
marked used, marked not relevant, and left without a verdict (pushed cards only), and how often it was
opened from a search (``searched``) and marked used from a search (``search_used``). Overall: the
match rate (caller utterances heard while an agent was on the call that brought a pushed card; search
entries do not count) and the articles nobody was ever shown: not pushed, not opened from a search,
not read by the bot (candidates for better tags, or removal).

**Voice bot** (``bot``: one entry per question the caller asked the IVR's ``answer`` node, see
`hotline.center.records.CallRecord.bot`). Overall and per article:

- ``questions``: bot entries (questions asked to the bot); per article, ``offered``: the questions for
  which the bot read that article's answer.
- ``matched``: questions for which an article was read (``article`` is set); ``no_match``: the rest
  (nothing fitted); ``match_rate`` = matched / questions.
- ``resolved``: the caller said yes to "Did that answer your question?" (``resolved == "yes"``);
  ``not_helped``: the caller said no (``resolved == "no"``).
- ``transferred``: the question ended with the call going to the agent queue (``outcome == "agent"``);
  ``voicemail``: it ended in voicemail (``outcome == "voicemail"``); ``hangup``: the caller hung up.
- ``self_served``: questions answered by the bot and not transferred: the caller said yes, the entry's
  outcome is neither ``agent`` nor ``voicemail``, and no agent took the call afterwards (the record's
  ``agent`` is empty). ``self_service_rate`` = self_served / questions (overall) and self_served /
  offered (per article). A caller who said yes and then asked for a person anyway is not counted.

Rates are None where their denominator is 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hotline.assist.kb import KnowledgeBase

SEARCH = "search"  # `source` of a suggestion entry the agent found with the desk's search
TRANSFER_OUTCOMES = frozenset({"agent", "voicemail"})
_DESK = ("suggested", "used", "not_relevant", "no_feedback", "searched", "search_used")
_BOT = ("offered", "resolved", "not_helped", "transferred", "voicemail", "self_served")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _row(title: str) -> dict[str, Any]:
    return {"title": title, **{k: 0 for k in _DESK}, "bot": {k: 0 for k in _BOT}}


class _Tally:
    def __init__(self) -> None:
        self.articles: dict[str, dict[str, Any]] = {}
        self.desk = {"calls": 0, "utterances": 0, "suggested": 0, "used": 0, "not_relevant": 0, "searched": 0,
                     "search_used": 0}
        self.bot = {"calls": 0, "questions": 0, "matched": 0, "no_match": 0, "resolved": 0, "not_helped": 0,
                    "transferred": 0, "voicemail": 0, "hangup": 0, "self_served": 0}

    def row(self, article: str, title: str) -> dict[str, Any]:
        return self.articles.setdefault(article, _row(title))

    def assist(self, assist: Mapping[str, Any]) -> None:
        desk = self.desk
        desk["calls"] += 1
        desk["utterances"] += int(assist.get("utterances") or 0)
        for card in assist.get("suggestions") or []:
            if not isinstance(card, Mapping):
                continue
            row = self.row(str(card.get("article")), str(card.get("title") or ""))
            verdict = card.get("feedback")
            if card.get("source") == SEARCH:
                row["searched"] += 1
                desk["searched"] += 1
                if verdict == "used":
                    row["search_used"] += 1
                    desk["search_used"] += 1
                continue
            row["suggested"] += 1
            desk["suggested"] += 1
            if verdict == "used":
                row["used"] += 1
                desk["used"] += 1
            elif verdict == "not_relevant":
                row["not_relevant"] += 1
                desk["not_relevant"] += 1
            else:
                row["no_feedback"] += 1

    def bot_entries(self, entries: list[Any], agent: str) -> None:
        bot = self.bot
        bot["calls"] += 1
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            bot["questions"] += 1
            outcome, said = entry.get("outcome"), entry.get("resolved")
            article = entry.get("article")
            served = said == "yes" and outcome not in TRANSFER_OUTCOMES and not agent
            counts = {"resolved": said == "yes", "not_helped": said == "no", "transferred": outcome == "agent",
                      "voicemail": outcome == "voicemail", "self_served": served}
            for key, hit in counts.items():
                bot[key] += int(hit)
            bot["hangup"] += int(outcome == "hangup")
            if not article:
                bot["no_match"] += 1
                continue
            bot["matched"] += 1
            per = self.row(str(article), str(entry.get("title") or ""))["bot"]
            per["offered"] += 1
            for key, hit in counts.items():
                per[key] += int(hit)


def usage_report(records: Iterable[Mapping[str, Any]], kb: KnowledgeBase | None) -> dict[str, Any]:
    """The report over ``records`` (call records as dicts); ``kb`` names the articles (None: ids only)."""
    tally = _Tally()
    for record in records:
        assist = record.get("assist")
        if isinstance(assist, Mapping):
            tally.assist(assist)
        bot = record.get("bot")
        if isinstance(bot, list) and bot:
            tally.bot_entries(bot, str(record.get("agent") or ""))
    table = []
    for article_id, row in tally.articles.items():
        current = kb.by_id.get(article_id) if kb is not None else None
        per_bot = row["bot"]
        table.append({"id": article_id, "title": current.title("en") if current else row["title"],
                      "in_kb": current is not None, **{k: row[k] for k in _DESK},
                      "used_rate": _rate(row["used"], row["used"] + row["not_relevant"]),
                      "bot": {**per_bot, "self_service_rate": _rate(per_bot["self_served"], per_bot["offered"])}})
    table.sort(key=lambda r: (-(r["suggested"] + r["searched"] + r["bot"]["offered"]), r["id"]))
    never = sorted(a.id for a in kb if a.id not in tally.articles) if kb is not None else []
    desk, bot = tally.desk, tally.bot
    return {**desk, "match_rate": _rate(desk["suggested"], desk["utterances"]),
            "used_rate": _rate(desk["used"], desk["used"] + desk["not_relevant"]),
            "bot": {**bot, "match_rate": _rate(bot["matched"], bot["questions"]),
                    "self_service_rate": _rate(bot["self_served"], bot["questions"])},
            "articles": table, "never_suggested": never}
