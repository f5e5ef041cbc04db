"""English number words ("one two three", "double five", "twenty three", "a hundred and five") as digit groups."""

from __future__ import annotations

import re

from hotline.ivr.numbers.text import normalise

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


def en_tokens(text: str) -> list[str]:
    return [t.replace(",", "") for t in _EN_TOKEN.findall(normalise(text))]


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
class EnParser:
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

