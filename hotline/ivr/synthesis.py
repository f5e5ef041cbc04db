"""Who synthesises a prompt's natural voice: this process, or the node's speech service.

A natural voice is a model in memory: Piper's English voice about 150 MB, Kokoro's Mandarin one
about 300 MB. Loaded in each of a node's media workers they cost that six times over for prompts
that are mostly cached on disk anyway, so the workers ask the node's service process (the one
that holds the recognisers, `hotline.asr.service`) to speak the few sentences that are not cached;
the supervisor's start-up render and a node without the service speak in-process.
Both sides are a `Synthesizer`; espeak-ng (the fallback) always runs as a child process of the
caller, so it needs neither.
"""

from __future__ import annotations

from typing import Protocol


class Synthesizer(Protocol):
    def synthesize(self, engine: str, voice: str, text: str, rate: int) -> bytes:
        """16-bit mono PCM of `text` at `rate` in `engine`'s ("piper", "kokoro") `voice`;
        blocking; raises on failure (the caller falls back to espeak-ng)."""
        ...

    def preload(self, engine: str, voice: str) -> None:
        """Start loading the voice in the background, so the first prompt does not wait for it."""
        ...


class LocalSynthesizer:
    """The natural voices in this process (loaded on first use, shared by every prompt cache)."""

    def synthesize(self, engine: str, voice: str, text: str, rate: int) -> bytes:
        if engine == "piper":
            from hotline.ivr.piper_voice import shared_voices

            return shared_voices().synthesize_pcm(text, voice, rate)
        if engine == "kokoro":
            from hotline.ivr.kokoro_voice import shared_voices as kokoro_voices

            return kokoro_voices().synthesize_pcm(text, voice, rate)
        raise ValueError(f"no natural voice engine {engine!r}")

    def preload(self, engine: str, voice: str) -> None:
        if engine == "piper":
            from hotline.ivr.piper_voice import shared_voices

            shared_voices().preload(voice)
        elif engine == "kokoro":
            from hotline.ivr.kokoro_voice import shared_voices as kokoro_voices

            kokoro_voices().preload()


LOCAL = LocalSynthesizer()
