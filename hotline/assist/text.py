"""Text analysis for knowledge matching: normalisation, light stemming, concepts and character n-grams.

English text becomes stemmed content words plus concept tokens (``~parcel``); Chinese text,
written without spaces, becomes character bigrams. Both languages also yield character
n-grams, which keep a match alive when the recogniser misspells or splits a word.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from hotline.assist.lexicon import (
    CONCEPTS_EN,
    CONCEPTS_EN_EXTRA,
    CONCEPTS_ZH,
    FILLERS_EN,
    FILLERS_ZH,
    STOP_WORDS_EN,
)

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
_VOWELS = frozenset("aeiouy")

Features = dict[str, float]


def normalise(text: str) -> str:
    """NFKC, lower case, straight apostrophes."""
    return unicodedata.normalize("NFKC", text).lower().translate(_QUOTES)


def stem(word: str) -> str:
    """A light, consistent suffix stripper (plural, -ing, -ed, -ly, final e)."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if len(base) >= 4 and base[-1] == base[-2] and base[-1] not in _VOWELS | {"l", "s"}:
                base = base[:-1]
            word = base
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def english_tokens(text: str) -> list[str]:
    """Lower-case word tokens of ``text`` (apostrophes kept inside words)."""
    return _WORD.findall(normalise(text))


def _build_concepts(groups: Mapping[str, Sequence[str]]) -> tuple[dict[str, list[str]], dict[tuple[str, ...], list[str]]]:
    single: dict[str, list[str]] = {}
    phrases: dict[tuple[str, ...], list[str]] = {}
    for concept, entries in groups.items():
        token = "~" + concept
        for entry in entries:
            stems = tuple(stem(t) for t in english_tokens(entry))
            if not stems:
                continue
            bucket = single.setdefault(stems[0], []) if len(stems) == 1 else phrases.setdefault(stems, [])
            if token not in bucket:
                bucket.append(token)
    return single, phrases


def _merge(*groups: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    merged: dict[str, tuple[str, ...]] = {}
    for group in groups:
        for concept, entries in group.items():
            merged[concept] = merged.get(concept, ()) + tuple(entries)
    return merged


@dataclass(frozen=True)
class AnalyzerConfig:
    """Weights of the feature kinds; all positive."""

    concept_weight: float = 1.0
    char_ngram: tuple[int, ...] = (3, 4)
    zh_word_ngram: tuple[int, ...] = (2,)
    zh_char_ngram: tuple[int, ...] = (1, 2, 3)
    use_concepts: bool = True


class Analyzer:
    """Turns text into sparse ``term -> weight`` features for one language."""

    def __init__(self, config: AnalyzerConfig | None = None,
                 concepts: Mapping[str, Sequence[str]] | None = None,
                 concepts_zh: Mapping[str, Sequence[str]] = CONCEPTS_ZH) -> None:
        self.config = config or AnalyzerConfig()
        if concepts is None:
            concepts = _merge(CONCEPTS_EN, CONCEPTS_EN_EXTRA)
        self._single, self._phrases = _build_concepts(concepts)
        self._zh_concepts = [("~" + c, tuple(entries)) for c, entries in concepts_zh.items()]
        self._max_phrase = max((len(p) for p in self._phrases), default=1)
        self._stops = frozenset(stem(w) for w in STOP_WORDS_EN | FILLERS_EN) | STOP_WORDS_EN | FILLERS_EN

    # -- English -------------------------------------------------------------------------
    def _content_words(self, tokens: Sequence[str]) -> list[str]:
        return [t for t in tokens if t not in self._stops and not t.isdigit() or t.isdigit() and len(t) > 1]

    def _concepts(self, stems: Sequence[str]) -> list[str]:
        found: list[str] = []
        for i, s in enumerate(stems):
            found.extend(self._single.get(s, ()))
            for n in range(2, self._max_phrase + 1):
                found.extend(self._phrases.get(tuple(stems[i : i + n]), ()))
        return found

    def words(self, text: str, language: str) -> Features:
        """Word-level features: stems and concept tokens (English), character bigrams (Chinese)."""
        if language.startswith("zh"):
            zh = self._zh(text, self.config.zh_word_ngram)
            if self.config.use_concepts:
                plain = normalise(text)
                for token, entries in self._zh_concepts:
                    if any(e in plain for e in entries):
                        zh[token] = zh.get(token, 0.0) + self.config.concept_weight
            return zh
        tokens = english_tokens(text)
        stems = [stem(t) for t in tokens]
        out: Counter[str] = Counter(s for s, t in zip(stems, tokens, strict=True)
                                    if t not in self._stops and s not in self._stops)
        feats: Features = {k: float(v) for k, v in out.items()}
        if self.config.use_concepts:
            for concept in set(self._concepts(stems)):
                feats[concept] = feats.get(concept, 0.0) + self.config.concept_weight
        return feats

    def grams(self, text: str, language: str) -> Features:
        """Character n-gram features of the content words (within word boundaries)."""
        if language.startswith("zh"):
            return self._zh(text, self.config.zh_char_ngram)
        counts: Counter[str] = Counter()
        for token in self._content_words(english_tokens(text)):
            padded = f" {token.replace(chr(39), '')} "
            for n in self.config.char_ngram:
                counts.update(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
        return {k: float(v) for k, v in counts.items()}

    # -- Chinese -------------------------------------------------------------------------
    def _zh(self, text: str, sizes: Iterable[int]) -> Features:
        text = normalise(text)
        for filler in FILLERS_ZH:
            text = text.replace(filler, " ")
        counts: Counter[str] = Counter()
        for run in _CJK.findall(text):
            for n in sizes:
                counts.update(run[i : i + n] for i in range(len(run) - n + 1))
        for token in _WORD.findall(text):
            if token not in self._stops:
                counts[stem(token)] += 1
        return {k: float(v) for k, v in counts.items()}
