"""Scheduling recognition across every call of a node: shortest job first, a fast lane, aging.

Measured before this existed (24 simulated callers, Moonshine, decoding in arrival order): the
CPU was two-thirds idle, yet short answers waited 1.5 s behind 10-15 s monologues. Decoding cost
follows the segment's length, so the scheduler knows each job's size before it starts:

- finals are taken shortest first; a job's priority improves with its wait (`aging`), so a long
  segment is delayed, never starved;
- with two or more decoders one is a fast lane: at most `decoders - 1` slow jobs (long finals and
  partials) run at a time, so a short answer that arrives while they decode starts at once;
- partials are optional: they run only when nothing else decodes, give way between decoder steps
  to a final that arrives (`hotline.asr.preempt`; Moonshine's steps are tokens), and are
  dropped when they could not start within `partial_wait_s` or a newer request of the same stream
  arrived (measured: without the lane rule, partials raised the finals' queue wait p95 from 7 to
  470 ms at 8 callers);
- the queue is bounded: beyond `max_queued` waiting finals a new one is refused with AsrOverloaded
  (the IVR then asks for keys; the post-call transcript still covers the audio).

Decoders are threads; the engines release the GIL while they compute (onnxruntime, CTranslate2),
so N threads keep N cores busy without a model copy each.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from hotline.asr.preempt import Preempted, preemptible
from hotline.asr.recognizer import AsrOverloaded
from hotline.system import metrics

Kind = Literal["final", "partial"]


class Skipped(Exception):
    """A partial that was dropped (no CPU to spare, or superseded): not an error."""


@dataclass(eq=False)
class Job:
    stream: str
    kind: Kind
    seconds: float  # audio length: the cost estimate
    work: Callable[[], Any]
    submitted: float = 0.0
    future: Future[Any] = field(default_factory=Future)
    started: float = 0.0


@dataclass(frozen=True)
class SchedulerConfig:
    decoders: int = 2
    max_queued: int = 16
    long_s: float = 4.0  # a job this long or longer does not use the fast lane
    aging: float = 2.0  # seconds of audio a job's priority gains per second of waiting
    partial_wait_s: float = 0.3


def _percentile(values: deque[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Scheduler:
    def __init__(self, config: SchedulerConfig | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config or SchedulerConfig()
        self._clock = clock
        self._cond = threading.Condition()
        self._finals: list[Job] = []
        self._partials: dict[str, Job] = {}  # newest waiting partial per stream
        self._running: list[Job] = []
        self._closed = False
        self.done = 0
        self.refused = 0
        self.partials_done = 0
        self.partials_dropped = 0
        self.partials_preempted = 0  # stopped between decoder steps for a final
        self.failed = 0
        self._waits: deque[float] = deque(maxlen=500)  # finals: seconds from submit to start
        self._decodes: deque[float] = deque(maxlen=500)
        self._threads = [threading.Thread(target=self._loop, name=f"decoder-{i}", daemon=True)
                         for i in range(max(1, self.config.decoders))]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job) -> Future[Any]:
        with self._cond:
            job.submitted = self._clock()
            if job.kind == "partial":
                older = self._partials.pop(job.stream, None)
                if older is not None:
                    self._drop(older)
                self._partials[job.stream] = job
            else:
                older = self._partials.pop(job.stream, None)  # the final makes its partial pointless
                if older is not None:
                    self._drop(older)
                if len(self._finals) >= self.config.max_queued:
                    self.refused += 1
                    metrics.recognition_refused().inc()
                    job.future.set_exception(AsrOverloaded(f"{len(self._finals)} segments waiting for recognition"))
                    return job.future
                self._finals.append(job)
                metrics.recognition_queue().set(len(self._finals))
            self._cond.notify()
        return job.future

    def _drop(self, job: Job) -> None:
        self.partials_dropped += 1
        job.future.set_exception(Skipped())

    def _pick(self) -> Job | None:
        """The next job for a free decoder, or None (caller holds the lock)."""
        now = self._clock()
        cfg = self.config
        # slow jobs (long finals, partials) leave one decoder free for short answers
        lane_open = cfg.decoders < 2 or sum(1 for j in self._running if self._slow(j)) < cfg.decoders - 1
        if self._finals:
            candidates = [j for j in self._finals if lane_open or j.seconds < cfg.long_s]
            if candidates:
                job = min(candidates, key=lambda j: (j.seconds - cfg.aging * (now - j.submitted), j.submitted))
                self._finals.remove(job)
                metrics.recognition_queue().set(len(self._finals))
                return job
            return None
        for stream, job in list(self._partials.items()):
            if now - job.submitted > cfg.partial_wait_s:
                del self._partials[stream]
                self._drop(job)
        # a partial starts only on an idle service: a decode cannot be interrupted, and a final that
        # arrived behind a running partial waited for it (p95 of finals at 24 callers 815 ms with
        # partials on any free decoder, 691 ms without partials)
        if self._partials and not self._running:
            job = min(self._partials.values(), key=lambda j: j.submitted)
            del self._partials[job.stream]
            return job
        return None

    def _final_waits(self) -> bool:
        return bool(self._finals)  # read without the lock: a list's truth is one atomic look

    def _slow(self, job: Job) -> bool:
        return job.kind == "partial" or job.seconds >= self.config.long_s

    def _loop(self) -> None:
        while True:
            with self._cond:
                job = self._pick()
                while job is None:
                    if self._closed:
                        return
                    # partials expire and the fast lane reopens without a notify: look again soon
                    self._cond.wait(0.05 if self._partials else None)
                    job = self._pick()
                job.started = self._clock()
                self._running.append(job)
            error: BaseException | None = None
            try:
                if job.kind == "partial":
                    with preemptible(self._final_waits):
                        result = job.work()
                else:
                    result = job.work()
            except Preempted:
                error, result = Skipped(), None
            except BaseException as exc:  # the waiting call sees it; the decoder goes on
                error, result = exc, None
            with self._cond:  # counted before the caller hears back, so stats never lag a result
                self._running.remove(job)
                if isinstance(error, Skipped):
                    self.partials_preempted += 1
                elif error is not None:
                    self.failed += 1
                elif job.kind == "final":
                    self.done += 1
                    self._waits.append(job.started - job.submitted)
                    self._decodes.append(self._clock() - job.started)
                    metrics.recognition_seconds().observe(self._clock() - job.submitted)
                else:
                    self.partials_done += 1
                self._cond.notify_all()
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result)

    def stats(self) -> dict[str, Any]:
        with self._cond:
            return {
                "decoders": len(self._threads),
                "queued": len(self._finals),
                "queued_partials": len(self._partials),
                "running": len(self._running),
                "max_queued": self.config.max_queued,
                "done": self.done,
                "refused": self.refused,
                "failed": self.failed,
                "partials_done": self.partials_done,
                "partials_dropped": self.partials_dropped,
                "partials_preempted": self.partials_preempted,
                "wait_ms_p50": round(_percentile(self._waits, 0.5) * 1000, 1),
                "wait_ms_p95": round(_percentile(self._waits, 0.95) * 1000, 1),
                "decode_ms_p50": round(_percentile(self._decodes, 0.5) * 1000, 1),
                "decode_ms_p95": round(_percentile(self._decodes, 0.95) * 1000, 1),
            }

    def close(self) -> None:
        """Decoders finish what is queued, then stop."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
