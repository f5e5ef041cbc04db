"""Knowledge-base usage over a period, from the ``assist`` part of call records.

Per article: how often it was suggested, marked used, marked not relevant, and left without a
verdict. Overall: the match rate (caller utterances heard while an agent was on the call that
brought a card) and the articles nobody was ever shown (candidates for better tags, or removal).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hotline.assist.kb import KnowledgeBase


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def usage_report(records: Iterable[Mapping[str, Any]], kb: KnowledgeBase | None) -> dict[str, Any]:
    articles: dict[str, dict[str, Any]] = {}
    calls = utterances = suggested = used = dismissed = 0
    for record in records:
        assist = record.get("assist")
        if not isinstance(assist, Mapping):
            continue
        calls += 1
        utterances += int(assist.get("utterances") or 0)
        for card in assist.get("suggestions") or []:
            row = articles.setdefault(str(card.get("article")), {"suggested": 0, "used": 0, "not_relevant": 0,
                                                                  "no_feedback": 0, "title": card.get("title", "")})
            row["suggested"] += 1
            suggested += 1
            verdict = card.get("feedback")
            if verdict == "used":
                row["used"] += 1
                used += 1
            elif verdict == "not_relevant":
                row["not_relevant"] += 1
                dismissed += 1
            else:
                row["no_feedback"] += 1
    table = []
    for article_id, row in articles.items():
        current = kb.by_id.get(article_id) if kb is not None else None
        table.append({"id": article_id, "title": current.title("en") if current else row["title"],
                      "in_kb": current is not None, "suggested": row["suggested"], "used": row["used"],
                      "not_relevant": row["not_relevant"], "no_feedback": row["no_feedback"],
                      "used_rate": _rate(row["used"], row["used"] + row["not_relevant"])})
    table.sort(key=lambda r: (-r["suggested"], r["id"]))
    never = sorted(a.id for a in kb if a.id not in articles) if kb is not None else []
    return {"calls": calls, "utterances": utterances, "suggested": suggested, "used": used,
            "not_relevant": dismissed, "match_rate": _rate(suggested, utterances),
            "used_rate": _rate(used, used + dismissed), "articles": table, "never_suggested": never}
