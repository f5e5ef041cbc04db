"""An agent in a real headless Chromium takes a SIPp caller that asked for an agent in the IVR:
the desk rings, the agent answers with the WebRTC softphone, audio flows both ways through the
worker's bridge, and the call record has transcript lines for both speakers."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import synthesize
from tests.e2e.test_browser_caller import CHROMIUM_FLAGS
from tests.e2e.test_sip_call import wait_for_call
from tests.support.browser import log_in
from tests.support.rtp_pcap import Clip, Digit, build_pcap, g711_rms_dbfs, read_rtp, read_wav_8k
from tests.support.server import REPO, ServerProcess, auth
from tests.support.sipp import fill_scenario, run_sipp
from tests.support.tools import require

MONDAY_MORNING = "2026-11-23T10:00:00+00:00"


@pytest.fixture(scope="module")
def desk_server(tmp_path_factory: pytest.TempPathFactory, _tools_present: None) -> Iterator[ServerProcess]:
    require("chromium")
    server = ServerProcess(tmp_path_factory.mktemp("desk"), workers=1, flows=REPO / "flows",
                           settings_yaml=f"clock: '{MONDAY_MORNING}'\nring_timeout_s: 20\n").start()
    yield server
    assert server.stop() == 0, server.tail()


def agent_microphone(workdir: Path) -> Path:
    """Alice's fake microphone: a greeting, then a pause (Chromium loops the file)."""
    sox = require("sox")
    said = synthesize("Hello, this is Alice from the parcel hotline. How can I help you?", workdir / "alice.wav",
                      rate=48000)
    gap = workdir / "gap.wav"
    subprocess.run([sox, "-n", "-r", "48000", "-c", "1", "-b", "16", str(gap), "trim", "0", "2.5"], check=True)
    out = workdir / "alice-mic.wav"
    subprocess.run([sox, str(gap), str(said), str(gap), str(out)], check=True)
    return out


def test_agent_answers_a_sip_caller_and_both_sides_are_heard(desk_server: ServerProcess, workdir: Path) -> None:
    caller_said = synthesize("My parcel arrived damaged and the box was crushed", workdir / "caller.wav")
    pcap = workdir / "caller.pcap"
    # 1 = English, 0 = an agent (both typed ahead during the welcome); the caller speaks at 24 s
    build_pcap(pcap, 34.0, [Clip(24.0, read_wav_8k(caller_said))], [Digit(1.0, "1"), Digit(1.5, "0")])
    scenario = fill_scenario("bye_waiter.xml", workdir, PCAP=pcap, BYE_TIMEOUT_MS=90000)
    capture = workdir / "caller-heard.pcap"
    result: dict[str, Any] = {}

    def caller() -> None:
        result["run"] = run_sipp(scenario, f"127.0.0.1:{desk_server.sip_port}", workdir, timeout_s=120,
                                 capture=capture)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=require("chromium"), headless=True,
                                    args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={agent_microphone(workdir)}"])
        try:
            page = browser.new_page()
            log_in(page, f"{desk_server.base_url}/desk", "alice", "alice-demo")
            page.wait_for_selector("#state[data-state=away]")
            page.click("#go-available")
            page.wait_for_selector("#state[data-state=available]")
            agents = {a["username"]: a for a in desk_server.admin_get("/api/agents")}
            assert agents["alice"]["presence"]["state"] == "available"

            thread = threading.Thread(target=caller)
            thread.start()
            page.wait_for_selector("#ringing:not([hidden])", timeout=40000)
            assert page.text_content("#state") == "ringing"
            page.click("#answer")
            page.wait_for_selector("#call-state[data-state=connected]", timeout=20000)
            connected_at = time.time()
            page.wait_for_selector("#state[data-state=on_call]")
            assert "parcel hotline" not in (page.text_content("#caller") or "")  # the caller's number, not ours
            assert "+15550100" in (page.text_content("#caller") or "")
            # the CRM's name in the call bar (config/customers.yaml); its fields and what the IVR
            # collected in the folded IVR data
            page.wait_for_selector("td[data-var='crm.name']", state="attached")
            assert page.text_content("#caller-name") in ("Sam Taylor", "Li Na")
            assert page.text_content("td[data-var='crm.name']") == page.text_content("#caller-name")
            page.click("#ivr-details > summary")
            assert page.inner_text("td[data-var='choice']") == "agent"
            page.wait_for_selector("#transcript li[data-speaker=caller]", timeout=45000)
            # the caller's words about a damaged parcel bring the damaged-item article to the desk
            card = page.wait_for_selector(".card[data-article=damaged-item]", timeout=20000)
            assert "damaged" in (card.inner_text()).lower() and card.query_selector(".steps li") is not None
            card.query_selector("button.used").click()
            page.wait_for_selector(".card[data-article=damaged-item][data-saved=yes]", timeout=5000)
            timings = page.evaluate("window.assistTimings")
            print(f"final transcript -> card on the desk: {[round(t['ms'], 1) for t in timings]} ms")
            assert timings and all(t["ms"] >= 0 for t in timings), timings
            page.wait_for_selector("#transcript li[data-speaker=agent]", timeout=20000)
            # a ticket from the desk, tied to this call and caller
            page.click("#tickets-details > summary")
            page.select_option("#new-ticket-type", "damage")
            page.fill("#new-ticket-description", "box crushed, photos by e-mail")
            page.click("#new-ticket")
            page.wait_for_selector("#new-ticket-result[data-ref]:not([data-ref=''])", timeout=10000)
            desk_ticket = page.get_attribute("#new-ticket-result", "data-ref")
            page.click("#hangup")
            page.wait_for_selector("#wrapup:not([hidden])")
            page.select_option("#disposition", "ticket_created")
            page.fill("#notes", "Damaged parcel, refund requested")
            page.click("#wrapup-done")
            page.wait_for_selector("#state[data-state=available]")
            hung_up_at = time.time()
            # the knowledge admin page reports the card and the agent's verdict
            admin = browser.new_page()  # a context of its own: ada's session, beside alice's
            log_in(admin, f"{desk_server.base_url}/admin/knowledge", "ada", "ada-demo")
            row = admin.wait_for_selector("#usage tr[data-article=damaged-item]", timeout=10000)
            cells = [c.inner_text() for c in row.query_selector_all("td")]
            assert cells[1] == "1" and cells[2] == "1", cells  # suggested once, used once
        finally:
            browser.close()
    thread.join(150)
    run = result["run"]
    assert run.returncode == 0, f"sipp failed: {run.stdout[-1500:]} {run.errors()} {desk_server.tail()}"

    calls = [c for c in desk_server.admin_get("/api/calls", limit=5) if c.get("agent") == "alice"]
    assert calls, desk_server.admin_get("/api/calls", limit=5)
    deadline = time.monotonic() + 30  # the worker saves the final record once the last words are recognised
    while (record := desk_server.admin_get(f"/api/calls/{calls[0]['id']}"))["status"] == "live" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert record["status"] == "completed" and record["end_reason"] == "agent_hangup"
    assert record["transfers"][0]["result"] == "answered" and record["transfers"][0]["queue"] == "general"
    speakers = {s["speaker"] for s in record["transcript"]}
    assert speakers == {"caller", "agent"}, record["transcript"]
    caller_text = " ".join(s["text"] for s in record["transcript"] if s["speaker"] == "caller").lower()
    agent_text = " ".join(s["text"] for s in record["transcript"] if s["speaker"] == "agent").lower()
    assert "damaged" in caller_text and ("alice" in agent_text or "help" in agent_text), record["transcript"]
    assert record["wrapup"] == {"agent": "alice", "disposition": "ticket_created",
                                "notes": "Damaged parcel, refund requested"}
    assert "agent" in record["recordings"]
    ticket = desk_server.admin_get(f"/api/tickets/{desk_ticket}")
    assert (ticket["call_id"], ticket["type"], ticket["history"][0]["by"]) == (record["id"], "damage", "alice")
    assert "+15550100" in ticket["caller"]
    qa_view = desk_server.get(f"/api/qa/calls/{record['id']}", token=desk_server.login("quinn", "quinn-demo"))
    assert desk_ticket in [t["ref"] for t in qa_view["ticket_details"]]  # the archive links it
    cards = record["assist"]["suggestions"]
    assert ("damaged-item", "used", "alice") in [(c["article"], c["feedback"], c.get("feedback_by")) for c in cards]
    assert record["assist"]["utterances"] >= 1
    usage = desk_server.admin_get("/api/knowledge/report")
    assert next(a for a in usage["articles"] if a["id"] == "damaged-item")["used"] >= 1

    # SIPp heard the agent's microphone once the call was bridged
    bridged = [p for p in read_rtp(capture) if connected_at + 1.0 < p.time < hung_up_at - 1.0]
    assert len(bridged) > 200, len(bridged)
    assert g711_rms_dbfs(bridged) > -40.0, "the caller did not hear the agent"


def login(page: Any, base: str, user: str) -> None:
    """Log in on the desk (it opens at once, connected and away) and go available."""
    log_in(page, f"{base}/desk", user, f"{user}-demo")
    page.wait_for_selector("#state[data-state=away]")
    page.click("#go-available")
    page.wait_for_selector("#state[data-state=available]")


def test_agent_holds_then_transfers_the_caller_to_another_agent(desk_server: ServerProcess, workdir: Path) -> None:
    pcap = workdir / "caller.pcap"
    build_pcap(pcap, 30.0, [], [Digit(1.0, "1"), Digit(1.5, "0")])
    scenario = fill_scenario("bye_waiter.xml", workdir, PCAP=pcap, BYE_TIMEOUT_MS=90000)
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(
        run=run_sipp(scenario, f"127.0.0.1:{desk_server.sip_port}", workdir, timeout_s=120)))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=require("chromium"), headless=True,
                                    args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={agent_microphone(workdir)}"])
        try:
            bob = browser.new_page()
            login(bob, desk_server.base_url, "bob")
            bob.click("#go-away")  # bob is busy with something else: the queue call goes to chen
            bob.wait_for_selector("#state[data-state=away]")
            chen = browser.new_page()
            login(chen, desk_server.base_url, "chen")
            thread.start()
            chen.wait_for_selector("#ringing:not([hidden])", timeout=40000)
            chen.click("#answer")
            chen.wait_for_selector("#call-state[data-state=connected]", timeout=20000)
            chen.click("#hold")
            chen.wait_for_selector("#hold[data-held=yes]")
            time.sleep(2.0)
            chen.click("#hold")  # resume
            bob.click("#go-available")
            bob.wait_for_selector("#state[data-state=available]")
            chen.click("#transfer-open")
            chen.fill("#transfer-agent", "bob")
            chen.click("#transfer")
            chen.wait_for_selector("#wrapup:not([hidden])", timeout=20000)  # chen's part is over
            assert chen.input_value("#disposition") == "transferred"  # what happened, not a guess
            chen.click("#wrapup-done")
            bob.wait_for_selector("#ringing:not([hidden])", timeout=30000)
            bob.click("#answer")
            bob.wait_for_selector("#call-state[data-state=connected]", timeout=20000)
            time.sleep(2.0)
            bob.click("#hangup")
            bob.wait_for_selector("#wrapup:not([hidden])")
            bob.select_option("#disposition", "resolved")
            bob.click("#wrapup-done")
            bob.wait_for_selector("#wrapup", state="hidden")
        finally:
            browser.close()
    thread.join(150)
    assert result["run"].returncode == 0, result["run"].errors()
    record = next(c for c in desk_server.admin_get("/api/calls", limit=5) if c.get("agent") == "bob")
    # the record is final once the worker has closed the call (its last segments recognised)
    record = wait_for_call(desk_server, lambda c: c["id"] == record["id"] and c["status"] == "completed")
    record = desk_server.admin_get(f"/api/calls/{record['id']}")
    assert [(t.get("result"), t.get("agent")) for t in record["transfers"]] == [("answered", "chen"),
                                                                                ("answered", "bob")]
    assert {"caller", "agent", "agent-2"} <= set(record["recordings"]) and record["end_reason"] == "agent_hangup"


def test_an_overdue_ticket_reminds_the_agent_on_the_desk(desk_server: ServerProcess) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=require("chromium"), headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            log_in(page, f"{desk_server.base_url}/desk", "alice", "alice-demo")
            # the desk is open (alice's state from her last session comes back, whichever it was)
            page.wait_for_selector("#state:not([data-state=offline])")
            due = time.time() + 8
            created = httpx.post(f"{desk_server.base_url}/api/tickets", timeout=10,
                                 headers=auth(desk_server.login("alice", "alice-demo")), json={
                "type": "damage", "priority": "urgent", "assignee": "alice", "due_at": due,
                "description": "crushed box, customer waiting"})
            assert created.status_code == 201, created.text
            ref = created.json()["ref"]
            assert page.query_selector(f"#reminders li[data-ref='{ref}']") is None  # not due yet
            page.wait_for_selector(f"#reminders li[data-ref='{ref}']", timeout=60000)
            shown_at = time.time()
            assert "crushed box" in page.inner_text(f"#reminders li[data-ref='{ref}']")
        finally:
            browser.close()
    assert shown_at >= due  # not before its SLA time; the wait above allows it a minute after (checks every 10 s)
    assert desk_server.admin_get(f"/api/tickets/{ref}")["reminded_at"] is not None
