"""Offline evaluation of knowledge suggestions against labelled caller utterances.

Cases are JSON lines ``{"id", "lang", "text", "article": <id or null>}``; a null article means
nothing should be suggested. ``python -m hotline.assist.evaluate --kb kb.yaml --cases dev.jsonl``
prints the metrics as JSON; ``--cv 5 [--seed 7]`` adds cross-validated figures where the
abstention thresholds are tuned on the other folds; ``--tune`` prints thresholds tuned on all cases.

Metrics (a "card" is a suggestion shown to the agent, i.e. :meth:`Matcher.decide` did not abstain):

* ``precision_at_1``: among labelled cases that get a card, the share whose card is the labelled
  article (classical precision; 0 when no card is shown). Always read it with the next two.
* ``answered_rate``: labelled cases that get a card / labelled cases.
* ``accuracy_at_1``: labelled cases whose card is right / labelled cases (an abstention counts
  as wrong), i.e. ``precision_at_1 * answered_rate``.
* ``recall_at_3``: labelled cases with the right article among the three best ranked, whether
  or not a card is shown (ranking quality, independent of abstention).
* ``null_abstain_rate``: null cases with no card / null cases (1 when there are none).
* ``p50_ms`` / ``p95_ms``: latency of one rank + decide; ``n``: number of cases.

Each key is also given per language with a ``_<lang>`` suffix (``accuracy_at_1_zh``). With
``--cv K`` the ``cross_validation`` object has the same figures prefixed ``cv_``, measured on
the held-out folds with thresholds tuned on the others.
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
from hotline.assist.lexicon import NO_INTENT_EN, NO_INTENT_ZH
from hotline.assist.matcher import Matcher, MatcherConfig

NO_INTENT = {"en": NO_INTENT_EN, "zh": NO_INTENT_ZH}


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


def _rates(answered: int, hits: int, labelled: int, null_abstained: int, nulls: int) -> dict[str, float]:
    return {
        "precision_at_1": hits / answered if answered else 0.0,
        "answered_rate": answered / labelled if labelled else 0.0,
        "accuracy_at_1": hits / labelled if labelled else 0.0,
        "null_abstain_rate": null_abstained / nulls if nulls else 1.0,
    }


def _metrics(matcher: Matcher, outcomes: Sequence[_Outcome]) -> dict[str, float]:
    labelled = [o for o in outcomes if o.case.article is not None]
    nulls = [o for o in outcomes if o.case.article is None]
    answered = hits = 0
    for o in labelled:
        decision = matcher.decide(o.ranked, o.case.lang)
        answered += decision is not None
        hits += decision is not None and decision.article_id == o.case.article
    in_top3 = sum(o.case.article in {a for a, _ in o.ranked[:3]} for o in labelled)
    abstained = sum(matcher.decide(o.ranked, o.case.lang) is None for o in nulls)
    rates = _rates(answered, hits, len(labelled), abstained, len(nulls))
    return {
        "precision_at_1": rates["precision_at_1"],
        "answered_rate": rates["answered_rate"],
        "accuracy_at_1": rates["accuracy_at_1"],
        "recall_at_3": in_top3 / len(labelled) if labelled else 0.0,
        "null_abstain_rate": rates["null_abstain_rate"],
    }


def _latency(outcomes: Sequence[_Outcome]) -> dict[str, float]:
    ms = np.array([o.seconds * 1000.0 for o in outcomes]) if outcomes else np.zeros(1)
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3)}


def languages_of(cases: Sequence[Case]) -> list[str]:
    return sorted({c.lang for c in cases})


def evaluate(kb: KnowledgeBase, cases: Sequence[Case], config: MatcherConfig | None = None,
             matcher: Matcher | None = None) -> dict[str, Any]:
    """Metrics of the default (or given) matcher on ``cases``; see the module docstring for the keys.

    Overall keys, then the same per language with a ``_<lang>`` suffix (``accuracy_at_1_en``...).
    """
    matcher = matcher or Matcher(kb, config)
    for case in cases[:5]:  # warm caches before timing
        matcher.rank(case.text, case.lang)
    outcomes = _run(matcher, cases)
    result: dict[str, Any] = {}
    for lang in [None, *languages_of(cases)]:
        part = [o for o in outcomes if lang is None or o.case.lang == lang]
        suffix = "" if lang is None else f"_{lang}"
        metrics = {k: round(v, 4) for k, v in _metrics(matcher, part).items()} | _latency(part)
        result.update({f"{k}{suffix}": v for k, v in metrics.items()})
        result[f"n{suffix}"] = len(part)
    return result


SCORE_GRID = tuple(round(0.02 * i, 2) for i in range(0, 31))
MARGIN_GRID = tuple(round(0.02 * i, 2) for i in range(0, 8))
RELATIVE_GRID = (0.0, 0.01, 0.02, 0.03, 0.05, 0.075, *(round(0.05 * i, 2) for i in range(2, 13)))
# score scales differ by scorer (cosine + lexical sits around 0.7-1.1): the grid also takes
# quantiles of the tuning cases' own best scores and margins, rounded
QUANTILES = 40
# a wrong card costs the agent's trust more than a missing one, and held-out data does worse than
# the tuning folds: aim above the 0.92 goal (5-fold CV on dev: 0.95 here gave ~0.94 held-out)
PRECISION_TARGET = 0.95
NULL_TARGET = 0.85
Thresholds = dict[str, tuple[float, float, float]]


def _objective(m: Mapping[str, float]) -> tuple[int, float, float]:
    """Larger is better: answered rate among operating points with ``precision_at_1 >=
    PRECISION_TARGET`` and ``null_abstain_rate >= NULL_TARGET``; then, meeting only the null
    target, precision; then, meeting neither, the null abstain rate (ties by precision)."""
    if m["null_abstain_rate"] >= NULL_TARGET - 1e-9:
        if m["precision_at_1"] >= PRECISION_TARGET - 1e-9:
            return 2, m["answered_rate"], m["precision_at_1"]
        return 1, m["precision_at_1"], m["answered_rate"]
    return 0, m["null_abstain_rate"], m["precision_at_1"]


def _top_two(outcome: _Outcome) -> tuple[float, float]:
    best = outcome.ranked[0][1] if outcome.ranked else 0.0
    second = outcome.ranked[1][1] if len(outcome.ranked) > 1 else 0.0
    return best, second


def _grid_search(outcomes: Sequence[_Outcome]) -> tuple[tuple[float, float, float], tuple[int, float, float]]:
    """The best ``(min_score, min_margin, min_relative_margin)`` for ``outcomes`` by :func:`_objective`,
    vectorised over the grid; the rule is :func:`~hotline.assist.matcher.passes`."""
    pairs = np.array([_top_two(o) for o in outcomes], dtype=np.float64).reshape(-1, 2)
    best, margin = pairs[:, 0], pairs[:, 0] - pairs[:, 1]
    labelled = np.array([o.case.article is not None for o in outcomes], dtype=bool)
    right = np.array([bool(o.ranked) and o.ranked[0][0] == o.case.article for o in outcomes], dtype=bool) & labelled
    n_labelled, n_nulls = int(labelled.sum()), int((~labelled).sum())
    score_grid = _candidates(SCORE_GRID, best, 0.0, 1.0)
    margin_grid = _candidates(MARGIN_GRID, margin, 0.0, 0.9)
    chosen: tuple[tuple[float, float, float], tuple[int, float, float]] = ((0.0, 0.0, 0.0), (-1, 0.0, 0.0))
    for min_score in score_grid:
        by_score = (best > 0.0) & (best >= min_score)
        for min_margin in margin_grid:
            by_margin = by_score & (margin >= min_margin)
            for min_relative in RELATIVE_GRID:
                shown = by_margin & (margin >= min_relative * best)
                rates = _rates(int((shown & labelled).sum()), int((shown & right).sum()), n_labelled,
                               int((~shown & ~labelled).sum()), n_nulls)
                value = _objective(rates)
                if value > chosen[1]:  # ties keep the earlier, least aggressive thresholds
                    chosen = ((min_score, min_margin, min_relative), value)
    return chosen


def _candidates(fixed: Sequence[float], values: np.ndarray, low: float, high: float) -> list[float]:
    if not len(values):
        return list(fixed)
    found = np.round(np.quantile(values, np.linspace(low, high, QUANTILES + 1)), 3)
    return sorted({*fixed, *(float(v) for v in found)})


def no_intent_cases(cases: Sequence[Case]) -> list[Case]:
    """Generic small talk (greetings, thanks, line checks) as extra null cases for tuning, in each
    language of ``cases``: a tuning set may have few null sentences in a language (the dev set has
    one in Chinese), and a floor must still keep small talk from getting a card."""
    langs = set(languages_of(cases))
    return [Case(f"no-intent-{lang}-{i}", lang, text, None)
            for lang, texts in NO_INTENT.items() if lang in langs for i, text in enumerate(texts)]


def tune_thresholds(kb: KnowledgeBase, cases: Sequence[Case], config: MatcherConfig | None = None,
                    matcher: Matcher | None = None) -> tuple[Thresholds, dict[str, tuple[int, float, float]]]:
    """Grid-search ``(min_score, min_margin, min_relative_margin)`` per language on ``cases``.

    Per language, on ``cases`` plus :func:`no_intent_cases`: the thresholds that answer the most
    labelled cases while keeping
    ``precision_at_1 >= PRECISION_TARGET`` and ``null_abstain_rate >= NULL_TARGET`` (see
    :func:`_objective`). Returns the thresholds and the objective value per language.
    """
    base = matcher or Matcher(kb, config)
    outcomes = [_Outcome(c, base.rank(c.text, c.lang, k=3), 0.0) for c in [*cases, *no_intent_cases(cases)]]
    chosen: Thresholds = {}
    values: dict[str, tuple[int, float, float]] = {}
    for lang in sorted({c.lang for c in cases}):
        chosen[lang], values[lang] = _grid_search([o for o in outcomes if o.case.lang == lang])
    return chosen, values


def _with_thresholds(matcher: Matcher, thresholds: Mapping[str, tuple[float, ...]]) -> Matcher:
    probe = object.__new__(Matcher)
    probe.__dict__.update(matcher.__dict__)
    merged = {**matcher.config.language_thresholds, **thresholds}
    probe.config = replace(matcher.config, language_thresholds=merged)
    return probe


def folds_of(cases: Sequence[Case], folds: int, seed: int) -> list[list[int]]:
    """Case indexes per fold, stratified by language and by labelled / null."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in range(folds)]
    offset = 0
    for key in sorted({(c.lang, c.article is None) for c in cases}):
        members = [i for i, c in enumerate(cases) if (c.lang, c.article is None) == key]
        for j, i in enumerate(rng.permutation(members).tolist()):
            parts[(j + offset) % folds].append(i)
        offset += len(members)
    return parts


def cross_validate(kb: KnowledgeBase, cases: Sequence[Case], folds: int = 5, seed: int = 7,
                   config: MatcherConfig | None = None, matcher: Matcher | None = None) -> dict[str, Any]:
    """Tune thresholds on ``folds - 1`` folds, measure on the held-out fold; pooled metrics over all folds.

    Folds are stratified by language and by labelled / null, so each fold sees some of each.
    Keys ``cv_precision_at_1``, ``cv_answered_rate``, ``cv_accuracy_at_1``,
    ``cv_null_abstain_rate`` (``None`` without null cases), then the same per language with a
    ``_<lang>`` suffix, and the thresholds chosen in each fold.
    """
    matcher = matcher or Matcher(kb, config)
    parts = folds_of(cases, folds, seed)
    held: list[_Outcome] = []
    chosen = []
    probes: list[Matcher] = []
    for k in range(folds):
        test = [cases[i] for i in parts[k]]
        train = [cases[i] for j, p in enumerate(parts) if j != k for i in p]
        thresholds, _ = tune_thresholds(kb, train, matcher=matcher)
        chosen.append(thresholds)
        probe = _with_thresholds(matcher, thresholds)
        matcher.forget_utterances()  # held-out latency without the tuning pass's cached scores
        for outcome in _run(probe, test):
            held.append(outcome)
            probes.append(probe)
    result: dict[str, Any] = {"folds": folds, "seed": seed}
    for lang in [None, *languages_of(cases)]:
        pairs = [(p, o) for p, o in zip(probes, held, strict=True) if lang is None or o.case.lang == lang]
        labelled = [(p.decide(o.ranked, o.case.lang), o.case.article) for p, o in pairs if o.case.article is not None]
        nulls = [p.decide(o.ranked, o.case.lang) is None for p, o in pairs if o.case.article is None]
        answered = sum(d is not None for d, _ in labelled)
        hits = sum(d is not None and d.article_id == w for d, w in labelled)
        rates = _rates(answered, hits, len(labelled), sum(nulls), len(nulls))
        in_top3 = sum(o.case.article in {a for a, _ in o.ranked[:3]} for _, o in pairs if o.case.article is not None)
        suffix = "" if lang is None else f"_{lang}"
        for name in ("precision_at_1", "answered_rate", "accuracy_at_1"):
            result[f"cv_{name}{suffix}"] = round(rates[name], 4)
        result[f"cv_null_abstain_rate{suffix}"] = round(rates["null_abstain_rate"], 4) if nulls else None
        result[f"cv_recall_at_3{suffix}"] = round(in_top3 / len(labelled), 4) if labelled else 0.0
        result.update({f"cv_{k}{suffix}": v for k, v in _latency([o for _, o in pairs]).items()})
        result[f"cv_n{suffix}"] = len(pairs)
    result["thresholds"] = chosen
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print evaluation metrics as JSON."""
    parser = argparse.ArgumentParser(prog="hotline assist eval", description=__doc__.splitlines()[0])
    parser.add_argument("--kb", required=True, help="knowledge base YAML")
    parser.add_argument("--cases", required=True, help="labelled utterances, JSON lines")
    parser.add_argument("--cv", type=int, default=0, metavar="K", help="also report K-fold cross-validation")
    parser.add_argument("--seed", type=int, default=7, help="fold assignment seed for --cv")
    parser.add_argument("--tune", action="store_true", help="also print the thresholds tuned on all cases")
    args = parser.parse_args(argv)
    try:
        kb = load_kb(args.kb)
        cases = load_cases(args.cases)
    except (KbError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    matcher = Matcher(kb)
    result = {"scorer": matcher.scorer, **evaluate(kb, cases, matcher=matcher)}
    if args.cv > 1:
        result["cross_validation"] = cross_validate(kb, cases, folds=args.cv, seed=args.seed, matcher=matcher)
    if args.tune:
        result["tuned_thresholds"] = tune_thresholds(kb, cases, matcher=matcher)[0]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
