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
from hotline.ivr.synthesis import LOCAL, Synthesizer

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


def worker_synthesizer(settings: Settings) -> Synthesizer:
    """Natural voices for a worker's prompts: the node's service when it runs (one copy of each
    voice model per node), else this process."""
    if not uses_service(settings):
        return LOCAL
    from hotline.asr.remote import RemoteBackend, RemoteSynthesizer

    # a prompt sentence waits for the service at most 15 s (then espeak-ng speaks it)
    return RemoteSynthesizer(RemoteBackend(service_socket(settings), retry_s=5.0, timeout_s=15.0))


def run_service(settings: Settings) -> None:
    """`hotline asr-service`: serve this node's workers until SIGTERM."""
    from hotline.asr.service import scheduler_config, serve
    from hotline.center.worker import flows_state_dir
    from hotline.ivr.registry import ActiveFlows

    flowset = ActiveFlows(flows_state_dir(settings), settings.flows).current()
    config = scheduler_config(settings.asr.decoders, settings.asr.max_queued)
    engines = EngineSet(settings.asr, flow_vocabulary(flowset), config.decoders)
    asyncio.run(serve(engines, config, service_socket(settings), natural_voices(flowset, settings.natural_voices)))


def natural_voices(flowset: FlowSet, natural: bool) -> list[tuple[str, str]]:
    """(engine, voice) of each natural voice the flows speak in: the service loads them at start,
    so the first prompt it speaks for a worker does not wait for a model to load."""
    from hotline.ivr.piper_voice import resolve_voice

    voices = {resolve_voice(f.voice(lang), natural) for f in flowset.flows.values() for lang in f.languages}
    return sorted(v for v in voices if v[0] != "espeak")


async def service_stats(settings: Settings) -> dict[str, Any] | None:
    """The service's queue and timings for /api/health; None when it does not answer."""
    from hotline.asr.remote import RemoteBackend

    try:
        return await asyncio.get_running_loop().run_in_executor(
            None, RemoteBackend(service_socket(settings)).stats)
    except Exception:
        return None
