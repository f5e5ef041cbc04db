"""The SIP torture corpora of ../shared/sip-torture (RFC 4475 and PROTOS c07-sip), used from there by
the torture test and the benchmark; never copied into the repository."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

SHARED = Path(os.environ.get("HOTLINE_SHARED", Path(__file__).resolve().parents[3] / "shared"))
TORTURE = SHARED / "sip-torture"
PROTOS_CASES = 4527


def protos_pdus(case: int, port: int, local_port: int) -> list[bytes]:
    """The datagrams of one PROTOS c07 case (length-prefixed, back to back), placeholders filled
    for the edge at 127.0.0.1:`port` and a sender on `local_port`."""
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
