"""Redaction cost per utterance (hotline.qa.redact), printed as JSON.

    python -m bench.redact
"""

from __future__ import annotations

import json
import statistics
import time

from hotline.qa.redact import CallRedactor, Redactor

UTTERANCES = [
    "yeah hi i'm calling about my parcel it arrived damaged",
    "um my card is four one one one, uh, one one one one, one one one one, one one one one, it expires in May",
    "call me on +44 20 7946 0958 or mail john dot smith at example dot com about parcel 12345678",
    "我的包裹坏了 电话是13812345678",
    "the code on the back is one two three",
]


def main() -> None:
    redactor = Redactor()
    per: list[float] = []
    for _ in range(200):
        call = CallRedactor(redactor, "en")
        for text in UTTERANCES:
            start = time.perf_counter()
            call.redact(text)
            per.append((time.perf_counter() - start) * 1000)
    per.sort()
    print(json.dumps({"utterances": len(per), "p50_ms": round(statistics.median(per), 4),
                      "p95_ms": round(per[int(0.95 * (len(per) - 1))], 4), "max_ms": round(per[-1], 4)}))


if __name__ == "__main__":
    main()
