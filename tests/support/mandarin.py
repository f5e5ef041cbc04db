"""Character error rate of Mandarin recognition, with the normalisation the Mandarin benchmark
(bench.zh_recognition) and the tests share.

Normalisation, of reference and hypothesis alike: NFKC; traditional characters to simplified
(Whisper base mostly writes traditional ones for `zh`); 幺 (a phone-number "one") to 一;
punctuation, symbols and spaces removed. Digits in the hypothesis are read either digit by digit
(四二七) or as a number (四百二十七), whichever is closer to the reference: Whisper writes what it
hears as digits, and either reading is right. CER = character edit distance / reference
characters, summed over a set.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import cache
from typing import Any

from bench.asr_accuracy import edit_distance

DIGITS = "零一二三四五六七八九"


@cache
def _t2s() -> Any:
    import opencc  # type: ignore[import-untyped]  # opencc-python-reimplemented

    return opencc.OpenCC("t2s")


def strip(text: str) -> str:
    text = _t2s().convert(unicodedata.normalize("NFKC", text)).replace("幺", "一")
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith(("P", "Z", "S", "C")))


def number_reading(digits: str) -> str:
    """How Mandarin says an integer of up to four digits (3752 三千七百五十二); longer ones or ones
    with a leading zero digit by digit."""
    if len(digits) > 4 or (len(digits) > 1 and digits[0] == "0"):
        return "".join(DIGITS[int(d)] for d in digits)
    value = int(digits)
    if value < 10:
        return DIGITS[value]
    out, zero = "", False
    for d, unit in zip(str(value).rjust(4, "0"), ("千", "百", "十", ""), strict=True):
        if d == "0":
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += DIGITS[int(d)] + unit
    return out[1:] if out.startswith("一十") else out


def best_reading(hyp: str, ref: str) -> str:
    """`hyp` (stripped) with its digit runs read the way closest to `ref` (stripped)."""
    runs = re.findall(r"\d+", hyp)
    if not runs or len(runs) > 8:  # 2^8 combinations at most
        return re.sub(r"\d+", lambda m: "".join(DIGITS[int(d)] for d in m.group()), hyp)
    options = [("".join(DIGITS[int(d)] for d in run), number_reading(run)) for run in runs]
    best, best_d = hyp, -1
    for combo in itertools.product(*options):
        parts = re.split(r"\d+", hyp)  # len(runs) + 1 pieces around the runs
        candidate = "".join(p + c for p, c in zip(parts, (*combo, ""), strict=True))
        d = edit_distance(candidate, ref)
        if best_d < 0 or d < best_d:
            best, best_d = candidate, d
    return best


def char_errors(ref: str, hyp: str) -> tuple[int, int, str, str]:
    """(errors, reference characters, normalised reference, normalised hypothesis)."""
    r = best_reading(strip(ref), "")  # the reference's own digits (if any) digit by digit
    h = best_reading(strip(hyp), r)
    return edit_distance(r, h), len(r), r, h


def cer(pairs: list[tuple[str, str]]) -> float:
    """Character error rate of (reference, hypothesis) pairs, summed over the set."""
    errors = chars = 0
    for ref, hyp in pairs:
        e, n, _, _ = char_errors(ref, hyp)
        errors, chars = errors + e, chars + n
    return errors / max(chars, 1)
