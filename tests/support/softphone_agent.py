"""An agent played by an aiortc peer doing what the desk page does: log in over HTTP (a bearer token), go available
on the desk WebSocket, answer rings with a WebRTC offer, talk (a looped speech file), hang up,
wrap up, and go again. Used by the ACD end-to-end test and by bench.bridge."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer


class SoftphoneAgent:
    def __init__(self, base: str, username: str, password: str, voice: Path, talk_s: float,
                 max_calls: int = 100) -> None:
        self.base, self.username, self.password = base, username, password
        self.voice, self.talk_s, self.max_calls = voice, talk_s, max_calls
        self.calls: list[str] = []
        self.arrivals: list[float] = []  # when each audio frame from the caller arrived
        self.bridged_at: list[float] = []
        self.pc: RTCPeerConnection | None = None
        self.call_events: list[tuple[float, dict[str, Any]]] = []  # (arrival time.time(), event) while talking

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as http:
            login = await http.post("/api/auth/token", json={"username": self.username, "password": self.password})
            login.raise_for_status()
            token = login.json()["token"]
        # an API client: the bearer token goes in the handshake's header (never in the URL)
        async with websockets.connect(self.base.replace("http", "ws", 1) + "/ws/agent",
                                      additional_headers={"Authorization": f"Bearer {token}"}) as ws:
            await ws.send(json.dumps({"type": "state", "state": "available"}))
            while not stop.is_set() and len(self.calls) < self.max_calls:
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                except TimeoutError:
                    continue
                if message["type"] == "ring" and self.pc is None:
                    await self._answer(ws, message["call"])
                elif message["type"] == "answered" and self.pc is not None:
                    if "sdp" not in message:  # the caller left meanwhile
                        await self.pc.close()
                        self.pc = None
                        continue
                    await self.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "answer"))
                    self.calls.append(message["call"])
                    self.bridged_at.append(time.monotonic())
                    await self._talk(ws)
                    await self.pc.close()  # hang up: the caller gets a BYE
                    self.pc = None
                    await ws.send(json.dumps({"type": "ended", "call": message["call"]}))
                    await ws.send(json.dumps({"type": "wrapup", "call": message["call"], "disposition": "resolved",
                                              "notes": f"handled by {self.username}"}))

    async def _talk(self, ws: Any) -> None:
        """The call lasts talk_s; meanwhile the desk's call events (transcripts, suggestions) are kept."""
        end = time.monotonic() + self.talk_s
        while (left := end - time.monotonic()) > 0:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), left))
            except TimeoutError:
                break
            if message.get("type") == "call_event":
                self.call_events.append((time.time(), message["event"]))

    async def _answer(self, ws: Any, call: str) -> None:
        pc = self.pc = RTCPeerConnection()
        track = MediaPlayer(str(self.voice), loop=True).audio
        assert track is not None
        pc.addTrack(track)

        @pc.on("track")
        def on_track(incoming: Any) -> None:
            async def read() -> None:
                with contextlib.suppress(Exception):
                    while True:
                        await incoming.recv()
                        self.arrivals.append(time.monotonic())
            asyncio.ensure_future(read())

        await pc.setLocalDescription(await pc.createOffer())
        await ws.send(json.dumps({"type": "answer", "call": call, "sdp": pc.localDescription.sdp}))
