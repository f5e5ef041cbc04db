"""Starting a real `hotline serve` for end-to-end tests.

The server's HTTP API wants a logged-in user on every route but /api/health: `login` gets a bearer
token (`POST /api/auth/token`), `get(path, token=...)` sends it, `admin_get` reads as the demo admin
(ada, whose role opens call records, tickets, flows and the knowledge report) with a token made once
per server, and `auth(token)` is the header for tests that call httpx themselves.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx

from tests.support.tools import free_port, free_port_block

REPO = Path(__file__).resolve().parents[2]
ADMIN = ("ada", "ada-demo")
# rendered prompts (keyed by text, voice and rate) shared by every test server of a run: each server
# would otherwise spend half a minute of CPU rendering the demo's prompts with Piper
SHARED_PROMPTS = Path(tempfile.gettempdir()) / f"hotline-test-prompts-{os.getpid()}"  # the demo admin (config/agents.yaml)


def auth(token: str) -> dict[str, str]:
    """The request header of a logged-in API client (tokens never go in the URL)."""
    return {"Authorization": f"Bearer {token}"}


@dataclass
class ServerProcess:
    data: Path
    workers: int = 2
    flows: Path = REPO / "tests" / "e2e" / "flows"  # the telephony test flow; the demo is REPO / "flows"
    extra_args: list[str] = field(default_factory=list)
    settings_yaml: str = ""  # appended to the generated settings file
    host: str = "127.0.0.1"  # where its SIP edge, workers and HTTP listen (a node of a cluster: 127.0.0.2...)
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        block = free_port_block(self.workers + 1, start=21000, end=29000)
        self.sip_port = block
        self.worker_base = block + 1
        self.rtp_base = free_port_block(100 * self.workers, start=30000, end=60000)
        self.http_port = free_port()
        self.base_url = f"http://{self.host}:{self.http_port}"

    def start(self, timeout: float = 240.0) -> ServerProcess:
        self.data.mkdir(parents=True, exist_ok=True)
        settings = self.data / "test-settings.yaml"
        shared = "" if "prompt_cache:" in self.settings_yaml else f"prompt_cache: {SHARED_PROMPTS}\n"
        settings.write_text(f"worker_base_port: {self.worker_base}\nrtp_base_port: {self.rtp_base}\n"
                            + shared + self.settings_yaml)
        self.log = (self.data / "serve.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hotline.center.cli", "serve", "--config", str(settings),
             "--sip", f"{self.host}:{self.sip_port}", "--http", f"{self.host}:{self.http_port}",
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
                node = health["sip"].get("node", "")  # in a cluster, health lists every node's workers
                own = [w for w in health["sip"]["workers"] if w.get("node", node) == node]
                if health.get("status") == "ok" and len(own) == self.workers:
                    return self
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"hotline serve not healthy after {timeout} s: {self.tail()}")

    def login(self, username: str, password: str) -> str:
        """A bearer token of an API client logged in as this user (send it with `auth(token)`)."""
        r = httpx.post(f"{self.base_url}/api/auth/token", json={"username": username, "password": password},
                       timeout=10)
        r.raise_for_status()
        return str(r.json()["token"])

    @cached_property
    def admin_token(self) -> str:
        """The demo admin's bearer token, made on first use (once the server and its Redis are up)."""
        return self.login(*ADMIN)

    def tail(self, n: int = 4000) -> str:
        text = (self.data / "serve.log").read_text(errors="replace")[-n:]
        for log in sorted((self.data / "logs").glob("*.log")) if (self.data / "logs").is_dir() else []:
            text += f"\n--- {log.name}\n" + log.read_text(errors="replace")[-n:]
        return text

    def get(self, path: str, token: str | None = None, **params: Any) -> Any:
        """GET a JSON route: anonymously (/api/health), or as the user of `token`."""
        response = httpx.get(f"{self.base_url}{path}", params=params, headers=auth(token) if token else None,
                             timeout=10.0)
        response.raise_for_status()
        return response.json()

    def admin_get(self, path: str, **params: Any) -> Any:
        """GET a JSON route as the demo admin (call records, tickets, flows, agents, knowledge report)."""
        return self.get(path, token=self.admin_token, **params)

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
