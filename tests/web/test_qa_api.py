"""The QA API against a real redis-server (accounts, tokens) and a real SQLite store: only qa and
admin users search, open and hear calls; both parties play as one stereo file on the call's time
line; reviews are checked against the rubric and exported as CSV."""

from __future__ import annotations

import csv
import io
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import redis.asyncio as aioredis

from hotline.center.agents import Agent, AgentDirectory, hash_password
from hotline.center.records import CallRecord, Segment
from hotline.center.redis_server import EmbeddedRedis
from hotline.center.store import SqliteCallStore
from hotline.web.app import AppState, create_app
from tests.support.staff import bearer

REPO = Path(__file__).resolve().parents[2]


def write_wav(path: Path, pcm: np.ndarray, rate: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())


@pytest.fixture
async def qa(tmp_path: Path, _tools_present: None) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, dict[str, str]]]]:
    server = EmbeddedRedis(tmp_path)
    await server.start()
    client = aioredis.from_url(server.url)
    agents = AgentDirectory(client)
    await agents.seed([Agent("alice", "Alice", ["general"], hash_password("alice-pass")),
                       Agent("quinn", "Quinn", [], hash_password("quinn-pass"), ["qa"])])
    store = SqliteCallStore(tmp_path / "calls.db")
    tone = (8000 * np.sin(np.arange(16000 * 3) * 2 * np.pi * 440 / 16000)).astype(np.int16)
    write_wav(tmp_path / "rec" / "c1.caller.wav", tone)  # 3 s of caller
    write_wav(tmp_path / "rec" / "c1.agent.wav", tone[:16000])  # the agent answered at 1.5 s, spoke 1 s
    store.save(CallRecord("c1", "s1", "sip:+15550100@x", "sip:h@x", started_at=time.time() - 60, status="completed",
                          agent="alice", outcome="transferred",
                          transcript=[Segment("caller", "my parcel arrived damaged", 100, 1400, "whisper"),
                                      Segment("agent", "sorry to hear that", 1600, 2500, "whisper")],
                          transfers=[{"queue": "general", "agent": "alice", "result": "answered"}],
                          recordings={"caller": "rec/c1.caller.wav", "agent": "rec/c1.agent.wav"},
                          recording_offsets={"agent": 1500}))

    async def listening() -> bool:
        return True

    app = create_app(AppState(store, client, "127.0.0.1:5060", listening, "whisper", "base", tmp_path,
                              agents=agents, qa_rubric=REPO / "config" / "qa_rubric.yaml"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        tokens = {"alice": await bearer(http, "alice", "alice-pass"), "quinn": await bearer(http, "quinn", "quinn-pass")}
        yield http, tokens
    await client.aclose()
    await server.stop()


async def test_only_reviewers_search_and_hear_calls(qa: tuple[httpx.AsyncClient, dict[str, dict[str, str]]]) -> None:
    http, tokens = qa
    assert (await http.get("/api/qa/calls", params={"text": "damaged"})).status_code == 401
    assert (await http.get("/api/qa/calls", params={"text": "damaged"}, headers=tokens["alice"])).status_code == 403
    assert (await http.get("/api/calls/c1/recording/caller", headers=tokens["alice"])).status_code == 403
    found = (await http.get("/api/qa/calls", params={"text": "damaged"}, headers=tokens["quinn"])).json()
    assert [c["id"] for c in found] == ["c1"] and found[0]["queues"] == ["general"]
    none = (await http.get("/api/qa/calls", params={"text": "damaged", "agent": "bob"}, headers=tokens["quinn"]))
    assert none.json() == []

    wav = await http.get("/api/qa/calls/c1/stereo.wav", headers=tokens["quinn"])
    with wave.open(io.BytesIO(wav.content)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getnframes()) == (2, 16000, 48000)
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    right = np.abs(frames[:, 1].astype(int))
    assert right[: 16000 * 14 // 10].max() == 0 and right[16000 * 16 // 10: 16000 * 24 // 10].max() > 7000
    assert np.abs(frames[:, 0].astype(int)).max() > 7000
    shape = (await http.get("/api/qa/calls/c1/waveform/caller", params={"points": 30}, headers=tokens["quinn"])).json()
    assert shape["duration_ms"] == 3000 and len(shape["peaks"]) == 30 and min(shape["peaks"]) > 0.2


async def test_the_stereo_recording_answers_byte_ranges(qa: tuple[httpx.AsyncClient, dict[str, dict[str, str]]]) -> None:
    """The player seeks by asking for byte ranges: 206 with Content-Range, 416 outside the file."""
    http, tokens = qa
    whole = await http.get("/api/qa/calls/c1/stereo.wav", headers=tokens["quinn"])
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    size = len(whole.content)
    assert size == 44 + 48000 * 4 and int(whole.headers["content-length"]) == size
    part = await http.get("/api/qa/calls/c1/stereo.wav", headers={**tokens["quinn"], "range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.headers["content-range"] == f"bytes 1000-1999/{size}"
    assert part.headers["accept-ranges"] == "bytes" and part.content == whole.content[1000:2000]
    tail = await http.get("/api/qa/calls/c1/stereo.wav", headers={**tokens["quinn"], "range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == whole.content[-100:]
    beyond = await http.get("/api/qa/calls/c1/stereo.wav", headers={**tokens["quinn"], "range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"
    again = await http.get("/api/qa/calls/c1/stereo.wav", headers=tokens["quinn"])  # from the cache, the same
    assert again.content == whole.content and again.headers["etag"] == whole.headers["etag"]
    refused = await http.get("/api/qa/calls/c1/stereo.wav", headers={**tokens["alice"], "range": "bytes=0-99"})
    assert refused.status_code == 403
    single = await http.get("/api/calls/c1/recording/caller", headers={**tokens["quinn"], "range": "bytes=0-43"})
    assert single.status_code == 206 and single.content[:4] == b"RIFF"


async def test_reviews_follow_the_rubric_and_export_as_csv(qa: tuple[httpx.AsyncClient, dict[str, dict[str, str]]]) -> None:
    http, tokens = qa
    assert (await http.get("/api/qa/rubric")).status_code == 401
    rubric = (await http.get("/api/qa/rubric", headers=tokens["quinn"])).json()
    ids = [c["id"] for c in rubric["criteria"]]
    assert "greeting" in ids and rubric["max_total"] == 45
    label = {c["id"]: c["label"] for c in rubric["criteria"]}
    scores = {i: 5 for i in ids}
    bad = await http.post("/api/qa/calls/c1/reviews", headers=tokens["quinn"],
                          json={"scores": {**scores, "greeting": 9}})
    assert bad.status_code == 422
    assert bad.json()["detail"] == f"{label['greeting']}: the score must be a whole number from 0 to 5"
    # no criterion has a default: one left unscored (absent or null) is refused, named by its label
    for unscored in ({k: v for k, v in scores.items() if k != "courtesy"}, {**scores, "courtesy": None}):
        missing = await http.post("/api/qa/calls/c1/reviews", headers=tokens["quinn"], json={"scores": unscored})
        assert missing.status_code == 422 and missing.json()["detail"] == f"not scored: {label['courtesy']}"
    nothing = await http.post("/api/qa/calls/c1/reviews", headers=tokens["quinn"], json={"scores": {}})
    assert nothing.status_code == 422 and all(label[i] in nothing.json()["detail"] for i in ids)
    assert "courtesy" not in nothing.json()["detail"]  # labels, not internal ids
    assert (await http.get("/api/qa/calls/c1", headers=tokens["quinn"])).json().get("qa") is None
    found = (await http.get("/api/qa/calls", headers=tokens["quinn"])).json()
    assert (found[0]["reviews"], found[0]["score"]) == (0, None)
    r = await http.post("/api/qa/calls/c1/reviews", headers=tokens["quinn"],
                        json={"scores": {**scores, "greeting": 3}, "comments": "good empathy, no read-back"})
    assert r.status_code == 201 and r.json()["total"] == 33 and r.json()["percent"] == 73.3
    assert r.json()["criteria"][0] == {"id": "greeting", "label": label["greeting"], "score": 3, "max": 5}
    assert [(c["label"], c["score"]) for c in r.json()["criteria"]] == [(label[i], 3 if i == "greeting" else 5)
                                                                          for i in ids]
    saved = (await http.get("/api/qa/calls/c1", headers=tokens["quinn"])).json()["qa"]
    assert [v["criteria"] for v in saved] == [r.json()["criteria"]] and saved[0]["total"] == 33
    r = await http.post("/api/qa/calls/c1/reviews", headers=tokens["quinn"],
                        json={"scores": scores, "comments": "good empathy, no read-back"})
    assert r.status_code == 201 and r.json()["total"] == 35 and r.json()["percent"] == 77.8
    found = (await http.get("/api/qa/calls", headers=tokens["quinn"])).json()
    assert (found[0]["reviews"], found[0]["score"]) == (2, 77.8)  # the latest review's score
    assert (await http.post("/api/qa/calls/nope/reviews", headers=tokens["quinn"],
                            json={"scores": scores})).status_code == 404
    text = (await http.get("/api/qa/export.csv", params={"agent": "alice"}, headers=tokens["quinn"])).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2 and rows[1]["call_id"] == "c1" and rows[1]["reviewer"] == "quinn"
    assert rows[1]["total"] == "35" and rows[1]["comments"] == "good empathy, no read-back"
    assert rows[0]["greeting"] == "3" and rows[0]["total"] == "33"
    page = await http.get("/qa", headers=tokens["quinn"])
    assert page.status_code == 200 and 'id="qa-transcript"' in page.text
    anonymous = await http.get("/qa", headers={"accept": "text/html"})
    assert anonymous.status_code == 401 and 'id="login-form"' in anonymous.text  # the login form, same URL
