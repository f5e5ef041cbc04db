"""The demo parcel hotline (flows/) over real SIPp calls: one call per self-service path.

Callers key ahead (RFC 4733 in the RTP stream) the way real callers who know the menu do; the
IVR keeps keys pressed during announcements and lookups for the next question.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import synthesize
from tests.e2e.test_browser_caller import CHROMIUM_FLAGS
from tests.support.browser import log_in
from tests.support.rtp_pcap import Clip, Digit, build_pcap, read_wav_8k
from tests.support.server import REPO, ServerProcess
from tests.support.sipp import fill_scenario, run_sipp
from tests.support.tools import require

MONDAY_MORNING = "2026-11-23T10:00:00+00:00"


def keys(start_s: float, digits: str, gap_s: float = 0.3) -> list[Digit]:
    return [Digit(start_s + i * gap_s, d) for i, d in enumerate(digits)]


def call(server: ServerProcess, workdir: Path, name: str, duration_s: float, digits: list[Digit],
         clips: list[Clip] = (), bye_timeout_s: int = 90) -> dict:  # type: ignore[assignment,type-arg]
    """One SIPp call that plays the given keys and speech, then waits for the IVR's BYE; returns its record."""
    pcap = workdir / f"{name}.pcap"
    build_pcap(pcap, duration_s, list(clips), digits)
    before = {c["id"] for c in server.admin_get("/api/calls", limit=200)}
    scenario = fill_scenario("bye_waiter.xml", workdir, PCAP=pcap, BYE_TIMEOUT_MS=bye_timeout_s * 1000)
    run = run_sipp(scenario, f"127.0.0.1:{server.sip_port}", workdir, timeout_s=bye_timeout_s + 30)
    assert run.returncode == 0, f"{name}: sipp failed: {run.stdout[-1500:]} {run.errors()} {server.tail()}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        new = [c for c in server.admin_get("/api/calls", limit=200) if c["id"] not in before]
        if new and new[0]["status"] == "completed":
            return server.admin_get(f"/api/calls/{new[0]['id']}")
        time.sleep(0.5)
    raise AssertionError(f"{name}: no completed call record")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, _tools_present: None) -> Iterator[ServerProcess]:
    """The demo flows on a Monday morning (the agents' hours are open; no agent is logged in)."""
    server = ServerProcess(tmp_path_factory.mktemp("demo"), workers=2, flows=REPO / "flows",
                           settings_yaml=f"clock: '{MONDAY_MORNING}'\n").start()
    yield server
    assert server.stop() == 0, server.tail()


def test_tracking_by_keypad(demo: ServerProcess, workdir: Path) -> None:
    record = call(demo, workdir, "track-dtmf", 12.0, keys(1.0, "11") + keys(2.0, "12345678#") + keys(6.0, "9"))
    assert record["ivr_path"][:5] == ["welcome", "welcome_zh", "language", "check_hours", "main_menu"]
    assert "parcel_number.find" in record["ivr_path"] and "track_status_window" in record["ivr_path"]
    assert record["ivr_path"][-1] == "goodbye" and record["outcome"] == "flow_end"
    v = record["variables"]
    assert v["parcel_number"] == "12345678" and v["parcel.status"] == "out_for_delivery"
    assert v["parcel.window"] == "between 2 and 4 pm" and v["hours.open"] == "yes" and v["lang"] == "en"
    assert [d["digit"] for d in record["dtmf"]] == list("1112345678#9")
    assert record["flow_version"] >= 1


def test_tracking_by_speech_with_confirmation(demo: ServerProcess, workdir: Path) -> None:
    digits_wav = synthesize("one two three four five six seven eight", workdir / "digits.wav")
    record = call(demo, workdir, "track-speech", 32.0, keys(1.0, "11") + [Digit(28.0, "1"), Digit(30.0, "9")],
                  [Clip(13.0, read_wav_8k(digits_wav))])
    path = record["ivr_path"]
    assert "parcel_number.ask_number" in path and "track_status_window" in path, (path, record["transcript"])
    assert record["variables"]["parcel_number"] == "12345678"
    assert record["asr_engine"] == "moonshine"  # the default for English callers
    assert record["variables"]["parcel.status"] == "out_for_delivery"
    assert any(s["speaker"] == "caller" for s in record["transcript"])
    assert not any(d["digit"] == "#" for d in record["dtmf"])  # the number was spoken, not keyed


def test_damage_report_creates_a_ticket_read_back_to_the_caller(demo: ServerProcess, workdir: Path) -> None:
    said = synthesize("the box arrived and everything inside was smashed", workdir / "damage.wav")
    record = call(demo, workdir, "damage", 22.0, keys(1.0, "12") + keys(2.0, "33334444#") + [Digit(21.0, "9")],
                  [Clip(9.0, read_wav_8k(said))])
    assert "problem_ticket" in record["ivr_path"] and "problem_reference" in record["ivr_path"], (
        record["ivr_path"], record["transcript"])
    assert record["variables"]["problem"] == "damage"
    ref = record["variables"]["ticket.ref"]
    assert record["tickets"] == [ref] and len(ref) == 6
    ticket = demo.admin_get(f"/api/tickets/{ref}")
    assert ticket["type"] == "damage" and ticket["parcel_number"] == "33334444" and ticket["priority"] == "high"
    assert ticket["call_id"] == record["id"] and ticket["status"] == "open"
    qa_finds_and_plays(demo, record, ["smashed", "inside", "arrived", "box"])


def qa_finds_and_plays(server: ServerProcess, record: dict, candidates: list[str]) -> None:  # type: ignore[type-arg]
    """The archived call is found on the QA page by a word the caller said; its recording plays with
    the transcript in sync (clicking the line seeks there, the line being heard is highlighted)."""
    heard = " ".join(s["text"] for s in record["transcript"] if s["speaker"] == "caller").lower()
    word = next((w for w in candidates if w in heard), None)
    assert word is not None, record["transcript"]
    segment = next(s for s in record["transcript"] if word in s["text"].lower())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=require("chromium"), headless=True,
                                    args=[*CHROMIUM_FLAGS, "--autoplay-policy=no-user-gesture-required"])
        try:
            page = browser.new_page()
            log_in(page, f"{server.base_url}/qa", "quinn", "quinn-demo")  # the QA page opens at once
            page.fill("#q-text", word)
            page.click("#search")
            # (the page lists recent calls when it opens: wait for the search's row, with the hit marked)
            mark = page.wait_for_selector(f"#results tr[data-call='{record['id']}'] .snippet mark", timeout=10000)
            assert word in mark.inner_text().lower()
            row = page.query_selector(f"#results tr[data-call='{record['id']}']")
            assert row is not None
            row.click()
            line = page.wait_for_selector(f"#qa-transcript li[data-start='{segment['start_ms']}']", timeout=10000)
            page.wait_for_function("document.querySelector('#player').readyState >= 1", timeout=10000)
            page.wait_for_function("wave !== null && wave.peaks.length > 0", timeout=10000)  # the waveform
            line.click()  # seek to the line and play
            start_s = segment["start_ms"] / 1000
            page.wait_for_function(f"document.querySelector('#player').currentTime > {start_s + 0.3}", timeout=15000)
            assert page.evaluate("document.querySelector('#player').paused") is False
            page.wait_for_selector(f"#qa-transcript li[data-start='{segment['start_ms']}'][data-playing=yes]",
                                   timeout=5000)
            duration = page.evaluate("document.querySelector('#player').duration")
            assert abs(duration - record["duration_s"]) < 1.5, (duration, record["duration_s"])
        finally:
            browser.close()
