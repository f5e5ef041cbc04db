"""Card numbers in digit runs: Luhn, issuer prefixes and lengths, misheard and split card numbers."""

from __future__ import annotations

from hotline.qa.redact.context import plus_before
from hotline.qa.redact.digit_runs import Item, Run
from hotline.qa.redact.text import luhn

_CARD_LENGTHS = (16, 15, 14, 13, 19, 18, 17)  # preferred first
# Issuer prefixes and the lengths of their card numbers (Visa, Mastercard, Amex, Discover, UnionPay,
# JCB, Diners): a card number inside a longer digit run must look like one of these.
_NETWORKS: tuple[tuple[str, str, frozenset[int]], ...] = (
    ("4", "4", frozenset({13, 16, 19})),
    ("51", "55", frozenset({16})),
    ("2221", "2720", frozenset({16})),
    ("34", "34", frozenset({15})),
    ("37", "37", frozenset({15})),
    ("6011", "6011", frozenset({16, 17, 18, 19})),
    ("644", "649", frozenset({16, 17, 18, 19})),
    ("65", "65", frozenset({16, 17, 18, 19})),
    ("62", "62", frozenset({16, 17, 18, 19})),
    ("3528", "3589", frozenset({16, 17, 18, 19})),
    ("36", "36", frozenset({14})),
    ("300", "305", frozenset({14, 15, 16})),
    ("38", "39", frozenset({14, 15, 16})),
)


def _is_card(digits: str, whole: bool) -> bool:
    """A card number: 13-19 digits, not starting with 0, Luhn-valid; when it is only part of a digit
    run (`whole` False), also with an issuer prefix and a length that go together."""
    if not 13 <= len(digits) <= 19 or digits[0] == "0" or not luhn(digits):
        return False
    if whole:
        return True
    return any(lo <= digits[: len(lo)] <= hi and len(digits) in lengths for lo, hi, lengths in _NETWORKS)


# The last group of the preferred card number among groups[i], groups[i + 1], ... (with an issuer
# prefix), ending at or after group `min_end` and, if `last_only`, with the last group; or None.
def _card_from(groups: list[str], i: int, min_end: int = 0, last_only: bool = False) -> int | None:
    digits = ""
    ends: dict[int, int] = {}
    for j in range(i, len(groups)):
        digits += groups[j]
        if len(digits) > 19:
            break
        if j >= min_end and (not last_only or j == len(groups) - 1) and _is_card(digits, whole=False):
            ends[len(digits)] = j
    return next((ends[length] for length in _CARD_LENGTHS if length in ends), None)


def card_in(groups: list[str]) -> tuple[int, int] | None:
    """The card number in a sequence of digit groups: (first, last) group index, or None.

    A card number that is only part of the groups must start with the first group or end with the
    last, and have an issuer prefix. Order: from the first group with an issuer prefix (a card number,
    then its code), then all the groups (any Luhn-valid number), then those ending with the last group
    (after a stray "oh"), earliest start first."""
    if not groups:
        return None
    end = _card_from(groups, 0)
    if end is not None:
        return 0, end
    if _is_card("".join(groups), whole=True):
        return 0, len(groups) - 1
    for i in range(1, len(groups)):
        end = _card_from(groups, i, last_only=True)
        if end is not None:
            return i, end
    return None


def find_cards(work: str, run: Run) -> list[tuple[int, int]]:
    """Cards in a run as (first item, last item) index pairs."""
    found: list[tuple[int, int]] = []
    offset = 0
    items = run.items
    if plus_before(work, items[0].start):  # "+44 ...": a phone number, whatever its digits
        offset = 1
    while offset < len(items):
        card = card_in([item.digits for item in items[offset:]])
        if card is None:
            break
        found.append((offset + card[0], offset + card[1]))
        offset += card[1] + 1
    if not found and offset == 0 and card_like("".join(item.digits for item in items)):
        found.append((0, len(items) - 1))
    return found


def card_like(digits: str) -> bool:
    """A misheard card number: 13-22 digits with a card issuer's prefix, Luhn or not (recognisers
    add, drop and change digits of long numbers; such a run is no phone, and hardly anything else)."""
    return 13 <= len(digits) <= 22 and any(lo <= digits[: len(lo)] <= hi for lo, hi, _ in _NETWORKS)


def split_card(tail: tuple[Item, ...], head: tuple[Item, ...]) -> tuple[int, int] | None:
    """A card made of the digits at the end of one utterance and those at the start of the next:
    (index of its first item in `tail`, index of its last item in `head`), or None. It starts with
    the first tail item and needs an issuer prefix (two numbers said one after the other are no card
    by Luhn alone)."""
    end = _card_from([item.digits for item in tail + head], 0, min_end=len(tail))
    return None if end is None else (0, end - len(tail))
