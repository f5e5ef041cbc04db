"""Running SIPp scenarios against the server, with tcpdump capturing the RTP SIPp receives."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.tools import free_port, free_port_block, require

SCENARIOS = Path(__file__).resolve().parents[1] / "e2e" / "scenarios"


DEFAULTS = {"CODEC_PT": 0, "CODEC_NAME": "PCMU"}


def fill_scenario(name: str, out_dir: Path, **values: object) -> Path:
    text = (SCENARIOS / name).read_text()
    for key, value in {**DEFAULTS, **values}.items():
        text = text.replace(f"@{key}@", str(value))
    missing = re.findall(r"@[A-Z0-9_]+@", text)
    assert not missing, f"unfilled placeholders in {name}: {missing}"
    path = out_dir / name
    path.write_text(text)
    return path


@dataclass
class SippRun:
    returncode: int
    stdout: str
    stderr: str
    media_port: int
    workdir: Path

    def errors(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.workdir.glob("*_errors.log"))


def run_sipp(scenario: Path, target: str, workdir: Path, calls: int = 1, rate: float = 1.0,
             timeout_s: int = 120, capture: Path | None = None, both_directions: bool = False,
             max_concurrent: int | None = None, local_ip: str = "127.0.0.1",
             extra: tuple[str, ...] = ()) -> SippRun:
    """Run SIPp from `local_ip`; with `capture`, tcpdump records the RTP SIPp receives (and sends,
    with `both_directions`) on its media port. `extra`: more SIPp options."""
    sipp = require("sipp")
    media_port = free_port_block(4 * min(calls, max_concurrent or calls) + 4, start=40000, end=60000)
    tcpdump = None
    if capture is not None:
        tcpdump = subprocess.Popen(
            [require("tcpdump"), "-i", "lo", "-U", "-w", str(capture), "-s", "512",
             f"udp and port {media_port}" if both_directions else f"udp and dst port {media_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        time.sleep(1.0)  # tcpdump needs a moment before it sees packets
    argv = [sipp, "-sf", str(scenario), target, "-m", str(calls), "-l", str(max_concurrent or calls),
            "-r", str(rate),
            "-i", local_ip, "-p", str(free_port(2)), "-mi", local_ip, "-mp", str(media_port),
            "-timeout", f"{timeout_s}s", "-timeout_error", "-trace_err", "-trace_screen", "-nostdin", *extra]
    proc = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=timeout_s + 30)
    if tcpdump is not None:
        time.sleep(0.5)
        tcpdump.terminate()
        tcpdump.wait(10)
    return SippRun(proc.returncode, proc.stdout, proc.stderr, media_port, workdir)


def speaking_caller(scenario: str, workdir: Path, wav: Path, speech_at_s: float, pcap_s: float,
                    **values: object) -> Path:
    """A filled scenario whose caller plays `wav` (8 kHz) `speech_at_s` into a `pcap_s` stream."""
    from tests.support.rtp_pcap import Clip, build_pcap, read_wav_8k

    pcap = workdir / f"{wav.stem}-{speech_at_s}.pcap"
    build_pcap(pcap, pcap_s, [Clip(speech_at_s, read_wav_8k(wav))], [])
    return fill_scenario(scenario, workdir, PCAP=pcap, **values)
