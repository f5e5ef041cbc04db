"""Which engine speaks a flow's voice name, and how Mandarin text is prepared for Kokoro (no model
is loaded here)."""

from __future__ import annotations

import pytest

from hotline.ivr import kokoro_voice, piper_voice
from hotline.ivr.kokoro_voice import read_digits, sentences
from hotline.ivr.piper_voice import resolve_voice
from tests.support.mandarin import char_errors, number_reading


def test_kokoro_and_its_model_wheels_are_installed() -> None:
    assert kokoro_voice.installed()  # the set-up installs them: missing is a set-up bug


@pytest.mark.parametrize("voice", ["cmn", "zh", "ZH-CN", "zh-cmn", "cmn-latn-pinyin"])
def test_mandarin_espeak_names_are_spoken_by_kokoro(voice: str) -> None:
    assert resolve_voice(voice, natural=True) == ("kokoro", "jf_gongitsune")
    # natural voices off: espeak-ng, reading Latin letters as pinyin (Whisper hears `cmn` not at all)
    assert resolve_voice(voice, natural=False) == ("espeak", "cmn-latn-pinyin")


def test_explicit_engines_and_english_are_unchanged() -> None:
    assert resolve_voice("kokoro:jm_kumo", natural=False) == ("kokoro", "jm_kumo")
    assert resolve_voice("kokoro:", natural=True) == ("kokoro", "jf_gongitsune")
    assert resolve_voice("espeak:cmn", natural=True) == ("espeak", "cmn")  # asked for by name
    assert resolve_voice("en-us", natural=True) == ("piper", "en_US-joe-medium")
    assert resolve_voice("en-us", natural=False) == ("espeak", "en-us")
    assert resolve_voice("yue", natural=True) == ("espeak", "yue")  # Cantonese: not a Mandarin voice
    assert resolve_voice("de", natural=True) == ("espeak", "de")


def test_without_kokoro_mandarin_falls_back_to_espeak_pinyin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(piper_voice.kokoro_voice, "installed", lambda: False)
    assert resolve_voice("cmn", natural=True) == ("espeak", "cmn-latn-pinyin")
    assert resolve_voice("kokoro:jf_gongitsune", natural=True) == ("kokoro", "jf_gongitsune")


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("您的单号是73052186。", "您的单号是七三零五二一八六。"),
        ("取件码0375", "取件码零三七五"),  # not 三百七十五
        ("请拨打400-820-1234", "请拨打四零零 八二零 一二三四"),  # not 负 ("minus")
        ("号码 111", "号码 一一一"),  # 一, not 幺
        ("请按1。", "请按1。"),  # short numbers stay numbers for misaki: 一
        ("您前面还有 12 位客户", "您前面还有 12 位客户"),  # 十二
        ("运费123.5元", "运费123.5元"),  # a decimal number: 一百二十三点五
        ("早上09:00", "早上09:00"),  # a time
        ("包裹 4 2 7 正在派送", "包裹 4 2 7 正在派送"),  # {name:digits}: one digit at a time already
        ("没有数字。", "没有数字。"),
    ],
)
def test_digit_strings_are_read_digit_by_digit(text: str, spoken: str) -> None:
    assert read_digits(text) == spoken


def test_long_prompts_are_given_to_kokoro_a_sentence_at_a_time() -> None:
    menu = "查询包裹请按一。报告包裹损坏、丢失或未收到请按二。人工服务请随时按零。"
    assert sentences(menu) == ["查询包裹请按一。", "报告包裹损坏、丢失或未收到请按二。", "人工服务请随时按零。"]
    long = "，".join(["这是一个很长的句子"] * 12) + "。"
    parts = sentences(long)
    assert len(parts) == 12 and "".join(parts) == long
    assert sentences("  ") == []


def test_mandarin_cer_normalisation() -> None:
    # traditional characters, punctuation and digits as Whisper writes them
    assert char_errors("取件码是四七二九", "取件碼是：4729。")[0] == 0
    assert char_errors("运费是十二元", "運費是12元")[0] == 0
    assert char_errors("我的电话是幺三八", "我的電話是138")[0] == 0
    assert char_errors("您好", "你好")[:2] == (1, 2)
    assert number_reading("105") == "一百零五" and number_reading("0375") == "零三七五"
