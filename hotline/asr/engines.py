"""Which engine recognises a segment: one set of loaded models per node, routed by language.

`asr.engine: auto` gives English to Moonshine (a twelfth of Whisper's CPU at the same accuracy),
every other language to a Vosk model where one is configured and to Whisper otherwise. A flow
that switches a call to Chinese therefore reaches Whisper while English calls stay on Moonshine.
A Moonshine decode that loops or runs out of tokens is decoded again by Whisper (the rare long
segment it cannot finish cleanly), and the result names the engine that produced it.
Models load on first use and are shared by every decoder thread.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence

from hotline.asr.factory import AsrConfig, resolve_engine
from hotline.asr.models import vosk_model_path
from hotline.asr.recognizer import Hypothesis, Recognizer
from hotline.asr.whisper_engine import DIGIT_WORDS
from hotline.ivr.numbers.english import EN_UNITS

log = logging.getLogger(__name__)

# Moonshine sometimes writes a spoken digit string as a North American phone number and invents
# digits to fill it ("seven seven six three one seven" -> "776-317-2022"): 2 of 16 digit strings
# in Piper's voice at 8 kHz. Where digits are expected, such a text goes to Whisper (digit prompt).
PHONE_NUMBER = re.compile(r"\b\d{3}-\d{3}-\d{4}\b")
# It also drops or merges digits of a long run of one repeated digit ("four one one one ... one" came
# back as "for 1" and as sixteen ones): five or more alike in a row go to Whisper too.
_DIGIT_OF = {word: str(n) for word, n in EN_UNITS.items()} | {"oh": "0"}  # one word, one digit
REPEATED_DIGIT = re.compile(r"(\d)\1{4,}")


def doubtful_digits(text: str) -> bool:
    """Whether a Moonshine text where digits are expected looks like one of its digit failures."""
    if PHONE_NUMBER.search(text):
        return True
    digits = "".join(_DIGIT_OF.get(w, w) for w in re.findall(r"[a-z]+|\d", text.lower()) if
                     w.isdigit() or w in _DIGIT_OF)
    return REPEATED_DIGIT.search(digits) is not None


def model_name(engine: str, cfg: AsrConfig) -> str:
    """The model an engine runs, as /api/health names it."""
    return {"whisper": "whisper-base", "moonshine": "moonshine-base-en-int8"}.get(engine) or (cfg.vosk_model or cfg.language)


def base_language(language: str) -> str:
    return language.split("-")[0].lower()


class EngineSet:
    def __init__(self, cfg: AsrConfig, vocabulary: tuple[str, ...] = (), concurrency: int = 1) -> None:
        """`vocabulary`: phrases the flows expect (Whisper's bias); `concurrency`: decoder threads."""
        self.cfg = cfg
        self._hints = tuple(dict.fromkeys((*cfg.hints, *vocabulary)))
        self._concurrency = concurrency
        self._engines: dict[tuple[str, str], Recognizer] = {}
        self._lock = threading.Lock()
        self.fallbacks = 0  # Moonshine decodes handed to Whisper

    def engine_for(self, language: str) -> str:
        if base_language(language) == base_language(self.cfg.language):
            return resolve_engine(self.cfg)
        if vosk_model_path(language) is not None and self.cfg.engine in ("auto", "vosk"):
            return "vosk"
        return "whisper"

    @property
    def primary(self) -> str:
        return self.engine_for(self.cfg.language)

    def model_of(self, engine: str) -> str:
        return model_name(engine, self.cfg)

    def load(self, language: str) -> Recognizer:
        """The engine for `language`, loaded now (the service warms its primary engine at start)."""
        return self._get(self.engine_for(language), language)

    def _get(self, engine: str, language: str) -> Recognizer:
        key = (engine, base_language(language) if engine == "vosk" else "")
        with self._lock:
            found = self._engines.get(key)
            if found is None:
                found = self._engines[key] = self._build(engine, language)
                log.info("speech engine loaded", extra={"engine": engine, "model": found.model})
            return found

    def _build(self, engine: str, language: str) -> Recognizer:
        cfg = self.cfg
        if engine == "moonshine":
            from hotline.asr.moonshine_engine import MoonshineRecognizer

            return MoonshineRecognizer("en", cfg.moonshine_model, concurrent=True)
        if engine == "vosk":
            from hotline.asr.vosk_engine import VoskRecognizer

            return VoskRecognizer(language, cfg.vosk_model if base_language(language) == base_language(cfg.language)
                                  else None, cfg.allow_download)
        from hotline.asr.whisper_engine import WhisperRecognizer

        return WhisperRecognizer(cfg.language, cfg.whisper_model, cfg.whisper_threads, self._hints,
                                 concurrency=self._concurrency)

    def decode(self, pcm: bytes, rate: int, language: str, phrases: Sequence[str] | None) -> Hypothesis:
        """Final text of one segment (`pcm`: s16 mono at `rate`)."""
        engine = self.engine_for(language)
        if engine == "moonshine":
            from hotline.asr.moonshine_engine import MoonshineRecognizer

            moonshine = self._get("moonshine", language)
            assert isinstance(moonshine, MoonshineRecognizer)
            text, suspect = moonshine.transcribe_checked(pcm, rate)
            digits_expected = phrases is not None and len(phrases) > 0 and set(phrases) <= DIGIT_WORDS
            suspect = suspect or (digits_expected and doubtful_digits(text))
            if not suspect or not self.cfg.fallback:
                return Hypothesis(text, engine="moonshine")
            self.fallbacks += 1
            log.info("moonshine decode suspect, decoding with whisper", extra={"seconds": len(pcm) / (2 * rate)})
            engine = "whisper"
        stream = self._get(engine, language).open_stream(rate)
        try:
            stream.set_language(language)
            stream.set_phrases(phrases)
            if engine == "vosk":
                stream.accept(pcm)
            hyp = stream.finish(pcm)
        finally:
            stream.close()
        return Hypothesis(hyp.text, hyp.words, engine)

    def partial(self, pcm: bytes, rate: int, language: str) -> Hypothesis:
        """Text of a segment still open (no fallback: the final corrects it)."""
        engine = self.engine_for(language)
        if engine == "moonshine":
            from hotline.asr.moonshine_engine import MoonshineRecognizer

            moonshine = self._get("moonshine", language)
            assert isinstance(moonshine, MoonshineRecognizer)
            return Hypothesis(moonshine.transcribe_checked(pcm, rate)[0], engine="moonshine")
        return self.decode(pcm, rate, language, None)

    def stats(self) -> dict[str, object]:
        out: dict[str, object] = {"primary": self.primary, "loaded": sorted(e for e, _ in self._engines),
                                  "fallbacks": self.fallbacks}
        for (engine, _), rec in self._engines.items():
            if engine == "moonshine":
                out["moonshine_loops_cut"] = getattr(rec, "loops_cut", 0)
        return out
