"""The per-leg stream in front of the recognition service: when it asks for partials, that it
never waits for one, and that a partial of a closed segment is never shown (a fake backend
behind the DecodeBackend protocol; the real service is tested in test_recognition_service)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future

from hotline.asr.recognizer import Hypothesis
from hotline.asr.scheduled import PARTIAL_EVERY_S, PARTIAL_MIN_S, ScheduledRecognizer

RATE = 8000
SECOND = b"\x00\x00" * RATE


class FakeBackend:
    def __init__(self) -> None:
        self.partials: list[tuple[int, Future[Hypothesis]]] = []  # (audio bytes, pending result)
        self.finals: list[tuple[int, str, tuple[str, ...] | None]] = []

    def final(self, stream: str, pcm: bytes, rate: int, language: str, phrases: Sequence[str] | None) -> Hypothesis:
        self.finals.append((len(pcm), language, tuple(phrases) if phrases else None))
        return Hypothesis("final text", engine="moonshine")

    def partial(self, stream: str, pcm: bytes, rate: int, language: str) -> Future[Hypothesis]:
        future: Future[Hypothesis] = Future()
        self.partials.append((len(pcm), future))
        return future


def test_partials_start_late_come_back_asynchronously_and_die_with_their_segment() -> None:
    backend = FakeBackend()
    stream = ScheduledRecognizer(backend, "en", "moonshine", "m", partials=True).open_stream(RATE)
    for _ in range(int(PARTIAL_MIN_S * 10) - 1):
        assert stream.accept(SECOND[: len(SECOND) // 10]) is None
    assert backend.partials == []  # short answers never cost a partial
    assert stream.accept(SECOND[: len(SECOND) // 10]) is None  # 2 s: the first is asked for...
    assert len(backend.partials) == 1 and backend.partials[0][0] == PARTIAL_MIN_S * len(SECOND)
    assert stream.accept(SECOND) is None  # ...and not waited for; no second one while it runs
    assert len(backend.partials) == 1
    backend.partials[0][1].set_result(Hypothesis("I want to", engine="moonshine"))
    shown = stream.accept(SECOND)
    assert shown is not None and shown.text == "I want to"
    assert len(backend.partials) == 2  # a second later in the segment, the next one
    final = stream.finish(SECOND * 5)
    assert final.text == "final text" and backend.finals == [(5 * len(SECOND), "en", None)]
    backend.partials[1][1].set_result(Hypothesis("stale"))  # arrives after its segment closed
    for _ in range(5):
        assert stream.accept(SECOND[:1600]) is None  # the new segment never shows it


def test_no_partials_when_switched_off_and_language_and_phrases_travel_with_the_final() -> None:
    backend = FakeBackend()
    stream = ScheduledRecognizer(backend, "en", "moonshine", "m", partials=False).open_stream(RATE)
    assert stream.set_language("zh")
    stream.set_phrases(("one", "two"))
    assert stream.accept(SECOND * 3) is None and backend.partials == []
    assert stream.finish(SECOND).engine == "moonshine"
    assert backend.finals == [(len(SECOND), "zh", ("one", "two"))]
    assert PARTIAL_EVERY_S >= 1.0
