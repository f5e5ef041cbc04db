"""Digit runs: digit groups (Arabic digits, digit words, Chinese numerals) with only gaps between."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hotline.ivr.numbers import (
    EN_HOMOPHONES,
    EN_OH,
    EN_REPEAT,
    EN_TEENS,
    EN_TENS,
    EN_UNITS,
    ZH_DIGITS,
)

_TOKEN = re.compile(
    r"(?P<skip>(?<!\d)(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{1,2}/\d{1,2})(?!\d)"
    r"|(?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?!\d)"
    r"|\d{1,3}(?:,\d{3})+\.\d+|\d+\.\d+)"
    r"|(?P<amount>(?<!\d)\d{1,3}(?:,\d{3})+(?!\d))"
    r"|(?P<word>[a-z0-9]+(?:'[a-z]+)*)"
    r"|(?P<lead>然后|还有)"
    r"|(?P<zh>[零〇一幺二两三四五六七八九十百千万亿]+)"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)",
    re.DOTALL,
)

# the number words of hotline.ivr.numbers, as the digits they put in a card number
_EN_UNITS = {word: str(value) for word, value in EN_UNITS.items()}
_EN_TEENS = {word: str(value) for word, value in EN_TEENS.items()}
_EN_TENS = {word: str(value // 10) for word, value in EN_TENS.items()}  # "forty two" -> "4" "2"
# EN_HOMOPHONES (a recogniser's "for one one") are digits only next to a digit, like "oh": a false
# digit never makes a Luhn-valid card on its own
_ZH_DIGITS = {char: str(value) for char, value in ZH_DIGITS.items() if char != "两"}  # 两 counts things
_ZH_QUANTITY = frozenset("十百千万亿两")
_FILLERS = frozenset({
    "uh", "uhh", "uhm", "um", "umm", "er", "erm", "err", "ah", "ahh", "eh", "hmm", "hm", "mm", "mmm",
    "嗯", "呃", "额", "啊", "唔",
})  # fmt: skip
_GAP_CHARS = frozenset("-–—.,()+、。…")
# words that may stand before the digits that continue a card number in the next utterance
_LEAD_WORDS = frozenset({"and", "then", "然后", "还有"})


@dataclass(frozen=True)
class Item:
    """One digit group: its digits and its span in the text."""

    digits: str
    start: int
    end: int
    written: bool = False  # Arabic digits
    amount: bool = False  # "1,500"


@dataclass(frozen=True)
class Run:
    items: tuple[Item, ...]
    leading: bool  # only gaps (and lead words) before it in the text
    trailing: bool  # only gaps after it


# Token kinds: "item", "gap", "lead" (a lead word; ends a run), "oh", "break".
_Tok = tuple[str, int, int, str]


def _raw_tokens(work: str) -> list[_Tok]:
    toks: list[_Tok] = []
    for m in _TOKEN.finditer(work):
        kind = m.lastgroup or "other"
        s, e, val = m.start(), m.end(), m.group()
        if kind == "word":
            if val.isdigit():
                toks.append(("num", s, e, val))
            elif val.isalpha():
                toks.append(("word", s, e, val))
            else:
                toks.append(("break", s, e, val))
        elif kind == "amount":
            toks.append(("amount", s, e, val.replace(",", "")))
        elif kind == "zh":
            if any(ch in _ZH_QUANTITY for ch in val):
                toks.append(("break", s, e, val))
            else:
                toks.extend(("item", s + k, s + k + 1, _ZH_DIGITS[ch]) for k, ch in enumerate(val))
        elif kind in ("space", "lead"):
            toks.append((kind, s, e, val))
        elif kind == "other":
            if val in _GAP_CHARS or val in _FILLERS:
                toks.append(("gap", s, e, val))
            else:
                toks.append(("break", s, e, val))
        else:
            toks.append(("break", s, e, val))
    return toks


def _next_word(toks: list[_Tok], i: int) -> int | None:
    """Index of the token after toks[i], skipping spaces and one hyphen; None if it is no word."""
    j = i + 1
    while j < len(toks) and (toks[j][0] == "space" or toks[j][3] == "-"):
        j += 1
    return j if j < len(toks) and toks[j][0] in ("word", "num") else None


def _items(work: str) -> list[tuple[str, Item | None]]:
    """The text as a sequence of ("item", item), ("gap", None), ("lead", None), ("break", None)."""
    toks = _raw_tokens(work)
    out: list[tuple[str, Item | None, int, int]] = []  # kind, item, start, end (for "oh")
    i = 0
    while i < len(toks):
        kind, s, e, val = toks[i]
        i += 1
        if kind == "num":
            out.append(("item", Item(val, s, e, written=True), s, e))
        elif kind == "amount":
            out.append(("item", Item(val, s, e, written=True, amount=True), s, e))
        elif kind == "item":
            out.append(("item", Item(val, s, e), s, e))
        elif kind in ("space", "gap"):
            out.append(("gap", None, s, e))
        elif kind == "word":
            if val in _FILLERS:
                out.append(("gap", None, s, e))
            elif val in _EN_UNITS:
                out.append(("item", Item(_EN_UNITS[val], s, e), s, e))
            elif val in _EN_TEENS:
                out.append(("item", Item(_EN_TEENS[val], s, e), s, e))
            elif val in _EN_TENS:
                j = _next_word(toks, i - 1)
                unit = _EN_UNITS.get(toks[j][3], "0") if j is not None else "0"
                if j is not None and unit != "0":
                    out.append(("item", Item(_EN_TENS[val] + unit, s, toks[j][2]), s, toks[j][2]))
                    i = j + 1
                else:
                    out.append(("item", Item(_EN_TENS[val] + "0", s, e), s, e))
            elif val in EN_REPEAT:
                j = _next_word(toks, i - 1)
                nxt = toks[j][3] if j is not None else ""
                digit = (
                    "0"
                    if nxt in EN_OH
                    else _EN_UNITS.get(nxt, nxt if len(nxt) == 1 and nxt.isdigit() else "")
                )
                if j is not None and digit:
                    out.append(("item", Item(digit * EN_REPEAT[val], s, toks[j][2]), s, toks[j][2]))
                    i = j + 1
                else:
                    out.append(("break", None, s, e))
            elif val in EN_OH or val in EN_HOMOPHONES:
                out.append(("oh", None, s, e))
            elif val in _LEAD_WORDS:
                out.append(("lead", None, s, e))
            else:
                out.append(("break", None, s, e))
        elif kind == "lead":
            out.append(("lead", None, s, e))
        else:
            out.append(("break", None, s, e))
    _resolve_ohs(out, work)
    return [(kind, item) for kind, item, _, _ in out]


# "oh" is zero next to a digit (or to such an "oh"), with only spaces between: "oh two oh seven".
def _resolve_ohs(out: list[tuple[str, Item | None, int, int]], work: str) -> None:
    def neighbour(k: int, step: int) -> str:
        j = k + step
        while 0 <= j < len(out) and out[j][0] == "gap" and not work[out[j][2] : out[j][3]].strip():
            j += step
        return out[j][0] if 0 <= j < len(out) else ""

    changed = True
    while changed:
        changed = False
        for k, (kind, _, s, e) in enumerate(out):
            if kind == "oh" and "item" in (neighbour(k, -1), neighbour(k, 1)):
                out[k] = ("item", Item(EN_HOMOPHONES.get(work[s:e], "0"), s, e), s, e)
                changed = True
    for k, (kind, _, s, e) in enumerate(out):
        if kind == "oh":
            out[k] = ("break", None, s, e)


def digit_runs(work: str) -> list[Run]:
    seq = _items(work)
    runs: list[Run] = []
    current: list[Item] = []
    leading = True  # nothing but gaps and lead words so far
    run_leading = True
    tail_clean = True  # only gaps since the end of the current run
    for kind, item in seq:
        if kind == "item" and item is not None:
            if not current:
                run_leading = leading
            current.append(item)
            tail_clean = True
        elif kind == "gap":
            continue
        else:
            if current:
                runs.append(Run(tuple(current), run_leading, False))
                current = []
            tail_clean = False
            if kind != "lead":
                leading = False
        if kind == "item":
            leading = False
    if current:
        runs.append(Run(tuple(current), run_leading, tail_clean))
    return runs
