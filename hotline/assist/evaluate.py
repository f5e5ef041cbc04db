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
from collections.abc import Sequence
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
        matcher.decide(ranked)
        outcomes.append(_Outcome(case, ranked, time.perf_counter() - start))
    return outcomes


def _metrics(matcher: Matcher, outcomes: Sequence[_Outcome]) -> dict[str, float]:
    labelled = [o for o in outcomes if o.case.article is not None]
    nulls = [o for o in outcomes if o.case.article is None]
    hits = 0
    for o in labelled:
        decision = matcher.decide(o.ranked)
        hits += decision is not None and decision.article_id == o.case.article
    in_top3 = sum(o.case.article in {a for a, _ in o.ranked[:3]} for o in labelled)
    abstained = sum(matcher.decide(o.ranked) is None for o in nulls)
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


SCORE_GRID = tuple(round(0.02 * i, 2) for i in range(0, 26))
MARGIN_GRID = tuple(round(0.01 * i, 2) for i in range(0, 16))


def tune_thresholds(kb: KnowledgeBase, cases: Sequence[Case], config: MatcherConfig | None = None,
                    matcher: Matcher | None = None) -> tuple[float, float, float]:
    """Grid-search ``(min_score, min_margin)`` maximising precision@1 + null abstain rate; returns them and the objective."""
    base = matcher or Matcher(kb, config)
    outcomes = [_Outcome(c, base.rank(c.text, c.lang, k=3), 0.0) for c in cases]
    best = (-1.0, 0.0, 0.0)
    for min_score in SCORE_GRID:
        for min_margin in MARGIN_GRID:
                probe = _with_thresholds(base, min_score, min_margin)
                m = _metrics(probe, outcomes)
                objective = m["precision_at_1"] + m["null_abstain_rate"]
                # prefer the least aggressive thresholds among ties (first found)
                if objective > best[0] + 1e-9:
                    best = (objective, min_score, min_margin)
    return best[1], best[2], best[0]


def _with_thresholds(matcher: Matcher, min_score: float, min_margin: float) -> Matcher:
    probe = object.__new__(Matcher)
    probe.__dict__.update(matcher.__dict__)
    probe.config = replace(matcher.config, min_score=min_score, min_margin=min_margin)
    return probe


def cross_validate(kb: KnowledgeBase, cases: Sequence[Case], folds: int = 5, seed: int = 7,
                   config: MatcherConfig | None = None) -> dict[str, Any]:
    """Tune thresholds on ``folds - 1`` folds, measure on the held-out fold; pooled metrics over all folds."""
    matcher = Matcher(kb, config)
    order = np.random.default_rng(seed).permutation(len(cases))
    parts = [order[i::folds] for i in range(folds)]
    held: list[_Outcome] = []
    decisions: list[bool] = []
    chosen = []
    for k in range(folds):
        test = [cases[i] for i in parts[k]]
        train = [cases[i] for j, p in enumerate(parts) if j != k for i in p]
        min_score, min_margin, _ = tune_thresholds(kb, train, matcher=matcher)
        chosen.append((min_score, min_margin))
        probe = _with_thresholds(matcher, min_score, min_margin)
        for outcome in _run(probe, test):
            held.append(outcome)
            decision = probe.decide(outcome.ranked)
            right = outcome.case.article
            decisions.append(decision is None if right is None else decision is not None and decision.article_id == right)
    labelled = [d for d, o in zip(decisions, held, strict=True) if o.case.article is not None]
    nulls = [d for d, o in zip(decisions, held, strict=True) if o.case.article is None]
    return {
        "folds": folds,
        "cv_precision_at_1": round(sum(labelled) / max(1, len(labelled)), 4),
        "cv_null_abstain_rate": round(sum(nulls) / max(1, len(nulls)), 4),
        "thresholds": chosen,
    }


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
