"""A caller in a real headless Chromium on the "call the hotline" page: WebRTC (Opus) into the same
IVR as SIP callers, keypad DTMF as RFC 4733 telephone-events, speech through VAD and ASR; each
browser caller known by the number they typed or the customer id the embedding site signed."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright

from hotline.web.softphone import customer_signature
from tests.conftest import synthesize
from tests.support.server import REPO, ServerProcess, auth
from tests.support.tools import require

MONDAY_MORNING = "2026-11-23T10:00:00+00:00"
SECRET = "embedding-site-key"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  "--allow-loopback-in-peer-connection"]


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory, _tools_present: None) -> Iterator[ServerProcess]:
    require("chromium")
    server = ServerProcess(tmp_path_factory.mktemp("web"), workers=1, flows=REPO / "flows",
                           settings_yaml=f"clock: '{MONDAY_MORNING}'\ncaller_signing_secret: {SECRET}\n").start()
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


def _connect(page: Any, url: str, phone: str = "") -> str:
    """Open the call page, call (with `phone` typed in) and return the call id once connected."""
    page.goto(url)
    if phone:
        page.fill("#phone", phone)
    page.click("#call")
    page.wait_for_selector("#state[data-state=connected]", timeout=20000)
    return str(page.evaluate("document.body.dataset.call"))


def _record(server: ServerProcess, sip_call_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for call in server.admin_get("/api/calls", limit=50):
            if call["sip_call_id"] == sip_call_id:
                return dict(server.admin_get(f"/api/calls/{call['id']}"))
        time.sleep(0.3)
    raise AssertionError(f"no record for {sip_call_id}: {server.tail()}")


def test_browser_callers_are_known_by_their_own_identity(web: ServerProcess) -> None:
    base = web.base_url
    signed = f"{base}/call?customer=C-7001&sig={customer_signature(SECRET, 'C-7001')}"
    forged = f"{base}/call?customer=C-7002&sig={customer_signature(SECRET, 'C-7001')}"
    calls: list[tuple[str, str]] = []  # (whose, call record id)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=require("chromium"), headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.goto(f"{base}/call")
            page.fill("#phone", "my number")  # checked on the page before the microphone is asked for
            page.click("#call")
            page.wait_for_selector("#phone-error:not(:empty)")
            assert "6 to 15 digits" in page.inner_text("#phone-error") and page.inner_text("#state") == "idle"

            page.goto(forged)
            assert page.is_visible("#as-customer") and page.inner_text("#customer-id") == "C-7002"
            page.click("#call")
            page.wait_for_selector("#state[data-state=failed]", timeout=20000)
            assert "signature is not valid" in page.inner_text("#call-error")

            for whose, url, phone in (("anna", f"{base}/call", "+1 555 0100 777"), ("ben", signed, ""),
                                      ("anna", f"{base}/call", "+15550100777"), ("stranger", f"{base}/call", "")):
                sip_call_id = _connect(page, url, phone)
                record = _record(web, sip_call_id)
                assert record["from_uri"] == page.evaluate("document.body.dataset.caller")
                calls.append((whose, record["id"]))
                page.click("#hangup")
                page.wait_for_selector("#state[data-state=ended]")
        finally:
            browser.close()
    records = {call_id: web.admin_get(f"/api/calls/{call_id}") for _, call_id in calls}
    uris = [records[call_id]["from_uri"] for _, call_id in calls]
    assert uris[:3] == ["sip:+15550100777@webrtc", "customer:C-7001@webrtc", "sip:+15550100777@webrtc"]
    assert uris[3].startswith("anonymous-") and uris[3].endswith("@webrtc")
    token = web.admin_token

    def previous(call_id: str) -> list[str]:
        r = httpx.get(f"{base}/api/agent/calls/{call_id}/context", headers=auth(token), timeout=10)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["previous_calls"]]

    anna_1, ben_1, anna_2, stranger_1 = (call_id for _, call_id in calls)
    assert previous(anna_2) == [anna_1]  # her own call, not ben's
    assert previous(ben_1) == [] and previous(stranger_1) == []
