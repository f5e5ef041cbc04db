"""Choosing and building the configured speech engine."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.asr.models import vosk_model_path
from hotline.asr.recognizer import AsrError, Recognizer


@dataclass(frozen=True)
class AsrConfig:
    engine: str = "auto"  # auto | vosk | whisper
    language: str = "en"
    vosk_model: str | None = None
    whisper_model: str | None = None
    allow_download: bool = False  # let vosk.Model(lang=...) fetch a model
    whisper_threads: int = 1
    # live segments queued for whisper per worker before recognition is refused (IVR: keypad only)
    whisper_max_pending: int = 4
    # segments decoded in one encoder pass; 1 on CPU, where bench.whisper_batching measured no gain
    whisper_batch: int = 1
    # let IVR menus switch the recogniser to their phrases (off: menus always listen openly)
    grammar: bool = True
    # domain words that bias recognition (whisper hotwords); the flow's menu phrases are added
    hints: tuple[str, ...] = ()


def resolve_engine(cfg: AsrConfig) -> str:
    """`auto` is Vosk when a Vosk model for the language resolves locally, else Whisper."""
    if cfg.engine in ("vosk", "whisper"):
        return cfg.engine
    if cfg.engine != "auto":
        raise AsrError(f"unknown ASR engine {cfg.engine!r} (auto, vosk, whisper)")
    return "vosk" if vosk_model_path(cfg.language, cfg.vosk_model) is not None else "whisper"


def build_recognizer(cfg: AsrConfig, vocabulary: tuple[str, ...] = ()) -> Recognizer:
    """`vocabulary`: phrases the flows expect callers to say, added to the configured hints."""
    engine = resolve_engine(cfg)
    if engine == "vosk":
        from hotline.asr.vosk_engine import VoskRecognizer

        return VoskRecognizer(cfg.language, cfg.vosk_model, cfg.allow_download)
    from hotline.asr.whisper_engine import WhisperRecognizer

    hints = tuple(dict.fromkeys((*cfg.hints, *vocabulary)))
    return WhisperRecognizer(cfg.language, cfg.whisper_model, cfg.whisper_threads, hints, cfg.whisper_max_pending,
                             cfg.whisper_batch)
