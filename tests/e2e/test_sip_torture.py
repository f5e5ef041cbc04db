"""Malformed and torturous SIP at the edge (RFC 4475 and a sample of PROTOS c07-sip): the edge
answers or drops, no worker dies (PROTOS case 3640 aborts a bare pjsua2 process), memory stays flat,
and a normal call still works afterwards; and the edge's cap on calls per source address.
The whole PROTOS corpus: `python -m bench.sip_torture`."""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.support.procs import named_descendants, proc_kb
from tests.support.rtp_pcap import build_pcap
from tests.support.server import ServerProcess
from tests.support.sip_torture import TORTURE, protos_pdus
from tests.support.sipp import fill_scenario, run_sipp

PROTOS_SAMPLE = sorted({*range(0, 4527, 20), 3640})
# growth allowed over the second two thirds of the sample, after the first third warmed the processes up
# (first-touch of Kamailio's shared memory, pjsua2 pools): a leak of a few kB per message shows
KAMAILIO_PSS_GROWTH_KB = 4096
WORKER_RSS_GROWTH_KB = 8192


@pytest.fixture(scope="module")
def edge_server(tmp_path_factory: pytest.TempPathFactory, _tools_present: None):  # type: ignore[no-untyped-def]
    # one call at a time per untrusted source (loopback 127.0.0.1 stays trusted: the torture sender)
    server = ServerProcess(tmp_path_factory.mktemp("torture"), workers=2,
                           settings_yaml="edge:\n  max_calls_per_source: 1\n").start()
    yield server
    assert server.stop() == 0


# RFC 4475 section 3.1.1: valid requests a server must answer (wsinv's folded CSeq and the token
# characters of intmeth's and esc02's header names need the edge's relaxed parsing, see render_config).
# Not here: the two responses (unreason, noreason), which get no reply
VALID_ANSWERED = ("wsinv", "intmeth", "esc01", "escnull", "esc02", "lwsdisp", "longreq", "dblreq", "semiuri",
                  "transports", "mpart01")
# section 3.1.2: invalid messages; none may get a 2xx
INVALID = ("badinv01", "clerr", "scalar02", "scalarlg", "quotbal", "ltgtruri", "lwsruri", "lwsstart", "trws",
           "escruri", "baddate", "regbadct", "badaspec", "baddn", "badvers", "mismatch01", "mismatch02", "bigcode",
           "badbranch")
CALL_ID = re.compile(rb"(?im)^(?:call-id|i)[ \t]*:[ \t]*(\S+)")


def rfc4475_replies(sock: socket.socket, port: int) -> dict[str, list[str]]:
    """Every RFC 4475 message sent once; the status lines answered to each, matched by Call-ID
    (the edge answers to the packet's source, whatever host its Via names)."""
    by_call: dict[bytes, str] = {}
    for path in sorted((TORTURE / "rfc4475").glob("*.dat")):
        message = path.read_bytes()
        found = CALL_ID.search(message)
        if found:
            by_call[found.group(1)] = path.stem
        sock.sendto(message, ("127.0.0.1", port))
    replies: dict[str, list[str]] = {}
    deadline = time.monotonic() + 4.0
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65535)
        except (TimeoutError, OSError):
            continue
        found = CALL_ID.search(data)
        name = by_call.get(found.group(1)) if found else None
        if name is not None and data.startswith(b"SIP/2.0 "):
            replies.setdefault(name, []).append(data[8:data.index(b"\r\n")].decode(errors="replace"))
    return replies


def worker_pids(server: ServerProcess) -> dict[str, int]:
    return {w["id"]: w["pid"] for w in server.get("/api/health")["sip"]["workers"]}


def memoryproc_kb(server: ServerProcess, workers: dict[str, int]) -> dict[str, int]:
    """PSS of the kamailio processes summed (RSS would count their shared memory once per process)
    and RSS of each worker, in kB."""
    assert server.proc is not None
    kamailio = named_descendants(server.proc.pid, "kamailio")
    assert kamailio, "no kamailio process under the server"
    return {"kamailio": sum(proc_kb(p, "Pss", "smaps_rollup") for p in kamailio),
            **{wid: proc_kb(pid, "VmRSS", "status") for wid, pid in workers.items()}}


def send_draining(sock: socket.socket, port: int, messages: list[bytes]) -> None:
    for message in messages:
        sock.sendto(message, ("127.0.0.1", port))
        try:
            while True:
                sock.recv(65535)
        except (TimeoutError, OSError):
            pass


def test_torture_messages_do_not_take_the_service_down(edge_server: ServerProcess, tmp_path: Path) -> None:
    assert TORTURE.is_dir(), f"torture corpus missing at {TORTURE}"
    pids = worker_pids(edge_server)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.05)
    local_port = sock.getsockname()[1]
    replies = rfc4475_replies(sock, edge_server.sip_port)
    for name in VALID_ANSWERED:
        assert replies.get(name), f"valid RFC 4475 message {name} got no answer"
    for name in INVALID:
        assert not any(r.startswith("2") for r in replies.get(name, [])), f"invalid {name} got {replies[name]}"
    messages = []
    for case in PROTOS_SAMPLE:
        messages.extend(protos_pdus(case, edge_server.sip_port, local_port))
    # a few PROTOS cases exceed the largest UDP datagram; they cannot reach a UDP listener at all
    messages = [m for m in messages if len(m) <= 65000]
    assert len(messages) > 400
    warm = len(messages) // 3
    send_draining(sock, edge_server.sip_port, messages[:warm])
    time.sleep(1.0)
    before = memoryproc_kb(edge_server, pids)
    send_draining(sock, edge_server.sip_port, messages[warm:])
    sock.close()
    time.sleep(1.0)
    after = memoryproc_kb(edge_server, pids)
    growth = {name: after[name] - before[name] for name in before}
    assert growth["kamailio"] <= KAMAILIO_PSS_GROWTH_KB, (before, after)
    for wid in pids:
        assert growth[wid] <= WORKER_RSS_GROWTH_KB, (wid, before, after)

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


def test_a_source_over_its_call_cap_gets_486_while_its_first_call_goes_on(edge_server: ServerProcess,
                                                                        tmp_path: Path) -> None:
    source = "127.0.0.7"  # not trusted: the edge counts its calls
    pcap = tmp_path / "silence.pcap"
    build_pcap(pcap, 6.0, [], [])
    first = fill_scenario("hold_caller.xml", tmp_path, PCAP=pcap, HOLD_MS=6000)
    second = fill_scenario("rejected_caller.xml", tmp_path, CODEC_PT=0, CODEC_NAME="PCMU", EXPECT=486)
    results: dict[str, int] = {}

    def hold() -> None:
        results["first"] = run_sipp(first, f"127.0.0.1:{edge_server.sip_port}", tmp_path, timeout_s=60,
                                    local_ip=source).returncode

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        time.sleep(2.5)  # the first call is up
        refused = run_sipp(second, f"127.0.0.1:{edge_server.sip_port}", tmp_path, timeout_s=30, local_ip=source)
    finally:
        holder.join(60)
    assert refused.returncode == 0, refused.stdout[-2000:]  # answered 486 by the edge
    assert results.get("first") == 0
