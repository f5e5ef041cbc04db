"""Where a node's speech recognition runs: the recognition service, or in each worker.

With `asr.service: true` (the default) the supervisor starts one `hotline asr-service` process;
workers reach it through a Unix socket in the data directory. Vosk keeps running inside the
workers: it streams its own partials per leg and costs little, so it gains nothing from a queue.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from hotline.asr.engines import EngineSet
from hotline.asr.factory import build_recognizer, resolve_engine
from hotline.asr.recognizer import Recognizer
from hotline.center.settings import Settings
from hotline.ivr.model import FlowSet

MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes


def flow_vocabulary(flowset: FlowSet) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p for f in flowset.flows.values() for p in f.vocabulary()))


def uses_service(settings: Settings) -> bool:
    return settings.asr.service and resolve_engine(settings.asr) != "vosk"


def service_socket(settings: Settings) -> Path:
    path = (settings.data / "run" / "asr.sock").absolute()
    if len(str(path)) <= MAX_SOCKET_PATH:
        return path
    # a deep data directory: a private directory under the temp dir, one socket per data directory
    private = Path(tempfile.gettempdir()) / f"hotline-{os.getuid()}"
    private.mkdir(mode=0o700, exist_ok=True)
    os.chmod(private, 0o700)
    return private / f"asr-{hashlib.sha256(str(path).encode()).hexdigest()[:16]}.sock"


def worker_recognizer(settings: Settings, vocabulary: tuple[str, ...]) -> Recognizer:
    if not uses_service(settings):
        return build_recognizer(settings.asr, vocabulary)
    from hotline.asr.remote import remote_recognizer

    return remote_recognizer(service_socket(settings))


def run_service(settings: Settings) -> None:
    """`hotline asr-service`: serve this node's workers until SIGTERM."""
    from hotline.asr.service import scheduler_config, serve
    from hotline.center.worker import flows_state_dir
    from hotline.ivr.registry import ActiveFlows

    vocabulary = flow_vocabulary(ActiveFlows(flows_state_dir(settings), settings.flows).current())
    config = scheduler_config(settings.asr.decoders, settings.asr.max_queued)
    engines = EngineSet(settings.asr, vocabulary, config.decoders)
    asyncio.run(serve(engines, config, service_socket(settings)))


async def service_stats(settings: Settings) -> dict[str, Any] | None:
    """The service's queue and timings for /api/health; None when it does not answer."""
    from hotline.asr.remote import RemoteBackend

    try:
        return await asyncio.get_running_loop().run_in_executor(
            None, RemoteBackend(service_socket(settings)).stats)
    except Exception:
        return None
