"""The call store's behaviour, the same on both backends: SQLite (one machine) and PostgreSQL
(several nodes; a real server started for the session)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from hotline.center.pg_text import query_terms, set_path, words_of
from hotline.center.records import CallRecord, DtmfRecord, Segment
from hotline.center.store import HIT_END, HIT_START, path_steps
from hotline.qa.search import CallQuery
from tests.support.postgres import PostgresServer, StoreBackend

T0 = 1_700_000_000.0


def record(call_id: str, started: float = T0, said: list[str] | None = None, status: str = "completed",
           worker: str = "w1", agent: str = "", queue: str = "", outcome: str = "flow_end") -> CallRecord:
    return CallRecord(call_id, f"sip-{call_id}", "sip:+15550100@x", "sip:hotline@x", started_at=started,
                      worker=worker, agent=agent, outcome=outcome, status=status,
                      transcript=[Segment("caller", t, i * 1000, i * 1000 + 900, "whisper")
                                  for i, t in enumerate(said or [])],
                      transfers=[{"queue": queue, "agent": agent, "result": "answered"}] if queue else [])


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [str(r["id"]) for r in rows]


def test_save_get_recent_and_another_connection(store_backend: StoreBackend) -> None:
    store = store_backend.open()
    rec = record("c1", said=["hello"], status="live")
    rec.dtmf.append(DtmfRecord("5", "info", 1200))
    rec.variables["name"] = "张伟"
    store.save(rec)
    other = store_backend.open()  # another process's connection sees it
    got = other.get("c1")
    assert got is not None and got["dtmf_count"] == 1 and got["transcript"][0]["text"] == "hello"
    assert got["variables"]["name"] == "张伟" and got["started_at"] == T0
    assert CallRecord.from_dict(got).transcript[0].end_ms == 900
    assert got == rec.to_dict()
    assert store.get("nope") is None

    rec.transcript.append(Segment("caller", "again", 1000, 1900, "whisper"))
    rec.status = "completed"
    store.save(rec)  # a later save rewrites the record
    got = other.get("c1")
    assert got is not None and len(got["transcript"]) == 2 and got["status"] == "completed"

    for i in range(5):
        store.save(record(f"r{i}", T0 + 10 + i * (-1) ** i))
    assert ids(other.recent(3)) == ["r4", "r2", "r0"]
    assert ids(other.recent(100)) == ["r4", "r2", "r0", "r1", "r3", "c1"]
    asyncio.run(store.settled("c1"))


def test_a_workers_save_keeps_fields_written_elsewhere(call_store: Any) -> None:
    rec = record("c1", status="live")
    call_store.save(rec)
    call_store.annotate("c1", "wrapup", {"agent": "alice", "disposition": "resolved", "notes": "ok"})
    call_store.set_paths("c1", {"$.assist": {"suggestions": [{"id": "k1"}]}})
    call_store.set_post_transcript("c1", {"status": "running"})
    rec.transcript.append(Segment("caller", "more", 0, 900, "whisper"))
    call_store.save(rec)  # the worker's copy has none of them
    got = call_store.get("c1")
    assert got["wrapup"]["disposition"] == "resolved" and got["assist"] == {"suggestions": [{"id": "k1"}]}
    assert got["post_transcript"] == {"status": "running"} and got["transcript"][0]["text"] == "more"


def test_mark_interrupted_by_worker_and_all(call_store: Any) -> None:
    call_store.save(record("a", T0 + 1, status="live", worker="w1"))
    call_store.save(record("b", T0 + 2, status="live", worker="w2"))
    c = record("c", T0 + 3, status="live", worker="w2")
    c.end_reason = "caller_hangup"
    call_store.save(c)
    call_store.save(record("d", T0 + 4, status="live", worker="w3", said=["kept segment"]))
    call_store.save(record("done", status="completed", worker="w1"))
    assert call_store.mark_interrupted("w9") == 0
    assert call_store.mark_interrupted("w1") == 1
    a = call_store.get("a")
    assert a["status"] == "interrupted" and a["end_reason"] == "worker_died"
    assert call_store.get("done")["status"] == "completed"
    assert call_store.mark_interrupted("w1") == 0
    assert call_store.mark_interrupted(None) == 3
    assert call_store.get("c")["end_reason"] == "caller_hangup"
    d = call_store.get("d")
    assert d["status"] == "interrupted" and d["transcript"][0]["text"] == "kept segment"
    assert call_store.mark_interrupted(None) == 0
    assert ids(call_store.search(CallQuery(status="interrupted"))) == ["d", "c", "b", "a"]


def on_node(rec: CallRecord, node: str) -> CallRecord:
    rec.node = node
    return rec


def test_mark_interrupted_by_node(call_store: Any) -> None:
    call_store.save(on_node(record("a1", T0 + 1, status="live", worker="a-w1"), "a"))
    call_store.save(on_node(record("a2", T0 + 2, status="live", worker="a-w2"), "a"))
    call_store.save(on_node(record("b1", T0 + 3, status="live", worker="b-w1"), "b"))
    call_store.save(record("old", T0 + 4, status="live", worker="w1"))  # from before nodes: no node
    legacy = record("legacy", T0 + 6, status="live", worker="w0").to_dict()
    del legacy["node"]  # written before records had the field
    call_store.save_fields("legacy", T0 + 6, "live", legacy)
    call_store.save(on_node(record("a-done", T0 + 5, status="completed", worker="a-w1"), "a"))
    assert call_store.mark_interrupted(None, node="c") == 2  # only the node-less records
    assert call_store.get("old")["status"] == call_store.get("legacy")["status"] == "interrupted"
    assert call_store.mark_interrupted("b-w1", node="a") == 0  # another node's worker
    assert call_store.mark_interrupted(None, node="a") == 2
    assert [call_store.get(i)["status"] for i in ("a1", "a2", "b1", "a-done")] == [
        "interrupted", "interrupted", "live", "completed"]
    assert call_store.get("a1")["end_reason"] == "worker_died" and call_store.get("a1")["node"] == "a"
    assert call_store.mark_interrupted(None, node="a") == 0
    assert call_store.mark_interrupted(None) == 1  # no node: every live call, as before
    assert call_store.get("b1")["status"] == "interrupted"


def test_post_transcript_queue_by_node(call_store: Any) -> None:
    for call_id, started, node in (("a1", T0, "a"), ("b1", T0 + 1, "b"), ("old", T0 + 2, ""), ("a2", T0 + 3, "a")):
        rec = on_node(record(call_id, started, status="interrupted" if call_id == "a2" else "completed"), node)
        rec.recordings["caller"] = f"recordings/{call_id}.wav"
        call_store.save(rec)
    assert call_store.awaiting_post_transcript(10) == ["a1", "b1", "old", "a2"]
    assert call_store.awaiting_post_transcript(10, node="a") == ["a1", "old", "a2"]
    assert call_store.awaiting_post_transcript(10, node="b") == ["b1", "old"]
    assert call_store.awaiting_post_transcript(1, node="b") == ["b1"]
    assert call_store.awaiting_post_transcript(10, node="c") == ["old"]
    call_store.set_post_transcript("old", {"status": "running"})
    assert call_store.awaiting_post_transcript(10, node="c") == []
    assert call_store.awaiting_post_transcript(10, node="a") == ["a1", "a2"]


def test_post_transcript_queue(call_store: Any) -> None:
    live = record("live", T0, status="live")
    live.recordings["caller"] = "recordings/x.wav"
    done = record("done", T0 + 2)
    done.recordings["caller"] = "recordings/y.wav"
    old = record("old", T0 + 1, status="interrupted")
    old.recordings["caller"] = "recordings/z.wav"
    for rec in (live, done, old, record("norec", T0 + 3)):
        call_store.save(rec)
    assert call_store.awaiting_post_transcript(10) == ["old", "done"]  # oldest first
    assert call_store.awaiting_post_transcript(1) == ["old"]
    call_store.set_post_transcript("done", {"status": "running", "progress": 0.5})
    assert call_store.awaiting_post_transcript(10) == ["old"]
    assert call_store.get("done")["post_transcript"] == {"status": "running", "progress": 0.5}
    call_store.set_post_transcript("old", {"status": "done", "segments": [{"text": "the courier dropped it"}]})
    assert call_store.awaiting_post_transcript(10) == []
    assert ids(call_store.search(CallQuery(text="courier"))) == ["old"]  # indexed once done
    call_store.set_post_transcript("nope", {"status": "done"})  # no such call: nothing happens
    assert call_store.get("nope") is None


def test_annotate_and_set_paths(call_store: Any) -> None:
    call_store.save(record("c1"))
    call_store.annotate("c1", "qa", {"score": 4, "notes": "好"})
    assert call_store.get("c1")["qa"] == {"score": 4, "notes": "好"}
    with pytest.raises(ValueError):
        call_store.annotate("c1", "bad key", 1)
    call_store.annotate("nope", "qa", 1)

    suggestions = [{"id": f"k{i}", "feedback": None} for i in range(3)]
    assert call_store.set_paths("c1", {"$.assist": {"suggestions": suggestions}})
    assert call_store.set_paths("c1", {"$.assist.suggestions[2].feedback": "up", "$.assist.suggestions[0].used": True,
                                       "$.assist.count": 3})
    assist = call_store.get("c1")["assist"]
    assert assist["suggestions"][2] == {"id": "k2", "feedback": "up"}
    assert assist["suggestions"][0] == {"id": "k0", "feedback": None, "used": True} and assist["count"] == 3
    assert call_store.set_paths("c1", {"$.assist.suggestions[3]": {"id": "k3"}})  # the next item: appended
    assert call_store.set_paths("c1", {"$.assist.suggestions[9]": {"id": "k9"}})  # past the end: no change
    assert call_store.set_paths("c1", {"$.a.b.c": [1, "二"], "$.z[0]": "x"})  # missing parents are created
    got = call_store.get("c1")
    assert [s["id"] for s in got["assist"]["suggestions"]] == ["k0", "k1", "k2", "k3"]
    assert got["a"] == {"b": {"c": [1, "二"]}} and got["z"] == ["x"]
    assert call_store.set_paths("c1", {"$.outcome.x": 1})  # a string has no fields: no change
    assert call_store.get("c1")["outcome"] == "flow_end"
    assert not call_store.set_paths("nope", {"$.x": 1})
    assert not call_store.set_paths("c1", {})
    for bad in ("x", "$", "$.a b", "$.a[-1]", "$['a']", "$.a;DROP TABLE calls"):
        with pytest.raises(ValueError):
            call_store.set_paths("c1", {bad: 1})
    assert call_store.get("c1")["id"] == "c1"


def test_append(call_store: Any) -> None:
    call_store.save(record("c1"))
    assert call_store.append("c1", "$.offers", {"agent": "a1"})
    assert call_store.append("c1", "$.offers", {"agent": "a2"})
    assert call_store.append("c1", "$.qa", "first")  # null: a new list
    assert call_store.append("c1", "$.extra.events", 1)  # missing parent: created
    assert call_store.append("c1", "$.assist.events", 1)  # a null parent: no change
    assert call_store.append("c1", "$.transcript", {"speaker": "agent", "text": "hi", "start_ms": 0,
                                                    "end_ms": 1, "engine": "w"})
    got = call_store.get("c1")
    assert got["offers"] == [{"agent": "a1"}, {"agent": "a2"}] and got["qa"] == ["first"]
    assert got["extra"] == {"events": [1]} and got["assist"] is None and got["transcript"][-1]["text"] == "hi"
    assert not call_store.append("nope", "$.offers", 1)
    with pytest.raises(ValueError):
        call_store.append("c1", "offers", 1)


def test_concurrent_appends_and_paths_lose_nothing(store_backend: StoreBackend) -> None:
    first = store_backend.open()
    first.save(record("c1"))
    first.set_paths("c1", {"$.assist": {"suggestions": [{"id": i} for i in range(8)]}})
    stores = [first, store_backend.open()]  # threads sharing one store, and a second connection
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        try:
            store = stores[n % 2]
            start.wait()
            for i in range(50):
                assert store.append("c1", "$.offers", {"thread": n, "i": i})
                assert store.set_paths("c1", {f"$.assist.suggestions[{n}].count": i + 1})
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    got = first.get("c1")
    assert len(got["offers"]) == 400
    for n in range(8):
        assert [o["i"] for o in got["offers"] if o["thread"] == n] == list(range(50))  # none lost, in order
        assert got["assist"]["suggestions"][n] == {"id": n, "count": 50}


def test_between_and_with_field(call_store: Any) -> None:
    for i in range(5):
        call_store.save(record(f"c{i}", T0 + i * 10))
    call_store.annotate("c1", "wrapup", {"disposition": "resolved"})
    call_store.annotate("c3", "wrapup", {"disposition": "follow_up"})
    call_store.annotate("c4", "wrapup", None)
    assert ids(call_store.between(T0, T0 + 40)) == ["c0", "c1", "c2", "c3"]  # [since, until), oldest first
    assert ids(call_store.between(T0 + 5, T0 + 41)) == ["c1", "c2", "c3", "c4"]
    assert ids(call_store.between(T0, T0 + 100, with_field="wrapup")) == ["c1", "c3"]
    assert ids(call_store.between(T0, T0 + 100, with_field="nothing")) == []
    assert call_store.between(T0 + 100, T0 + 200) == []
    with pytest.raises(ValueError):
        call_store.between(T0, T0 + 1, with_field="x') OR 1=1 --")


def test_search_words_english_and_chinese(call_store: Any) -> None:
    call_store.save(record("a", T0 + 1, ["my parcel arrived damaged", "the box was crushed"], agent="alice",
                           queue="general"))
    call_store.save(record("b", T0 + 2, ["where is my parcel", "Café déjà vu"], agent="bob", queue="address"))
    call_store.save(record("c", T0 + 3, ["我的包裹坏了", "盒子压坏了"]))
    call_store.save(record("d", T0 + 4, ["你好，我想查询快递单号"], outcome="abandoned"))
    search = call_store.search
    assert ids(search(CallQuery(text="crushed"))) == ["a"]
    assert ids(search(CallQuery(text="parcel"))) == ["b", "a"]  # newest first
    assert ids(search(CallQuery(text="PARCEL"))) == ["b", "a"]
    assert ids(search(CallQuery(text="damag"))) == ["a"]  # the last word is a prefix
    assert ids(search(CallQuery(text="damag box"))) == []  # ... but not the others
    assert ids(search(CallQuery(text="parcel box"))) == ["a"]  # every word
    assert ids(search(CallQuery(text="arc"))) == []  # words, not parts of words
    assert ids(search(CallQuery(text="cafe deja"))) == ["b"]  # without diacritics
    assert ids(search(CallQuery(text="包裹"))) == ["c"]
    assert ids(search(CallQuery(text="坏了"))) == ["c"]
    assert ids(search(CallQuery(text="快递"))) == ["d"]
    assert ids(search(CallQuery(text="包坏"))) == []  # characters side by side, not scattered
    assert ids(search(CallQuery(text="包裹 盒子"))) == ["c"]
    assert ids(search(CallQuery(text="100%"))) == []
    assert ids(search(CallQuery(text="_"))) == []
    assert ids(search(CallQuery(text="!!!"))) == []
    assert ids(search(CallQuery(text="parcel' OR '1'='1"))) == []
    hit = search(CallQuery(text="crushed"))[0]
    assert f"{HIT_START}crushed{HIT_END}" in hit["snippet"] and hit["agent"] == "alice"
    assert hit["queues"] == ["general"] and hit["caller"] == "sip:+15550100@x" and hit["outcome"] == "flow_end"
    assert f"我的{HIT_START}包裹{HIT_END}坏了" in search(CallQuery(text="包裹"))[0]["snippet"]
    assert search(CallQuery(queue="general"))[0]["snippet"] == ""

    # the wrap-up notes and tickets become searchable when they arrive
    call_store.annotate("b", "wrapup", {"agent": "bob", "disposition": "follow_up", "notes": "customer moving house"})
    assert ids(search(CallQuery(text="moving"))) == ["b"]
    rec = record("e", T0 + 5, ["ticket please"])
    rec.tickets.append("T-4711")
    rec.variables["parcel_number"] = "PX99812"
    call_store.save(rec)
    assert ids(search(CallQuery(text="t 4711"))) == ["e"]
    assert ids(search(CallQuery(text="px99812"))) == ["e"]


def test_search_filters_and_paging(call_store: Any) -> None:
    call_store.save(record("a", T0 + 1, ["parcel one"], agent="alice", queue="general"))
    call_store.save(record("b", T0 + 2, ["parcel two"], agent="bob", queue="address", outcome="transferred"))
    transferred = record("c", T0 + 3, ["parcel three"], agent="carol", queue="general")
    transferred.transfers.append({"queue": "billing", "agent": "alice", "result": "answered"})
    call_store.save(transferred)
    call_store.save(record("d", T0 + 4, ["nothing"], status="interrupted", outcome="abandoned"))
    call_store.annotate("a", "wrapup", {"disposition": "resolved"})
    search = call_store.search
    assert ids(search(CallQuery())) == ["d", "c", "b", "a"]
    assert ids(search(CallQuery(agent="alice"))) == ["c", "a"]  # the call's agent, or one it was transferred to
    assert ids(search(CallQuery(agent="bob", text="parcel"))) == ["b"]
    assert ids(search(CallQuery(queue="general"))) == ["c", "a"]
    assert ids(search(CallQuery(queue="billing"))) == ["c"]
    assert search(CallQuery(queue="billing"))[0]["queues"] == ["billing", "general"]
    assert ids(search(CallQuery(outcome="transferred"))) == ["b"]
    assert ids(search(CallQuery(outcome="abandoned", status="interrupted"))) == ["d"]
    assert ids(search(CallQuery(status="completed", text="parcel"))) == ["c", "b", "a"]
    assert ids(search(CallQuery(disposition="resolved"))) == ["a"]
    assert ids(search(CallQuery(since=T0 + 2))) == ["d", "c", "b"]
    assert ids(search(CallQuery(until=T0 + 2))) == ["a"]
    assert ids(search(CallQuery(since=T0 + 2, until=T0 + 4, text="parcel"))) == ["c", "b"]
    assert ids(search(CallQuery(agent="nobody"))) == []
    assert ids(search(CallQuery(agent="alice' OR 'x'='x"))) == []
    assert ids(search(CallQuery(limit=2))) == ["d", "c"]
    assert ids(search(CallQuery(limit=2, offset=2))) == ["b", "a"]
    assert ids(search(CallQuery(text="parcel", limit=1, offset=1))) == ["b"]


def test_the_store_opened_again_keeps_everything(store_backend: StoreBackend) -> None:
    store = store_backend.open()
    store.save(record("a", said=["the box was crushed"]))
    store.close()
    again = store_backend.open()
    assert ids(again.search(CallQuery(text="crushed"))) == ["a"] and again.get("a")["id"] == "a"


def test_many_records_search_fast_enough(call_store: Any) -> None:
    for i in range(200):
        said = ["我的包裹坏了" if i % 50 == 0 else "where is my parcel", f"order {i}"]
        call_store.save(record(f"c{i:03}", T0 + i, said))
    start = time.monotonic()
    assert ids(call_store.search(CallQuery(text="包裹"))) == ["c150", "c100", "c050", "c000"]
    assert len(call_store.search(CallQuery(text="parcel", limit=500))) == 196
    assert time.monotonic() - start < 2.0


# the PostgreSQL store's own pieces (the JSON path semantics and the search words)

def test_path_steps_and_json_set_semantics() -> None:
    assert path_steps("$.assist.suggestions[2].feedback") == ["assist", "suggestions", 2, "feedback"]
    doc: dict[str, Any] = {"s": "x", "arr": [1, 2, 3], "o": {"k": 1}}
    for path, value in (("$.a.b", 9), ("$.arr[5]", 9), ("$.arr[3]", 9), ("$.s.b", 9), ("$.z[0]", 9),
                        ("$.o[0]", 9), ("$.arr.k", 9), ("$.o.k.m", 9), ("$.y[1]", 9)):
        set_path(doc, path_steps(path), value)
    assert doc == {"s": "x", "arr": [1, 2, 3, 9], "o": {"k": 1}, "a": {"b": 9}, "z": [9]}  # as SQLite's json_set


def test_search_words() -> None:
    assert words_of("我 的 包 裹\nMy Café, AB-123_x") == " 我 的 包 裹 my cafe ab 123 x "
    assert query_terms("包裹 lost") == [(["包", "裹"], False), (["lost"], True)]
    assert query_terms("Déjà") == [(["deja"], True)]
    assert query_terms("  ") is None and query_terms("_") is None


def test_postgres_store_connects_again_after_the_server_dropped_it(postgres_server: PostgresServer) -> None:
    import psycopg

    from hotline.center.pg_store import PostgresCallStore

    dbname = postgres_server.create_database()
    store = PostgresCallStore(postgres_server.dsn(dbname))
    try:
        assert store.trigram_index
        store.save(record("a", said=["parcel"]))

        def drop_connections() -> None:
            with psycopg.connect(postgres_server.dsn(), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))

        drop_connections()
        assert store.get("a")["id"] == "a"  # a read is tried again on a new connection
        drop_connections()
        assert store.set_paths("a", {"$.qa": {"score": 5}})  # so is setting a value
        drop_connections()
        assert store.append("a", "$.offers", 1)  # an append too: it failed before its COMMIT
        assert store.append("a", "$.offers", 2)
        got = store.get("a")
        assert got["qa"] == {"score": 5} and got["offers"] == [1, 2]
    finally:
        store.close()
        postgres_server.drop_database(dbname)
