"""Vosk engine: streaming partials while a segment is open, a final result when it closes.

One `vosk.Model` per process and language; one `KaldiRecognizer` per call leg, reset and reused
between segments.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from typing import Any

from hotline.asr.models import vosk_model_path
from hotline.asr.recognizer import Hypothesis, ModelNotFound
from hotline.telephony.frames import SAMPLE_RATE

log = logging.getLogger(__name__)

_models: dict[str, object] = {}
_models_lock = threading.Lock()


def load_vosk_model(language: str, model_path: str | None = None, allow_download: bool = False) -> tuple[object, str]:
    import vosk

    vosk.SetLogLevel(-1)
    path = vosk_model_path(language, model_path)
    key = str(path) if path else f"lang:{language}"
    with _models_lock:
        if key in _models:
            return _models[key], key
        if path is not None:
            model = vosk.Model(str(path))
        elif allow_download:
            # real users with internet: vosk fetches the small model for the language
            model = vosk.Model(lang=language)
        else:
            raise ModelNotFound(f"no Vosk model for language {language!r}")
        _models[key] = model
        return model, key


def _words(items: list[dict[str, Any]]) -> list[tuple[str, float, float, float]]:
    return [(str(w.get("word", "")), float(w.get("start", 0.0)), float(w.get("end", 0.0)), float(w.get("conf", 1.0)))
            for w in items]


class VoskRecognizer:
    name = "vosk"
    streaming = True
    restricts_to_phrases = True

    def __init__(self, language: str, model_path: str | None = None, allow_download: bool = False) -> None:
        self.language = language
        self._model, self.model = load_vosk_model(language, model_path, allow_download)

    def open_stream(self, rate: int = SAMPLE_RATE) -> _VoskStream:
        return _VoskStream(self._model, rate, self.language)


class _VoskStream:
    def __init__(self, model: object, rate: int, language: str = "") -> None:
        self._model = model
        self._language = language
        self._rate = rate  # Vosk takes the leg's rate as it is (8 kHz included); no resampling here
        self._rec = self._recognizer(None)
        self._last_partial = ""
        self._carry = ""  # text Vosk finalised inside the current VAD segment
        self._carry_words: list[tuple[str, float, float, float]] = []
        self._fed_s = 0.0  # audio given to the current recogniser object
        self._segment_base = 0.0
        self._in_segment = False
        self._pending: tuple[bool, tuple[str, ...] | None] = (False, None)  # grammar change to apply

    def _recognizer(self, phrases: tuple[str, ...] | None) -> Any:
        import vosk

        if phrases:
            # "[unk]" lets out-of-grammar speech come out as [unk] instead of a forced match
            rec = vosk.KaldiRecognizer(self._model, self._rate, json.dumps([*phrases, "[unk]"], ensure_ascii=False))
        else:
            rec = vosk.KaldiRecognizer(self._model, self._rate)
        rec.SetWords(True)
        rec.SetPartialWords(True)
        return rec

    def set_language(self, language: str) -> bool:
        return language.split("-")[0] == self._language.split("-")[0]

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        change = (True, tuple(p.lower() for p in phrases) if phrases else None)
        if self._in_segment:
            self._pending = change  # never switch graphs in the middle of an utterance
        else:
            self._rec = self._recognizer(change[1])
            self._fed_s = 0.0

    def accept(self, pcm: bytes) -> Hypothesis | None:
        if not self._in_segment:
            self._in_segment = True
            self._segment_base = self._fed_s  # Vosk's word times run on across Reset()
        self._fed_s += len(pcm) / (2 * self._rate)
        if self._rec.AcceptWaveform(pcm):
            # Vosk's own endpointer closed an utterance inside our segment: keep its text as the
            # running partial; our VAD decides the real segment end.
            self._keep(json.loads(self._rec.Result()))
            partial = Hypothesis(self._carry, tuple(self._carry_words))
        else:
            result = json.loads(self._rec.PartialResult())
            partial = Hypothesis(f"{self._carry} {result.get('partial', '')}".strip(),
                                 (*self._carry_words, *self._words(result.get("partial_result", []))))
        if partial.text and partial.text != self._last_partial:
            self._last_partial = partial.text
            return partial
        return None

    def _words(self, items: list[dict[str, Any]]) -> list[tuple[str, float, float, float]]:
        """Word timings from the start of the current segment's audio."""
        base = self._segment_base
        return [(w, s - base, e - base, c) for w, s, e, c in _words(items)]

    def _keep(self, result: dict[str, Any]) -> None:
        words = [w for w in self._words(result.get("result", [])) if w[0] != "[unk]"]
        self._carry = " ".join(x for x in (self._carry, *(w[0] for w in words)) if x)
        self._carry_words.extend(words)

    def finish(self, segment_pcm: bytes) -> Hypothesis:
        self._keep(json.loads(self._rec.FinalResult()))
        final = Hypothesis(self._carry, tuple(self._carry_words))
        self._carry, self._carry_words, self._last_partial = "", [], ""
        self._in_segment = False
        changed, phrases = self._pending
        if changed:
            self._pending = (False, None)
            self._rec = self._recognizer(phrases)
            self._fed_s = 0.0
        else:
            self._rec.Reset()
        return final

    def close(self) -> None:
        self._rec.Reset()
