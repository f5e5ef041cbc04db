"""Prompt playout, pulled frame by frame by the media clock so it is paced in real time."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hotline.telephony.frames import FRAME_BYTES


def mix(frames: list[bytes], size: int) -> bytes:
    """Frames of 16-bit PCM summed sample by sample, clipped to the int16 range, `size` bytes long
    (a shorter frame counts as silence at its end)."""
    if len(frames) == 1 and len(frames[0]) == size:
        return frames[0]
    total = np.zeros(size // 2, dtype=np.int32)
    for pcm in frames:
        n = min(len(pcm), size) // 2
        total[:n] += np.frombuffer(pcm, dtype=np.int16, count=n)
    return bytes(np.clip(total, -32768, 32767).astype(np.int16).tobytes())


@dataclass(slots=True)
class _Item:
    prompt_id: str
    pcm: bytes
    on_done: Callable[[str, bool], None] | None  # (prompt_id, interrupted)
    open: bool = False  # more audio is being rendered for it: not done when `pcm` runs out


class Playout:
    """Thread-safe queue of PCM prompts; `next_frame` is called from the media thread.

    Completion callbacks run on whatever thread calls `next_frame`/`stop`/`finish`; the SIP layer
    wraps them with `loop.call_soon_threadsafe`.

    A prompt can start before all of it is rendered (a prompt with variables, sentence by
    sentence): `hold_open(id)` before `play(id, first_part)`, then `append(id, part)` as parts
    arrive and `finish(id)` after the last. While it waits for a part the caller hears silence and
    the prompts queued behind it wait too; `stop` drops it with whatever was still to come.
    """

    def __init__(self, frame_bytes: int = FRAME_BYTES) -> None:
        self._frame = frame_bytes
        self._lock = threading.Lock()
        self._items: deque[_Item] = deque()
        self._opening: set[str] = set()
        self._pos = 0
        self.frames_played = 0
        self.frames_starved = 0  # frames an open prompt had nothing for (its next part was late)
        # live audio from the other parties of a bridged call (the caller or the agent, a supervisor),
        # one queue per source: played when no prompt is queued, each tick one frame from every
        # source mixed, so one party's audio never waits behind another's; a backlog beyond
        # `live_max` frames in a source (its clock runs fast) drops that source's oldest
        self._live: dict[str, deque[bytes]] = {}
        self.live_max = 10
        self.live_dropped = 0

    @property
    def playing(self) -> bool:
        with self._lock:
            return bool(self._items)

    def play(self, prompt_id: str, pcm: bytes, on_done: Callable[[str, bool], None] | None = None) -> None:
        with self._lock:
            held = prompt_id in self._opening
            self._opening.discard(prompt_id)
            self._items.append(_Item(prompt_id, pcm, on_done, held))

    def hold_open(self, prompt_id: str) -> None:
        """The next `play` of `prompt_id` is only its beginning: it lasts until `finish`."""
        with self._lock:
            self._opening.add(prompt_id)

    def append(self, prompt_id: str, pcm: bytes) -> bool:
        """Add audio to an open prompt; False when it is no longer queued (stopped), so the
        caller can stop rendering the rest."""
        with self._lock:
            for item in self._items:
                if item.prompt_id == prompt_id and item.open:
                    item.pcm += pcm
                    return True
        return False

    def finish(self, prompt_id: str) -> None:
        """No more audio for `prompt_id`: it is done when what it has is played."""
        done: _Item | None = None
        with self._lock:
            self._opening.discard(prompt_id)
            for item in self._items:
                if item.prompt_id == prompt_id and item.open:
                    item.open = False
                    if item is self._items[0] and self._pos >= len(item.pcm):
                        done = self._items.popleft()
                        self._pos = 0
                    break
        if done and done.on_done:
            done.on_done(done.prompt_id, False)

    def stop(self) -> None:
        """Drop everything queued; each dropped prompt reports interrupted=True."""
        with self._lock:
            items, self._items, self._pos = list(self._items), deque(), 0
            self._opening.clear()
        for item in items:
            if item.on_done:
                item.on_done(item.prompt_id, True)

    def push_live(self, pcm: bytes, source: str = "") -> None:
        """Queue one frame of another party's audio (bridged calls); frames of different `source`s
        playing at the same time are mixed."""
        with self._lock:
            queue = self._live.get(source)
            if queue is None:
                queue = self._live[source] = deque()
            queue.append(pcm)
            while len(queue) > self.live_max:
                queue.popleft()
                self.live_dropped += 1

    def drop_live(self, source: str) -> None:
        """Forget what a source still had queued (it left the call)."""
        with self._lock:
            self._live.pop(source, None)

    def next_frame(self) -> bytes | None:
        done: _Item | None = None
        with self._lock:
            if not self._items:
                frames = [queue.popleft() for queue in self._live.values() if queue]
                if not frames:
                    return None
                self.frames_played += 1
                return mix(frames, self._frame)
            item = self._items[0]
            if item.open and len(item.pcm) - self._pos < self._frame:
                self.frames_starved += 1  # a whole frame or nothing: the next part continues it
                return None
            chunk = item.pcm[self._pos : self._pos + self._frame]
            self._pos += self._frame
            if self._pos >= len(item.pcm) and not item.open:
                done = self._items.popleft()
                self._pos = 0
            self.frames_played += 1
        if done and done.on_done:
            done.on_done(done.prompt_id, False)
        if len(chunk) < self._frame:
            chunk = chunk + b"\x00" * (self._frame - len(chunk))
        return chunk
