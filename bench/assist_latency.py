"""Match latency of the knowledge matcher on a synthetic 1,000-article knowledge base.

Articles recombine service-desk vocabulary with a fixed seed; queries recombine the same
vocabulary with fillers. Prints JSON: model load, index build (first and cached rebuild) time and match latency
p50 / p95 / max (ms).

    python -m bench.assist_latency [--articles 1000] [--queries 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence

import numpy as np

from hotline.assist.embed import shared_encoder
from hotline.assist.kb import Article, KnowledgeBase
from hotline.assist.matcher import Matcher

SUBJECTS = ("parcel", "package", "locker", "courier", "refund", "invoice", "claim", "label", "pickup",
            "return", "customs", "address", "signature", "insurance", "tracking", "delivery", "account")
PROBLEMS = ("delayed", "damaged", "missing", "stuck", "refused", "expired", "lost", "overcharged",
            "misdelivered", "cancelled", "late", "wet", "broken", "opened", "blocked", "held")
PLACES = ("depot", "hub", "service point", "neighbour", "porch", "post office", "warehouse", "shop",
          "office", "branch", "abroad", "border", "station", "garage")
ACTIONS = ("check", "open a trace", "reschedule", "refund", "escalate", "update", "verify", "collect",
           "redirect", "confirm", "cancel", "extend", "replace", "photograph")
FILLERS = ("um", "uh", "yeah", "so", "like", "basically", "i mean", "right")
ZH = ("包裹", "快递", "柜子", "退款", "发票", "理赔", "地址", "签收", "保价", "物流", "延误", "破损",
      "丢件", "取件码", "网点", "海关", "关税", "改约", "投诉", "上门")


def synthetic_kb(n: int, seed: int) -> KnowledgeBase:
    rng = random.Random(seed)
    articles = []
    for i in range(n):
        subject, problem, place = rng.choice(SUBJECTS), rng.choice(PROBLEMS), rng.choice(PLACES)
        tags = tuple(rng.sample(SUBJECTS + PROBLEMS + PLACES, 6))
        script = " ".join(
            f"If the {rng.choice(SUBJECTS)} is {rng.choice(PROBLEMS)} at the {rng.choice(PLACES)}, "
            f"I will {rng.choice(ACTIONS)} it for you." for _ in range(4)
        )
        steps = tuple(f"{rng.choice(ACTIONS).capitalize()} the {rng.choice(SUBJECTS)}." for _ in range(5))
        zh_words = rng.sample(ZH, 6)
        articles.append(Article(
            id=f"article-{i:04d}",
            titles={"en": f"{subject.capitalize()} {problem} at the {place}", "zh": "".join(zh_words[:2])},
            tags={"en": tags, "zh": tuple(zh_words[2:])},
            scripts={"en": script, "zh": "，".join(rng.sample(ZH, 8)) + "。"},
            steps={"en": steps},
        ))
    return KnowledgeBase(tuple(articles), source="synthetic")


def synthetic_queries(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed + 1)
    queries = []
    for _ in range(n):
        if rng.random() < 0.2:
            queries.append(("".join(rng.sample(ZH, 3)) + "怎么办", "zh"))
            continue
        words = [rng.choice(FILLERS), "my", rng.choice(SUBJECTS), "is", rng.choice(PROBLEMS), "at the",
                 rng.choice(PLACES), "can you", rng.choice(ACTIONS), "it"]
        queries.append((" ".join(words[: rng.randint(4, len(words))]), "en"))
    return queries


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    kb = synthetic_kb(args.articles, args.seed)
    start = time.perf_counter()
    encoder = shared_encoder()  # once per process
    load_ms = (time.perf_counter() - start) * 1000.0
    start = time.perf_counter()
    matcher = Matcher(kb)
    build_ms = (time.perf_counter() - start) * 1000.0
    start = time.perf_counter()
    Matcher(kb)  # a hot reload: sentence vectors come from the encoder's cache
    rebuild_ms = (time.perf_counter() - start) * 1000.0
    queries = synthetic_queries(args.queries, args.seed)
    context = ("my parcel is late", "it was at the depot")
    times = []
    for i, (text, lang) in enumerate(queries):
        ctx = context if i % 2 and lang == "en" else ()
        t0 = time.perf_counter()
        matcher.match(text, lang, ctx)
        times.append((time.perf_counter() - t0) * 1000.0)
    ms = np.array(times)
    print(json.dumps({
        "articles": len(kb), "queries": len(queries),
        "encoder": encoder.backend if encoder is not None else "none (lexical only)",
        "model_load_ms": round(load_ms, 1), "build_ms": round(build_ms, 1), "rebuild_ms": round(rebuild_ms, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "max_ms": round(float(ms.max()), 3),
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
