"""The recognition scheduler's order and overload rules, with gated jobs instead of an engine."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from hotline.asr.recognizer import AsrOverloaded
from hotline.asr.scheduler import Job, Scheduler, SchedulerConfig, Skipped


class Recorder:
    def __init__(self) -> None:
        self.order: list[str] = []
        self.lock = threading.Lock()

    def job(self, name: str, seconds: float, gate: threading.Event | None = None, kind: str = "final",
            stream: str | None = None) -> Job:
        def work() -> str:
            if gate is not None:
                assert gate.wait(5.0)
            with self.lock:
                self.order.append(name)
            return name
        return Job(stream or name, kind, seconds, work)  # type: ignore[arg-type]


def blocked(scheduler: Scheduler, rec: Recorder, seconds: float = 1.0) -> tuple[threading.Event, Job]:
    """Occupy a decoder until the returned gate is set."""
    gate = threading.Event()
    job = rec.job("blocker", seconds, gate)
    scheduler.submit(job)
    wait_for(lambda: scheduler.stats()["running"] >= 1)
    return gate, job


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    event = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if check():
            return
        event.wait(0.01)
    raise AssertionError("condition not reached")


def test_shortest_segment_first() -> None:
    rec, s = Recorder(), Scheduler(SchedulerConfig(decoders=1))
    gate, _ = blocked(s, rec)
    futures = [s.submit(rec.job(name, secs)) for name, secs in (("long", 12.0), ("mid", 3.0), ("short", 0.8))]
    gate.set()
    for f in futures:
        f.result(5.0)
    assert rec.order == ["blocker", "short", "mid", "long"]
    s.close()


def test_fast_lane_keeps_one_decoder_for_short_answers() -> None:
    rec, s = Recorder(), Scheduler(SchedulerConfig(decoders=2, long_s=4.0))
    gate = threading.Event()
    first = s.submit(rec.job("long-1", 10.0, gate))
    wait_for(lambda: s.stats()["running"] == 1)
    second = s.submit(rec.job("long-2", 10.0, gate))
    # a decoder is free, but a second long job would close the fast lane: it waits
    threading.Event().wait(0.1)
    assert s.stats()["running"] == 1 and s.stats()["queued"] == 1
    short = s.submit(rec.job("short", 1.0))
    assert short.result(5.0) == "short"  # while long-1 still decodes
    assert not first.done()
    gate.set()
    first.result(5.0), second.result(5.0)
    assert rec.order == ["short", "long-1", "long-2"]
    s.close()


def clocked(config: SchedulerConfig) -> tuple[Scheduler, Recorder, list[float], threading.Event]:
    """A scheduler on a hand-moved clock (`now[0]`), its one decoder blocked until the gate is set."""
    now = [0.0]
    rec = Recorder()
    s = Scheduler(config, clock=lambda: now[0])
    gate, _ = blocked(s, rec)
    return s, rec, now, gate


def test_a_long_segment_is_delayed_never_starved() -> None:
    s, rec, now, gate = clocked(SchedulerConfig(decoders=1, aging=2.0))
    old = s.submit(rec.job("old-long", 10.0))
    now[0] = 6.0  # waited 6 s: priority 10 - 12 = -2, better than a fresh 1 s answer
    fresh = s.submit(rec.job("fresh-short", 1.0))
    gate.set()
    old.result(5.0), fresh.result(5.0)
    assert rec.order == ["blocker", "old-long", "fresh-short"]
    s.close()


def test_bounded_queue_refuses_new_finals() -> None:
    rec, s = Recorder(), Scheduler(SchedulerConfig(decoders=1, max_queued=2))
    gate, _ = blocked(s, rec)
    queued = [s.submit(rec.job(f"q{i}", 1.0)) for i in range(2)]
    refused = s.submit(rec.job("over", 1.0))
    with pytest.raises(AsrOverloaded):
        refused.result(1.0)
    gate.set()
    assert [f.result(5.0) for f in queued] == ["q0", "q1"]  # nothing queued is lost
    assert s.stats()["refused"] == 1
    s.close()


def test_partials_yield_to_finals_and_to_newer_partials() -> None:
    rec, s = Recorder(), Scheduler(SchedulerConfig(decoders=1, partial_wait_s=5.0))
    gate, _ = blocked(s, rec)
    old = s.submit(rec.job("partial-1", 3.0, kind="partial", stream="a"))
    new = s.submit(rec.job("partial-2", 4.0, kind="partial", stream="a"))
    final_b = s.submit(rec.job("final-b", 6.0, stream="b"))
    with pytest.raises(Skipped):
        old.result(1.0)  # superseded by the newer partial of the same stream
    gate.set()
    assert final_b.result(5.0) == "final-b" and new.result(5.0) == "partial-2"
    assert rec.order == ["blocker", "final-b", "partial-2"]  # the final first, although longer
    s.close()


def test_a_final_cancels_its_streams_waiting_partial() -> None:
    rec, s = Recorder(), Scheduler(SchedulerConfig(decoders=1, partial_wait_s=5.0))
    gate, _ = blocked(s, rec)
    partial = s.submit(rec.job("p", 3.0, kind="partial", stream="a"))
    final = s.submit(rec.job("f", 3.5, stream="a"))
    gate.set()
    with pytest.raises(Skipped):
        partial.result(1.0)
    assert final.result(5.0) == "f"
    s.close()


def test_stale_partials_are_dropped() -> None:
    s, rec, now, gate = clocked(SchedulerConfig(decoders=1, partial_wait_s=0.3))
    partial = s.submit(rec.job("p", 3.0, kind="partial", stream="a"))
    now[0] = 1.0
    gate.set()
    with pytest.raises(Skipped):
        partial.result(5.0)
    assert "p" not in rec.order and s.stats()["partials_dropped"] == 1
    s.close()


def test_a_failing_decode_reaches_its_caller_and_the_decoder_goes_on() -> None:
    s = Scheduler(SchedulerConfig(decoders=1))

    def boom() -> str:
        raise RuntimeError("model exploded")

    failed = s.submit(Job("a", "final", 1.0, boom))
    with pytest.raises(RuntimeError, match="exploded"):
        failed.result(5.0)
    assert s.submit(Job("b", "final", 1.0, lambda: "ok")).result(5.0) == "ok"
    assert s.stats()["failed"] == 1
    s.close()


def test_a_partial_never_takes_the_fast_lane() -> None:
    rec, s = Recorder(), Scheduler(SchedulerConfig(decoders=2, long_s=4.0, partial_wait_s=5.0))
    gate = threading.Event()
    s.submit(rec.job("partial-a", 3.0, gate, kind="partial", stream="a"))
    wait_for(lambda: s.stats()["running"] == 1)
    waiting = s.submit(rec.job("partial-b", 3.0, kind="partial", stream="b"))
    threading.Event().wait(0.1)
    assert s.stats()["running"] == 1  # the second decoder stays free for a final
    assert s.submit(rec.job("short", 1.0)).result(5.0) == "short"
    gate.set()
    assert waiting.result(5.0) == "partial-b"
    s.close()


def test_a_running_partial_gives_way_to_a_final_between_decoder_steps() -> None:
    """With one decoder busy on a partial, a final does not wait for the partial's end: the
    decoder's next step (`checkpoint`, as Moonshine calls between tokens) stops the partial."""
    from hotline.asr.preempt import checkpoint

    s = Scheduler(SchedulerConfig(decoders=1, partial_wait_s=5.0))
    steps = []
    started = threading.Event()

    def long_partial() -> str:
        started.set()
        for i in range(500):  # 5 s of 10 ms steps if nobody needs the decoder
            checkpoint()
            steps.append(i)
            threading.Event().wait(0.01)
        return "partial text"

    partial = s.submit(Job("a", "partial", 3.0, long_partial))
    assert started.wait(5.0)
    assert s.submit(Job("b", "final", 1.0, lambda: "final text")).result(2.0) == "final text"
    with pytest.raises(Skipped):
        partial.result(1.0)
    assert len(steps) < 200 and s.stats()["partials_preempted"] == 1
    checkpoint()  # outside a partial, a checkpoint never stops anything
    s.close()
