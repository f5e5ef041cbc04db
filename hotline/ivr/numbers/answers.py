"""Yes and no in English and Chinese ("yeah that's right", "not correct", "是的", "不对")."""

from __future__ import annotations

import re
import unicodedata

from hotline.ivr.numbers.text import is_chinese, normalise

_EN_YES_WORDS = frozenset({
    "yes", "yeah", "yea", "yep", "yup", "ya", "correct", "right", "sure", "ok", "okay", "alright",
    "affirmative", "true", "absolutely", "definitely", "exactly", "indeed",
})  # fmt: skip
_EN_PLAIN_YES = frozenset({"yes", "yeah", "yea", "yep", "yup", "ya"})  # nobody says "not yes"
_EN_NO_WORDS = frozenset({"no", "nope", "nah", "wrong", "incorrect", "negative", "false"})
_EN_NEGATORS = frozenset({"not", "never"})
_EN_YES_PHRASES = ("uh huh", "mm hmm", "mhm", "no problem", "no worries")
_EN_NEUTRAL_PHRASES = ("no idea", "not sure")
_EN_CLAUSE = re.compile(r"[.,;:!?]+")
_EN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


# True when one of the three words before words[i] negates it ("not right", "isn't correct").
def _en_negated(words: list[str], i: int) -> bool:
    return any(w in _EN_NEGATORS or w.endswith("n't") for w in words[max(0, i - 3) : i])


def _en_yes_no(text: str) -> bool | None:
    yes = no = False
    for clause in _EN_CLAUSE.split(normalise(text)):
        plain = f" {' '.join(_EN_WORD.findall(clause))} "
        for phrase in _EN_YES_PHRASES + _EN_NEUTRAL_PHRASES:
            if f" {phrase} " in plain:
                yes = yes or phrase in _EN_YES_PHRASES
                plain = plain.replace(f" {phrase} ", " ")
        words = plain.split()
        for i, word in enumerate(words):
            negated = _en_negated(words, i)
            if word in _EN_YES_WORDS:
                if negated and word not in _EN_PLAIN_YES:
                    no = True
                else:
                    yes = True
            elif word in _EN_NO_WORDS:
                if negated and word != "no":
                    yes = True  # "not wrong"
                else:
                    no = True
    if no:
        return False
    return True if yes else None


_ZH_YES = ("是的", "是", "对的", "对", "没错", "没问题", "不错", "好的", "好", "正确", "可以", "行", "确认")
_ZH_NO = ("不正确", "不是", "不对", "不行", "不可以", "不要", "不用", "不好", "错了", "错", "不", "否")
_ZH_NEUTRAL = ("不确定", "不知道", "不清楚", "你好", "好像", "对不起")
# longest phrase first, so that "不是" is read before "不" and "没错" before "错"
_ZH_ANSWERS: tuple[tuple[str, bool | None], ...] = tuple(
    sorted(
        [(p, True) for p in _ZH_YES] + [(p, False) for p in _ZH_NO] + [(p, None) for p in _ZH_NEUTRAL],
        key=lambda entry: -len(entry[0]),
    )
)


def _zh_yes_no(text: str) -> bool | None:
    text = unicodedata.normalize("NFKC", text)
    yes = no = False
    i = 0
    while i < len(text):
        for phrase, meaning in _ZH_ANSWERS:
            if text.startswith(phrase, i):
                yes = yes or meaning is True
                no = no or meaning is False
                i += len(phrase)
                break
        else:
            i += 1
    english = _en_yes_no(text) if re.search(r"[A-Za-z]", text) else None  # "OK" in Chinese speech
    if no or english is False:
        return False
    return True if yes or english else None


def yes_no(text: str, language: str = "en") -> bool | None:
    """True for a yes ("yeah", "that's right", "是的"), False for a no, None when neither.

    A negation wins over a yes in the same answer: "no that's not right" and "not correct" are False.
    """
    return _zh_yes_no(text) if is_chinese(language) else _en_yes_no(text)
