"""Listen / whisper / barge end to end: a SIPp caller (a 440 Hz tone) waits in the demo's general
queue and is answered by an agent (aiortc, a 700 Hz tone); a supervisor (aiortc, 1030 Hz) joins the
call through the API, listens, whispers, barges and leaves. Whose audio reaches whom is measured per
party and time window by the level of each tone (Goertzel on 100 ms blocks): what SIPp receives (its
RTP captured with tcpdump), what the agent's and the supervisor's peers receive. The call record
keeps who joined, each mode and leaving. Then headless Chromium joins the same call with the
page script (`/static/monitor.js`, its Listen button) and leaves; after the call, the QA page's call
view lists both joins (*Supervisor joined*)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer

from tests.support.browser import MEDIA_FLAGS, headless_chromium, log_in
from tests.support.g711 import ulaw_decode
from tests.support.rtp_pcap import PT_PCMU, Clip, Digit, build_pcap, read_rtp
from tests.support.server import ADMIN, REPO, ServerProcess, auth
from tests.support.sipp import fill_scenario, run_sipp
from tests.support.softphone_agent import SoftphoneAgent

# no tone is a harmonic (or a sum or difference) of the others: distortion of one is not another
CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ = 440.0, 700.0, 1030.0
SETTLE_S, WINDOW_S = 1.5, 3.0  # after each change, then the window measured


def tone(hz: float, rate: int, seconds: float, on_s: float = 0.6, period_s: float = 1.0,
         amplitude: float = 8000.0) -> np.ndarray:
    """Bursts of a tone (`on_s` of every `period_s`): a speech-like rhythm, so the recogniser gets
    short utterances rather than one endless one."""
    t = np.arange(int(seconds * rate)) / rate
    burst = (t % period_s) < on_s
    return (amplitude * np.sin(2 * np.pi * hz * t) * burst).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def tone_levels(samples: np.ndarray, rate: int) -> dict[float, float]:
    """The mean amplitude of each party's tone over 100 ms blocks (Hann-windowed Goertzel)."""
    block = rate // 10
    n = len(samples) // block
    if n == 0:
        return {f: 0.0 for f in (CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ)}
    blocks = samples[: n * block].astype(np.float64).reshape(n, block) * np.hanning(block)
    t = np.arange(block) / rate
    out = {}
    for hz in (CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ):
        probe = np.exp(-2j * np.pi * hz * t)
        out[hz] = float(np.mean(np.abs(blocks @ probe)) * 4 / block)  # 4/N: amplitude with a Hann window
    return out


class Heard:
    """The audio one aiortc peer receives, stamped with its arrival (time.time())."""

    def __init__(self) -> None:
        self.chunks: list[tuple[float, np.ndarray]] = []
        self.rate = 48000
        self.readers: list[asyncio.Future[None]] = []  # held: the loop keeps only weak references

    def listen(self, track: MediaStreamTrack) -> asyncio.Future[None]:
        async def read() -> None:
            with contextlib.suppress(Exception):
                while True:
                    frame = await track.recv()
                    self.rate = frame.sample_rate
                    pcm = frame.to_ndarray().reshape(-1)
                    channels = len(frame.layout.channels)
                    self.chunks.append((time.time(), pcm[::channels].astype(np.int16)))
        self.readers.append(asyncio.ensure_future(read()))
        return self.readers[-1]

    def levels(self, start: float, end: float) -> dict[float, float]:
        window = [pcm for at, pcm in self.chunks if start <= at <= end]
        return tone_levels(np.concatenate(window) if window else np.zeros(0, np.int16), self.rate)


class ListeningAgent(SoftphoneAgent):
    """The test's agent: answers with its tone and keeps what it hears."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heard = Heard()

    async def _answer(self, ws: Any, call: str) -> None:
        pc = self.pc = RTCPeerConnection()
        track = MediaPlayer(str(self.voice), loop=True).audio
        assert track is not None
        pc.addTrack(track)
        pc.on("track", lambda incoming: self.heard.listen(incoming))
        await pc.setLocalDescription(await pc.createOffer())
        await ws.send(json.dumps({"type": "answer", "call": call, "sdp": pc.localDescription.sdp}))


def sipp_levels(capture: Path, start: float, end: float) -> dict[float, float]:
    packets = [p for p in read_rtp(capture) if p.payload_type == PT_PCMU and start <= p.time <= end]
    pcm = np.concatenate([ulaw_decode(p.payload) for p in packets]) if packets else np.zeros(0, np.int16)
    return tone_levels(pcm, 8000)


def browser_joins(base: str, calls: queue.Queue[str | None], qa_calls: queue.Queue[str | None],
                  result: dict[str, Any], left: threading.Event) -> None:
    """A supervisor's page (logged in before the call, the page script added) joins the call given
    with the Listen button of a `.monitor-controls` box, waits until the audio flows, and leaves;
    then, once the call's record is complete, the QA page opens the call."""
    with headless_chromium(*MEDIA_FLAGS, "--allow-loopback-in-peer-connection") as chromium:
        page = chromium.new_context().new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        log_in(page, f"{base}/reports", *ADMIN)
        page.add_script_tag(url=f"{base}/static/monitor.js")
        call = calls.get(timeout=180)
        if call is None:
            return
        page.evaluate("""id => { const box = document.createElement('div');
            box.className = 'monitor-controls'; box.dataset.call = id; document.body.appendChild(box); }""", call)
        page.click(".monitor-controls button[data-mode=listen]")
        page.wait_for_function("HotlineMonitor.state().state === 'on'", timeout=20000)
        result["buttons"] = page.eval_on_selector_all(".monitor-controls button", "bs => bs.map(b => b.textContent)")
        result["pressed"] = page.get_attribute(".monitor-controls button[data-mode=listen]", "aria-pressed")
        page.wait_for_function("document.getElementById('monitor-audio') && "
                               "document.getElementById('monitor-audio').srcObject", timeout=10000)
        deadline = time.monotonic() + 10
        while (energy := float(page.evaluate("HotlineMonitor.received()"))) < 0.01 and time.monotonic() < deadline:
            time.sleep(0.25)  # the caller's and the agent's tones reach the page
        result["energy"] = energy
        page.click(".monitor-controls button[data-mode=leave]")
        page.wait_for_function("HotlineMonitor.state().state === 'idle'", timeout=10000)
        result["errors"] = errors
        result["left"] = True
        left.set()
        call = qa_calls.get(timeout=120)
        if call is None:
            return
        page.goto(f"{base}/qa?call={call}")
        page.wait_for_function("document.querySelectorAll('#monitor-list li').length === 2", timeout=15000)
        result["qa"] = page.eval_on_selector_all("#monitor-list li", "ls => ls.map(l => l.textContent)")
        result["qa_shown"] = page.is_visible("#call-monitors")


@pytest.fixture(scope="module")
def monitor_server(tmp_path_factory: pytest.TempPathFactory, _tools_present: None) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("monitor"), workers=1, flows=REPO / "flows",
                           settings_yaml="clock: '2026-11-23T10:00:00+00:00'\nring_timeout_s: 10\n"
                                         "post_call_transcription: false\n").start()
    yield server
    assert server.stop() == 0, server.tail()


def test_a_supervisor_listens_whispers_and_barges(monitor_server: ServerProcess, workdir: Path) -> None:
    server = monitor_server
    # the caller: English (1), an agent (0), then its tone until the agent hangs up
    pcap = workdir / "caller.pcap"
    build_pcap(pcap, 60.0, [Clip(4.0, tone(CALLER_HZ, 8000, 55.0))], [Digit(1.0, "1"), Digit(1.5, "0")])
    scenario = fill_scenario("bye_waiter.xml", workdir, PCAP=pcap, BYE_TIMEOUT_MS=90000)
    capture = workdir / "heard.pcap"
    agent_wav = write_wav(workdir / "agent.wav", tone(AGENT_HZ, 48000, 1.0), 48000)
    supervisor_wav = write_wav(workdir / "supervisor.wav", tone(SUPERVISOR_HZ, 48000, 1.0), 48000)
    agent = ListeningAgent(server.base_url, "alice", "alice-demo", agent_wav, talk_s=32.0, max_calls=1)
    token = server.login(*ADMIN)  # the demo has no supervisor account: the admin may listen in too
    sipp: dict[str, Any] = {}
    windows: dict[str, tuple[float, float]] = {}
    supervisor_heard = Heard()
    replies: dict[str, int] = {}
    calls: queue.Queue[str | None] = queue.Queue()
    qa_calls: queue.Queue[str | None] = queue.Queue()
    browser: dict[str, Any] = {}
    page_left = threading.Event()

    def in_browser() -> None:
        try:
            browser_joins(server.base_url, calls, qa_calls, browser, page_left)
        except Exception as exc:  # noqa: BLE001 (reported by the assertion below, with the server's log)
            browser["error"] = repr(exc)
        finally:
            page_left.set()

    page = threading.Thread(target=in_browser, daemon=True)
    page.start()  # the browser starts while the caller dials

    def caller() -> None:
        sipp["run"] = run_sipp(scenario, f"127.0.0.1:{server.sip_port}", workdir, timeout_s=120, capture=capture)

    async def supervise(http: httpx.AsyncClient, call: str) -> None:
        pc = RTCPeerConnection()
        player = MediaPlayer(str(supervisor_wav), loop=True)
        assert player.audio is not None
        pc.addTrack(player.audio)
        pc.on("track", lambda incoming: supervisor_heard.listen(incoming))
        await pc.setLocalDescription(await pc.createOffer())
        joined = await http.post(f"/api/supervisor/calls/{call}/monitor",
                                 json={"sdp": pc.localDescription.sdp, "mode": "listen"})
        assert joined.status_code == 200, joined.text
        await pc.setRemoteDescription(RTCSessionDescription(joined.json()["sdp"], "answer"))
        for mode in ("listen", "whisper", "barge"):
            if mode != "listen":
                changed = await http.post(f"/api/supervisor/calls/{call}/mode", json={"mode": mode})
                replies[mode] = changed.status_code
            await asyncio.sleep(SETTLE_S)
            start = time.time()
            await asyncio.sleep(WINDOW_S)
            windows[mode] = (start, time.time())
        left = await http.delete(f"/api/supervisor/calls/{call}/monitor")
        replies["leave"] = left.status_code
        await asyncio.sleep(0.5)
        await pc.close()

    async def work() -> None:
        stop = asyncio.Event()
        desk = asyncio.create_task(agent.run(stop))
        await asyncio.sleep(1.5)  # available before the caller arrives
        thread = threading.Thread(target=caller)
        thread.start()
        async with httpx.AsyncClient(base_url=server.base_url, headers=auth(token), timeout=20) as http:
            while not agent.calls and thread.is_alive():
                await asyncio.sleep(0.2)
            assert agent.calls, f"the agent never got the call: {server.tail()}"
            await asyncio.sleep(1.0)  # the bridge's media flowing
            await supervise(http, agent.calls[0])
        calls.put(agent.calls[0])  # the page joins next
        while not page_left.is_set():
            await asyncio.sleep(0.3)
        while thread.is_alive():
            await asyncio.sleep(0.3)
        stop.set()
        await desk

    try:
        asyncio.run(work())
        check_call(server, capture, agent, supervisor_heard, sipp, replies, windows, browser, qa_calls, page)
    finally:
        calls.put(None)
        qa_calls.put(None)
        page.join(60)


def check_call(server: ServerProcess, capture: Path, agent: ListeningAgent, supervisor_heard: Heard,
               sipp: dict[str, Any], replies: dict[str, int], windows: dict[str, tuple[float, float]],
               browser: dict[str, Any], qa_calls: queue.Queue[str | None], page: threading.Thread) -> None:
    """Who heard whom in each window; the call's record; the page's join and the QA view of it."""
    run = sipp["run"]
    assert run.returncode == 0, f"sipp failed: {run.stdout[-1500:]} {run.errors()} {server.tail()}"
    assert replies == {"whisper": 200, "barge": 200, "leave": 200}, replies

    levels = {mode: {"supervisor": supervisor_heard.levels(*span), "agent": agent.heard.levels(*span),
                     "caller": sipp_levels(capture, *span)} for mode, span in windows.items()}
    heard = {mode: {who: {hz for hz, level in by.items() if level > 400} for who, by in parties.items()}
             for mode, parties in levels.items()}
    quiet = {mode: {who: {hz for hz, level in by.items() if level < 150} for who, by in parties.items()}
             for mode, parties in levels.items()}
    why = json.dumps({m: {w: {str(int(hz)): round(v) for hz, v in by.items()} for w, by in p.items()}
                      for m, p in levels.items()})
    print("tone levels heard", why)  # shown with -s, and with a failure
    for mode in ("listen", "whisper", "barge"):
        # the supervisor hears the caller and the agent in every mode; the caller always hears the
        # agent and the agent the caller
        assert {CALLER_HZ, AGENT_HZ} <= heard[mode]["supervisor"], why
        assert AGENT_HZ in heard[mode]["caller"] and CALLER_HZ in heard[mode]["agent"], why
    assert SUPERVISOR_HZ in quiet["listen"]["agent"] and SUPERVISOR_HZ in quiet["listen"]["caller"], why
    assert SUPERVISOR_HZ in heard["whisper"]["agent"] and SUPERVISOR_HZ in quiet["whisper"]["caller"], why
    assert SUPERVISOR_HZ in heard["barge"]["agent"] and SUPERVISOR_HZ in heard["barge"]["caller"], why

    call = agent.calls[0]
    deadline = time.monotonic() + 30
    while (record := server.admin_get(f"/api/calls/{call}"))["status"] != "completed" and time.monotonic() < deadline:
        time.sleep(0.5)
    qa_calls.put(call)  # the QA page opens the call
    page.join(90)
    assert browser.get("left") and browser["errors"] == [], browser
    entry, from_page = record["monitors"]
    assert entry["supervisor"] == "ada" and entry["mode"] == "listen", entry
    assert [m["mode"] for m in entry["modes"]] == ["listen", "whisper", "barge"], entry
    assert entry["at"] <= entry["modes"][1]["at"] <= entry["modes"][2]["at"] <= entry["left_at"], entry
    assert entry["left_at"] <= windows["barge"][1] + 5.0 and entry["left_at"] < record["ended_at"], entry
    assert set(record["recordings"]) == {"caller", "agent"}, record["recordings"]
    # the page's script joined (listen) and left with its buttons
    assert browser["buttons"] == ["Listen", "Whisper", "Barge", "Leave"] and browser["pressed"] == "true", browser
    assert browser["energy"] >= 0.01, browser  # the page heard the call
    assert (from_page["supervisor"], from_page["mode"]) == ("ada", "listen") and from_page["left_at"], from_page
    # the QA call view lists both
    assert browser["qa_shown"] and len(browser["qa"]) == 2, browser
    assert browser["qa"][0].startswith("ada: listen at ") and "then whisper at " in browser["qa"][0], browser
    assert "then barge at " in browser["qa"][0] and "; left at " in browser["qa"][0], browser
    assert record["agent"] == "alice" and record["transfers"][-1]["result"] == "answered"
