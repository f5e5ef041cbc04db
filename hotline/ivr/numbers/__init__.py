"""Numbers and yes/no answers in speech-recogniser output.

Whisper and Vosk write a spoken number in many ways: "one two three", "1 2 3.", "123-456",
"double five", "twenty three", "一百零五". These helpers turn such text into digits, a quantity
or a confirmation. They are pure functions of the text and a language code; any language that
is not Chinese ("zh", "zh-CN", "cmn", "yue") is read as English.

Modules: `english` and `chinese` (number words as digit groups), `digits` (`spoken_digits`,
`spoken_number`, `DIGIT_WORDS`), `answers` (`yes_no`); the vocabularies are shared with QA redaction.
"""

from __future__ import annotations

from hotline.ivr.numbers.answers import yes_no
from hotline.ivr.numbers.chinese import ZH_DIGITS, ZH_NOT_NUMBERS
from hotline.ivr.numbers.digits import DIGIT_WORDS, spoken_digits, spoken_number
from hotline.ivr.numbers.english import EN_HOMOPHONES, EN_OH, EN_REPEAT, EN_TEENS, EN_TENS, EN_UNITS

__all__ = [
    "DIGIT_WORDS",
    "EN_HOMOPHONES",
    "EN_OH",
    "EN_REPEAT",
    "EN_TEENS",
    "EN_TENS",
    "EN_UNITS",
    "ZH_DIGITS",
    "ZH_NOT_NUMBERS",
    "spoken_digits",
    "spoken_number",
    "yes_no",
]
