"""PROTOS c07-sip and RFC 4475 through a running hotline: the edge and every worker stay up, memory flat.

Starts `hotline serve` (a temporary data directory, 2 workers), sends every PROTOS c07 case (its INVITE
and its teardown request) and every RFC 4475 message to the SIP edge at a steady rate from 127.0.0.1
(trusted by default, so the flood ban does not cut the run short), counts the replies by class, then
checks that the edge and each worker still answer OPTIONS (and that no worker was restarted), and
prints JSON: cases sent, duration, edge/worker alive, RSS (and PSS) of kamailio and of each worker at
start, after a warm-up pass and at the end (from /proc), replies by class, the edge's counters.

    python -m bench.sip_torture [--sample N] [--rate CASES_PER_S] [--workers 2]

`--sample N` sends N cases spread evenly over the corpus (case 3640, which aborts a bare pjsua2
process, always among them) instead of all 4,527. The corpus is read from ../shared/sip-torture
beside the repository, or from $HOTLINE_SHARED/sip-torture.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from hotline.telephony.sip.edge import edge_stats, sip_options_ping
from tests.support.procs import named_descendants, proc_kb
from tests.support.server import ServerProcess
from tests.support.sip_torture import PROTOS_CASES, TORTURE, protos_pdus

KILLER_CASE = 3640  # aborts a bare pjsua2 process (assertion in its parser)
MAX_DATAGRAM = 65000  # a few PROTOS cases are bigger than any UDP datagram: they cannot be sent


def sample_cases(n: int | None) -> list[int]:
    if n is None or n >= PROTOS_CASES:
        return list(range(PROTOS_CASES))
    step = PROTOS_CASES / max(n, 1)
    return sorted({int(i * step) for i in range(max(n, 1))} | {KILLER_CASE})


def memory(server: ServerProcess, workers: dict[str, int]) -> dict[str, Any]:
    """RSS and PSS (kB) of the kamailio processes (summed) and of each worker process."""
    assert server.proc is not None
    kamailio = named_descendants(server.proc.pid, "kamailio")
    return {
        "kamailio": {"processes": len(kamailio),
                     "rss_kb": sum(proc_kb(p, "VmRSS", "status") for p in kamailio),
                     "pss_kb": sum(proc_kb(p, "Pss", "smaps_rollup") for p in kamailio),
                     "max_process_rss_kb": max((proc_kb(p, "VmRSS", "status") for p in kamailio), default=0)},
        "workers": {wid: {"pid": pid, "rss_kb": proc_kb(pid, "VmRSS", "status"), "pss_kb": proc_kb(pid, "Pss", "smaps_rollup")}
                    for wid, pid in sorted(workers.items())},
    }


def worker_table(server: ServerProcess) -> list[dict[str, Any]]:
    return list(server.get("/api/health")["sip"]["workers"])


def worker_address(server: ServerProcess, index: int, worker: dict[str, Any]) -> tuple[str, int]:
    host, _, port = str(worker.get("sip", "")).removeprefix("sip:").rpartition(":")
    if port.isdigit():
        return host or "127.0.0.1", int(port)
    return "127.0.0.1", server.worker_base + index


COMPACT = {"i": "call-id", "f": "from", "t": "to", "m": "contact", "v": "via"}


def headers(message: bytes) -> list[tuple[str, str]]:
    """(lower-case full name, value) of each header field, folded lines joined."""
    head = message.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines: list[str] = []
    for line in head.split("\r\n")[1:]:
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    out = []
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            out.append((COMPACT.get(key, key), value.strip()))
    return out


def ack_and_bye(response: bytes, local_port: int, bye: bool) -> list[bytes]:
    """The ACK of a 2xx to an INVITE (and a BYE after it): a PROTOS INVITE a worker answered holds one of
    its call slots until the ACK times out, and the edge refuses every INVITE with 503 once all slots
    are held; so the answered calls are ended at once and the next cases reach a worker too."""
    fields = headers(response)
    first = {name: value for name, value in reversed(fields)}
    cseq = first.get("cseq", "").split()
    if len(cseq) != 2 or cseq[1] != "INVITE" or not cseq[0].isdigit() or "contact" not in first:
        return []
    contact = first["contact"]
    target = contact[contact.index("<") + 1: contact.index(">")] if "<" in contact and ">" in contact \
        else contact.split(";")[0]
    routes = [r.strip() for name, value in fields if name == "record-route" for r in value.split(",")][::-1]
    out = []
    for method, number in (("ACK", int(cseq[0])), *((("BYE", int(cseq[0]) + 1),) if bye else ())):
        out.append((
            f"{method} {target} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport\r\n"
            + "".join(f"Route: {r}\r\n" for r in routes)
            + f"Max-Forwards: 70\r\nFrom: {first.get('from', '')}\r\nTo: {first.get('to', '')}\r\n"
            f"Call-ID: {first.get('call-id', '')}\r\nCSeq: {number} {method}\r\nContent-Length: 0\r\n\r\n"
        ).encode("latin-1"))
    return out


class Replies:
    """Everything that comes back to the sending socket, counted by class (the answers to the BYEs
    apart), on a thread of its own; each 2xx to an INVITE is acknowledged and the call ended."""

    def __init__(self, sock: socket.socket, edge_port: int) -> None:
        self.sock, self.edge_port, self.classes, self.other = sock, edge_port, Counter[str](), 0
        self.bye_classes = Counter[str]()
        self.ended: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65535)
            except (TimeoutError, OSError):
                continue
            if not (data.startswith(b"SIP/2.0 ") and data[8:9].isdigit()):
                self.other += 1
                continue
            status = f"{data[8:9].decode()}xx"
            cseq = dict(headers(data)).get("cseq", "")
            if cseq.endswith("BYE"):
                self.bye_classes[status] += 1
                continue
            self.classes[status] += 1
            if status == "2xx" and cseq.endswith("INVITE"):
                call = dict(headers(data)).get("call-id", "")
                for request in ack_and_bye(data, self.sock.getsockname()[1], bye=call not in self.ended):
                    self.sock.sendto(request, ("127.0.0.1", self.edge_port))
                self.ended.add(call)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)


def send_paced(sock: socket.socket, port: int, messages: list[list[bytes]], rate: float) -> float:
    """Each entry's datagrams sent back to back, `rate` entries a second; the seconds it took."""
    start = time.monotonic()
    for i, datagrams in enumerate(messages):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        for datagram in datagrams:
            sock.sendto(datagram, ("127.0.0.1", port))
    return time.monotonic() - start


def run(sample: int | None, rate: float, workers: int, workdir: Path) -> dict[str, Any]:
    server = ServerProcess(workdir / "serve", workers=workers).start()
    try:
        table = worker_table(server)
        pids = {w["id"]: int(w["pid"]) for w in table}
        addresses = {w["id"]: worker_address(server, i, w) for i, w in enumerate(sorted(table, key=lambda w: w["id"]))}
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.2)
        local_port = sock.getsockname()[1]
        mem_start = memory(server, pids)

        def cases(numbers: list[int]) -> tuple[list[list[bytes]], int]:
            out, skipped = [], 0
            for n in numbers:
                pdus = protos_pdus(n, server.sip_port, local_port)
                kept = [p for p in pdus if len(p) <= MAX_DATAGRAM]
                skipped += len(pdus) - len(kept)
                out.append(kept)
            return out, skipped

        # warm-up: a spread of cases, so that first-touch allocations are not counted as growth
        replies = Replies(sock, server.sip_port)
        warm, _ = cases(sample_cases(100))
        send_paced(sock, server.sip_port, warm, rate)
        time.sleep(2.0)
        mem_warm = memory(server, pids)
        replies.classes.clear()
        replies.bye_classes.clear()

        numbers = sample_cases(sample)
        protos, oversize = cases(numbers)
        rfc = [[p.read_bytes()] for p in sorted((TORTURE / "rfc4475").glob("*.dat"))]
        duration = send_paced(sock, server.sip_port, protos + rfc, rate)
        time.sleep(3.0)
        replies.stop()
        sock.close()

        async def alive() -> tuple[bool, dict[str, bool]]:
            edge = await sip_options_ping("127.0.0.1", server.sip_port, 2.0)
            each = {wid: await sip_options_ping(host, port, 2.0) for wid, (host, port) in sorted(addresses.items())}
            return edge, each

        edge_up, workers_up = asyncio.run(alive())
        health = server.get("/api/health")
        pids_after = {w["id"]: int(w["pid"]) for w in health["sip"]["workers"]}
        mem_end = memory(server, pids)
        counters = asyncio.run(edge_stats(server.data / "run"))
        growth = {"kamailio_rss_kb": mem_end["kamailio"]["rss_kb"] - mem_warm["kamailio"]["rss_kb"],
                  "kamailio_pss_kb": mem_end["kamailio"]["pss_kb"] - mem_warm["kamailio"]["pss_kb"],
                  **{f"{wid}_rss_kb": mem_end["workers"][wid]["rss_kb"] - mem_warm["workers"][wid]["rss_kb"]
                     for wid in mem_end["workers"]}}
        return {
            "protos_cases": len(numbers),
            "protos_datagrams": sum(len(m) for m in protos),
            "protos_datagrams_too_big_for_udp": oversize,
            "rfc4475_messages": len(rfc),
            "rate_cases_per_s": rate,
            "duration_s": round(duration, 1),
            "edge_answers_options": edge_up,
            "edge_listening": health["sip"]["listening"],
            "workers_answer_options": workers_up,
            "workers_restarted": sorted(w for w in pids if pids_after.get(w) != pids[w]),
            "replies_by_class": dict(sorted(replies.classes.items())),
            "calls_answered_and_ended": len(replies.ended),
            "bye_replies_by_class": dict(sorted(replies.bye_classes.items())),
            "datagrams_back_not_responses": replies.other,
            "edge_counters": counters,
            "memory_start": mem_start,
            "memory_after_warmup": mem_warm,
            "memory_end": mem_end,
            "growth_after_warmup": growth,
        }
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=None, help="cases spread over the corpus (default: all 4527)")
    parser.add_argument("--rate", type=float, default=100.0, help="cases (INVITE + teardown) a second")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not (TORTURE / "protos-c07").is_dir():
        print(f"torture corpus missing at {TORTURE}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        result = run(args.sample, args.rate, args.workers, Path(tmp))
    print(json.dumps({"benchmark": "sip_torture", **result}, indent=2))
    ok = result["edge_answers_options"] and all(result["workers_answer_options"].values()) \
        and not result["workers_restarted"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
