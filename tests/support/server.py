"""Starting a real `hotline serve` for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.tools import free_port, free_port_block

REPO = Path(__file__).resolve().parents[2]


@dataclass
class ServerProcess:
    data: Path
    workers: int = 2
    flows: Path = REPO / "tests" / "e2e" / "flows"  # the telephony test flow; the demo is REPO / "flows"
    extra_args: list[str] = field(default_factory=list)
    settings_yaml: str = ""  # appended to the generated settings file
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        block = free_port_block(self.workers + 1, start=21000, end=29000)
        self.sip_port = block
        self.worker_base = block + 1
        self.rtp_base = free_port_block(100 * self.workers, start=30000, end=60000)
        self.http_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 240.0) -> ServerProcess:
        self.data.mkdir(parents=True, exist_ok=True)
        settings = self.data / "test-settings.yaml"
        settings.write_text(f"worker_base_port: {self.worker_base}\nrtp_base_port: {self.rtp_base}\n"
                            + self.settings_yaml)
        self.log = (self.data / "serve.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hotline.center.cli", "serve", "--config", str(settings),
             "--sip", f"127.0.0.1:{self.sip_port}", "--http", f"127.0.0.1:{self.http_port}",
             "--flows", str(self.flows), "--data", str(self.data), "--workers", str(self.workers),
             *self.extra_args],
            cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hotline serve exited with {self.proc.returncode}: {self.tail()}")
            try:
                health = httpx.get(f"{self.base_url}/api/health", timeout=2.0).json()
                if health.get("status") == "ok" and len(health["sip"]["workers"]) == self.workers:
                    return self
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"hotline serve not healthy after {timeout} s: {self.tail()}")

    def login(self, username: str, password: str) -> str:
        """A login token (the desk's and the QA page's)."""
        r = httpx.post(f"{self.base_url}/api/agent/login", json={"username": username, "password": password},
                       timeout=10)
        r.raise_for_status()
        return str(r.json()["token"])

    def tail(self, n: int = 4000) -> str:
        text = (self.data / "serve.log").read_text(errors="replace")[-n:]
        for log in sorted((self.data / "logs").glob("*.log")) if (self.data / "logs").is_dir() else []:
            text += f"\n--- {log.name}\n" + log.read_text(errors="replace")[-n:]
        return text

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.base_url}{path}", params=params, timeout=10.0)
        response.raise_for_status()
        return response.json()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode
