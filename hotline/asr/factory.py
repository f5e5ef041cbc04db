"""Choosing and building the configured speech engine."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.asr.models import vosk_model_path
from hotline.asr.moonshine_model import moonshine_available
from hotline.asr.recognizer import AsrError, Recognizer


@dataclass(frozen=True)
class AsrConfig:
    engine: str = "auto"  # auto | vosk | whisper | moonshine (English only)
    language: str = "en"
    vosk_model: str | None = None
    whisper_model: str | None = None
    moonshine_model: str | None = None  # a prepared directory; default: the cache, built from the package
    allow_download: bool = False  # let vosk.Model(lang=...) fetch a model
    whisper_threads: int = 1
    # live segments queued for whisper per worker before recognition is refused (IVR: keypad only)
    whisper_max_pending: int = 4
    # segments decoded in one encoder pass; 1 on CPU, where bench.whisper_batching measured no gain
    whisper_batch: int = 1
    # live segments queued for moonshine per worker before recognition is refused
    moonshine_max_pending: int = 4
    # one recognition service per node decodes for every worker (off: each worker loads its own model)
    service: bool = True
    decoders: int = 0  # decoder threads of the service; 0 = one per CPU core
    max_queued: int = 0  # finals waiting in the service before new ones are refused; 0 = 16 per decoder
    partials: bool = True  # partial text of long utterances when a decoder is idle (never before finals)
    fallback: bool = True  # a Moonshine decode that loops is decoded again by Whisper
    # let IVR menus switch the recogniser to their phrases (off: menus always listen openly)
    grammar: bool = True
    # domain words that bias recognition (whisper hotwords); the flow's menu phrases are added
    hints: tuple[str, ...] = ()


ENGINES = ("auto", "vosk", "whisper", "moonshine")


def moonshine_for(cfg: AsrConfig) -> bool:
    """Whether Moonshine can serve `cfg`: English, and its model built or buildable offline."""
    return cfg.language.split("-")[0].lower() == "en" and (cfg.moonshine_model is not None or moonshine_available())


def resolve_engine(cfg: AsrConfig) -> str:
    """`auto` is Vosk when a Vosk model for the language resolves locally, else Moonshine for
    English, else Whisper (the only Mandarin-capable engine here)."""
    if cfg.engine in ("vosk", "whisper", "moonshine"):
        return cfg.engine
    if cfg.engine != "auto":
        raise AsrError(f"unknown ASR engine {cfg.engine!r} ({', '.join(ENGINES)})")
    if vosk_model_path(cfg.language, cfg.vosk_model) is not None:
        return "vosk"
    return "moonshine" if moonshine_for(cfg) else "whisper"


def build_recognizer(cfg: AsrConfig, vocabulary: tuple[str, ...] = ()) -> Recognizer:
    """`vocabulary`: phrases the flows expect callers to say, added to the configured hints."""
    engine = resolve_engine(cfg)
    if engine == "vosk":
        from hotline.asr.vosk_engine import VoskRecognizer

        return VoskRecognizer(cfg.language, cfg.vosk_model, cfg.allow_download)
    if engine == "moonshine":  # cannot be biased: the hints and flow vocabulary do not apply
        from hotline.asr.moonshine_engine import MoonshineRecognizer

        return MoonshineRecognizer(cfg.language, cfg.moonshine_model, cfg.moonshine_max_pending)
    from hotline.asr.whisper_engine import WhisperRecognizer

    hints = tuple(dict.fromkeys((*cfg.hints, *vocabulary)))
    return WhisperRecognizer(cfg.language, cfg.whisper_model, cfg.whisper_threads, hints, cfg.whisper_max_pending,
                             cfg.whisper_batch)
