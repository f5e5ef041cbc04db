"""The demo's English prompts in Piper's natural voice: rendered like the server does (8 kHz, the
telephone band), passed through G.711 mu-law, and recognised by the real recogniser, which must hear
their words; espeak-ng stays the fallback."""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
import pytest

from hotline.asr.whisper_engine import WhisperRecognizer
from hotline.center.worker import prerender_prompts
from hotline.ivr.loader import load_directory
from hotline.ivr.model import FlowSet
from hotline.ivr.piper_voice import piper_installed, resolve_voice
from hotline.ivr.prompts import PromptCache
from tests.support.g711 import ulaw_decode, ulaw_encode

REPO = Path(__file__).resolve().parents[2]


def words(text: str) -> list[str]:
    spoken = {"1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six", "7": "seven",
              "8": "eight", "9": "nine", "0": "zero", "#": "hash", "*": "star"}
    text = re.sub(r"[0-9#*]", lambda m: f" {spoken[m.group(0)]} ", text.lower())
    return re.findall(r"[a-z']+", text)


def test_english_voices_resolve_to_piper_and_chinese_to_kokoro() -> None:
    assert piper_installed()  # the set-up installs piper-tts and the joe voice: missing is a set-up bug
    assert resolve_voice("en-us", natural=True) == ("piper", "en_US-joe-medium")
    assert resolve_voice("en-us", natural=False) == ("espeak", "en-us")
    assert resolve_voice("espeak:en-us", natural=True) == ("espeak", "en-us")
    assert resolve_voice("cmn", natural=True) == ("kokoro", "jf_gongitsune")  # Mandarin: test_kokoro_voice
    assert resolve_voice("piper:en_US-joe-medium", natural=False) == ("piper", "en_US-joe-medium")


async def test_demo_prompts_in_piper_s_voice_are_heard_through_g711(tmp_path: Path) -> None:
    flows, errors = load_directory(REPO / "flows")
    assert not errors
    flowset = FlowSet(flows)
    cache = PromptCache(tmp_path / "prompts", rate=8000)
    rendered = await prerender_prompts(flowset, cache)
    assert rendered >= 10
    prompts = [p for flow in flows.values() for p in [*flow.messages.values(),
                                                       *(n.prompt for n in flow.nodes.values() if n.prompt)]]
    english = sorted({v.text for p in prompts for lang, v in p.variants.items()
                      if lang == "en" and v.text and "{" not in v.text})
    assert len(english) >= 12
    recognizer = WhisperRecognizer("en")
    heard_total = said_total = 0
    for text in english[:: max(1, len(english) // 12)][:12]:  # a dozen, spread over the demo
        pcm = await cache.get(text, "en-us")
        assert cache.path_for(text, "en-us").is_file()  # cached on disk by text and voice
        phone = ulaw_decode(ulaw_encode(np.frombuffer(pcm, dtype=np.int16)))
        heard = set(words(recognizer.transcribe(phone.tobytes(), rate=8000)))
        said = words(text)
        hits = sum(1 for w in said if w in heard)
        assert hits >= 0.6 * len(said), (text, sorted(heard))
        heard_total, said_total = heard_total + hits, said_total + len(said)
    assert heard_total >= 0.85 * said_total


async def test_piper_failure_falls_back_to_espeak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.ivr import piper_voice

    def broken(self: object, text: str, name: str, rate: int) -> bytes:
        raise piper_voice.PiperUnavailable("model file damaged")

    monkeypatch.setattr(piper_voice.PiperVoices, "synthesize_pcm", broken)
    cache = PromptCache(tmp_path / "prompts", rate=8000)
    pcm = await cache.get("Thank you for calling.", "en-us")
    assert len(pcm) > 8000  # espeak-ng spoke it: over half a second of audio, not silence


async def test_numbers_read_digit_by_digit_are_spliced_from_cached_clips_and_heard(tmp_path: Path) -> None:
    """`{parcel_number:digits}` sentences are put together from the words around the number and one
    clip per digit: nothing is synthesised per caller, nothing per caller is cached, and the
    recogniser still hears the words and every digit in order through G.711."""
    from hotline.ivr.model import render
    from hotline.ivr.numbers import spoken_digits
    from hotline.ivr.prompts import digit_runs, split_sentences

    cache = PromptCache(tmp_path / "prompts", rate=8000)
    recognizer = WhisperRecognizer("en")  # Moonshine invents phone numbers from digits (its fallback is Whisper)
    templates = ("I heard {n:digits}. If that is right, press 1 or say yes.",
                 "Parcel {n:digits} is out for delivery today.",
                 "Done. Your reference is {n:digits}.")
    numbers = ("40718293", "5566120934", "390027")
    hits = total = exact = 0
    for template, number in zip(templates, numbers, strict=True):
        text = render(template, {"n": number})
        sentence = next(s for s in split_sentences(text) if digit_runs(s))
        pcm = await cache.get(sentence, "en-us")
        assert not cache.cached(sentence, "en-us")  # spliced, not stored
        assert len(pcm) > 8000 * 2 * 0.3 * len(number)  # at least 0.3 s a digit: every digit is there
        phone = ulaw_decode(ulaw_encode(np.frombuffer(pcm, dtype=np.int16)))
        heard = recognizer.transcribe(phone.tobytes(), rate=8000)
        got = spoken_digits(heard)
        exact += got == number
        assert SequenceMatcher(None, got, number).ratio() >= 0.7, (sentence, heard)
        said = words(re.sub(r"\d", "", sentence))
        hits, total = hits + sum(1 for w in said if w in words(heard)), total + len(said)
    assert exact >= 2  # Whisper hears 27 of 30 such numbers exactly (26 of 30 rendered whole)
    assert hits >= 0.7 * total  # the words around the numbers too ("reference is" may come back "references")
    files = sorted(p.name for p in (tmp_path / "prompts").iterdir())
    assert len(files) <= 10 + 3 * 3  # the digits and the words around them, whatever the numbers
    again = await cache.get(render(templates[1], {"n": "11112222"}), "en-us")
    assert len(again) > 0 and sorted(p.name for p in (tmp_path / "prompts").iterdir()) == files


def test_digit_runs_cut_a_sentence_at_numbers_read_digit_by_digit() -> None:
    from hotline.ivr.prompts import digit_runs

    assert digit_runs("Parcel 1 2 3 4 is out.") == [("Parcel", False), ("1 2 3 4", True), ("is out.", False)]
    assert digit_runs("您说的是 1 2 3 4 5 6 7 8。") == [("您说的是", False), ("1 2 3 4 5 6 7 8", True), ("。", False)]
    assert digit_runs("Press 1 or say yes.") == []  # one digit is a word of the sentence
    assert digit_runs("between 2 and 4 pm, 3.5 kg, 1 2") == []
