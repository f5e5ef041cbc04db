"""Prompts with variables start with their first sentence while the rest is rendered: the
playout's open prompts, sentence splitting, and the call session putting them together."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from hotline.asr.vad import VadConfig
from hotline.center.session import CallSession, SessionDeps
from hotline.ivr.actions import Play
from hotline.ivr.loader import parse_flow_text
from hotline.ivr.model import FlowSet
from hotline.ivr.piper_voice import PiperVoices
from hotline.ivr.prompts import PromptCache, split_sentences
from hotline.telephony.frames import FRAME_BYTES, FrameQueue
from hotline.telephony.playout import Playout
from hotline.telephony.sip.call import CallInfo

TEXT = ("Parcel 1 2 3 4 5 6 7 8 is out for delivery today. It is expected between 2 and 4 pm. "
        "Is there anything else?")


def test_sentences() -> None:
    assert split_sentences(TEXT) == ["Parcel 1 2 3 4 5 6 7 8 is out for delivery today.",
                                     "It is expected between 2 and 4 pm.", "Is there anything else?"]
    # a short first sentence is the quickest first audio; titles, decimals and abbreviations stay whole
    assert split_sentences("Done. Your parcel comes on Monday.") == ["Done.", "Your parcel comes on Monday."]
    assert split_sentences("Dr. Smith paid 3.50 pounds, e.g. by card. Thanks a lot!") == [
        "Dr. Smith paid 3.50 pounds, e.g. by card.", "Thanks a lot!"]
    assert split_sentences("包裹 1 2 3 已派送。预计送达时间 下午两点到四点。") == ["包裹 1 2 3 已派送。", "预计送达时间 下午两点到四点。"]
    assert split_sentences("  ") == []


def test_an_open_prompt_waits_for_its_parts_and_ends_after_finish() -> None:
    done: list[tuple[str, bool]] = []
    p = Playout()
    p.hold_open("a")
    p.play("a", b"\x01" * FRAME_BYTES, lambda pid, intr: done.append((pid, intr)))
    p.play("b", b"\x03" * FRAME_BYTES, lambda pid, intr: done.append((pid, intr)))
    assert p.next_frame() == b"\x01" * FRAME_BYTES
    assert p.next_frame() is None and p.playing and done == []  # the next part is late: silence, not "b"
    assert p.frames_starved == 1
    assert p.append("a", b"\x02" * (FRAME_BYTES + 10))
    assert p.next_frame() == b"\x02" * FRAME_BYTES
    assert p.next_frame() is None  # 10 bytes: not a whole frame while more may come
    p.finish("a")
    assert p.next_frame() == b"\x02" * 10 + b"\x00" * (FRAME_BYTES - 10)
    assert done == [("a", False)]
    assert p.next_frame() == b"\x03" * FRAME_BYTES and done[-1] == ("b", False)


def test_finishing_a_drained_open_prompt_ends_it_at_once() -> None:
    done: list[tuple[str, bool]] = []
    p = Playout()
    p.hold_open("a")
    p.play("a", b"\x01" * FRAME_BYTES, lambda pid, intr: done.append((pid, intr)))
    p.next_frame()
    p.finish("a")
    assert done == [("a", False)] and not p.playing


def test_stop_drops_an_open_prompt_and_what_was_still_to_come() -> None:
    done: list[tuple[str, bool]] = []
    p = Playout()
    p.hold_open("a")
    p.play("a", b"\x01" * FRAME_BYTES * 5, lambda pid, intr: done.append((pid, intr)))
    p.next_frame()
    p.stop()
    assert done == [("a", True)]
    assert not p.append("a", b"\x02" * FRAME_BYTES)  # the renderer stops here
    p.finish("a")
    assert p.next_frame() is None and done == [("a", True)]
    p.play("a", b"\x01" * FRAME_BYTES)  # a later prompt of the same id is not held open
    p.next_frame()
    assert not p.playing


class SlowPrompts(PromptCache):
    """Renders `len(text)` frames of audio, taking 1 ms per character, and remembers what it rendered."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.rendered: list[str] = []

    async def get(self, text: str, voice: str | None = None) -> bytes:
        await asyncio.sleep(len(text) / 1000)
        self.rendered.append(text)
        return bytes([len(self.rendered)]) * (FRAME_BYTES * len(text))


class FakeLeg:
    def __init__(self) -> None:
        self.info = CallInfo("call-1", "sip:caller@test", "sip:hotline@test")
        self.frames = FrameQueue()
        self.playout = Playout()
        self.dtmf: asyncio.Queue[object] = asyncio.Queue()
        self.disconnected = asyncio.Event()
        self.media_ready = asyncio.Event()
        self.disconnect_reason = ""
        self.on_prompt_done = None
        self.done: list[tuple[str, bool]] = []

    def play(self, prompt_id: str, pcm: bytes) -> None:
        self.playout.play(prompt_id, pcm, lambda pid, intr: self.done.append((pid, intr)))

    def stop_playback(self) -> None:
        self.playout.stop()


class FakeRecognizer:
    name = "fake"
    language = "en"
    restricts_to_phrases = False


def session(tmp_path: Path, prompts: PromptCache) -> CallSession:
    flows = FlowSet({"main": parse_flow_text("flow: main\nstart: a\nnodes:\n  a: {type: hangup, prompt: Bye.}\n",
                                             "main.yaml")})
    deps = SessionDeps(flows=lambda: flows, flow="main", recognizer=FakeRecognizer(),  # type: ignore[arg-type]
                       prompts=prompts, store=None, publisher=None,  # type: ignore[arg-type]
                       worker_id="w1", vad=VadConfig(), data_dir=tmp_path)
    return CallSession(FakeLeg(), deps)  # type: ignore[arg-type]


async def test_a_prompt_with_variables_starts_with_its_first_sentence(tmp_path: Path) -> None:
    prompts = SlowPrompts(tmp_path)
    call = session(tmp_path, prompts)
    leg: FakeLeg = call.leg  # type: ignore[assignment]
    await call._apply([Play("p1", TEXT)])
    first, second, third = split_sentences(TEXT)
    assert prompts.rendered == [first] and leg.playout.playing  # playing before the rest is rendered
    heard = b""
    while not leg.done:  # the media clock, a frame every millisecond
        heard += leg.playout.next_frame() or b""
        await asyncio.sleep(0.001)
    assert prompts.rendered == [first, second, third] and leg.done == [("p1", False)]
    assert heard == b"".join(bytes([i]) * FRAME_BYTES * len(t) for i, t in enumerate((first, second, third), 1))


async def test_barge_in_stops_rendering_the_rest(tmp_path: Path) -> None:
    prompts = SlowPrompts(tmp_path)
    call = session(tmp_path, prompts)
    leg: FakeLeg = call.leg  # type: ignore[assignment]
    await call._apply([Play("p1", TEXT)])
    leg.stop_playback()
    await asyncio.sleep(0.2)
    assert leg.done == [("p1", True)] and len(prompts.rendered) == 2  # the one being rendered, no more
    assert not leg.playout.playing


async def test_a_cached_prompt_plays_whole(tmp_path: Path) -> None:
    prompts = SlowPrompts(tmp_path)
    prompts.cached = lambda text, voice=None: True  # type: ignore[method-assign]
    call = session(tmp_path, prompts)
    await call._apply([Play("p1", TEXT)])
    assert prompts.rendered == [TEXT]


def test_preloading_a_voice_never_waits_for_a_synthesis() -> None:
    """`PromptCache.get` preloads Piper's voice on the event loop: it must not block there while
    another prompt is being synthesised (the call's frames would back up and be dropped)."""
    voices = PiperVoices()
    synthesising, done = threading.Event(), threading.Event()

    def synthesis() -> None:
        with voices._lock:
            synthesising.set()
            done.wait(2.0)

    worker = threading.Thread(target=synthesis)
    worker.start()
    synthesising.wait()
    started = time.monotonic()
    voices.preload("no-such-voice")  # loads on a thread, which waits for the lock and gives up
    voices.preload("no-such-voice")
    waited = time.monotonic() - started
    done.set()
    worker.join()
    assert waited < 0.05
