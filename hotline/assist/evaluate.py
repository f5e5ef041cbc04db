"""Offline evaluation of knowledge suggestions against labelled caller utterances.

Cases are JSON lines ``{"id", "lang", "text", "article": <id or null>}``.
``python -m hotline.assist.evaluate --kb kb.yaml --cases dev.jsonl`` prints the metrics as JSON;
``--cv 5`` adds a cross-validated precision where the abstention thresholds are tuned on the
other folds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from hotline.assist.kb import KbError, KnowledgeBase, load_kb
from hotline.assist.matcher import Matcher, MatcherConfig


@dataclass(frozen=True)
class Case:
    """One labelled utterance; ``article`` is ``None`` when nothing should be suggested."""

    id: str
    lang: str
    text: str
    article: str | None


def load_cases(path: str | Path) -> list[Case]:
    """Read labelled cases from a JSON-lines file; raise ``ValueError`` with ``file:line`` on bad lines."""
    cases: list[Case] = []
    with Path(path).open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                article = raw.get("article")
                if not isinstance(raw["text"], str) or not (article is None or isinstance(article, str)):
                    raise TypeError("text must be a string and article a string or null")
                cases.append(Case(str(raw.get("id", number)), str(raw.get("lang", "en")), raw["text"], article))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"{path}:{number}: bad case: {exc}") from exc
    return cases


@dataclass(frozen=True)
class _Outcome:
    case: Case
    ranked: list[tuple[str, float]]
    seconds: float


def _run(matcher: Matcher, cases: Sequence[Case]) -> list[_Outcome]:
    outcomes = []
    for case in cases:
        start = time.perf_counter()
        ranked = matcher.rank(case.text, case.lang, k=3)
        matcher.decide(ranked, case.lang)
        outcomes.append(_Outcome(case, ranked, time.perf_counter() - start))
    return outcomes


def _metrics(matcher: Matcher, outcomes: Sequence[_Outcome]) -> dict[str, float]:
    labelled = [o for o in outcomes if o.case.article is not None]
    nulls = [o for o in outcomes if o.case.article is None]
    hits = 0
    for o in labelled:
        decision = matcher.decide(o.ranked, o.case.lang)
        hits += decision is not None and decision.article_id == o.case.article
    in_top3 = sum(o.case.article in {a for a, _ in o.ranked[:3]} for o in labelled)
    abstained = sum(matcher.decide(o.ranked, o.case.lang) is None for o in nulls)
    return {
        "precision_at_1": hits / len(labelled) if labelled else 0.0,
        "recall_at_3": in_top3 / len(labelled) if labelled else 0.0,
        "null_abstain_rate": abstained / len(nulls) if nulls else 1.0,
    }


def evaluate(kb: KnowledgeBase, cases: Sequence[Case], config: MatcherConfig | None = None) -> dict[str, Any]:
    """Metrics of the default (or given) matcher on ``cases``.

    Keys: ``precision_at_1`` (labelled cases whose suggestion is the right article; an
    abstention counts as wrong), ``recall_at_3`` (labelled cases with the right article in the
    top three, abstaining or not), ``null_abstain_rate`` (unlabelled cases with no suggestion),
    ``p50_ms`` / ``p95_ms`` (latency of one match), ``n`` (number of cases).
    """
    matcher = Matcher(kb, config)
    for case in cases[:5]:  # warm caches before timing
        matcher.rank(case.text, case.lang)
    outcomes = _run(matcher, cases)
    result: dict[str, Any] = {k: round(v, 4) for k, v in _metrics(matcher, outcomes).items()}
    ms = np.array([o.seconds * 1000.0 for o in outcomes]) if outcomes else np.zeros(1)
    result["p50_ms"] = round(float(np.percentile(ms, 50)), 3)
    result["p95_ms"] = round(float(np.percentile(ms, 95)), 3)
    result["n"] = len(cases)
    return result


SCORE_GRID = tuple(round(0.02 * i, 2) for i in range(0, 31))
MARGIN_GRID = tuple(round(0.01 * i, 2) for i in range(0, 16))
NULL_TARGET = 0.80
Thresholds = dict[str, tuple[float, float]]


def _objective(m: Mapping[str, float], labelled: int, nulls: int) -> float:
    """Precision@1 among threshold pairs that abstain on at least ``NULL_TARGET`` of null cases;
    pairs that miss the target rank below all that meet it, by correct decisions over all cases."""
    if m["null_abstain_rate"] >= NULL_TARGET - 1e-9:
        return 1.0 + m["precision_at_1"]
    correct = m["precision_at_1"] * labelled + m["null_abstain_rate"] * nulls
    return correct / max(1, labelled + nulls)


def tune_thresholds(kb: KnowledgeBase, cases: Sequence[Case], config: MatcherConfig | None = None,
                    matcher: Matcher | None = None) -> tuple[Thresholds, float]:
    """Grid-search ``(min_score, min_margin)`` per language on ``cases`` (see :func:`_objective`).

    Returns the thresholds per language and the mean objective. Among ties the least
    aggressive (lowest) thresholds win.
    """
    base = matcher or Matcher(kb, config)
    outcomes = [_Outcome(c, base.rank(c.text, c.lang, k=3), 0.0) for c in cases]
    chosen: Thresholds = {}
    total = 0.0
    for lang in sorted({c.lang for c in cases}):
        mine = [o for o in outcomes if o.case.lang == lang]
        labelled = sum(o.case.article is not None for o in mine)
        best = (-1.0, 0.0, 0.0)
        for min_score in SCORE_GRID:
            for min_margin in MARGIN_GRID:
                probe = _with_thresholds(base, {lang: (min_score, min_margin)})
                objective = _objective(_metrics(probe, mine), labelled, len(mine) - labelled)
                if objective > best[0] + 1e-9:
                    best = (objective, min_score, min_margin)
        chosen[lang] = (best[1], best[2])
        total += best[0]
    return chosen, total / max(1, len(chosen))


def _with_thresholds(matcher: Matcher, thresholds: Mapping[str, tuple[float, float]]) -> Matcher:
    probe = object.__new__(Matcher)
    probe.__dict__.update(matcher.__dict__)
    merged = {**matcher.config.language_thresholds, **thresholds}
    probe.config = replace(matcher.config, language_thresholds=merged)
    return probe


def cross_validate(kb: KnowledgeBase, cases: Sequence[Case], folds: int = 5, seed: int = 7,
                   config: MatcherConfig | None = None) -> dict[str, Any]:
    """Tune thresholds on ``folds - 1`` folds, measure on the held-out fold; pooled metrics over all folds.

    Folds are stratified by language and by labelled / null, so each fold sees some of each.
    """
    matcher = Matcher(kb, config)
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in range(folds)]
    offset = 0
    for key in sorted({(c.lang, c.article is None) for c in cases}):
        members = [i for i, c in enumerate(cases) if (c.lang, c.article is None) == key]
        for j, i in enumerate(rng.permutation(members).tolist()):
            parts[(j + offset) % folds].append(i)
        offset += len(members)
    held: list[_Outcome] = []
    chosen = []
    probes: list[Matcher] = []
    for k in range(folds):
        test = [cases[i] for i in parts[k]]
        train = [cases[i] for j, p in enumerate(parts) if j != k for i in p]
        thresholds, _ = tune_thresholds(kb, train, matcher=matcher)
        chosen.append(thresholds)
        probe = _with_thresholds(matcher, thresholds)
        for outcome in _run(probe, test):
            held.append(outcome)
            probes.append(probe)
    result: dict[str, Any] = {"folds": folds}
    for lang in [None, *sorted({c.lang for c in cases})]:
        pairs = [(p, o) for p, o in zip(probes, held, strict=True) if lang is None or o.case.lang == lang]
        labelled = [p.decide(o.ranked, o.case.lang) for p, o in pairs if o.case.article is not None]
        wanted = [o.case.article for _, o in pairs if o.case.article is not None]
        nulls = [p.decide(o.ranked, o.case.lang) is None for p, o in pairs if o.case.article is None]
        hits = sum(d is not None and d.article_id == w for d, w in zip(labelled, wanted, strict=True))
        suffix = "" if lang is None else f"_{lang}"
        result[f"cv_precision_at_1{suffix}"] = round(hits / max(1, len(labelled)), 4)
        result[f"cv_null_abstain_rate{suffix}"] = round(sum(nulls) / max(1, len(nulls)), 4) if nulls else None
    result["thresholds"] = chosen
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print evaluation metrics as JSON."""
    parser = argparse.ArgumentParser(prog="hotline assist eval", description=__doc__.splitlines()[0])
    parser.add_argument("--kb", required=True, help="knowledge base YAML")
    parser.add_argument("--cases", required=True, help="labelled utterances, JSON lines")
    parser.add_argument("--cv", type=int, default=0, metavar="K", help="also report K-fold cross-validation")
    args = parser.parse_args(argv)
    try:
        kb = load_kb(args.kb)
        cases = load_cases(args.cases)
    except (KbError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = evaluate(kb, cases)
    if args.cv > 1:
        result["cross_validation"] = cross_validate(kb, cases, folds=args.cv)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
