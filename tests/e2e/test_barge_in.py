"""Barge-in over a real SIPp call: the caller starts to speak during the menu prompt and the
prompt's RTP falls silent within 200 ms."""

from __future__ import annotations

from pathlib import Path

from tests.support.rtp_pcap import Clip, build_pcap, read_rtp, read_wav_8k
from tests.support.server import ServerProcess
from tests.support.sipp import fill_scenario, run_sipp

LOUD_DBFS = -45.0
SILENT_DBFS = -100.0  # an all-zero G.711 payload


def test_speech_stops_the_prompt_within_200_ms(server: ServerProcess, track_parcel_wav: Path,
                                               workdir: Path) -> None:
    pcap = workdir / "barge.pcap"
    # the greeting takes ~2 s, then the ~9 s menu prompt plays: speak 3 s into it
    build_pcap(pcap, 9.0, [Clip(5.0, read_wav_8k(track_parcel_wav))], [])
    scenario = fill_scenario("hold_caller.xml", workdir, PCAP=pcap, HOLD_MS=9000)
    capture = workdir / "both.pcap"
    run = run_sipp(scenario, f"127.0.0.1:{server.sip_port}", workdir, capture=capture, timeout_s=60,
                   both_directions=True)
    assert run.returncode == 0, run.stdout[-2000:]
    packets = read_rtp(capture)
    caller = [p for p in packets if p.src_port == run.media_port]
    prompt = [p for p in packets if p.dst_port == run.media_port]
    assert caller and prompt, (len(caller), len(prompt))
    speech_start = next(p.time for p in caller if p.dbfs() > LOUD_DBFS)
    before = [p for p in prompt if speech_start - 1.0 <= p.time < speech_start and p.dbfs() > LOUD_DBFS]
    assert len(before) > 20, "the menu prompt was not playing when the caller spoke"
    # The utterance takes ~2 s and recognition longer still, so the next prompt starts >1 s later.
    # The prompt has stopped where only digital silence follows for the rest of that second (a
    # pause inside the prompt is shorter, and a fading word is not digital silence).
    window = [p for p in prompt if speech_start <= p.time < speech_start + 1.0]
    assert len(window) > 40
    stop = next(i for i in range(len(window) + 1) if all(p.dbfs() < SILENT_DBFS for p in window[i:]))
    assert stop < len(window), "the prompt did not stop"
    stop_ms = (window[stop].time - speech_start) * 1000
    assert stop_ms <= 200, f"prompt still playing {stop_ms:.0f} ms after the caller started to speak"
