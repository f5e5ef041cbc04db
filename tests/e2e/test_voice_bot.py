"""The demo's voice bot over real SIPp calls through the Kamailio edge: questions asked at the main
menu in the caller's own words (Piper speech in the RTP stream), matched in the app process with
the demo knowledge base, answered with the article's spoken answer.

1. A caller asks about customs fees, hears the answer (what SIPp received is recognised), says
   "no", and is put through to an agent (an aiortc softphone), who sees the question on the desk.
2. A caller asks something the knowledge base cannot answer: the bot's no-match path.
3. Out of hours (the flow's hours edited live: today becomes a holiday), a caller's complaint has
   no spoken answer, so the bot cannot help, and the caller leaves a message (a callback ticket
   with the recording).
Callers 2 and 3 run at the same time; caller 2's call started before the edit and keeps its flows.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hotline.asr.factory import AsrConfig, build_recognizer
from tests.conftest import synthesize
from tests.e2e.test_flow_reload import wait_status
from tests.support.g711 import ulaw_decode
from tests.support.rtp_pcap import PT_PCMU, Clip, Digit, build_pcap, read_rtp, read_wav_8k
from tests.support.server import REPO, ServerProcess, auth
from tests.support.sipp import fill_scenario, run_sipp
from tests.support.softphone_agent import SoftphoneAgent

MONDAY_MORNING = "2026-11-23T10:00:00+00:00"
QUESTION_AT_S = 9.0  # the main menu is playing by then (English keyed at 1 s, ahead of the welcome)


@pytest.fixture(scope="module")
def flows_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("bot-flows") / "flows"
    shutil.copytree(REPO / "flows", target, ignore=shutil.ignore_patterns("tests"))
    return target


@pytest.fixture(scope="module")
def bot_server(tmp_path_factory: pytest.TempPathFactory, flows_dir: Path,
               _tools_present: None) -> Iterator[ServerProcess]:
    """The demo flows (a copy: caller 3 edits the hours) on a Monday morning, the demo knowledge."""
    server = ServerProcess(tmp_path_factory.mktemp("bot"), workers=1, flows=flows_dir,
                           settings_yaml=f"clock: '{MONDAY_MORNING}'\nring_timeout_s: 15\n"
                                         "post_call_transcription: false\n").start()
    yield server
    assert server.stop() == 0, server.tail()


def sipp_call(server: ServerProcess, workdir: Path, name: str, duration_s: float, clips: list[Clip],
              digits: list[Digit], hang_up_at_s: float | None = None, capture: Path | None = None) -> None:
    """One SIPp caller: keys and speech in its RTP stream; it waits for the server's BYE, or hangs up
    itself at `hang_up_at_s`."""
    (workdir / name).mkdir()
    pcap = workdir / name / "caller.pcap"
    build_pcap(pcap, duration_s, clips, digits)
    if hang_up_at_s is None:
        scenario = fill_scenario("bye_waiter.xml", workdir / name, PCAP=pcap, BYE_TIMEOUT_MS=90000)
    else:
        scenario = fill_scenario("hold_caller.xml", workdir / name, PCAP=pcap, HOLD_MS=int(hang_up_at_s * 1000))
    run = run_sipp(scenario, f"127.0.0.1:{server.sip_port}", workdir / name, timeout_s=120, capture=capture)
    assert run.returncode == 0, f"{name}: sipp failed: {run.stdout[-1500:]} {run.errors()} {server.tail()}"


def record_where(server: ServerProcess, predicate: Any, what: str, timeout: float = 30.0) -> dict[str, Any]:
    """The completed call record that `predicate` picks (records are final once the last words are in)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for summary in server.admin_get("/api/calls", limit=20):
            if summary["status"] == "completed":
                record = server.admin_get(f"/api/calls/{summary['id']}")
                if predicate(record):
                    return record  # type: ignore[no-any-return]
        time.sleep(0.5)
    raise AssertionError(f"no completed call record: {what}; {server.tail()}")


def asked(text: str) -> Any:
    return lambda r: bool(r.get("bot")) and text in (r["bot"][0]["question"] or "").lower()


def heard_by_sipp(capture: Path, start_s: float, end_s: float) -> str:
    """What the caller heard between `start_s` and `end_s` of the call, recognised by Moonshine."""
    packets = [p for p in read_rtp(capture) if p.payload_type == PT_PCMU]
    assert packets, "SIPp received no audio"
    t0 = packets[0].time
    window = [p for p in packets if start_s <= p.time - t0 <= end_s]
    pcm = np.concatenate([ulaw_decode(p.payload) for p in window]) if window else np.zeros(0, np.int16)
    loud = sum(float(np.sqrt(np.mean(ulaw_decode(p.payload).astype(np.float64) ** 2))) > 300 for p in window)
    assert loud > 100, f"the answer's audio is missing: {loud} loud packets of {len(window)}"  # > 2 s of speech
    stream = build_recognizer(AsrConfig(engine="moonshine", language="en")).open_stream(8000)
    try:
        data = pcm.astype(np.int16).tobytes()
        stream.accept(data)
        return stream.finish(data).text.lower()
    finally:
        stream.close()


def test_an_answer_that_did_not_help_goes_to_an_agent_who_sees_the_question(
        bot_server: ServerProcess, workdir: Path) -> None:
    server = bot_server
    question = synthesize("How much customs duty do I have to pay?", workdir / "question.wav")
    no = synthesize("No.", workdir / "no.wav")
    voice = synthesize("Hello, I can help you with the customs fee.", workdir / "agent.wav", rate=48000)
    no_at = 19.5  # while the answer is read: the caller barges in
    capture = workdir / "heard.pcap"
    agent = SoftphoneAgent(server.base_url, "alice", "alice-demo", voice, talk_s=2.0, max_calls=1)
    token = server.login("alice", "alice-demo")
    seen: dict[str, Any] = {}

    async def work() -> None:
        stop = asyncio.Event()
        desk = asyncio.create_task(agent.run(stop))
        await asyncio.sleep(1.5)  # available before the caller arrives
        caller = threading.Thread(target=sipp_call, args=(
            server, workdir, "caller1", 35.0, [Clip(QUESTION_AT_S, read_wav_8k(question)), Clip(no_at, read_wav_8k(no))],
            [Digit(1.0, "1")], None, capture))
        caller.start()
        async with httpx.AsyncClient(base_url=server.base_url, headers=auth(token), timeout=10) as http:
            while caller.is_alive() and "context" not in seen:
                if agent.calls:  # the agent has the call: what the desk shows of it
                    reply = await http.get(f"/api/agent/calls/{agent.calls[0]}/context")
                    assert reply.status_code == 200, reply.text
                    seen["context"] = reply.json()
                await asyncio.sleep(0.3)
        while caller.is_alive():
            await asyncio.sleep(0.3)
        stop.set()
        await desk

    asyncio.run(work())
    record = record_where(server, asked("customs"), "caller 1")
    path = record["ivr_path"]
    assert path[path.index("main_menu") + 1:][:3] == ["questions", "bot_handover", "to_agent"], (
        path, record["transcript"])
    [entry] = record["bot"]
    assert entry["node"] == "questions" and entry["language"] == "en" and entry["article"] == "customs-fees"
    assert entry["resolved"] == "no" and entry["outcome"] == "agent" and entry["score"] > 0, entry
    assert record["variables"]["bot.article"] == "customs-fees" and record["variables"]["bot.resolved"] == "no"
    assert record["transfers"][-1]["result"] == "answered" and record["agent"] == "alice"
    # the caller heard the article's spoken answer (nothing else plays between the question and the "no")
    heard = heard_by_sipp(capture, QUESTION_AT_S + 2.5, no_at)
    assert any(w in heard for w in ("duty", "tax", "country", "outside", "import")), heard
    # the agent's desk had the question, the article and the caller's "no"
    assert "context" in seen, "the agent never had the call"
    call = seen["context"]["call"]
    assert call["id"] == record["id"] and "customs" in call["variables"]["bot.question"].lower()
    assert call["variables"]["bot.title"] == "Customs fees and duties"
    assert call["bot"][0]["article"] == "customs-fees" and call["bot"][0]["resolved"] == "no"
    # /metrics adds up the worker's, the recogniser's and the app's samples (Prometheus' own parser)
    found = scrape_metrics(server)
    assert sum(v for k, v in found.items() if k[0] == "hotline_calls_total") >= 1, found
    assert sum(v for k, v in found.items() if k[0] == "hotline_acd_wait_seconds_count" and "answered" in k) >= 1
    assert sum(v for k, v in found.items() if k[0] == "hotline_recognition_seconds_count") >= 2, found
    assert sum(v for k, v in found.items() if k[0] == "hotline_agents") >= 1  # every demo agent, by state


def scrape_metrics(server: ServerProcess) -> dict[tuple[str, ...], float]:
    reply = httpx.get(f"{server.base_url}/metrics", timeout=10)
    assert reply.status_code == 200, reply.text
    return {(s.name, *s.labels.values()): s.value
            for family in text_string_to_metric_families(reply.text) for s in family.samples}


def test_an_unanswerable_question_takes_no_match_and_out_of_hours_the_caller_leaves_a_message(
        bot_server: ServerProcess, flows_dir: Path, workdir: Path) -> None:
    server = bot_server
    unrelated = synthesize("What is the capital of France?", workdir / "unrelated.wav")
    complaint = synthesize("The courier was rude and threw my parcel over the fence.", workdir / "complaint.wav")
    message = synthesize("Please call me back about the courier.", workdir / "message.wav")
    main = flows_dir / "main.yaml"
    original = main.read_text()
    version = wait_status(server, lambda s: s["status"] == "ok")["active_version"]
    # caller 2, in hours: hangs up once the bot has said it cannot answer
    second = threading.Thread(target=sipp_call, args=(
        server, workdir, "caller2", 18.0, [Clip(QUESTION_AT_S, read_wav_8k(unrelated))], [Digit(1.0, "1")], 18.0))
    second.start()
    try:
        time.sleep(2.0)  # caller 2's call has started on the flows of its start
        main.write_text(original.replace('      - {date: "2026-12-25", name: Christmas Day}',
                                         '      - {date: "2026-11-23", name: Test Day}\n'
                                         '      - {date: "2026-12-25", name: Christmas Day}'))
        wait_status(server, lambda s: s["status"] == "ok" and s["active_version"] > version)
        # caller 3, now out of hours: a complaint (no spoken answer), then a message and the hash key
        sipp_call(server, workdir, "caller3", 35.0,  # the tone comes at about 26 s
                  [Clip(QUESTION_AT_S, read_wav_8k(complaint)), Clip(29.0, read_wav_8k(message))],
                  [Digit(1.0, "1"), Digit(34.0, "#")])
    finally:
        second.join(120)
        main.write_text(original)

    record = record_where(server, asked("capital"), "caller 2")
    assert "questions" in record["ivr_path"] and record["variables"]["hours.open"] == "yes", record["ivr_path"]
    [entry] = record["bot"]
    assert entry["article"] is None and entry["outcome"] == "no_match" and entry["resolved"] is None, entry
    assert record["variables"]["bot.article"] == ""

    record = record_where(server, asked("courier"), "caller 3")
    path = record["ivr_path"]
    assert path[path.index("closed_menu"):] == ["closed_menu", "questions", "bot_handover", "bot_after_hours",
                                                "leave_message", "message_saved"], (path, record["transcript"])
    [entry] = record["bot"]
    assert entry["article"] is None and entry["outcome"] == "no_match", entry
    ref = record["variables"]["ticket.ref"]
    ticket = server.admin_get(f"/api/tickets/{ref}")
    assert ticket["type"] == "callback" and ticket["call_id"] == record["id"]
    assert ticket["recording"].startswith("voicemail/") and ticket["recording"] in record["recordings"].values()
    assert "bot_question" in ticket["description"]
    calls = sum(v for k, v in scrape_metrics(server).items() if k[0] == "hotline_calls_total")
    assert calls >= 3, calls  # every call of the module, counted once when it ended
