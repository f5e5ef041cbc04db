"""An article the agent found with the desk's search and opened during a call goes into the call
record as a card of its own ("source": "search"), numbered with the pushed cards (its number is its
index in the record's list), so "used" is the same feedback as on a pushed card and the report
counts it apart. And the spoken answers (answer, answer_zh) survive the knowledge editor's save path:
set, changed and cleared, the file's comments kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hotline.assist.kb import parse_kb, to_plain
from hotline.assist.registry import KbVersion, KnowledgeRegistry
from hotline.assist.report import usage_report
from hotline.center.assist_service import AssistService
from hotline.center.bus import AgentConnected, AssistFeedback, CallEvent
from hotline.center.records import CallRecord
from hotline.center.store import SqliteCallStore

KB = parse_kb("- id: damaged\n  title: Parcel arrived damaged\n  title_zh: 包裹破损\n  script: Sorry.\n"
              "  script_zh: 很抱歉。\n- id: refund\n  title: Refunds\n  script: Five days.\n", "kb.yaml")


class Registry:
    current = KbVersion(3, KB, object(), {}, 0.0)


class Publisher:
    def __init__(self) -> None:
        self.events: list[CallEvent] = []

    def publish(self, event: CallEvent) -> None:
        self.events.append(event)


def service(tmp_path: Path) -> tuple[AssistService, SqliteCallStore, Publisher]:
    store, publisher = SqliteCallStore(tmp_path / "calls.db"), Publisher()
    return AssistService(Registry(), store, publisher), store, publisher  # type: ignore[arg-type]


def suggestions(store: SqliteCallStore, call: str) -> list[dict[str, Any]]:
    return list(((store.get(call) or {}).get("assist") or {}).get("suggestions") or [])


def test_a_searched_article_on_a_live_call_is_numbered_with_the_pushed_cards(tmp_path: Path) -> None:
    assist, store, publisher = service(tmp_path)
    try:
        store.save(CallRecord("c1", "sip-c1", "sip:+15550100@x", "sip:hotline@x"))
        assist.on_event(AgentConnected(call_id="c1", agent="alice"))
        assert assist.record_search("c1", "refund", "en", "alice", rank=0).result(5) == 0
        assert assist.record_search("c1", "damaged", "zh", "alice", rank=2).result(5) == 1
        assert assist.record_search("c1", "no-such-article", "en", "alice").result(5) is None
        assert assist.feedback("c1", 1, "used", "alice") is None
        assist.flush()
        cards = suggestions(store, "c1")
        assert [(c["n"], c["article"], c["source"], c["feedback"]) for c in cards] == [
            (0, "refund", "search", None), (1, "damaged", "search", "used")]
        assert cards[1]["title"] == "包裹破损" and cards[1]["rank"] == 2 and cards[1]["by"] == "alice"
        assert cards[1]["kb_version"] == 3 and cards[1]["feedback_by"] == "alice"
        assert isinstance(publisher.events[-1], AssistFeedback) and publisher.events[-1].article == "damaged"
    finally:
        assist.close()


def test_a_call_not_live_here_gets_the_article_in_its_record(tmp_path: Path) -> None:
    """The desk reloaded, the app restarted or the call ended: the record alone says the next number."""
    assist, store, _ = service(tmp_path)
    try:
        assert assist.record_search("nope", "refund", "en", "alice").result(5) is None  # no such call
        store.save(CallRecord("c2", "sip-c2", "sip:+15550100@x", "sip:hotline@x"))  # assist is null here
        assert assist.record_search("c2", "refund", "en", "alice").result(5) == 0
        assert assist.record_search("c2", "damaged", "en", "alice").result(5) == 1
        assert assist.feedback("c2", 0, "used", "alice") is None
        assert assist.feedback("c2", 5, "used", "alice") == "no suggestion 5 on this call"
        assist.flush()
        record = store.get("c2")
        assert record is not None and record["assist"]["utterances"] == 0
        report = usage_report([record], KB)
        assert (report["searched"], report["search_used"], report["suggested"]) == (2, 1, 0)
        assert {r["id"]: r["search_used"] for r in report["articles"]} == {"refund": 1, "damaged": 0}
    finally:
        assist.close()


ARTICLES = """# the demo's parcels
- id: damaged
  title: Parcel arrived damaged  # kept
  title_zh: 包裹破损
  script: Sorry it arrived damaged.

- id: other
  title: Other
  script: x
"""


def test_spoken_answers_round_trip_through_the_editor_s_save_path(tmp_path: Path) -> None:
    (tmp_path / "kb").mkdir()
    path = tmp_path / "kb" / "parcels.yaml"
    path.write_text(ARTICLES, encoding="utf-8")
    registry = KnowledgeRegistry(tmp_path / "kb", lambda kb: kb)
    assert registry.scan()
    assert registry.current is not None
    article = to_plain(registry.current.kb["damaged"])
    # what the page's form sends: the file layout, answer per language
    registry.put_article({**article, "answer": "Sorry. Keep the box and send us photos.", "answer_zh": "很抱歉，请保留包装。"})
    assert registry.current is not None
    assert dict(registry.current.kb["damaged"].answers) == {"en": "Sorry. Keep the box and send us photos.",
                                                           "zh": "很抱歉，请保留包装。"}
    text = path.read_text("utf-8")
    assert "# kept" in text and "# the demo's parcels" in text
    assert to_plain(registry.current.kb["damaged"])["answer_zh"] == "很抱歉，请保留包装。"
    # the English answer changed, the Chinese one cleared (the form leaves an empty field out)
    registry.put_article({**article, "answer": "Keep the box, please."})
    saved = next(a for a in yaml.safe_load(path.read_text("utf-8")) if a["id"] == "damaged")
    assert saved["answer"] == "Keep the box, please." and "answer_zh" not in saved
    # cleared altogether: only the removal is an edit, and it is written
    registry.put_article(article)
    saved = next(a for a in yaml.safe_load(path.read_text("utf-8")) if a["id"] == "damaged")
    assert "answer" not in saved and "answer_zh" not in saved
    assert "# kept" in path.read_text("utf-8")
    assert registry.current is not None and dict(registry.current.kb["damaged"].answers) == {}
