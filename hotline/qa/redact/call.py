"""The redactor of one call: security codes after a card, card numbers split across two utterances."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.qa.redact.cards import split_card
from hotline.qa.redact.digit_runs import Item
from hotline.qa.redact.redactor import AFTER_CARD_UTTERANCES, Redacted, Redactor


@dataclass(frozen=True)
class _Previous:
    text: str
    after_card: bool
    forced: tuple[tuple[int, int], ...]
    redacted: Redacted
    tail: tuple[Item, ...]


class CallRedactor:
    """Per-call state across utterances: a card number in one utterance makes the next one or two
    utterances `after_card` (the security code usually follows); also a card number split across two
    consecutive utterances (caller pauses mid-number: 8 digits, then 8 digits) is caught - when the
    digits at the end of the previous utterance plus those at the start of this one form a Luhn-valid
    run, BOTH parts are redacted: redact() returns the current text redacted and `previous` gives the
    corrected previous text (None when unchanged)."""

    def __init__(self, redactor: Redactor, language: str = "en") -> None:
        self.redactor = redactor
        self.language = language
        self._after_card = 0  # utterances left that may hold a security code
        self._previous: _Previous | None = None

    def card_prompt(self) -> None:
        """The flow is at a card / payment prompt: the next utterances are after_card."""
        self._after_card = AFTER_CARD_UTTERANCES

    def _take_after_card(self) -> bool:
        after = self._after_card > 0
        self._after_card = max(0, self._after_card - 1)
        return after

    def redact(self, text: str) -> tuple[Redacted, Redacted | None]:
        """(this utterance redacted, the previous utterance corrected, or None when unchanged)."""
        after = self._take_after_card()
        current = self.redactor._analyse(text, after, ())
        forced: tuple[tuple[int, int], ...] = ()
        corrected: Redacted | None = None
        prev = self._previous
        if prev is not None and prev.tail and current.head:
            split = split_card(prev.tail, current.head)
            if split is not None:
                first, last = split
                prev_span = (prev.tail[first].start, prev.tail[-1].end)
                fixed = self.redactor._analyse(prev.text, prev.after_card, prev.forced + (prev_span,))
                if fixed.redacted != prev.redacted:
                    corrected = fixed.redacted
                forced = ((current.head[0].start, current.head[last].end),)
                current = self.redactor._analyse(text, after, forced)
        if current.card:
            self._after_card = AFTER_CARD_UTTERANCES
        self._previous = _Previous(text, after, forced, current.redacted, current.tail)
        return current.redacted, corrected

    def redact_digits(self, digits: str) -> Redacted:
        """Keyed DTMF digits; a card number here makes the next utterances after_card too."""
        redacted, card = self.redactor._analyse_digits(digits, self._take_after_card())
        if card:
            self._after_card = AFTER_CARD_UTTERANCES
        self._previous = None
        return redacted
