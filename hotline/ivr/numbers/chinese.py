"""Chinese numerals ("一二三", "幺", "二十三", "一百零五", "两万") as digit groups."""

from __future__ import annotations

import re
import unicodedata

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


def zh_groups(text: str) -> list[str]:
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

