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
from hotline.asr.recognizer import ModelNotFound
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


class VoskRecognizer:
    name = "vosk"
    streaming = True

    def __init__(self, language: str, model_path: str | None = None, allow_download: bool = False) -> None:
        self.language = language
        self._model, self.model = load_vosk_model(language, model_path, allow_download)

    def open_stream(self) -> _VoskStream:
        return _VoskStream(self._model)


class _VoskStream:
    def __init__(self, model: object) -> None:
        self._model = model
        self._rec = self._recognizer(None)
        self._last_partial = ""
        self._carry = ""  # text Vosk finalised inside the current VAD segment
        self._in_segment = False
        self._pending: tuple[bool, tuple[str, ...] | None] = (False, None)  # grammar change to apply

    def _recognizer(self, phrases: tuple[str, ...] | None) -> Any:
        import vosk

        if phrases:
            # "[unk]" lets out-of-grammar speech come out as [unk] instead of a forced match
            rec = vosk.KaldiRecognizer(self._model, SAMPLE_RATE, json.dumps([*phrases, "[unk]"], ensure_ascii=False))
        else:
            rec = vosk.KaldiRecognizer(self._model, SAMPLE_RATE)
        rec.SetWords(True)
        rec.SetPartialWords(True)
        return rec

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        change = (True, tuple(p.lower() for p in phrases) if phrases else None)
        if self._in_segment:
            self._pending = change  # never switch graphs in the middle of an utterance
        else:
            self._rec = self._recognizer(change[1])

    def accept(self, pcm: bytes) -> str | None:
        self._in_segment = True
        if self._rec.AcceptWaveform(pcm):
            # Vosk's own endpointer closed an utterance inside our segment: keep its text as the
            # running partial; our VAD decides the real segment end.
            text = json.loads(self._rec.Result()).get("text", "")
            self._carry = f"{self._carry} {text}".strip()
            partial = self._carry
        else:
            partial = f"{self._carry} {json.loads(self._rec.PartialResult()).get('partial', '')}".strip()
        if partial and partial != self._last_partial:
            self._last_partial = partial
            return partial
        return None

    def finish(self, segment_pcm: bytes) -> str:
        text = json.loads(self._rec.FinalResult()).get("text", "")
        full = f"{self._carry} {text}".strip()
        self._carry = ""
        self._last_partial = ""
        self._in_segment = False
        changed, phrases = self._pending
        if changed:
            self._pending = (False, None)
            self._rec = self._recognizer(phrases)
        else:
            self._rec.Reset()
        return " ".join(w for w in full.split() if w != "[unk]")

    def close(self) -> None:
        self._rec.Reset()
