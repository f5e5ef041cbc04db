"""Spoken digits and quantities, whatever the language: the public readers of numbers."""

from __future__ import annotations

from hotline.ivr.numbers.chinese import zh_groups
from hotline.ivr.numbers.english import EnParser, en_tokens
from hotline.ivr.numbers.text import is_chinese

# what a question for spoken digits listens for, per language: hints for Whisper (without them it
# writes "seven eight" as "M&A"), the words of Vosk's grammar, what makes Moonshine's digits suspect
DIGIT_WORDS = {"en": ("zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
               "zh": ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九")}


def _groups(text: str, language: str) -> list[str]:
    if is_chinese(language):
        return zh_groups(text)
    return EnParser(en_tokens(text)).groups()


def spoken_digits(text: str, language: str = "en") -> str:
    """The digit string a caller spoke, e.g. "one two three" -> "123", "double five" -> "55".

    Digit words, Arabic digits and compounds ("twenty three" -> "23") are joined in order; all
    other words, letters and punctuation are dropped. Returns "" when there are no digits.
    """
    return "".join(_groups(text, language))


def spoken_number(text: str, language: str = "en") -> int | None:
    """The first quantity in the text ("twenty three" -> 23, "3" -> 3, "三" -> 3), or None."""
    groups = _groups(text, language)
    return int(groups[0]) if groups else None
