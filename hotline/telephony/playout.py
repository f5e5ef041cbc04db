"""Prompt playout, pulled frame by frame by the media clock so it is paced in real time."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from hotline.telephony.frames import FRAME_BYTES


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
        # live audio from the other party of a bridged call: played when no prompt is queued; a
        # backlog beyond `live_max` frames (the other side's clock runs fast) drops the oldest
        self._live: deque[bytes] = deque()
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

    def push_live(self, pcm: bytes) -> None:
        """Queue one frame of the other party's audio (bridged calls)."""
        with self._lock:
            self._live.append(pcm)
            while len(self._live) > self.live_max:
                self._live.popleft()
                self.live_dropped += 1

    def next_frame(self) -> bytes | None:
        done: _Item | None = None
        with self._lock:
            if not self._items:
                if self._live:
                    self.frames_played += 1
                    return self._live.popleft()
                return None
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
