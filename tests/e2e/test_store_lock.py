"""A worker's media loop never waits on SQLite: while another process holds the call database's
write lock for 3 s in the middle of a live SIPp call (as the app does while it writes a wrap-up),
the call goes on with no frame dropped, and its record is complete once the lock is released."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_sip_call import wait_for_call
from tests.support.rtp_pcap import Clip, Digit, build_pcap, read_wav_8k
from tests.support.server import ServerProcess
from tests.support.sipp import fill_scenario, run_sipp

LOCK_FROM_S, LOCK_FOR_S = 2.0, 3.0  # the caller speaks from 3 s: its final is saved while locked


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, _tools_present: None) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("store-lock"), workers=1,
                         settings_yaml="post_call_transcription: false\n").start()
    yield proc
    assert proc.stop() == 0, proc.tail()


def hold_write_lock(db: Path, start: threading.Event, held: list[float]) -> None:
    start.wait(30)
    time.sleep(LOCK_FROM_S)
    conn = sqlite3.connect(str(db), isolation_level=None, timeout=10)
    conn.execute("BEGIN IMMEDIATE")  # every other writer of calls.db now waits
    held.append(time.monotonic())
    time.sleep(LOCK_FOR_S)
    conn.execute("COMMIT")
    held.append(time.monotonic())
    conn.close()


def test_a_locked_call_database_stalls_no_call(server: ServerProcess, track_parcel_wav: Path, workdir: Path) -> None:
    pcap = workdir / "caller.pcap"
    build_pcap(pcap, 17.0, [Clip(3.0, read_wav_8k(track_parcel_wav))], [Digit(15.0, "4"), Digit(16.0, "2")])
    scenario = fill_scenario("ivr_caller.xml", workdir, PCAP=pcap, INFO_AT_MS=18000, INFO_DIGIT_1="7",
                             INFO_DIGIT_2="#", BYE_TIMEOUT_MS=40000)
    start, held = threading.Event(), []
    locker = threading.Thread(target=hold_write_lock, args=(server.data / "calls.db", start, held), daemon=True)
    locker.start()
    start.set()
    run = run_sipp(scenario, f"127.0.0.1:{server.sip_port}", workdir, timeout_s=90)
    locker.join(30)
    assert len(held) == 2 and held[1] - held[0] >= LOCK_FOR_S  # the lock was really held, mid-call
    assert run.returncode == 0, f"sipp failed: {run.stdout[-2000:]} {run.errors()} {server.tail()}"
    call = wait_for_call(server, lambda c: c["status"] == "completed")
    record = server.admin_get(f"/api/calls/{call['id']}")
    assert record["frames_received"] > 700 and record["frames_dropped"] == 0, record
    seg = record["transcript"][0]
    assert seg["speaker"] == "caller" and "parcel" in seg["text"].lower(), record["transcript"]
    assert record["variables"]["main_menu.choice"] == "tracking"
    assert record["variables"].get("parcel_number") == "427"  # keyed after the lock: the call went on
    assert record["ivr_path"][-1] != "" and record["end_reason"], record
