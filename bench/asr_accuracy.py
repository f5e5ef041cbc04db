"""Word error rate of each speech engine on human telephone prompts.

Material: the human-voice prompts of Debian's asterisk-core-sounds-en-wav (8 kHz), with their
transcripts from asterisk-core-sounds-en. Each prompt goes the way a SIP caller's voice goes:
8 kHz -> G.711 mu-law -> decoded -> resampled to 16 kHz -> VAD -> recogniser (the call's
pipeline), with a second of silence before and after.

Normalisation (applied to reference and hypothesis alike): lower case; "&" -> "and"; numbers
written as digits -> words; hyphens and slashes -> spaces; other punctuation removed (apostrophes
inside words kept); whitespace collapsed. WER = word-level edit distance / reference words,
summed over the corpus.

Per engine it also reports the CPU time of recognition (process CPU seconds spent in the
recogniser's final decode, per prompt and per second of prompt audio) and the longest run of a
repeated word n-gram in any hypothesis (a decoder stuck in a loop shows up there).

    python -m bench.asr_accuracy [--limit 120] [--engines whisper,moonshine,auto,vosk] [--vosk-model PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import re
import sys
import time
import wave
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import av
import numpy as np

from hotline.asr.events import Transcript
from hotline.asr.factory import AsrConfig, build_recognizer
from hotline.asr.moonshine_engine import tail_repeat
from hotline.asr.pipeline import SpeechPipeline
from hotline.asr.recognizer import Hypothesis, ModelNotFound, Recognizer, RecognizerStream
from hotline.asr.scheduled import in_process_recognizer
from hotline.telephony.frames import FRAME_BYTES, AudioFrame
from tests.support.g711 import ulaw_decode, ulaw_encode

SOUNDS = Path("/usr/share/asterisk/sounds/en")
TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " \
        "sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    if n < 1_000_000:
        rest = n % 1000
        return number_words(n // 1000) + " thousand" + ("" if rest == 0 else " " + number_words(rest))
    return " ".join(_ONES[int(d)] for d in str(n))


def normalise(text: str) -> list[str]:
    text = text.lower().replace("&", " and ")
    text = re.sub(r"\d+", lambda m: f" {number_words(int(m.group()))} ", text)
    text = re.sub(r"[-/]", " ", text)
    text = re.sub(r"[^a-z' ]+", " ", text)
    return [w.strip("'") for w in text.split() if w.strip("'")]


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance of two word lists (or two strings: of characters)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def corpus(limit: int) -> list[tuple[str, Path, str]]:
    items = []
    with gzip.open(TRANSCRIPTS, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            name, sep, text = line.partition(":")
            if not sep or name.startswith(";") or not name.strip():
                continue
            wav = SOUNDS / f"{name.strip()}.wav"
            # "beep" and "beeperr" are tones whose transcript describes them, not speech; so are
            # "(1 second of silence)" and "[sound of monkeys screaming]"
            described = text.strip().startswith(("(", "["))
            if wav.is_file() and len(normalise(text)) >= 3 and not name.startswith("beep") and not described:
                items.append((name.strip(), wav, text.strip()))
    items.sort()
    return items[:limit]


def telephone_path(wav: Path) -> bytes:
    """16 kHz s16 mono as a worker receives it from a G.711 mu-law caller."""
    with wave.open(str(wav), "rb") as w:
        assert w.getframerate() == 8000 and w.getsampwidth() == 2 and w.getnchannels() == 1, wav
        pcm8 = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    line = ulaw_decode(ulaw_encode(pcm8))
    frame = av.AudioFrame.from_ndarray(line.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = 8000
    resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
    out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(out).astype(np.int16).tobytes()


async def frames(pcm: bytes) -> AsyncIterator[AudioFrame]:
    silence = b"\x00" * 32000
    audio = silence + pcm + silence
    for seq, i in enumerate(range(0, len(audio) - FRAME_BYTES + 1, FRAME_BYTES)):
        yield AudioFrame(audio[i:i + FRAME_BYTES], seq)


class _TimedStream:
    """A recognizer stream whose final decodes are charged to `cpu` (process CPU seconds)."""

    def __init__(self, stream: RecognizerStream, cpu: list[float]) -> None:
        self._stream, self._cpu = stream, cpu

    def accept(self, pcm: bytes) -> Hypothesis | None:
        return self._stream.accept(pcm)

    def finish(self, segment_pcm: bytes) -> Hypothesis:
        started = time.process_time()
        try:
            return self._stream.finish(segment_pcm)
        finally:
            self._cpu.append(time.process_time() - started)

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        self._stream.set_phrases(phrases)

    def set_language(self, language: str) -> bool:
        return self._stream.set_language(language)

    def close(self) -> None:
        self._stream.close()


class _Timed:
    """The recognizer with its streams timed."""

    def __init__(self, recognizer: Recognizer) -> None:
        self._recognizer = recognizer
        self.name, self.model, self.language = recognizer.name, recognizer.model, recognizer.language
        self.streaming, self.restricts_to_phrases = recognizer.streaming, recognizer.restricts_to_phrases
        self.cpu: list[float] = []

    def open_stream(self, rate: int = 16000) -> RecognizerStream:
        return _TimedStream(self._recognizer.open_stream(rate), self.cpu)


def longest_repeat(words: list[str]) -> tuple[int, int, int]:
    """(items covered, n, repeats) of the longest back-to-back repetition of a word n-gram."""
    best = (0, 0, 0)
    for end in range(1, len(words) + 1):
        n, k = tail_repeat(words[:end])
        if k > 1 and n * k > best[0]:
            best = (n * k, n, k)
    return best


async def recognise(recognizer: Recognizer, pcm: bytes) -> str:
    pipeline = SpeechPipeline("caller", frames(pcm), recognizer)
    pipeline.start()
    texts = [e.text for e in [e async for e in pipeline] if isinstance(e, Transcript) and e.final]
    await pipeline.aclose()
    return " ".join(texts)


def measure(engine: str, items: list[tuple[str, Path, str]], vosk_model: str | None) -> dict[str, object]:
    try:
        if engine == "auto":  # what a node runs: Moonshine, and Whisper for the segments it loops on
            recognizer = in_process_recognizer(AsrConfig(engine="auto", language="en"))
        else:
            recognizer = build_recognizer(AsrConfig(engine=engine, language="en", vosk_model=vosk_model))
    except ModelNotFound as exc:
        return {"engine": engine, "measured": False,
                "reason": f"{exc}: no English Vosk model is obtainable here; pass --vosk-model PATH"}
    timed = _Timed(recognizer)
    edits = words = 0
    speech_s = 0.0
    worst: list[tuple[float, str, str, str]] = []
    repeat: tuple[tuple[int, int, int], str, str] = ((0, 0, 0), "", "")
    started = time.perf_counter()
    for name, wav, text in items:
        pcm = telephone_path(wav)
        speech_s += len(pcm) / 32000
        hyp = asyncio.run(recognise(timed, pcm))
        ref_w, hyp_w = normalise(text), normalise(hyp)
        e = edit_distance(ref_w, hyp_w)
        edits += e
        words += len(ref_w)
        worst.append((e / len(ref_w), name, " ".join(ref_w), " ".join(hyp_w)))
        run = longest_repeat(hyp.lower().split())
        if run > repeat[0]:
            repeat = (run, name, hyp)
    worst.sort(reverse=True)
    cpu = sum(timed.cpu)
    return {
        "engine": engine,
        "model": recognizer.model,
        "measured": True,
        "prompts": len(items),
        "reference_words": words,
        "word_errors": edits,
        "wer": round(edits / words, 4),
        "prompts_without_error": sum(1 for w in worst if w[0] == 0),
        "seconds": round(time.perf_counter() - started, 1),
        "segments": len(timed.cpu),
        "audio_seconds": round(speech_s, 1),
        "cpu_seconds_per_utterance": round(cpu / max(len(items), 1), 3),
        "cpu_seconds_per_audio_second": round(cpu / max(speech_s, 1e-9), 3),
        "empty_hypotheses": sum(1 for w in worst if not w[3]),
        # Moonshine's decoding guards: loops cut short, empty first steps overruled
        "loops_cut": getattr(recognizer, "loops_cut", None),
        "whisper_fallbacks": engines.fallbacks if (engines := getattr(getattr(recognizer, "backend", None),
                                                                    "engines", None)) else None,
        "first_eos_overruled": getattr(recognizer, "first_eos_overruled", None),
        "longest_repeat": {"words": repeat[0][0], "n": repeat[0][1], "repeats": repeat[0][2],
                           "prompt": repeat[1], "hyp": repeat[2]},
        "worst": [{"prompt": n, "wer": round(w, 2), "ref": r, "hyp": h} for w, n, r, h in worst[:5]],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=120)
    parser.add_argument("--engines", default="whisper,moonshine,auto,vosk",
                        help="engines; auto = the node's path (Moonshine with the Whisper fallback)")
    parser.add_argument("--vosk-model", help="an English Vosk model directory")
    args = parser.parse_args()
    if not TRANSCRIPTS.is_file() or not SOUNDS.is_dir():
        print("install the Debian packages asterisk-core-sounds-en-wav and asterisk-core-sounds-en "
              "(make bench does)", file=sys.stderr)
        return 2
    items = corpus(args.limit)
    results = [measure(engine, items, args.vosk_model) for engine in args.engines.split(",")]
    print(json.dumps({"benchmark": "asr_accuracy", "path": "8 kHz -> mu-law -> 16 kHz -> VAD -> engine",
                      "normalisation": "lower case, digits to words, punctuation removed",
                      "results": results}, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
