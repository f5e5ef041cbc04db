"""Turn latency of the IVR: the caller stops speaking -> the first audio of the reply; prints JSON.

Per number of simultaneous callers (in rounds, one after another, until `--min-turns` turns
are spoken: 5 calls for 1 caller), a real `hotline serve` (the demo flows on a Monday morning,
`asr.engine: auto`, every other setting at its default) takes SIPp callers (G.711 mu-law, one SIPp
process per caller so each says its own parcel number), started evenly over `--spread-s` and out
of step by up to `--stagger-s` (callers answer the 20 s main menu at different moments, as real
callers do; 0 puts every caller's turns within the spread, a burst the CPU cannot serve). Each
caller keys 1 (English) during the welcome, then speaks four turns in Piper's voice
(tests.conftest.synthesize, repeatable): "where is my parcel" at the main menu, its parcel
number (eight digits) at the number question (the reply reads it back: a prompt with variables),
"yes" to the read-back (the reply is the parcel's status, another), and "goodbye" at "anything
else?".

Measured at the RTP level on the caller's side (tcpdump on the loopback): from the last audible
packet (> -45 dBFS) of a turn's speech the caller sent, to the first audible packet (> -50 dBFS)
of the reply it received. A turn is left out of the percentiles, and counted, when the call's
path lacks the node that answers it ("off_path": misheard, or said before its node was
reached), when a prompt was still audible in the last 100 ms of the caller's speech
("talked_over": barge-in stops a prompt within 200 ms of the first word, so that is speech the
flow does not take there), or when nothing came back within 5 s ("no_reply").

Before the calls, `prompt_first_audio` measures the demo's prompts with variables: rendered whole
as before (Piper's default session, sox) against their first sentence as a call plays them now.

    python -m bench.turns [--callers 1,24] [--spread-s 6] [--stagger-s 12]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotline.ivr.piper_voice import DEFAULT_MODEL
from hotline.ivr.prompts import PromptCache, split_sentences
from tests.conftest import synthesize
from tests.support.procs import tree_cpu_seconds
from tests.support.rtp_pcap import PT_PCMU, Clip, Digit, RtpPacket, build_pcap, read_rtp, read_wav_8k
from tests.support.server import REPO, ServerProcess
from tests.support.sipp import fill_scenario
from tests.support.tools import free_port_block, require

SPOKEN_DBFS = -45.0  # the caller's speech
HEARD_DBFS = -50.0  # the IVR's prompts (Piper's start within 40 ms of the prompt's first frame)
NO_REPLY_S = 5.0
CALL_S = 40.0
WORDS = "zero one two three four five six seven eight nine".split()


@dataclass(frozen=True)
class Turn:
    name: str
    said: str  # "" for the caller's parcel number
    at_s: float  # into the call: the node is entered by then, with seconds to spare for a slow reply
    reply_node: str  # the call's path shows it when the flow took the turn where it was meant


# welcome 4.1 s + 2.6 s, the main menu from ~7 s (1 keyed during the welcome), the number question
# (4.5 s) after the first turn, the read-back (7.8 s), the status (6.7 s) then "anything else?"
TURNS = (Turn("menu", "where is my parcel", 9.0, "parcel_number.ask_number"),
         Turn("digits", "", 14.0, "parcel_number.find"),
         Turn("yes", "yes", 22.0, "track_status_window"),
         Turn("goodbye", "goodbye", 33.0, "goodbye"))
# prompts with variables of the demo (flows/), as rendered for a caller
DYNAMIC = ("Parcel {n} is out for delivery today. It is expected between 2 and 4 pm.",
           "I heard {n}. If that is right, press 1 or say yes. If not, press 2 or say no.",
           "Thank you. I have opened case number {r}. Again, your case number is {r}. "
           "Our team will contact you within two working days.")


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 1)


def spaced(digits: str) -> str:
    return " ".join(digits)


# --- time to first audio of a prompt with variables ------------------------------------------


def render_as_before(voice: Any, text: str, workdir: Path) -> None:
    """How a prompt with variables was rendered before sentence streaming: the whole text, by a
    voice loaded with Piper's defaults (every core, spinning threads), converted by sox."""
    raw, out = workdir / "before.22k.wav", workdir / "before.wav"
    with wave.open(str(raw), "wb") as wav:
        voice.synthesize_wav(text, wav)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", str(out)],
                   check=True, stderr=subprocess.DEVNULL)


def prompt_first_audio(workdir: Path, repeats: int = 5) -> dict[str, Any]:
    """Time to first audio of the demo's prompts with variables, each time with new numbers so
    nothing comes from a cache: `before_ms` renders the whole text as before, `now_ms` the first
    sentence as a call does now; `later_sentences_late_ms` is how late the later sentences were
    for their turn (rendered one after another while the earlier ones play)."""
    from piper import PiperVoice

    from hotline.ivr.piper_voice import model_file

    async def run() -> dict[str, Any]:
        rng = random.Random(13)
        workdir.mkdir(parents=True, exist_ok=True)
        path = model_file(DEFAULT_MODEL)
        assert path is not None, "Piper's joe voice is not installed"
        before_voice = PiperVoice.load(path)
        render_as_before(before_voice, "The voice is loaded.", workdir)
        await PromptCache(workdir / "warm").get("The voice is loaded once per process.")
        out: dict[str, Any] = {"voice": f"piper:{DEFAULT_MODEL}", "repeats": repeats, "prompts": []}
        for k, template in enumerate(DYNAMIC):
            before, now, late = [], [], []
            for i in range(repeats):
                text = template.format(n=spaced(f"{rng.randrange(10**7, 10**8)}"),
                                       r=spaced(f"{rng.randrange(10**5, 10**6)}"))
                t0 = time.perf_counter()
                render_as_before(before_voice, text, workdir)
                before.append(time.perf_counter() - t0)
                cache = PromptCache(workdir / f"now-{k}-{i}")
                t0 = time.perf_counter()
                due = worst = 0.0
                for j, piece in enumerate(cache.pieces(text)):
                    pcm = await cache.get(piece)
                    ready = time.perf_counter() - t0
                    if j == 0:
                        now.append(ready)
                        due = ready
                    worst = max(worst, ready - due)
                    due = max(due, ready) + len(pcm) / (2 * cache.rate)
                late.append(worst)
            out["prompts"].append({
                "text": template, "sentences": len(split_sentences(template.format(n="1 2", r="3 4"))),
                "before_ms_p50": round(1000 * statistics.median(before)),
                "now_ms_p50": round(1000 * statistics.median(now)),
                "later_sentences_late_ms_max": round(1000 * max(late)),
            })
        return out
    return asyncio.run(run())


# --- callers ------------------------------------------------------------------------------------


@dataclass
class Caller:
    number: str
    pcap: Path
    clips: dict[str, float]  # turn -> seconds of speech
    delay_s: float  # every turn this much later than planned (callers out of step)
    media_port: int = 0
    sip_port: int = 0
    proc: subprocess.Popen[bytes] | None = None


def make_callers(count: int, workdir: Path, stagger_s: float) -> list[Caller]:
    rng = random.Random(time.time_ns())
    numbers: list[str] = []
    while len(numbers) < count:
        number = f"{rng.randrange(10**7, 10**8)}"
        if number not in numbers:
            numbers.append(number)
    common = {t.name: read_wav_8k(synthesize(t.said, workdir / f"{t.name}.wav")) for t in TURNS if t.said}
    callers = []
    for i, number in enumerate(numbers):
        audio = {**common, "digits": read_wav_8k(synthesize(" ".join(WORDS[int(d)] for d in number),
                                                     workdir / f"digits-{i}.wav"))}
        delay = stagger_s * (i % 24) / 23  # the main menu plays 20 s: a caller may answer it any time
        pcap = workdir / f"caller-{i}.pcap"
        build_pcap(pcap, CALL_S + delay, [Clip(t.at_s + delay, audio[t.name]) for t in TURNS], [Digit(1.0, "1")])
        callers.append(Caller(number, pcap, {t.name: len(audio[t.name]) / 8000 for t in TURNS}, delay))
    return callers


def parcels_file(callers: list[Caller], path: Path) -> Path:
    lines = ["parcels:"]
    for c in callers:
        lines += [f'  "{c.number}":', "    status: out_for_delivery", "    recipient_city: Manchester",
                  "    eta_date: 2026-11-23", '    window: "14:00-16:00"']
    path.write_text("\n".join(lines) + "\n")
    return path


def place_calls(callers: list[Caller], server: ServerProcess, workdir: Path, spread_s: float) -> None:
    sipp = require("sipp")
    media = free_port_block(4 * len(callers) + 4, start=40000, end=60000)
    sip = free_port_block(len(callers) + 1, start=20000, end=29000)
    for i, caller in enumerate(callers):
        caller.media_port, caller.sip_port = media + 4 * i, sip + i
        scenario = fill_scenario("bye_waiter.xml", workdir, PCAP=caller.pcap, BYE_TIMEOUT_MS=60000)
        own = workdir / f"caller-{i}.xml"
        scenario.rename(own)
        if i:
            time.sleep(spread_s / max(1, len(callers) - 1))
        caller.proc = subprocess.Popen(
            [sipp, "-sf", str(own), f"127.0.0.1:{server.sip_port}", "-m", "1", "-l", "1", "-i", "127.0.0.1",
             "-p", str(caller.sip_port), "-mi", "127.0.0.1", "-mp", str(caller.media_port),
             "-timeout", "120s", "-timeout_error", "-trace_err", "-nostdin"],
            cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for caller in callers:
        assert caller.proc is not None
        try:
            caller.proc.wait(150)
        except subprocess.TimeoutExpired:
            caller.proc.kill()
            caller.proc.wait()


def turn_latencies(caller: Caller, packets: list[RtpPacket], path: list[str]) -> dict[str, Any]:
    """Per turn, milliseconds from the end of the caller's speech to the reply, or why not."""
    sent = [p for p in packets if p.src_port == caller.media_port and p.payload_type == PT_PCMU]
    heard = [p for p in packets if p.dst_port == caller.media_port]
    out: dict[str, Any] = {}
    if not sent:
        return {t.name: "no_call" for t in TURNS}
    t0 = sent[0].time
    for turn in TURNS:
        if turn.reply_node not in path:
            out[turn.name] = "off_path"  # misheard, or the turn came before its node: not this reply
            continue
        at = t0 + turn.at_s + caller.delay_s
        spoken = [p.time for p in sent if at - 0.1 <= p.time <= at + caller.clips[turn.name] + 0.5 and p.dbfs() > SPOKEN_DBFS]
        if not spoken:
            out[turn.name] = "not_sent"
            continue
        end = spoken[-1]
        if any(end - 0.1 < p.time <= end and p.dbfs() > HEARD_DBFS for p in heard):
            out[turn.name] = "talked_over"
            continue
        reply = next((p.time for p in heard if end < p.time <= end + NO_REPLY_S and p.dbfs() > HEARD_DBFS), None)
        out[turn.name] = "no_reply" if reply is None else round(1000 * (reply - end), 1)
    return out


def run(count: int, spread_s: float, stagger_s: float, workdir: Path, prompt_cache: Path,
        min_turns: int) -> dict[str, Any]:
    rounds = max(1, -(-min_turns // (len(TURNS) * count)))  # one caller: calls one after another
    callers = make_callers(count * rounds, workdir, stagger_s if count > 1 else 0.0)
    settings = (f"clock: '2026-11-23T10:00:00+00:00'\nprompt_cache: {prompt_cache}\n"
                f"data_sources:\n  parcels: {{type: parcels, file: {parcels_file(callers, workdir / 'parcels.yaml')}}}\n")
    server = ServerProcess(workdir / "serve", workers=max(1, -(-count // 4)), flows=REPO / "flows",
                           settings_yaml=settings).start()
    capture = workdir / "rtp.pcap"
    try:
        assert server.proc is not None
        time.sleep(3.0)  # the workers settle after start-up
        load = os.getloadavg()[0]
        cpu0, wall0 = tree_cpu_seconds(server.proc.pid), time.monotonic()
        tcpdump = subprocess.Popen([require("tcpdump"), "-i", "lo", "-U", "-w", str(capture), "-s", "256",
                                    "udp and portrange 40000-60000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        sipp0 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the SIPp callers, once reaped
        for r in range(rounds):
            place_calls(callers[r * count:(r + 1) * count], server, workdir, spread_s)
        sipp1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        callers_cpu = (sipp1.ru_utime + sipp1.ru_stime - sipp0.ru_utime - sipp0.ru_stime) / (time.monotonic() - wall0)
        time.sleep(0.5)
        tcpdump.terminate()
        tcpdump.wait(10)
        server_cpu = (tree_cpu_seconds(server.proc.pid) - cpu0) / (time.monotonic() - wall0)
        health = server.get("/api/health")
        records = server.admin_get("/api/calls", limit=count * rounds * 2)
    finally:
        server.stop()
    packets = read_rtp(capture)
    paths = {r.get("sip_call_id", ""): r.get("ivr_path", []) for r in records}
    per_call = [turn_latencies(c, packets, paths.get(f"1-{c.proc.pid if c.proc else 0}@127.0.0.1", []))
                for c in callers]  # SIPp's Call-ID: call number, process id, address
    measured = {t.name: [c[t.name] for c in per_call if isinstance(c[t.name], float)] for t in TURNS}
    everything = [v for values in measured.values() for v in values]
    outcomes: dict[str, int] = {}
    for t in per_call:
        for value in t.values():
            if isinstance(value, str):
                outcomes[value] = outcomes.get(value, 0) + 1
    asr = health.get("asr", {})
    return {
        "callers": count,
        "workers": max(1, -(-count // 4)),
        "spread_s": spread_s if count > 1 else 0,
        "stagger_s": stagger_s if count > 1 else 0,
        "rounds": rounds,
        "asr_engine": asr.get("engine"),
        "turns_measured": len(everything),
        "turns_left_out": outcomes,
        "caller_stops_to_reply_ms_p50": percentile(everything, 0.5),
        "caller_stops_to_reply_ms_p95": percentile(everything, 0.95),
        "caller_stops_to_reply_ms_max": round(max(everything), 1) if everything else None,
        "by_turn": {name: {"n": len(v), "p50": percentile(v, 0.5), "p95": percentile(v, 0.95)}
                    for name, v in measured.items()},
        "calls_recorded": len(records),
        "calls_on_the_planned_path": sum(1 for r in records if "track_status_window" in r.get("ivr_path", [])
                                         and r.get("ivr_path", [""])[-1] == "goodbye"),
        "frames_dropped": sum(int(r.get("frames_dropped") or 0) for r in records),
        "server_cpu_percent": round(100 * server_cpu, 1),
        "sipp_callers_cpu_percent": round(100 * callers_cpu, 1),
        "load_average_before": round(load, 2),
        "asr_service": {k: v for k, v in (asr.get("service") or {}).items()
                        if k.startswith(("wait_ms", "decode_ms", "done", "refused", "fallbacks"))},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", default="1,24", help="comma-separated numbers of simultaneous callers")
    parser.add_argument("--spread-s", type=float, default=6.0, help="calls start evenly over this many seconds")
    parser.add_argument("--stagger-s", type=float, default=12.0,
                        help="the callers' turns are delayed evenly by 0 to this many seconds (0: all in step)")
    parser.add_argument("--min-turns", type=int, default=20,
                        help="rounds of calls, one after another, until this many turns are spoken")
    parser.add_argument("--skip-prompts", action="store_true", help="leave out prompt_first_audio")
    args = parser.parse_args()
    # static prompts are rendered once and kept between runs; prompts with variables carry each
    # run's random parcel numbers, so they are never found in it
    prompt_cache = Path(tempfile.gettempdir()) / "hotline-bench-turns-prompts"
    out: dict[str, Any] = {"benchmark": "turns", "measured_at": "rtp (caller side, tcpdump on loopback)",
                           "cpu_cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="hotline-bench-turns-") as tmp:
        if not args.skip_prompts:
            out["prompt_first_audio"] = prompt_first_audio(Path(tmp) / "prompts")
            print(json.dumps(out["prompt_first_audio"]), file=sys.stderr, flush=True)
        out["results"] = []
        for count in (int(n) for n in args.callers.split(",")):
            workdir = Path(tmp) / f"callers-{count}"
            workdir.mkdir()
            out["results"].append(run(count, args.spread_s, args.stagger_s, workdir, prompt_cache, args.min_turns))
            print(json.dumps(out["results"][-1]), file=sys.stderr, flush=True)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
