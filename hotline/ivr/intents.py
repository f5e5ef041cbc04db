"""Intent matching from example phrases, for open questions such as "what can I help you with?".

The method is deliberately simple so that a score can be explained to whoever writes the flow:

* text is normalised (NFKC, lower case, no punctuation) and cut into tokens: English words with
  light stemming and without stop words; Chinese characters plus adjacent-character bigrams;
* every token gets an IDF-like weight, log((N + 1) / df), where N is the number of intents and df
  the number of intents whose examples contain the token, so words that many intents share
  ("parcel", "包裹") count less than the words that tell intents apart;
* an example scores (2 * recall + precision) / 3, where recall is the share of the example's token
  weight that the caller said and precision the share of the caller's known token weight (tokens
  that occur in some example) that occurs in the examples of the example's intent; an example
  contained word for word in the utterance scores 1.0; an intent scores as its best example;
* the matcher abstains when the best score is under the threshold or when the two best intents
  are closer than the margin.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_EN_STOP = frozenset(
    """
    a an the i me my mine myself we us our you your it its this that these those there here
    is am are was were be been being to of in on at for from by with about as and or but so if
    then some any all just please hi hello hey um umm uh er erm ah oh hmm well like want wanted
    need would could can will shall should do does did have has had im ive id ill
    """.split()
)
_ZH_STOP = frozenset("的了吗呢吧啊嗯呀哦我你请")
_CONTRACTIONS = (
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'(?:s|re|ve|ll|d|m)\b"), ""),
)
_EN_WORD = re.compile(r"[a-z0-9]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_NOT_WORD = re.compile(r"[^\w]+|_")


def _is_chinese(language: str) -> bool:
    return language.strip().lower().replace("_", "-").split("-")[0] in {"zh", "cmn", "yue"}


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return text


# Light suffix stripping: parcels, tracking, arrived, deliveries, damage(d) meet their stems.
def _stem(word: str) -> str:
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "ches", "shes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) >= 6:
        word = word[:-3]
    elif word.endswith("ed") and len(word) >= 6:
        word = word[:-2]
    if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "aeioulsz":
        word = word[:-1]  # stopp(ed) -> stop
    if len(word) >= 5 and word.endswith("e"):
        word = word[:-1]  # arrive / arrived -> arriv
    if len(word) >= 5 and word.endswith("y") and word[-2] not in "aeiou":
        word = word[:-1]  # delivery / deliver -> deliver
    return word


def _en_tokens(text: str) -> list[str]:
    return [_stem(w) for w in _EN_WORD.findall(text) if w not in _EN_STOP]


def _zh_tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    for run in _CJK.finditer(text):
        out += _en_tokens(text[pos : run.start()])  # Latin words and digits between Chinese runs
        chars = run.group()
        for i, char in enumerate(chars):
            if char not in _ZH_STOP:
                out.append(char)
            if i + 1 < len(chars):
                out.append(chars[i : i + 2])
        pos = run.end()
    out += _en_tokens(text[pos:])
    return out


def tokens(text: str, language: str = "en") -> list[str]:
    """The tokens the matcher compares, in text order.

    English: stemmed words without stop words ("I never got my parcels" -> never, got, parcel).
    Chinese: characters (minus a few particles) and adjacent-character bigrams.
    """
    text = _normalise(text)
    return _zh_tokens(text) if _is_chinese(language) else _en_tokens(text)


# Text reduced for word-for-word containment checks.
def _phrase(text: str, chinese: bool) -> str:
    words = _NOT_WORD.split(_normalise(text))
    return "".join(words) if chinese else " ".join(w for w in words if w)


@dataclass(frozen=True)
class IntentMatch:
    """Result of IntentMatcher.match.

    intent is None when the matcher abstains. score is the best intent's score in 0..1 (also when
    abstaining). runner_up is the best-scoring intent other than `intent` with a score above zero,
    so when the matcher abstains it is the intent that came closest.
    """

    intent: str | None
    score: float
    runner_up: str | None


@dataclass(frozen=True)
class _Example:
    intent: str
    phrase: str
    tokens: frozenset[str]


class IntentMatcher:
    """Matches caller utterances to intents given a few example phrases per intent."""

    def __init__(
        self,
        intents: Mapping[str, Sequence[str]],
        language: str = "en",
        threshold: float = 0.5,
        margin: float = 0.1,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within 0..1, got {threshold}")
        if not 0.0 <= margin <= 1.0:
            raise ValueError(f"margin must be within 0..1, got {margin}")
        self.language = language
        self.threshold = threshold
        self.margin = margin
        self._chinese = _is_chinese(language)
        self._intents = list(intents)
        self._examples: list[_Example] = []
        for name, examples in intents.items():
            if isinstance(examples, str):
                raise ValueError(f"intent {name!r}: examples must be a list of phrases, not one string")
            for example in examples:
                phrase = _phrase(example, self._chinese)
                if not phrase:
                    raise ValueError(f"intent {name!r}: empty example {example!r}")
                self._examples.append(_Example(name, phrase, frozenset(tokens(example, language))))
        self._vocab: dict[str, frozenset[str]] = {
            name: frozenset(t for e in self._examples if e.intent == name for t in e.tokens)
            for name in self._intents
        }
        doc_freq: dict[str, int] = {}
        for vocab in self._vocab.values():
            for token in vocab:
                doc_freq[token] = doc_freq.get(token, 0) + 1
        n = len(self._intents)
        self._weights = {t: math.log((n + 1) / df) for t, df in doc_freq.items()}

    def weight(self, token: str) -> float:
        """The weight of a token; 0.0 for tokens that occur in no example."""
        return self._weights.get(token, 0.0)

    def scores(self, text: str) -> dict[str, float]:
        """Every intent's score for the utterance, in 0..1."""
        phrase = f" {_phrase(text, self._chinese)} "
        said = set(tokens(text, self.language))
        known = sum(self.weight(t) for t in said)
        result = dict.fromkeys(self._intents, 0.0)
        for example in self._examples:
            contained = (example.phrase in phrase) if self._chinese else (f" {example.phrase} " in phrase)
            if contained:
                score = 1.0
            else:
                covered = sum(self.weight(t) for t in example.tokens & said)
                if covered <= 0.0:
                    continue
                recall = covered / sum(self.weight(t) for t in example.tokens)
                explained = sum(self.weight(t) for t in self._vocab[example.intent] & said) / known
                score = (2.0 * recall + explained) / 3.0
            result[example.intent] = max(result[example.intent], score)
        return result

    def match(self, text: str) -> IntentMatch:
        """The intent the utterance asks for, or intent=None when unsure."""
        ranked = sorted(self.scores(text).items(), key=lambda item: item[1], reverse=True)
        ranked = [(name, score) for name, score in ranked if score > 0.0]
        if not ranked:
            return IntentMatch(None, 0.0, None)
        best, best_score = ranked[0]
        second_score = ranked[1][1] if len(ranked) > 1 else 0.0
        if best_score < self.threshold or best_score - second_score < self.margin:
            return IntentMatch(None, best_score, best)
        return IntentMatch(best, best_score, ranked[1][0] if len(ranked) > 1 else None)


_WORD = re.compile(r"\w+(?:'\w+)?")


def _words(text: str) -> str:
    return " " + " ".join(_WORD.findall(text.lower())) + " "


def heard(phrases: tuple[str, ...], text: str, language: str) -> bool:
    """Whether `text` contains one of the phrases (a menu option's words, a global handler's) word
    for word; Chinese, written without spaces, by substring."""
    if language.startswith("zh"):
        compact = re.sub(r"\s+", "", text.lower())
        return any(p.replace(" ", "") in compact for p in phrases if p)
    said = _words(text)
    return any(f" {' '.join(_WORD.findall(p))} " in said for p in phrases if p)


NEAR_RATIO = 0.85  # "trap my parcel" for "track my parcel" (0.90); "probably" is not "problem"
NEAR_MIN_LEN = 8  # shorter phrases ("open", "problem") must be heard exactly


def _near(phrase: list[str], said: list[str]) -> bool:
    want, got = " ".join(phrase), " ".join(said)
    if want == got:
        return True
    return len(want) >= NEAR_MIN_LEN and difflib.SequenceMatcher(None, want, got).ratio() >= NEAR_RATIO


def nearly_heard(phrases: tuple[str, ...], text: str, language: str) -> bool:
    """Whether `text` holds one of the phrases nearly: the same number of words, spelled at least
    85% alike, for phrases of eight letters or more (a recogniser's "trap my parcel" for "track my
    parcel", "redelivary"); English only: Chinese phrases are matched by substring in :func:`heard`."""
    if language.startswith("zh"):
        return False
    said = _WORD.findall(text.lower())
    for phrase in phrases:
        words = _WORD.findall(phrase.lower())
        for start in range(len(said) - len(words) + 1 if words else 0):
            if _near(words, said[start:start + len(words)]):
                return True
    return False
