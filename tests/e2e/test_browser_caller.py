"""A caller in a real headless Chromium on the "call the hotline" page: WebRTC (Opus) into the same
IVR as SIP callers, keypad DTMF as RFC 4733 telephone-events, speech through VAD and ASR."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import synthesize
from tests.support.server import REPO, ServerProcess
from tests.support.tools import require

MONDAY_MORNING = "2026-11-23T10:00:00+00:00"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  "--allow-loopback-in-peer-connection"]


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory, _tools_present: None) -> Iterator[ServerProcess]:
    require("chromium")
    server = ServerProcess(tmp_path_factory.mktemp("web"), workers=1, flows=REPO / "flows",
                           settings_yaml=f"clock: '{MONDAY_MORNING}'\n").start()
    yield server
    assert server.stop() == 0, server.tail()


def microphone(workdir: Path, speech: str = "", at_s: float = 0.0, total_s: float = 90.0) -> Path:
    """The fake microphone Chromium plays: silence, optionally a sentence at `at_s`."""
    sox = require("sox")
    out = workdir / "microphone.wav"
    silence = workdir / "silence.wav"
    subprocess.run([sox, "-n", "-r", "48000", "-c", "1", "-b", "16", str(silence), "trim", "0", str(at_s or 1)],
                   check=True)
    parts = [str(silence)]
    if speech:
        said = synthesize(speech, workdir / "said.wav", rate=48000)
        parts.append(str(said))
    tail = workdir / "tail.wav"
    subprocess.run([sox, "-n", "-r", "48000", "-c", "1", "-b", "16", str(tail), "trim", "0", str(total_s)], check=True)
    subprocess.run([sox, *parts, str(tail), str(out)], check=True)
    return out


def browser_call(server: ServerProcess, workdir: Path, mic: Path, keys: list[tuple[float, str]],
                 hold_s: float) -> tuple[dict[str, Any], float]:
    """Open the caller page, call, press `keys` at their times (s after connecting); returns the
    call record and the audio energy the browser received."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=require("chromium"), headless=True,
                                    args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={mic}"])
        try:
            page = browser.new_page()
            page.goto(f"{server.base_url}/call")
            page.click("#call")
            page.wait_for_selector("#state[data-state=connected]", timeout=20000)
            call_id = page.evaluate("document.body.dataset.call")
            assert call_id and call_id.startswith("webrtc-")
            started = time.monotonic()
            for at, key in keys:
                time.sleep(max(0.0, at - (time.monotonic() - started)))
                page.click(f".key[data-key='{key}']")
            time.sleep(max(0.0, hold_s - (time.monotonic() - started)))
            energy = float(page.evaluate("receivedAudioEnergy()"))
            page.wait_for_selector("#state[data-state=ended]", timeout=60000)  # the IVR hung up
        finally:
            browser.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for call in server.admin_get("/api/calls", limit=20):
            if call["sip_call_id"] == call_id and call["status"] == "completed":
                return server.admin_get(f"/api/calls/{call['id']}"), energy
        time.sleep(0.5)
    raise AssertionError(f"no completed record for {call_id}: {server.tail()}")


def test_browser_caller_tracks_a_parcel_with_the_keypad(web: ServerProcess, workdir: Path) -> None:
    keys = [(0.5, "1"), (0.9, "1")] + [(1.5 + 0.4 * i, k) for i, k in enumerate("12345678#")] + [(6.0, "9")]
    record, energy = browser_call(web, workdir, microphone(workdir), keys, hold_s=8.0)
    assert record["channel"] == "webrtc"
    assert "track_status_window" in record["ivr_path"] and record["ivr_path"][-1] == "goodbye", record["ivr_path"]
    assert record["variables"]["parcel.status"] == "out_for_delivery"
    assert [(d["digit"], d["method"]) for d in record["dtmf"]] == [(k, "rfc4733") for _, k in keys]
    assert energy > 0.01, "the browser heard no prompts"
    assert record["frames_received"] > 200 and record["frames_dropped"] == 0


def test_browser_caller_says_the_parcel_number(web: ServerProcess, workdir: Path) -> None:
    mic = microphone(workdir, "one two three four five six seven eight", at_s=13.0)
    record, _ = browser_call(web, workdir, mic, [(0.5, "1"), (0.9, "1"), (27.0, "1"), (29.0, "9")], hold_s=30.0)
    assert record["variables"].get("parcel_number") == "12345678", (record["ivr_path"], record["transcript"])
    assert "track_status_window" in record["ivr_path"]
    # the recogniser writes the digits as numerals or as words ("One, two, three, ...")
    assert any(s["speaker"] == "caller" and ("1" in s["text"] or "one" in s["text"].lower())
               for s in record["transcript"]), record["transcript"]
