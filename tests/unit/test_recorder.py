from __future__ import annotations

import wave
from pathlib import Path

from hotline.telephony.recorder import WavRecorder


def test_recording_is_a_valid_wav_even_before_close(tmp_path: Path) -> None:
    path = tmp_path / "r" / "call.caller.wav"
    rec = WavRecorder(path)
    for _ in range(300):  # 6 s: the header has been synced once, at 5 s
        rec.write(b"\x01\x00" * 320)
    with wave.open(str(path)) as w:  # as a crash would leave it
        assert w.getframerate() == 16000 and w.getnframes() == 250 * 320
    rec.close()
    with wave.open(str(path)) as w:
        assert w.getnframes() == 300 * 320
    assert rec.duration_ms == 6000
