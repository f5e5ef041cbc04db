"""Malformed and torturous SIP at the edge (RFC 4475 and a sample of PROTOS c07-sip): the edge
answers or drops, no worker dies (PROTOS case 3640 aborts a bare pjsua2 process), and a normal
call still works afterwards."""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path

import pytest

from tests.support.rtp_pcap import build_pcap
from tests.support.server import ServerProcess
from tests.support.sipp import fill_scenario, run_sipp

# ../shared beside the repository (as in CI), or HOTLINE_SHARED pointing at it
SHARED = Path(os.environ.get("HOTLINE_SHARED", Path(__file__).resolve().parents[3] / "shared"))
TORTURE = SHARED / "sip-torture"
PROTOS_SAMPLE = sorted({*range(0, 4527, 60), 3640})


def protos_pdus(case: int, port: int, local_port: int) -> list[bytes]:
    raw = (TORTURE / "protos-c07" / f"{case:07d}").read_bytes()
    pdus, off = [], 0
    while off < len(raw):
        space = raw.index(b" ", off)
        size = int(raw[off:space])
        pdus.append(raw[space + 1: space + 1 + size])
        off = space + 1 + size
    out = []
    call_id = uuid.uuid4().hex
    for pdu in pdus:
        for key, value in {
            b"<To>": f"hotline@127.0.0.1:{port}".encode(), b"<From>": b"tester@127.0.0.1",
            b"<From-Address>": b"127.0.0.1", b"<From-IP>": b"127.0.0.1",
            b"<Local-Port>": str(local_port).encode(), b"<Branch-ID>": uuid.uuid4().hex[:12].encode(),
            b"<Call-ID>": call_id.encode(), b"<CSeq>": b"1", b"<Teardown-Method>": b"CANCEL",
        }.items():
            pdu = pdu.replace(key, value)
        head, sep, body = pdu.partition(b"\r\n\r\n")
        pdu = pdu.replace(b"<Content-Length>", str(len(body)).encode()) if sep else pdu
        out.append(pdu)
    return out


@pytest.fixture(scope="module")
def edge_server(tmp_path_factory: pytest.TempPathFactory, _tools_present: None):  # type: ignore[no-untyped-def]
    server = ServerProcess(tmp_path_factory.mktemp("torture"), workers=2).start()
    yield server
    assert server.stop() == 0


def worker_pids(server: ServerProcess) -> dict[str, int]:
    return {w["id"]: w["pid"] for w in server.get("/api/health")["sip"]["workers"]}


def test_torture_messages_do_not_take_the_service_down(edge_server: ServerProcess, tmp_path: Path) -> None:
    assert TORTURE.is_dir(), f"torture corpus missing at {TORTURE}"
    pids = worker_pids(edge_server)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.05)
    local_port = sock.getsockname()[1]
    messages = [p.read_bytes() for p in sorted((TORTURE / "rfc4475").glob("*.dat"))]
    for case in PROTOS_SAMPLE:
        messages.extend(protos_pdus(case, edge_server.sip_port, local_port))
    # a few PROTOS cases exceed the largest UDP datagram; they cannot reach a UDP listener at all
    messages = [m for m in messages if len(m) <= 65000]
    assert len(messages) > 150
    for message in messages:
        sock.sendto(message, ("127.0.0.1", edge_server.sip_port))
        try:
            while True:
                sock.recv(65535)
        except (TimeoutError, OSError):
            pass
    sock.close()

    health = edge_server.get("/api/health")
    assert health["sip"]["listening"] is True, health
    assert worker_pids(edge_server) == pids, "a worker died and was restarted"

    # valid INVITEs among the PROTOS cases were answered and hold worker slots (their CANCEL comes
    # after the 200 OK) until the server gives up on the missing ACK; then a real caller gets through
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if sum(w["calls"] for w in edge_server.get("/api/health")["sip"]["workers"]) == 0:
            break
        time.sleep(1.0)
    else:
        raise AssertionError(f"worker slots not freed: {edge_server.get('/api/health')}")
    pcap = tmp_path / "silence.pcap"
    build_pcap(pcap, 3.0, [], [])
    scenario = fill_scenario("hold_caller.xml", tmp_path, PCAP=pcap, HOLD_MS=3000)
    run = run_sipp(scenario, f"127.0.0.1:{edge_server.sip_port}", tmp_path, timeout_s=60)
    assert run.returncode == 0, run.stdout[-2000:]
