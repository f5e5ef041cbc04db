"""Numbers and yes/no answers in speech-recogniser output.

Whisper and Vosk write a spoken number in many ways: "one two three", "1 2 3.", "123-456",
"double five", "twenty three", "一百零五". These helpers turn such text into digits, a quantity
or a confirmation. They are pure functions of the text and a language code; any language that
is not Chinese ("zh", "zh-CN", "cmn", "yue") is read as English.
"""

from __future__ import annotations

import re
import unicodedata

# --- English -------------------------------------------------------------------------------

EN_UNITS = {
    "zero": 0, "nought": 0, "naught": 0,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
EN_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
EN_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
EN_OH = frozenset({"oh", "o"})  # zero only next to other digits ("oh one two", not "oh, I see")
EN_REPEAT = {"double": 2, "triple": 3, "treble": 3}

# "1,000" is one number; "1, 2, 3" is three (the space after the comma tells them apart)
_EN_TOKEN = re.compile(r"\d{1,3}(?:,\d{3})+(?!\d)|\d+|[a-z]+(?:'[a-z]+)?")


def _is_chinese(language: str) -> bool:
    return language.strip().lower().replace("_", "-").split("-")[0] in {"zh", "cmn", "yue"}


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'").replace("`", "'")


def _en_tokens(text: str) -> list[str]:
    return [t.replace(",", "") for t in _EN_TOKEN.findall(_normalise(text))]


def _en_digitish(token: str) -> bool:
    return token.isdigit() or token in EN_UNITS or token in EN_TEENS or token in EN_TENS


# Indexes of "oh"/"o" tokens that stand for zero: those next to a digit (or to such an "oh").
def _en_zero_ohs(tokens: list[str]) -> set[int]:
    zeros: set[int] = set()
    changed = True
    while changed:
        changed = False
        for i, tok in enumerate(tokens):
            if tok not in EN_OH or i in zeros:
                continue
            for j in (i - 1, i + 1):
                if 0 <= j < len(tokens) and (
                    _en_digitish(tokens[j]) or j in zeros or tokens[j] in EN_REPEAT
                ):
                    zeros.add(i)
                    changed = True
                    break
    return zeros


# Words a recogniser writes for a spoken digit it took for another word ("nine for one seven",
# "my number is for one one one"): read as that digit between two digits, or before a run of at
# least three, where nothing else makes sense.
EN_HOMOPHONES = {"for": "4", "fore": "4", "to": "2", "too": "2", "ate": "8", "won": "1"}


def _en_homophone_digits(tokens: list[str]) -> list[str]:
    def digit_run(start: int) -> int:
        """How many digits the digit tokens from `start` on say ("1111" says four)."""
        n, i = 0, start
        while i < len(tokens) and _en_digitish(tokens[i]):
            n += len(tokens[i]) if tokens[i].isdigit() else 1
            i += 1
        return n

    out = list(tokens)
    for i, tok in enumerate(tokens):
        if tok in EN_HOMOPHONES and digit_run(i + 1) and (
                (i > 0 and _en_digitish(tokens[i - 1])) or digit_run(i + 1) >= 3):
            out[i] = EN_HOMOPHONES[tok]
    return out


# Reads English number words into groups: each group is a digit string ("7", "23", "105").
class _EnParser:
    def __init__(self, tokens: list[str]) -> None:
        tokens = _en_homophone_digits(tokens)
        self.toks = tokens
        self.zeros = _en_zero_ohs(tokens)

    def at(self, i: int) -> str:
        return self.toks[i] if 0 <= i < len(self.toks) else ""

    def single_digit(self, i: int) -> str | None:
        tok = self.at(i)
        if tok in EN_UNITS:
            return str(EN_UNITS[tok])
        if i in self.zeros:
            return "0"
        if len(tok) == 1 and tok.isdigit():
            return tok
        return None

    # tens [unit] | teen | unit (1-9) -> (value, next index).
    def below_hundred(self, i: int) -> tuple[int, int] | None:
        tok = self.at(i)
        if tok in EN_TENS:
            unit = EN_UNITS.get(self.at(i + 1), 0)
            return (EN_TENS[tok] + unit, i + 2) if unit else (EN_TENS[tok], i + 1)
        if tok in EN_TEENS:
            return EN_TEENS[tok], i + 1
        if EN_UNITS.get(tok, 0):
            return EN_UNITS[tok], i + 1
        return None

    # Value of a word that can stand before "hundred"/"thousand": a unit, "a", or small digits.
    def multiplier_base(self, i: int) -> int | None:
        tok = self.at(i)
        if tok == "a":
            return 1
        if tok.isdigit() and len(tok) <= 3:
            return int(tok)
        return EN_UNITS.get(tok) or None

    # A compound under 1000 written with "hundred" or tens/teens; None for a bare digit.
    def below_thousand(self, i: int) -> tuple[int, int] | None:
        base = self.multiplier_base(i)
        if base is not None and self.at(i + 1) == "hundred" and base < 10:
            value, j = base * 100, i + 2
        elif self.at(i) == "hundred":
            value, j = 100, i + 1
        else:
            tok = self.at(i)
            if tok in EN_TENS or tok in EN_TEENS:
                return self.below_hundred(i)
            return None
        k = j + 1 if self.at(j) == "and" else j
        rest = self.below_hundred(k)
        if rest is not None:
            value, j = value + rest[0], rest[1]
        return value, j

    # A number built with words ("twenty three", "one hundred and five", "two thousand and six").
    def compound(self, i: int) -> tuple[int, int] | None:
        head = self.below_thousand(i)
        base = self.multiplier_base(i)
        if head is not None and self.at(head[1]) != "thousand":
            return head
        if head is None and base is not None and self.at(i + 1) == "thousand":
            head = (base, i + 1)
        if head is None:
            return None
        if self.at(head[1]) != "thousand":
            return head
        value, j = head[0] * 1000, head[1] + 1
        k = j + 1 if self.at(j) == "and" else j
        rest = self.below_thousand(k) or self.below_hundred(k)
        if rest is not None:
            value, j = value + rest[0], rest[1]
        return value, j

    def groups(self) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(self.toks):
            tok = self.toks[i]
            if tok in EN_REPEAT:
                digit = self.single_digit(i + 1)
                if digit is not None and self.at(i + 2) not in ("hundred", "thousand"):
                    out.append(digit * EN_REPEAT[tok])
                    i += 2
                    continue
                i += 1
                continue
            found = self.compound(i)
            if found is not None:
                out.append(str(found[0]))
                i = found[1]
                continue
            digit = self.single_digit(i)
            if digit is not None:
                out.append(digit)
            elif tok.isdigit():
                out.append(tok)
            i += 1
        return out


# --- Chinese -------------------------------------------------------------------------------

# what a question for spoken digits listens for, per language: hints for Whisper (without them it
# writes "seven eight" as "M&A"), the words of Vosk's grammar, what makes Moonshine's digits suspect
DIGIT_WORDS = {"en": ("zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
               "zh": ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九")}

ZH_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG = {"万": 10_000}
# common words that contain a numeral character but say no number ("查一下", "十分感谢")
ZH_NOT_NUMBERS = (
    "一下", "一些", "一直", "一定", "一样", "一起", "一般", "一点", "一会", "一切", "一共", "一边",
    "一旦", "统一", "唯一", "万一", "十分", "千万", "一模",
)  # fmt: skip
_ZH_TOKEN = re.compile(r"\d+|[零〇一幺二两三四五六七八九十百千万]|.", re.DOTALL)

# token kinds: "d" digit (value), "u" unit 十/百/千, "w" 万, "n" Arabic digits, "x" anything else
_ZhTok = tuple[str, int, str]


def _zh_tokens(text: str) -> list[_ZhTok]:
    text = unicodedata.normalize("NFKC", text)
    for word in ZH_NOT_NUMBERS:
        text = text.replace(word, " ")
    out: list[_ZhTok] = []
    for m in _ZH_TOKEN.finditer(text):
        s = m.group()
        if s.isdigit() and s.isascii():
            out.append(("n", int(s), s))
        elif s in ZH_DIGITS:
            out.append(("d", ZH_DIGITS[s], s))
        elif s in _ZH_UNITS:
            out.append(("u", _ZH_UNITS[s], s))
        elif s in _ZH_BIG:
            out.append(("w", _ZH_BIG[s], s))
        else:
            out.append(("x", 0, s))
    return out


def _zh_kind(toks: list[_ZhTok], i: int) -> str:
    return toks[i][0] if 0 <= i < len(toks) else ""


# A number under 10000 written with 十/百/千 ("二十三", "十五", "一百零五", "两千三").
def _zh_section(toks: list[_ZhTok], i: int) -> tuple[int, int] | None:
    total, last_unit, zero_gap, j = 0, 10_000, False, i
    while j < len(toks):
        kind, value, _ = toks[j]
        nxt_kind = _zh_kind(toks, j + 1)
        if kind in ("d", "n") and nxt_kind == "u" and toks[j + 1][1] < last_unit and value < 10:
            total += value * toks[j + 1][1]
            last_unit, zero_gap, j = toks[j + 1][1], False, j + 2
        elif kind == "u" and value < last_unit and total == 0:
            total, last_unit, j = value, value, j + 1  # leading 十 = 一十
        elif kind == "d" and value == 0 and total:
            zero_gap, j = True, j + 1  # 一百零五
        elif kind == "d" and total:
            # the ones digit; without a 零 before it, "一百五" means 150 and "两千三" 2300
            total += value if zero_gap or last_unit == 10 else value * (last_unit // 10)
            j += 1
            break
        else:
            break
    return (total, j) if total else None


# A structured number starting at i, with 万 handled; None when toks[i] starts none.
def _zh_number(toks: list[_ZhTok], i: int) -> tuple[int, int] | None:
    kind, value, _ = toks[i]
    head: tuple[int, int] | None
    if kind in ("d", "n") and _zh_kind(toks, i + 1) == "w":
        head = (value, i + 1)
    elif kind == "u" or (kind in ("d", "n") and _zh_kind(toks, i + 1) == "u"):
        head = _zh_section(toks, i)
    else:
        return None
    if head is None or _zh_kind(toks, head[1]) != "w":
        return head
    total, j = head[0] * toks[head[1]][1], head[1] + 1
    if _zh_kind(toks, j) == "d" and toks[j][1] == 0:
        j += 1
    rest = _zh_section(toks, j) if j < len(toks) else None
    if rest is not None:
        total, j = total + rest[0], rest[1]
    return total, j


def _zh_groups(text: str) -> list[str]:
    toks = _zh_tokens(text)
    out: list[str] = []
    i = 0
    while i < len(toks):
        found = _zh_number(toks, i)
        if found is not None:
            out.append(str(found[0]))
            i = found[1]
            continue
        kind, value, raw = toks[i]
        if kind == "d":
            out.append(str(value))
        elif kind == "n":
            out.append(raw)
        i += 1
    return out


def _groups(text: str, language: str) -> list[str]:
    if _is_chinese(language):
        return _zh_groups(text)
    return _EnParser(_en_tokens(text)).groups()


# --- public API ----------------------------------------------------------------------------


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
    for clause in _EN_CLAUSE.split(_normalise(text)):
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
    return _zh_yes_no(text) if _is_chinese(language) else _en_yes_no(text)
