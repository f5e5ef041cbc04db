"""A caller says and keys a card number (a Luhn-valid test number): at the flow's sensitive node the
recording is silence, the keys are stored as "*", the words as "[sensitive]" and the collected value
withheld; said again at an ordinary node, the number becomes "[card]" in the live and the post-call
transcript. Neither the call record, the QA search index nor the logs hold it."""

from __future__ import annotations

import re
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import synthesize
from tests.support.rtp_pcap import Clip, Digit, build_pcap, read_wav_8k
from tests.support.server import REPO, ServerProcess, auth
from tests.support.sipp import fill_scenario, run_sipp

CARD = "4111111111111111"
SPOKEN = "my card number is " + " ".join({"4": "four", "1": "one"}[d] for d in CARD)


@pytest.fixture(scope="module")
def privacy_server(tmp_path_factory: pytest.TempPathFactory, _tools_present: None) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("privacy"), workers=1, flows=REPO / "tests" / "e2e" / "privacy_flow")
    yield server.start()
    assert server.stop() == 0, server.tail()


def no_card(text: str) -> bool:
    """No run of 12 or more digits (spaces or dashes between them allowed), spoken or written."""
    lowered = re.sub(r"\b\d{4}-\d{2}-\d{2}\b", "", text.lower())  # dates
    return not re.search(r"\d(?:[\s-]?\d){11,}", lowered) and "one one one" not in lowered


def test_a_card_number_is_kept_nowhere(privacy_server: ServerProcess, workdir: Path) -> None:
    said = read_wav_8k(synthesize(SPOKEN, workdir / "card.wav"))
    keys = [Digit(11.0 + 0.3 * i, d) for i, d in enumerate(CARD + "#")]
    pcap = workdir / "caller.pcap"
    build_pcap(pcap, 42.0, [Clip(3.0, said), Clip(19.5, said)], keys)
    scenario = fill_scenario("bye_waiter.xml", workdir, PCAP=pcap, BYE_TIMEOUT_MS=70000)
    run = run_sipp(scenario, f"127.0.0.1:{privacy_server.sip_port}", workdir, timeout_s=120)
    assert run.returncode == 0, f"sipp failed: {run.stdout[-1500:]} {run.errors()} {privacy_server.tail()}"

    deadline = time.monotonic() + 120
    record: dict = {}  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        calls = privacy_server.admin_get("/api/calls", limit=1)
        if calls and calls[0]["status"] == "completed" and (calls[0].get("post_transcript") or {}).get("status") == "done":
            record = calls[0]
            break
        time.sleep(1.0)
    assert record, privacy_server.admin_get("/api/calls", limit=1)
    assert record["ivr_path"][:2] == ["card", "account"], record["ivr_path"]

    # the sensitive node: keys are "*", words "[sensitive]", the value withheld
    assert [d["digit"] for d in record["dtmf"]] == ["*"] * 17
    assert record["variables"]["card_number"] == "[redacted]"
    live = record["transcript"]
    assert live[0]["text"] == "[sensitive]" and live[0]["start_ms"] < 10000, live
    # said at an ordinary node: replaced by a marker, live and post-call
    later = " ".join(s["text"] for s in live[1:])
    assert "[card]" in later or "[phone]" in later, live
    post = " ".join(s["text"] for s in record["post_transcript"]["segments"])
    assert post, record["post_transcript"]
    for text in (later, post, " ".join(record["variables"].values())):
        assert no_card(text), (text, live)

    # the recording is silence while the caller was at the sensitive node, speech afterwards
    with wave.open(str(privacy_server.data / record["recordings"]["caller"])) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    assert not pcm[int(3.0 * rate):int(10.0 * rate)].any(), "the card number was recorded"
    assert np.abs(pcm[int(20.0 * rate):int(25.0 * rate)].astype(int)).max() > 1000  # ordinary nodes are recorded

    # the QA search index does not have it; the logs do not either
    token = privacy_server.login("quinn", "quinn-demo")
    for query in (CARD, "4111", "one one one"):
        found = httpx.get(f"{privacy_server.base_url}/api/qa/calls", params={"text": query}, headers=auth(token),
                          timeout=10)
        assert found.status_code == 200 and found.json() == [], (query, found.json())
    assert [c["id"] for c in httpx.get(f"{privacy_server.base_url}/api/qa/calls",
                                       params={"text": "card"}, headers=auth(token), timeout=10).json()] == [record["id"]]
    logs = [privacy_server.data / "serve.log", *sorted((privacy_server.data / "logs").glob("*.log"))]
    for path in logs:
        text = path.read_text(errors="replace")
        assert CARD not in text and "1111 1111" not in text and "one one one" not in text.lower(), path
