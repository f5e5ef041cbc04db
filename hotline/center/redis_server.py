"""The embedded redis-server used when no Redis URL is configured: a unix socket in the data
directory, AOF on with fsync every second."""

from __future__ import annotations

import shutil
from pathlib import Path

import redis.asyncio as aioredis

from hotline.system.processes import Child, ProcessError, wait_until


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.dir = (data_dir / "redis").resolve()
        self.socket = self.dir / "redis.sock"
        self.url = f"unix://{self.socket}"
        binary = shutil.which("redis-server")
        if binary is None:
            raise ProcessError("redis-server not found: install the Debian package redis-server or pass --redis URL")
        self.child = Child("redis", [
            binary, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
            "--dir", str(self.dir), "--appendonly", "yes", "--appendfsync", "everysec",
            "--save", "", "--daemonize", "no", "--loglevel", "warning",
        ], self.dir / "redis.log")

    async def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        await self.child.start()
        client = aioredis.from_url(self.url)

        async def ping() -> bool:
            try:
                return bool(await client.ping())
            except (aioredis.RedisError, OSError):
                return False

        try:
            await wait_until(ping, 10.0, "embedded redis", self.child)
        finally:
            await client.aclose()

    async def stop(self) -> None:
        await self.child.stop(timeout=10.0)
