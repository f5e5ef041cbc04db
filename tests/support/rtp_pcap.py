"""Building RTP pcap files for SIPp's play_pcap_audio, and reading captured RTP back.

One pcap carries the caller's voice (PCMU) and RFC 4733 DTMF events from the same SSRC and port:
pjmedia ignores the first packets from a new source, so DTMF from another port loses digits.
"""

from __future__ import annotations

import struct
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.support.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

PT_PCMU = 0
PT_PCMA = 8
PT_EVENT = 101
CODECS = {"PCMU": (PT_PCMU, ulaw_encode), "PCMA": (PT_PCMA, alaw_encode)}
_DIGIT_CODES = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}


def read_wav_8k(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert w.getframerate() == 8000 and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)


@dataclass
class Clip:
    at_s: float
    samples: np.ndarray  # 8 kHz s16


@dataclass
class Digit:
    at_s: float
    digit: str
    duration_ms: int = 160


def _udp_frame(payload: bytes, src_port: int = 40000, dst_port: int = 6000) -> bytes:
    udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(payload), 0) + payload
    total = 20 + len(udp)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 64, 17, 0, bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
    eth = b"\x00" * 12 + b"\x08\x00"
    return eth + ip + udp


def build_pcap(path: Path, duration_s: float, clips: list[Clip], digits: list[Digit], ssrc: int = 0x1234ABCD,
               codec: str = "PCMU") -> None:
    """Write a pcap: 20 ms G.711 (`codec` PCMU or PCMA) packets for `duration_s` (silence where no clip plays), with
    RFC 4733 events replacing the voice packets while a digit is held."""
    n = int(duration_s * 50)
    audio = np.zeros(n * 160, dtype=np.int16)
    for clip in clips:
        start = int(clip.at_s * 8000)
        seg = clip.samples[: max(0, len(audio) - start)]
        audio[start : start + len(seg)] = seg
    # packet index -> (digit, index of the event's first packet, duration in 20 ms units, end bit)
    events: dict[int, tuple[str, int, int, bool]] = {}
    for d in digits:
        first = int(d.at_s * 50)
        count = max(2, d.duration_ms // 20)
        for k in range(count + 2):  # the final packet is sent three times, as RFC 4733 recommends
            events[first + k] = (d.digit, first, min(k + 1, count), k >= count - 1)
    payload_type, encode = CODECS[codec]
    records = []
    seq, ts = 1000, 0
    for i in range(n):
        t = i * 0.02
        if i in events:
            digit, first, units, end = events[i]
            event_ts = first * 160
            flags = 0x80 if end else 0x00
            marker = 0x80 if i == first else 0
            payload = struct.pack("!BBH", _DIGIT_CODES[digit], flags | 10, units * 160)
            rtp = struct.pack("!BBHII", 0x80, marker | PT_EVENT, seq & 0xFFFF, event_ts, ssrc) + payload
        else:
            chunk = encode(audio[i * 160 : (i + 1) * 160])
            rtp = struct.pack("!BBHII", 0x80, payload_type, seq & 0xFFFF, ts, ssrc) + chunk
        seq += 1
        ts += 160
        frame = _udp_frame(rtp)
        sec, usec = int(t), int(round((t - int(t)) * 1e6))
        records.append(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    path.write_bytes(header + b"".join(records))


@dataclass
class RtpPacket:
    time: float
    payload_type: int
    payload: bytes
    src_port: int = 0
    dst_port: int = 0

    def dbfs(self) -> float:
        """Level of a G.711 payload (-200 for other payload types)."""
        return g711_rms_dbfs([self], self.payload_type) if self.payload_type in (PT_PCMU, PT_PCMA) else -200.0


def read_rtp(path: Path) -> list[RtpPacket]:
    """RTP packets in a pcap written by tcpdump (Ethernet or Linux cooked link type)."""
    data = path.read_bytes()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    link_len = {1: 14, 113: 16, 276: 20}.get(linktype)
    if link_len is None:
        raise ValueError(f"unsupported pcap link type {linktype}")
    out, off = [], 24
    while off + 16 <= len(data):
        sec, usec, caplen, _ = struct.unpack(endian + "IIII", data[off : off + 16])
        frame = data[off + 16 : off + 16 + caplen]
        off += 16 + caplen
        ip = frame[link_len:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 0x0F) * 4 :]
        rtp = udp[8:]
        if len(rtp) < 12 or rtp[0] >> 6 != 2:
            continue
        cc = rtp[0] & 0x0F
        src, dst = struct.unpack("!HH", udp[:4])
        out.append(RtpPacket(sec + usec / 1e6, rtp[1] & 0x7F, rtp[12 + 4 * cc :], src, dst))
    return out


def g711_rms_dbfs(packets: list[RtpPacket], payload_type: int = PT_PCMU) -> float:
    """Level of the G.711 audio in `packets` of the given payload type (-200 when there is none)."""
    voice = [p.payload for p in packets if p.payload_type == payload_type]
    if not voice:
        return -200.0
    decode = ulaw_decode if payload_type == PT_PCMU else alaw_decode
    samples = decode(b"".join(voice)).astype(np.float64)
    rms = float(np.sqrt(np.mean(samples * samples)))
    return 20 * np.log10(max(rms, 1e-9) / 32768.0)
