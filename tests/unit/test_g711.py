"""The test suite's own G.711 codec (used to build caller RTP and to check received prompts)."""

from __future__ import annotations

import numpy as np

from tests.support.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode


def test_every_code_survives_decode_then_encode() -> None:
    codes = bytes(range(256))
    assert alaw_encode(alaw_decode(codes)) == codes
    ulaw_codes = bytes(c for c in range(256) if c != 0x7F)  # 0x7F and 0xFF are both zero
    assert ulaw_encode(ulaw_decode(ulaw_codes)) == ulaw_codes


def test_known_values_and_error_bound() -> None:
    assert ulaw_encode(np.array([0], np.int16)) == b"\xff"
    assert alaw_encode(np.array([0], np.int16)) == b"\xd5"
    x = (np.sin(np.arange(800) / 7) * 16000).astype(np.int16)
    for enc, dec in ((ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)):
        err = np.abs(dec(enc(x)).astype(int) - x)
        assert err.max() <= np.abs(x).max() / 16  # companding keeps about 4 bits of mantissa
