"""Prometheus metrics, correct across the supervisor, the app, the SIP workers and the recogniser.

Every hotline process writes its samples to memory-mapped files in one directory
(``prometheus_client``'s multiprocess mode); the app's ``/metrics`` reads them all. The directory
is chosen by :func:`enable` in the supervisor before any child starts (children inherit the
environment variable), and must be set before ``prometheus_client`` is first imported in a
process: metrics here are therefore created lazily, on first use, never at import time.

Without :func:`enable` (unit tests, tools) the metrics still work, in the process's own registry.
Names follow Prometheus conventions: ``hotline_`` prefix, ``_total`` counters, ``_seconds``.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram
    from prometheus_client.metrics_core import Metric

log = logging.getLogger(__name__)

DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
WAIT_BUCKETS = (1.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def enable(directory: Path) -> None:
    """Collect every process's samples under ``directory`` (emptied: a new run starts from zero)."""
    if "prometheus_client" in sys.modules and os.environ.get(DIR_ENV) != str(directory):
        log.warning("metrics: prometheus_client loaded before the multiprocess directory was set")
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[DIR_ENV] = str(directory)


def multiprocess() -> bool:
    return bool(os.environ.get(DIR_ENV))


def process_gone(pid: int) -> None:
    """A child died: its live gauges (active calls...) stop counting."""
    if not multiprocess():
        return
    from prometheus_client import multiprocess as mp

    mp.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def exposition(edge: Mapping[str, int] | None = None) -> tuple[bytes, str]:
    """The text to serve on ``/metrics`` and its content type: every process's samples, and the
    SIP edge's decision counters as read from Kamailio (``edge``: counter name -> total)."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client import multiprocess as mp

    if multiprocess():
        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    body = generate_latest(registry)
    if edge:
        extra = CollectorRegistry()
        extra.register(_EdgeCounters(edge))
        body += generate_latest(extra)
    return body, CONTENT_TYPE_LATEST


class _EdgeCounters:
    """Kamailio's own counters, exported as one labelled counter family at scrape time."""

    def __init__(self, values: Mapping[str, int]) -> None:
        self.values = values

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily

        decisions = CounterMetricFamily("hotline_edge_decisions", "SIP edge decisions (Kamailio), by kind",
                                        labels=("decision",))
        replies = CounterMetricFamily("hotline_edge_replies", "SIP replies from the edge, by class: sent by "
                                      "the edge itself, or final answers of relayed transactions",
                                      labels=("sender", "class"))
        for name, value in sorted(self.values.items()):
            group, _, stat = name.rpartition(":")
            if not group:
                decisions.add_metric((name.removeprefix("edge_"),), value)
            elif group in ("sl", "tmx"):
                replies.add_metric(("edge" if group == "sl" else "relayed", stat.split("_")[0]), value)
        yield decisions
        yield replies


def _counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
    from prometheus_client import Counter

    return Counter(name, doc, labels)


def _gauge(name: str, doc: str, labels: tuple[str, ...] = (), mode: str = "livesum") -> Gauge:
    from prometheus_client import Gauge

    return Gauge(name, doc, labels, multiprocess_mode=mode)  # type: ignore[arg-type]


def _histogram(name: str, doc: str, buckets: tuple[float, ...], labels: tuple[str, ...] = ()) -> Histogram:
    from prometheus_client import Histogram

    return Histogram(name, doc, labels, buckets=buckets)


# --- calls (SIP workers, WebRTC intake) ------------------------------------------------------------
@functools.cache
def calls_active() -> Gauge:
    return _gauge("hotline_calls_active", "Calls in progress, by channel", ("channel",))


@functools.cache
def calls_total() -> Counter:
    return _counter("hotline_calls", "Calls ended, by channel and how the IVR ended", ("channel", "outcome"))


@functools.cache
def frames_dropped() -> Counter:
    return _counter("hotline_frames_dropped", "Caller audio frames dropped before recognition")


# --- ACD (app) -------------------------------------------------------------------------------------
@functools.cache
def acd_waiting() -> Gauge:
    return _gauge("hotline_acd_waiting", "Calls waiting in the ACD, by queue, when scraped", ("queue",),
                  mode="mostrecent")


@functools.cache
def acd_wait_seconds() -> Histogram:
    return _histogram("hotline_acd_wait_seconds", "Time from queueing to answer or abandonment",
                      WAIT_BUCKETS, ("queue", "outcome"))


@functools.cache
def agents_by_state() -> Gauge:
    return _gauge("hotline_agents", "Agents by presence state, when scraped", ("state",), mode="mostrecent")


# --- recognition (recogniser service or worker) ----------------------------------------------------
@functools.cache
def recognition_seconds() -> Histogram:
    return _histogram("hotline_recognition_seconds", "Time from an utterance's end to its transcript "
                      "(queue wait and decoding)", LATENCY_BUCKETS)


@functools.cache
def recognition_queue() -> Gauge:
    return _gauge("hotline_recognition_queue", "Utterances waiting for the recogniser")


@functools.cache
def recognition_refused() -> Counter:
    return _counter("hotline_recognition_refused", "Utterances the recogniser refused (overload)")


# --- the rest ----------------------------------------------------------------------------------------
@functools.cache
def worker_restarts() -> Counter:
    return _counter("hotline_worker_restarts", "Child processes restarted by the supervisor", ("child",))


@functools.cache
def assist_match_seconds() -> Histogram:
    return _histogram("hotline_assist_match_seconds", "Knowledge matching time per caller utterance",
                      LATENCY_BUCKETS)


@functools.cache
def events_dropped() -> Counter:
    return _counter("hotline_events_dropped", "Call events the publisher could not deliver")
