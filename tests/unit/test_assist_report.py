"""The knowledge usage report from synthetic call records: the agent desk's pushed cards, the articles
found with the desk's search ("source": "search"), and the voice bot's questions (match rate,
resolved, transferred, voicemail, no-match, self-service rate), per article and overall."""

from __future__ import annotations

from typing import Any

from hotline.assist.kb import parse_kb
from hotline.assist.report import usage_report

KB = parse_kb("""
- id: damaged
  title: Parcel arrived damaged
  script: Sorry it arrived damaged.
- id: track
  title: Where is my parcel
  script: Let me look it up.
- id: refund
  title: Refunds
  script: Refunds take five days.
- id: unused
  title: Nobody asks
  script: x
""", "kb.yaml")


def bot(article: str | None, resolved: str | None, outcome: str, question: str = "q") -> dict[str, Any]:
    return {"node": "questions", "language": "en", "question": question, "article": article,
            "score": 0.9 if article else 0.2, "resolved": resolved, "outcome": outcome, "at": 1.0}


def card(article: str, feedback: str | None, n: int, source: str | None = None) -> dict[str, Any]:
    entry = {"n": n, "article": article, "title": article.title(), "feedback": feedback}
    return {**entry, "source": source} if source else entry


RECORDS: list[dict[str, Any]] = [
    # the bot answered and the caller said yes: self-served
    {"id": "c1", "agent": "", "assist": None, "bot": [bot("track", "yes", "resolved")]},
    # yes, then back to the menu: still self-served; a second question nothing fitted
    {"id": "c2", "agent": "", "bot": [bot("track", "yes", "menu"), bot(None, None, "no_match")]},
    # no: to an agent, who pushed a card, searched an article and used it
    {"id": "c3", "agent": "alice", "bot": [bot("damaged", "no", "agent")],
     "assist": {"utterances": 3, "suggestions": [card("damaged", "not_relevant", 0),
                                                  card("refund", None, 1, "search"),
                                                  card("refund", "used", 2, "search")]}},
    # no, out of hours: voicemail
    {"id": "c4", "agent": "", "bot": [bot("damaged", "no", "voicemail")]},
    # yes, but the caller then asked for a person anyway (an agent took the call): not self-served
    {"id": "c5", "agent": "bob", "bot": [bot("refund", "yes", "resolved")],
     "assist": {"utterances": 2, "suggestions": [card("track", "used", 0)]}},
    # the caller hung up on the question "did that help?"
    {"id": "c6", "agent": "", "bot": [bot("track", None, "hangup")]},
    # a call with neither: not counted
    {"id": "c7", "agent": "", "bot": [], "assist": None},
]


def test_the_bot_figures_overall() -> None:
    report = usage_report(RECORDS, KB)
    assert report["bot"] == {"calls": 6, "questions": 7, "matched": 6, "no_match": 1, "match_rate": round(6 / 7, 4),
                             "resolved": 3, "not_helped": 2, "transferred": 1, "voicemail": 1, "hangup": 1,
                             "self_served": 2, "self_service_rate": round(2 / 7, 4)}


def test_the_bot_figures_per_article() -> None:
    rows = {r["id"]: r for r in usage_report(RECORDS, KB)["articles"]}
    assert rows["track"]["bot"] == {"offered": 3, "resolved": 2, "not_helped": 0, "transferred": 0, "voicemail": 0,
                                    "self_served": 2, "self_service_rate": round(2 / 3, 4)}
    assert rows["damaged"]["bot"] == {"offered": 2, "resolved": 0, "not_helped": 2, "transferred": 1,
                                      "voicemail": 1, "self_served": 0, "self_service_rate": 0.0}
    assert rows["refund"]["bot"]["offered"] == 1 and rows["refund"]["bot"]["self_served"] == 0
    assert rows["track"]["title"] == "Where is my parcel" and rows["track"]["in_kb"]


def test_searched_articles_count_apart_from_pushed_cards() -> None:
    report = usage_report(RECORDS, KB)
    # pushed cards only in suggested / used / match rate: 2 cards over 5 utterances
    assert (report["calls"], report["utterances"], report["suggested"], report["used"], report["not_relevant"]) == (
        2, 5, 2, 1, 1)
    assert report["match_rate"] == 0.4 and report["used_rate"] == 0.5
    assert (report["searched"], report["search_used"]) == (2, 1)
    rows = {r["id"]: r for r in report["articles"]}
    assert (rows["refund"]["searched"], rows["refund"]["search_used"], rows["refund"]["suggested"]) == (2, 1, 0)
    assert rows["refund"]["used_rate"] is None  # no pushed card of it had a verdict
    assert (rows["damaged"]["suggested"], rows["damaged"]["not_relevant"], rows["damaged"]["searched"]) == (1, 1, 0)
    # shown anywhere (pushed, found, read by the bot) is not "never"
    assert report["never_suggested"] == ["unused"]
    assert [r["id"] for r in report["articles"]] == ["track", "damaged", "refund"]  # most shown first


def test_no_records_no_rates() -> None:
    report = usage_report([], KB)
    assert report["bot"]["questions"] == 0 and report["bot"]["match_rate"] is None
    assert report["bot"]["self_service_rate"] is None and report["match_rate"] is None
    assert report["articles"] == [] and report["never_suggested"] == ["damaged", "refund", "track", "unused"]


def test_an_article_gone_from_the_knowledge_base_keeps_its_recorded_title() -> None:
    records = [{"assist": {"utterances": 1, "suggestions": [card("old-one", "used", 0, "search")]},
                "bot": [bot("old-one", "yes", "resolved")], "agent": ""}]
    (row,) = usage_report(records, KB)["articles"]
    assert row["id"] == "old-one" and not row["in_kb"] and row["title"] == "Old-One"
    assert row["search_used"] == 1 and row["bot"]["self_served"] == 1
    assert usage_report(records, None)["never_suggested"] == []
