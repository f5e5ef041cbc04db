"""The desk as an agent works in it all day, in headless Chromium at 1366x768 against a real
`hotline serve` and a SIPp caller the demo CRM knows (Priya Shah, VIP platinum): a ringing
call is heard (the page's WebAudio ring), shown as a browser notification (hooked here) and in the
tab title; during the call the transcript and the newest knowledge card are on the first screen
with the caller's CRM name; Away during a call takes effect after it; Done without a disposition is
refused; an unanswered offer sets the agent not-responding and rings the next agent, and the call
record keeps both offers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import synthesize
from tests.e2e.test_agent_desk import MONDAY_MORNING, agent_microphone, login
from tests.e2e.test_browser_caller import CHROMIUM_FLAGS
from tests.e2e.test_sip_call import wait_for_call
from tests.support.rtp_pcap import Clip, Digit, build_pcap, read_wav_8k
from tests.support.server import REPO, ServerProcess
from tests.support.sipp import fill_scenario, run_sipp
from tests.support.tools import require

RING_TIMEOUT_S = 8
SCREEN = {"width": 1366, "height": 768}
SCREENSHOT = Path("/tmp/desk-call-1366.png")
CALLER, CALLER_NAME = "+441615550123", "Priya Shah"  # config/customers.yaml
# the test's Notification: records what the page shows; permission is granted when the page asks
FAKE_NOTIFICATION = """
window.shownNotifications = [];
window.notificationAsks = 0;
class TestNotification {
  constructor(title, options) {
    this.title = title;
    this.options = options || {};
    this.closed = false;
    window.shownNotifications.push(this);
  }
  close() { this.closed = true; }
  static requestPermission() {
    window.notificationAsks += 1;
    TestNotification.permission = 'granted';
    return Promise.resolve('granted');
  }
}
TestNotification.permission = 'default';
window.Notification = TestNotification;
"""


@pytest.fixture(scope="module")
def ring_server(tmp_path_factory: pytest.TempPathFactory, _tools_present: None) -> Iterator[ServerProcess]:
    require("chromium")
    server = ServerProcess(tmp_path_factory.mktemp("desk-ring"), workers=1, flows=REPO / "flows",
                           settings_yaml=f"clock: '{MONDAY_MORNING}'\nring_timeout_s: {RING_TIMEOUT_S}\n"
                                         "post_call_transcription: false\n").start()
    yield server
    assert server.stop() == 0, server.tail()


def as_known_caller(scenario: Path) -> Path:
    """The SIPp scenario calling from the demo CRM's customer instead of its numbered test callers."""
    text = scenario.read_text()
    assert "sip:+15550100[call_number]@" in text
    scenario.write_text(text.replace("sip:+15550100[call_number]@", f"sip:{CALLER}@"))
    return scenario


def sipp_caller(server: ServerProcess, workdir: Path, scenario: Path, result: dict[str, Any]) -> threading.Thread:
    return threading.Thread(target=lambda: result.update(
        run=run_sipp(scenario, f"127.0.0.1:{server.sip_port}", workdir, timeout_s=150)))


def desk_page(browser: Any) -> Any:
    context = browser.new_context(viewport=SCREEN)
    context.add_init_script(FAKE_NOTIFICATION)
    return context.new_page()


def inside_viewport(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert box["y"] >= 0 and box["y"] + box["height"] <= SCREEN["height"], (selector, box)
    assert box["x"] >= 0 and box["x"] + box["width"] <= SCREEN["width"], (selector, box)
    return box


def test_a_call_is_noticed_fits_the_first_screen_and_away_waits_for_the_wrap_up(
        ring_server: ServerProcess, workdir: Path) -> None:
    caller_said = synthesize("My parcel arrived damaged and the box was crushed", workdir / "caller.wav")
    pcap = workdir / "caller.pcap"
    # 1 = English, 0 = an agent (typed ahead during the welcome); the caller speaks at 24 s
    build_pcap(pcap, 34.0, [Clip(24.0, read_wav_8k(caller_said))], [Digit(1.0, "1"), Digit(1.5, "0")])
    scenario = as_known_caller(fill_scenario("bye_waiter.xml", workdir, PCAP=pcap, BYE_TIMEOUT_MS=120000))
    result: dict[str, Any] = {}
    thread = sipp_caller(ring_server, workdir, scenario, result)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=require("chromium"), headless=True,
                                    args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={agent_microphone(workdir)}"])
        try:
            page = desk_page(browser)
            login(page, ring_server.base_url, "alice")  # Available is a click: it asks for notifications
            assert page.evaluate("window.notificationAsks") >= 1
            thread.start()

            # (a) the ring is heard, notified and in the tab title, with the caller's CRM name
            page.wait_for_selector("#ringing:not([hidden])", timeout=60000)
            page.wait_for_function("window.hotlineRing.playing && window.hotlineRing.level() > 0.01", timeout=5000)
            ring = page.evaluate("({...window.hotlineRing})")
            assert ring["started"] >= 1 and ring["audio"] == "running", ring
            page.wait_for_function("window.shownNotifications.length > 0", timeout=5000)
            shown = page.evaluate("window.shownNotifications.map(n => ({title: n.title, body: n.options.body}))")
            assert shown[-1]["title"] == f"Incoming call \u2014 {CALLER_NAME}", shown
            page.wait_for_function(f"document.title === 'Incoming call \u2014 {CALLER_NAME}'", timeout=5000)
            assert page.inner_text("#ring-name") == CALLER_NAME
            assert "sip:" not in page.inner_text("#ringing") and "English" in page.inner_text("#ring-facts")
            assert page.inner_text("#ring-vip").lower() == "vip platinum"
            page.click("#answer")
            page.wait_for_function("!window.hotlineRing.playing && window.hotlineRing.stopped >= 1")
            assert page.evaluate("window.shownNotifications[window.shownNotifications.length - 1].closed")
            assert not page.title().startswith("Incoming call")

            # (b) the call on the first screen at 1366x768: who, the transcript, the newest card
            page.wait_for_selector("#call-state[data-state=connected]", timeout=20000)
            page.wait_for_selector("#state[data-state=on_call]")
            page.wait_for_selector(f"#caller-name:text-is('{CALLER_NAME}')", timeout=10000)
            assert page.inner_text("#caller") == CALLER and page.inner_text("#caller-vip").lower() == "vip platinum"
            page.wait_for_selector("#call-timer[data-running=yes]")
            page.wait_for_selector("#transcript li[data-speaker=caller]", timeout=60000)
            page.wait_for_selector(".card.latest[data-article=damaged-item]", timeout=15000)
            assert page.evaluate("window.scrollY") == 0
            inside_viewport(page, "#transcript-panel")
            inside_viewport(page, ".card.latest")
            inside_viewport(page, "#caller-name")
            assert page.is_hidden("td[data-var='choice']")  # the raw IVR data is folded away
            page.screenshot(path=str(SCREENSHOT))
            page.click("#hold")
            page.wait_for_selector("#hold-timer[data-running=yes]")
            page.click("#hold")  # resume
            page.wait_for_selector("#hold[data-held=no]")

            # (c) Away during the call: "after this call", and away after the wrap-up
            page.select_option("#away-reason", "break")
            page.click("#go-away")
            page.wait_for_selector("#next-state:not([hidden])", timeout=5000)
            assert page.inner_text("#next-state") == "after this call: away (break)"
            assert page.get_attribute("#state", "data-state") == "on_call"
            page.click("#hangup")
            page.wait_for_selector("#wrapup:not([hidden])")
            assert page.text_content("#call-state") == "you hung up"
            assert page.get_attribute("#call-timer", "data-running") == "no"
            assert all(page.is_disabled(b) for b in ("#hangup", "#hold", "#transfer-open"))
            inside_viewport(page, "#wrapup")
            # Done without a disposition: refused on the page, and by the server if asked anyway
            assert page.input_value("#disposition") == ""
            page.click("#wrapup-done")
            page.wait_for_selector("#wrapup-error[data-from=page]")
            page.evaluate("send({type: 'wrapup', call: currentCall, disposition: '', notes: ''})")
            page.wait_for_selector("#wrapup-error[data-from=server]", timeout=5000)
            assert page.is_visible("#wrapup") and page.get_attribute("#state", "data-state") == "wrap_up"
            page.select_option("#disposition", "resolved")
            page.fill("#notes", "Damage reported, photos by e-mail")
            page.click("#wrapup-done")
            page.wait_for_selector("#wrapup", state="hidden", timeout=10000)
            page.wait_for_selector("#state[data-state=away]")
            assert "break" in page.inner_text("#state")
            time.sleep(1.0)  # nothing puts her back to available
            assert page.get_attribute("#state", "data-state") == "away"
            agents = {a["username"]: a for a in ring_server.admin_get("/api/agents")}
            assert agents["alice"]["presence"]["state"] == "away", agents["alice"]
        finally:
            browser.close()
    thread.join(150)
    assert result["run"].returncode == 0, result["run"].errors()
    record = wait_for_call(ring_server, lambda c: c.get("agent") == "alice" and c["status"] == "completed")
    record = ring_server.admin_get(f"/api/calls/{record['id']}")
    assert record["wrapup"]["disposition"] == "resolved", record.get("wrapup")


def test_an_unanswered_ring_sets_the_agent_not_responding_and_rings_the_next(
        ring_server: ServerProcess, workdir: Path) -> None:
    pcap = workdir / "caller.pcap"
    build_pcap(pcap, 10.0, [], [Digit(1.0, "1"), Digit(1.5, "0")])
    # the caller hangs up after a minute
    scenario = as_known_caller(fill_scenario("hold_caller.xml", workdir, PCAP=pcap, HOLD_MS=60000))
    result: dict[str, Any] = {}
    thread = sipp_caller(ring_server, workdir, scenario, result)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=require("chromium"), headless=True,
                                    args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={agent_microphone(workdir)}"])
        try:
            alice = desk_page(browser)
            login(alice, ring_server.base_url, "alice")
            bob = desk_page(browser)
            login(bob, ring_server.base_url, "bob")  # alice has been idle longer: she rings first
            thread.start()
            alice.wait_for_selector("#ringing:not([hidden])", timeout=60000)
            assert alice.evaluate("window.hotlineRing.playing")
            assert 0 < int(alice.inner_text("#ring-countdown").removesuffix(" s")) <= RING_TIMEOUT_S
            # she does not answer: after the ring timeout she is not responding, and bob rings
            alice.wait_for_selector("#state[data-state=not_responding]", timeout=(RING_TIMEOUT_S + 5) * 1000)
            alice.wait_for_selector("#ringing", state="hidden")
            assert not alice.evaluate("window.hotlineRing.playing")
            assert alice.is_visible("#not-responding") and CALLER_NAME in alice.inner_text("#desk-note")
            bob.wait_for_selector("#ringing:not([hidden])", timeout=10000)
            bob.click("#answer")
            bob.wait_for_selector("#call-state[data-state=connected]", timeout=20000)
            alice.click("#back-available")  # the way back
            alice.wait_for_selector("#state[data-state=available]")
            assert alice.is_hidden("#not-responding")
            # the caller hangs up: the call bar says so, with the timer stopped and the controls off
            bob.wait_for_function("document.querySelector('#call-state').textContent === 'caller hung up'",
                                  timeout=60000)
            assert bob.get_attribute("#call-timer", "data-running") == "no"
            assert all(bob.is_disabled(b) for b in ("#hangup", "#hold", "#transfer-open"))
            bob.select_option("#disposition", "resolved")
            bob.click("#wrapup-done")
            bob.wait_for_selector("#state[data-state=available]")
        finally:
            browser.close()
    thread.join(150)
    assert result["run"].returncode == 0, result["run"].errors()
    record = wait_for_call(ring_server, lambda c: c.get("agent") == "bob" and c["status"] == "completed")
    record = ring_server.admin_get(f"/api/calls/{record['id']}")
    assert record["end_reason"] == "remote_bye"
    offers = [(o["agent"], o["outcome"]) for o in record.get("offers", [])]
    assert offers == [("alice", "timeout"), ("bob", "answered")], record.get("offers")
