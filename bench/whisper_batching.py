"""Does batching Whisper segments (one encoder pass for several callers) pay on this machine?

Decodes N human telephone prompts one after another and as one batch, and prints JSON with both
times and whether the texts agree.

    python -m bench.whisper_batching [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from bench.asr_accuracy import SOUNDS, telephone_path
from hotline.asr.models import whisper_model_path
from hotline.asr.whisper_batch import WhisperBatcher

PROMPTS = ["please-try-again", "agent-loginok", "conf-onlyperson", "vm-goodbye", "auth-thankyou", "pbx-invalid"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    from faster_whisper import WhisperModel

    model = WhisperModel(str(whisper_model_path()), device="cpu", compute_type="int8", cpu_threads=args.threads)
    batcher = WhisperBatcher(model, "en", max_batch=len(PROMPTS))
    audio = [np.frombuffer(telephone_path(SOUNDS / f"{n}.wav"), np.int16).astype(np.float32) / 32768
             for n in PROMPTS]
    from hotline.asr.whisper_batch import _Job

    batcher._decode_batch([_Job(audio[0], None)])
    rows = []
    for n in (1, 2, 4, len(PROMPTS)):
        jobs = [_Job(a, None) for a in audio[:n]]
        t0 = time.perf_counter()
        one_by_one = [batcher._decode_batch([job])[0] for job in jobs]
        t1 = time.perf_counter()
        together = batcher._decode_batch(jobs)
        t2 = time.perf_counter()
        rows.append({"segments": n, "sequential_s": round(t1 - t0, 2), "batched_s": round(t2 - t1, 2),
                     "speedup": round((t1 - t0) / (t2 - t1), 2), "same_text": one_by_one == together})
    print(json.dumps({"benchmark": "whisper_batching", "cpu_threads": args.threads, "device": "cpu",
                      "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
