"""Admins edit live flows: broken edits are rejected mid-call, good ones become new versions, and
versions can be rolled back. Also the out-of-hours path: a voicemail and a callback ticket."""

from __future__ import annotations

import io
import shutil
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import synthesize
from tests.e2e.test_demo_paths import call, keys
from tests.support.rtp_pcap import Clip, Digit, read_wav_8k
from tests.support.server import REPO, ServerProcess, auth

SUNDAY_NIGHT = "2026-11-22T22:30:00+00:00"


@pytest.fixture(scope="module")
def flows_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("flows") / "flows"
    shutil.copytree(REPO / "flows", target, ignore=shutil.ignore_patterns("tests"))
    return target


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory, flows_dir: Path, _tools_present: None) -> Iterator[ServerProcess]:
    """The demo flows, copied so the tests can edit them, on a Sunday night (agents' hours closed)."""
    server = ServerProcess(tmp_path_factory.mktemp("closed"), workers=1, flows=flows_dir,
                           settings_yaml=f"clock: '{SUNDAY_NIGHT}'\n").start()
    yield server
    assert server.stop() == 0, server.tail()


def flow_status(server: ServerProcess, name: str = "main") -> dict:  # type: ignore[type-arg]
    return next(f for f in server.admin_get("/api/flows") if f["name"] == name)


def wait_status(server: ServerProcess, predicate, timeout: float = 15.0) -> dict:  # type: ignore[no-untyped-def,type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = flow_status(server)
        if predicate(status):
            return status
        time.sleep(0.3)
    raise AssertionError(f"flow status never matched: {flow_status(server)}")


def test_off_hours_caller_leaves_a_voicemail_and_gets_a_callback_ticket(closed: ServerProcess, workdir: Path) -> None:
    message = synthesize("Hello, this is Sam. Please call me back about my parcel.", workdir / "message.wav")
    # English (1), then "leave a message" (2) at the closed-hours menu; speak after the tone, then #
    record = call(closed, workdir, "voicemail", 30.0, keys(1.0, "12") + [Digit(28.0, "#")],
                  [Clip(19.0, read_wav_8k(message))])
    path = record["ivr_path"]
    assert path[:5] == ["welcome", "welcome_zh", "language", "check_hours", "closed_menu"], path
    assert path[-2:] == ["leave_message", "message_saved"], path
    assert record["variables"]["hours.open"] == "no"
    ref = record["variables"]["ticket.ref"]
    assert record["tickets"] == [ref]
    ticket = closed.admin_get(f"/api/tickets/{ref}")
    assert ticket["type"] == "callback" and ticket["call_id"] == record["id"]
    assert ticket["recording"].startswith("voicemail/") and ticket["recording"] in record["recordings"].values()
    party = next(k for k, v in record["recordings"].items() if v == ticket["recording"])
    wav = httpx.get(f"{closed.base_url}/api/calls/{record['id']}/recording/{party}",
                    headers=auth(closed.admin_token), timeout=10)  # an admin
    assert wav.status_code == 200
    with wave.open(io.BytesIO(wav.content)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        seconds = w.getnframes() / w.getframerate()
    assert 3.0 < seconds < 15.0, seconds  # from the beep until the hash key
    assert float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) > 300, "the message is silent"


def test_broken_edits_during_a_call_are_rejected_and_good_edits_and_rollbacks_apply(
        closed: ServerProcess, flows_dir: Path, workdir: Path) -> None:
    main = flows_dir / "main.yaml"
    original = main.read_text()
    v1 = wait_status(closed, lambda s: s["status"] == "ok")["active_version"]
    result: dict = {}  # type: ignore[type-arg]

    def long_call() -> None:  # tracking by keypad, keys spread over 16 s, while the file is edited
        result["record"] = call(closed, workdir / "a", "during-edit", 20.0,
                                keys(1.0, "11") + keys(9.0, "12345678#") + keys(15.0, "9"))

    (workdir / "a").mkdir()
    caller = threading.Thread(target=long_call)
    caller.start()
    try:
        deadline = time.monotonic() + 20
        while not any(c["status"] == "live" for c in closed.admin_get("/api/calls", limit=5)):
            assert time.monotonic() < deadline, "the call never started"
            time.sleep(0.2)
        # 1. bad YAML: an unclosed quote in the welcome prompt
        main.write_text(original.replace('en: "Welcome to the parcel hotline.', 'en: "Welcome to the parcel hotline.\n  x: "'))
        status = wait_status(closed, lambda s: s["status"] == "error")
        error = status["errors"][0]
        assert error["file"] == str(main) and "invalid YAML" in error["message"] and error["line"] > 1
        assert status["active_version"] == v1
        # 2. valid YAML, unknown target
        main.write_text(original.replace("    else: anything_else\n", "    else: anything_els\n", 1))
        bad_line = original[:original.index("    else: anything_else\n")].count("\n") + 1
        status = wait_status(closed, lambda s: s["status"] == "error" and "anything_els" in s["errors"][0]["message"])
        assert status["errors"][0]["line"] == bad_line and status["active_version"] == v1
        assert "did you mean 'anything_else'" in status["errors"][0]["message"]
    finally:
        caller.join(120)
    record = result["record"]
    assert record["flow_version"] >= 1 and record["outcome"] == "flow_end"
    assert record["variables"]["parcel.status"] == "out_for_delivery" and record["ivr_path"][-1] == "goodbye"

    # the next call still works, on the version that was active before the broken edits
    (workdir / "b").mkdir()
    after = call(closed, workdir / "b", "after-edit", 8.0, keys(1.0, "11") + keys(2.0, "12345678#") + keys(5.0, "9"))
    assert after["variables"]["parcel.status"] == "out_for_delivery" and after["ivr_path"][-1] == "goodbye"
    assert after["flow_version"] == record["flow_version"]

    # 3. a good edit becomes version 2 and new calls hear it
    main.write_text(original.replace("Welcome to the parcel hotline.", "Welcome to the parcel hotline, version two."))
    status = wait_status(closed, lambda s: s["status"] == "ok" and s["active_version"] == v1 + 1)
    assert [v["version"] for v in status["versions"]][:2] == [v1 + 1, v1]
    admin = auth(closed.admin_token)
    text = httpx.get(f"{closed.base_url}/api/flows/main/versions/{v1 + 1}", headers=admin, timeout=10).text
    assert "version two" in text

    # 4. roll back to version 1 through the API; a bad rollback request is refused
    bad = httpx.post(f"{closed.base_url}/api/flows/main/rollback", json={"version": 99}, headers=admin, timeout=10)
    assert bad.status_code == 404
    rolled = httpx.post(f"{closed.base_url}/api/flows/main/rollback", json={"version": v1}, headers=admin,
                        timeout=10)
    assert rolled.status_code == 200 and rolled.json()["active_version"] == v1
    (workdir / "c").mkdir()
    later = call(closed, workdir / "c", "after-rollback", 8.0, keys(1.0, "11") + keys(2.0, "12345678#") + keys(5.0, "9"))
    assert later["flow_version"] > after["flow_version"] and later["ivr_path"][-1] == "goodbye"
    assert "version two" not in httpx.get(f"{closed.base_url}/api/flows/main/versions/{v1}", headers=admin,
                                          timeout=10).text

    svg = httpx.get(f"{closed.base_url}/api/flows/main/graph.svg", headers=admin, timeout=10)
    assert svg.headers["content-type"].startswith("image/svg+xml") and 'data-node="main_menu"' in svg.text
    page = httpx.get(f"{closed.base_url}/admin/flows", headers=admin, timeout=10)
    assert page.status_code == 200 and "IVR flows" in page.text
