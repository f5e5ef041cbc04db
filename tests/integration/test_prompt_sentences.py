"""A prompt with variables in Piper's voice, rendered sentence by sentence as a call plays it: the
first sentence is ready for a fraction of the whole's work, and the sentences together last about
as long as the whole."""

from __future__ import annotations

import time
from pathlib import Path

from hotline.ivr.piper_voice import piper_installed
from hotline.ivr.prompts import PromptCache

READ_BACK = "I heard 4 7 2 1 5 5 0 9. If that is right, press 1 or say yes. If not, press 2 or say no."


async def test_the_first_sentence_costs_a_fraction_of_the_whole(tmp_path: Path) -> None:
    assert piper_installed()
    await PromptCache(tmp_path / "warm").get("The voice is loaded once.")
    whole = PromptCache(tmp_path / "whole")
    cpu = time.process_time()  # Piper runs on a thread of this process: other processes' load does not count
    pcm = await whole.get(READ_BACK)
    whole_cpu = time.process_time() - cpu

    parts = PromptCache(tmp_path / "parts")
    pieces = parts.pieces(READ_BACK)
    assert pieces == ["I heard 4 7 2 1 5 5 0 9.", "If that is right, press 1 or say yes.", "If not, press 2 or say no."]
    cpu = time.process_time()
    first = await parts.get(pieces[0])
    first_cpu = time.process_time() - cpu
    rest = [await parts.get(p) for p in pieces[1:]]
    assert first_cpu < 0.6 * whole_cpu, (first_cpu, whole_cpu)
    assert 0.85 * len(pcm) <= len(first) + sum(map(len, rest)) <= 1.2 * len(pcm)
    assert parts.pieces(pieces[0]) == [pieces[0]]  # rendered once, then played from the cache
