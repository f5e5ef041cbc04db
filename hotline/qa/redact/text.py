"""Text normalisation shared by the finders: offsets in the normalised text are offsets in the original."""

from __future__ import annotations

import unicodedata

MASK = "\ue000"  # stands for text already dealt with (an e-mail address, a card): ends a digit run


# Lower case and NFKC (full-width digits), one character for one character, so that offsets in the
# normalised text are offsets in the original.
def normalise(text: str) -> str:
    out: list[str] = []
    for ch in text:
        if ch.isascii():
            out.append(ch.lower())
            continue
        norm = unicodedata.normalize("NFKC", ch)
        if len(norm) != 1:
            norm = ch
        low = norm.lower()
        out.append(low if len(low) == 1 else norm)
    return "".join(out)


def mask(text: str, start: int, end: int) -> str:
    return text[:start] + MASK * (end - start) + text[end:]


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0
