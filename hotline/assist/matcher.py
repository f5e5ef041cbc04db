"""Real-time knowledge suggestions from a caller's final transcripts.

:class:`Matcher` is pure: it indexes a :class:`~hotline.assist.kb.KnowledgeBase` once and
scores each utterance against every article, combining a word-level BM25 coverage score
(stems and concept tokens; character bigrams for Chinese) with a character n-gram TF-IDF
cosine that survives recogniser misspellings. Recent caller utterances add their scores at a
lower weight. It abstains unless the best article is both good enough and clearly ahead of
the runner-up. :class:`Suggester` keeps per-call state and never pushes the same article twice
in a row.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from hotline.assist.index import Mode, Scores, SparseIndex
from hotline.assist.kb import KnowledgeBase, article_fields
from hotline.assist.text import Analyzer, AnalyzerConfig

FIELD_WEIGHTS = {"title": 3.0, "tags": 3.0, "script": 1.0, "steps": 0.5}


@dataclass(frozen=True)
class MatcherConfig:
    """Scoring weights and abstention thresholds."""

    field_weights: Mapping[str, float] = field(default_factory=lambda: dict(FIELD_WEIGHTS))
    word_mode: Mode = "bm25"
    gram_mode: Mode = "cosine"
    word_weight: float = 0.6
    k1: float = 1.2
    b: float = 0.5
    unknown_weight: float = 0.5
    context_weights: tuple[float, ...] = (0.5, 0.25)
    min_score: float = 0.04
    min_margin: float = 0.01
    analyzer: AnalyzerConfig = field(default_factory=AnalyzerConfig)


@dataclass(frozen=True)
class Suggestion:
    """An article to show the agent: ``score`` ranks, ``confidence`` in ``[0, 1]`` is for display."""

    article_id: str
    score: float
    confidence: float


class _LanguageIndex:
    def __init__(self, ids: list[str], words: SparseIndex, grams: SparseIndex) -> None:
        self.ids = ids
        self.words = words
        self.grams = grams


class Matcher:
    """Scores utterances against a knowledge base; build once, call :meth:`match` per utterance."""

    def __init__(self, kb: KnowledgeBase, config: MatcherConfig | None = None) -> None:
        self.kb = kb
        self.config = config or MatcherConfig()
        self.analyzer = Analyzer(self.config.analyzer)
        self._indexes: dict[str, _LanguageIndex] = {}
        languages = sorted({lang for article in kb for lang in article.titles})
        for lang in languages:
            self._indexes[lang] = self._build(lang)

    def _build(self, language: str) -> _LanguageIndex:
        cfg = self.config
        ids: list[str] = []
        word_docs: list[dict[str, dict[str, float]]] = []
        gram_docs: list[dict[str, dict[str, float]]] = []
        for article in self.kb:
            if language not in article.titles and language not in article.scripts:
                continue
            ids.append(article.id)
            fields = article_fields(article, language)
            word_docs.append({f: self.analyzer.words(t, language) for f, t in fields.items()})
            gram_docs.append({f: self.analyzer.grams(t, language) for f, t in fields.items()})
        options = {"k1": cfg.k1, "b": cfg.b, "unknown_weight": cfg.unknown_weight}
        return _LanguageIndex(ids, SparseIndex(word_docs, cfg.field_weights, mode=cfg.word_mode, **options),
                              SparseIndex(gram_docs, cfg.field_weights, mode=cfg.gram_mode, **options))

    def _index_for(self, language: str) -> _LanguageIndex | None:
        lang = language.lower()
        return self._indexes.get(lang) or self._indexes.get(lang.split("-")[0].split("_")[0])

    def _utterance_scores(self, index: _LanguageIndex, text: str, language: str) -> Scores:
        w = self.config.word_weight
        scores = index.words.score(self.analyzer.words(text, language)) * w
        if w < 1.0:
            scores += index.grams.score(self.analyzer.grams(text, language)) * (1.0 - w)
        return scores

    def scores(self, text: str, language: str, context: Sequence[str] = ()) -> tuple[list[str], Scores]:
        """Article ids and their combined scores; ``context`` is earlier utterances, oldest first."""
        index = self._index_for(language)
        if index is None:
            return [], np.zeros(0)
        scores = self._utterance_scores(index, text, language)
        recent = [c for c in reversed(context) if c.strip()]
        for weight, previous in zip(self.config.context_weights, recent, strict=False):
            scores += weight * self._utterance_scores(index, previous, language)
        return index.ids, scores

    def rank(self, text: str, language: str, context: Sequence[str] = (), k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` best ``(article id, score)`` pairs, best first, whether or not they pass the thresholds."""
        ids, scores = self.scores(text, language, context)
        if not ids:
            return []
        k = min(k, len(ids))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(ids) else np.arange(len(ids))
        order = sorted(top.tolist(), key=lambda i: (-scores[i], ids[i]))
        return [(ids[i], float(scores[i])) for i in order]

    def decide(self, ranked: Sequence[tuple[str, float]]) -> Suggestion | None:
        """Apply the abstention rule to a ranking from :meth:`rank` (at least two entries for a margin)."""
        if not ranked:
            return None
        best_id, best = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        cfg = self.config
        if best < cfg.min_score or best - second < cfg.min_margin:
            return None
        return Suggestion(best_id, best, confidence(best, second, cfg.min_score, cfg.min_margin))

    def match(self, text: str, language: str, context: Sequence[str] = ()) -> Suggestion | None:
        """The article to suggest for this utterance, or ``None`` when nothing fits confidently."""
        return self.decide(self.rank(text, language, context, k=2))


def confidence(best: float, second: float, min_score: float, min_margin: float) -> float:
    """Display confidence: how far the best score clears both thresholds, squashed into ``[0, 1]``."""
    score_part = (best - min_score) / max(1e-9, 1.0 - min_score)
    margin_part = (best - second - min_margin) / max(1e-9, best)
    value = 0.5 + 0.5 * min(1.0, max(0.0, score_part)) * min(1.0, max(0.0, 2.0 * margin_part + 0.5))
    return round(min(1.0, max(0.0, value)), 4)


class Suggester:
    """Per-call wrapper: feeds recent caller utterances as context and suppresses immediate repeats."""

    def __init__(self, matcher: Matcher, language: str, history: int = 3) -> None:
        self.matcher = matcher
        self.language = language
        self._recent: deque[str] = deque(maxlen=max(0, history))
        self._last: str | None = None

    @property
    def last(self) -> str | None:
        """The article most recently pushed to the agent, if any."""
        return self._last

    def on_final(self, text: str) -> Suggestion | None:
        """Handle one final transcript; return a suggestion to push, or ``None``."""
        suggestion = self.matcher.match(text, self.language, tuple(self._recent))
        if text.strip():
            self._recent.append(text)
        if suggestion is None or suggestion.article_id == self._last:
            return None
        self._last = suggestion.article_id
        return suggestion

    def reset(self) -> None:
        """Forget the call's history (a new caller on the line)."""
        self._recent.clear()
        self._last = None
