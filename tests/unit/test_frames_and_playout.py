from __future__ import annotations

import asyncio

from hotline.telephony.frames import FRAME_BYTES, AudioFrame, FrameQueue
from hotline.telephony.playout import Playout


async def test_frame_queue_drops_oldest_and_counts() -> None:
    q = FrameQueue(maxsize=3)
    for i in range(5):
        q.put_nowait(AudioFrame(b"\x00" * FRAME_BYTES, i))
    q.close()
    seqs = [f.seq async for f in q]
    assert seqs == [2, 3, 4]
    assert q.dropped == 2 and q.received == 5


async def test_frame_queue_close_when_full_keeps_frames() -> None:
    q = FrameQueue(maxsize=2)
    q.put_nowait(AudioFrame(b"", 0))
    q.put_nowait(AudioFrame(b"", 1))
    q.close()
    assert [f.seq async for f in q] == [0, 1]
    assert q.dropped == 0


def test_playout_paces_by_frames_and_reports_done() -> None:
    done: list[tuple[str, bool]] = []
    p = Playout()
    p.play("a", b"\x01" * (FRAME_BYTES * 2 + 10), lambda pid, intr: done.append((pid, intr)))
    frames = [p.next_frame() for _ in range(4)]
    assert [len(f) for f in frames[:3] if f] == [FRAME_BYTES] * 3
    assert frames[2] is not None and frames[2].endswith(b"\x00")  # last partial frame padded
    assert frames[3] is None
    assert done == [("a", False)]


def test_playout_stop_interrupts() -> None:
    done: list[tuple[str, bool]] = []
    p = Playout()
    p.play("a", b"\x01" * FRAME_BYTES * 10, lambda pid, intr: done.append((pid, intr)))
    p.next_frame()
    p.stop()
    assert done == [("a", True)] and p.next_frame() is None and not p.playing


def test_event_loop_fixture_runs() -> None:
    assert asyncio.run(asyncio.sleep(0, result=1)) == 1
