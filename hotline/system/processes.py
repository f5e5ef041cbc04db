"""Child processes the supervisor owns: start, wait until ready, stop with a timeout."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from hotline.system.errors import HotlineError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: if the supervisor is killed (even with SIGKILL), the kernel
    sends the child SIGTERM, so no worker, Kamailio or Redis outlives it holding ports."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class ProcessError(HotlineError):
    retryable = False


class Child:
    def __init__(self, name: str, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.name, self.argv, self.log_path = name, list(argv), log_path
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.restarts = 0

    async def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        logfile = self.log_path.open("ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=logfile, stderr=logfile,
                env={**os.environ, **(self.env or {})}, start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        finally:
            logfile.close()
        log.info("started", extra={"child": self.name, "pid": self.proc.pid})

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def stop(self, timeout: float = 10.0, sig: int = signal.SIGTERM) -> int | None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return proc.returncode if proc else None
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            return await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            log.warning("did not stop in time, killing", extra={"child": self.name})
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            return await proc.wait()


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float, what: str,
                     child: Child | None = None) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if child is not None and not child.running:
            raise ProcessError(f"{what}: process exited early (see {child.log_path})")
        if await check():
            return
        await asyncio.sleep(0.1)
    raise ProcessError(f"{what}: not ready after {timeout:.0f} s")
