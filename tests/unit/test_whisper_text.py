"""What Whisper's text goes through before the IVR and the desk see it."""

from __future__ import annotations

from hotline.asr.whisper_engine import simplified


def test_chinese_comes_out_in_simplified_characters() -> None:
    # Whisper writes a Mandarin caller in traditional characters about half the time
    assert simplified("東西都摔壞了，我的包裹還沒到") == "东西都摔坏了，我的包裹还没到"
    assert simplified("我想查询我的包裹") == "我想查询我的包裹"  # simplified stays as it is
    assert simplified("parcel 1234") == "parcel 1234" and simplified("") == ""

