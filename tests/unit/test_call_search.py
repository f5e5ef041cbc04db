"""QA search over the call store: full text (English words, prefixes, Chinese characters), the
filters reviewers use, snippets around what was found, and indexing of later additions."""

from __future__ import annotations

import time
from pathlib import Path

from hotline.center.records import CallRecord, Segment
from hotline.center.store import HIT_END, HIT_START, SqliteCallStore
from hotline.qa.search import CallQuery, fts_query


def call(store: SqliteCallStore, call_id: str, said: list[str], started: float, agent: str = "",
         queue: str = "", outcome: str = "flow_end") -> CallRecord:
    record = CallRecord(call_id, f"sip-{call_id}", "sip:+15550100@x", "sip:hotline@x", started_at=started,
                        agent=agent, outcome=outcome, status="completed",
                        transcript=[Segment("caller", t, i * 1000, i * 1000 + 900, "whisper") for i, t in enumerate(said)],
                        transfers=[{"queue": queue, "agent": agent, "result": "answered"}] if queue else [])
    store.save(record)
    return record


def ids(results: list[dict[str, object]]) -> list[str]:
    return [str(r["id"]) for r in results]


def test_text_search_with_filters_and_snippets(tmp_path: Path) -> None:
    store = SqliteCallStore(tmp_path / "calls.db")
    now = time.time()
    call(store, "a", ["my parcel arrived damaged", "the box was crushed"], now - 3600, "alice", "general")
    call(store, "b", ["where is my parcel"], now - 60, "bob", "address")
    call(store, "c", ["我的包裹坏了", "盒子压坏了"], now - 10)
    assert ids(store.search(CallQuery(text="crushed"))) == ["a"]
    assert ids(store.search(CallQuery(text="parcel"))) == ["b", "a"]  # newest first
    assert ids(store.search(CallQuery(text="damag"))) == ["a"]  # the last word is a prefix
    assert ids(store.search(CallQuery(text="parcel box"))) == ["a"]  # every word
    assert ids(store.search(CallQuery(text="包裹"))) == ["c"]
    assert ids(store.search(CallQuery(text="包坏"))) == []  # characters as a phrase, not scattered
    assert ids(store.search(CallQuery(text="parcel", agent="bob"))) == ["b"]
    assert ids(store.search(CallQuery(queue="general"))) == ["a"]
    assert ids(store.search(CallQuery(since=now - 120))) == ["c", "b"]
    assert ids(store.search(CallQuery(until=now - 120))) == ["a"]
    assert ids(store.search(CallQuery(text="!!!"))) == []
    hit = store.search(CallQuery(text="crushed"))[0]
    assert f"{HIT_START}crushed{HIT_END}" in hit["snippet"] and hit["agent"] == "alice"
    assert hit["queues"] == ["general"] and hit["caller"] == "sip:+15550100@x"
    assert f"我的{HIT_START}包裹{HIT_END}坏了" in store.search(CallQuery(text="包裹"))[0]["snippet"]

    # the wrap-up notes and the post-call transcript become searchable when they arrive
    store.annotate("b", "wrapup", {"agent": "bob", "disposition": "follow_up", "notes": "customer moving house"})
    assert ids(store.search(CallQuery(text="moving"))) == ["b"]
    assert ids(store.search(CallQuery(disposition="follow_up"))) == ["b"]
    store.set_post_transcript("a", {"status": "done", "segments": [{"text": "the courier dropped it"}]})
    assert ids(store.search(CallQuery(text="courier"))) == ["a"]
    # a store opened on an existing file keeps the index
    store.close()
    assert ids(SqliteCallStore(tmp_path / "calls.db").search(CallQuery(text="crushed"))) == ["a"]


def test_query_syntax_is_never_passed_through() -> None:
    assert fts_query('parcel" OR x') == '"parcel" AND "or" AND "x"*'
    assert fts_query("NEAR(a b)") == '"near" AND "a" AND "b"*'
    assert fts_query("包裹 lost") == '"包 裹" AND "lost"*'
    assert fts_query("  ") is None
