"""The node's recognition service as a real process: routing by language, a bad request, many
callers at once, and a restart in the middle of decoding that loses no segment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from hotline.asr.recognizer import AsrOverloaded
from hotline.asr.remote import RemoteBackend, remote_recognizer
from hotline.center.recognition import service_socket
from hotline.center.settings import Settings, settings_to_json
from tests.conftest import synthesize

REPO = Path(__file__).resolve().parents[2]
# sentence -> a word the recogniser hears in every synthesis (Piper's voice through 8 kHz)
SENTENCES = {"I want to track my parcel": "parcel", "Please transfer me to an agent": "agent",
             "What are your opening hours": "hours"}
KEYWORDS = list(SENTENCES.values())


def pcm_of(path: Path) -> bytes:
    with wave.open(str(path), "rb") as w:
        return w.readframes(w.getnframes())


class Service:
    def __init__(self, settings: Settings, settings_file: Path) -> None:
        self.settings, self.settings_file = settings, settings_file
        self.log = settings.data / "asr-service.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "hotline.center.cli", "asr-service",
                                          "--settings-file", str(self.settings_file)], cwd=REPO,
                                         stdout=log, stderr=log)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(20)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    data = tmp_path_factory.mktemp("asr-service")
    settings = Settings(data=data, flows=REPO / "flows")
    settings = replace(settings, asr=replace(settings.asr, decoders=2))
    settings_file = data / "settings.json"
    settings_file.write_text(settings_to_json(settings))
    svc = Service(settings, settings_file)
    svc.start()
    try:
        RemoteBackend(service_socket(settings)).hello(retry_s=120.0)
        yield svc
    finally:
        svc.stop()


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    out = tmp_path_factory.mktemp("speech")
    return [pcm_of(synthesize(text, out / f"{i}.wav", rate=8000)) for i, text in enumerate(SENTENCES)]


def test_english_goes_to_moonshine_and_chinese_to_whisper(service: Service, speech: list[bytes]) -> None:
    recognizer = remote_recognizer(service_socket(service.settings))
    assert recognizer.name == "moonshine" and recognizer.language == "en"
    stream = recognizer.open_stream(8000)
    hyp = stream.finish(speech[0])
    assert hyp.engine == "moonshine" and "parcel" in hyp.text.lower()
    assert stream.set_language("zh")
    assert stream.finish(speech[0]).engine == "whisper"  # routed by the call's language, per segment
    stats = RemoteBackend(service_socket(service.settings)).stats()
    assert stats["decoders"] == 2 and stats["done"] >= 2 and "whisper" in stats["loaded"]


def test_bad_requests_get_a_precise_error(service: Service) -> None:
    backend = RemoteBackend(service_socket(service.settings))
    reply = backend.call({"op": "final", "rate": 11025, "language": "en"}, b"\x00\x00" * 100)
    assert reply["error"] == "bad_request" and "11025" in reply["message"]
    assert backend.call({"op": "dance"})["error"] == "bad_request"
    assert backend.hello()["engine"] == "moonshine"  # still serving


def test_the_service_speaks_prompts_for_the_workers(service: Service, tmp_path: Path) -> None:
    """Workers' prompts that are not cached are spoken by the service's voices (one copy per node):
    several workers asking the same new sentence at once get the same audio; a prompt cache using
    it falls back to espeak-ng when the request is refused."""
    import asyncio

    from hotline.asr.remote import RemoteSynthesizer
    from hotline.ivr.prompts import PromptCache

    voice = RemoteSynthesizer(RemoteBackend(service_socket(service.settings)))
    text = "Your parcel left the depot this morning."
    with ThreadPoolExecutor(3) as pool:
        spoken = list(pool.map(lambda _: voice.synthesize("piper", "en_US-joe-medium", text, 8000), range(3)))
    assert len(spoken[0]) > 8000 * 2 * 1.0 and spoken[0] == spoken[1] == spoken[2]  # over a second, once
    heard = remote_recognizer(service_socket(service.settings)).open_stream(8000).finish(spoken[0]).text
    said = text.lower().rstrip(".").split()
    assert sum(w in heard.lower() for w in said) >= 5, heard  # of 7 words (Moonshine may hear "partial")
    with pytest.raises(Exception, match="bad_request"):
        voice.synthesize("festival", "kal", text, 8000)
    stats = RemoteBackend(service_socket(service.settings)).stats()
    assert stats["prompts_spoken"] >= 1
    cache = PromptCache(tmp_path / "prompts", rate=8000, synthesizer=voice)
    pcm = asyncio.run(cache.get("Thank you for waiting.", "en-us"))
    assert len(pcm) > 8000 and cache.cached("Thank you for waiting.", "en-us")
    broken = PromptCache(tmp_path / "broken", rate=8000, synthesizer=RemoteSynthesizer(
        RemoteBackend(tmp_path / "no-service.sock", retry_s=0.0)))
    assert len(asyncio.run(broken.get("Thank you for waiting.", "en-us"))) > 8000  # espeak-ng spoke it


def test_many_callers_at_once_all_get_their_finals(service: Service, speech: list[bytes]) -> None:
    recognizer = remote_recognizer(service_socket(service.settings))

    def one(i: int) -> str:
        hyp = recognizer.open_stream(8000).finish(speech[i % len(speech)])
        return f"{hyp.engine}: {hyp.text.lower()}"

    with ThreadPoolExecutor(12) as pool:
        texts = list(pool.map(one, range(12)))
    for i, text in enumerate(texts):
        assert text.startswith("moonshine: ") and KEYWORDS[i % len(KEYWORDS)] in text, (i, text)


def test_a_restart_mid_decode_loses_no_segment(service: Service, speech: list[bytes]) -> None:
    recognizer = remote_recognizer(service_socket(service.settings))
    long_segment = b"".join(speech) * 2  # ~12 s: still decoding when the service is killed
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            results[i] = recognizer.open_stream(8000).finish(long_segment if i == 0 else speech[i % 3]).text
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.15)
    service.stop(signal.SIGKILL)  # as a crash would
    service.start()  # the supervisor's job in production
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(results) == 4 and all(results.values()), results
    assert "parcel" in results[0].lower()
    assert isinstance(recognizer.backend, RemoteBackend) and recognizer.backend.retries > 0


def test_an_absent_service_is_overload_not_a_hang(tmp_path: Path) -> None:
    backend = RemoteBackend(tmp_path / "nobody.sock", retry_s=0.5)
    started = time.monotonic()
    with pytest.raises(AsrOverloaded):
        backend.final("s", b"\x00\x00" * 8000, 8000, "en", None)
    assert time.monotonic() - started < 5.0
    assert not os.path.exists(tmp_path / "nobody.sock")


def test_a_suspect_moonshine_decode_is_decoded_again_by_whisper(speech: list[bytes],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.asr.engines import EngineSet
    from hotline.asr.factory import AsrConfig
    from hotline.asr.moonshine_engine import MoonshineRecognizer

    engines = EngineSet(AsrConfig())
    assert engines.decode(speech[1], 8000, "en", None).engine == "moonshine"
    monkeypatch.setattr(MoonshineRecognizer, "transcribe_checked", lambda self, pcm, rate: ("loop " * 20, True))
    hyp = engines.decode(speech[1], 8000, "en", None)
    assert hyp.engine == "whisper" and "agent" in hyp.text.lower() and engines.fallbacks == 1
    assert EngineSet(AsrConfig(fallback=False)).decode(speech[1], 8000, "en", None).engine == "moonshine"
