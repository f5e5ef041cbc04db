"""The stateless redactor: every finder over one text (or one DTMF string), findings replaced by markers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hotline.ivr.numbers import ZH_NOT_NUMBERS
from hotline.qa.redact.cards import card_in, card_like, find_cards
from hotline.qa.redact.context import is_phone, is_quantity, phone_span
from hotline.qa.redact.digit_runs import Item, digit_runs
from hotline.qa.redact.emails import find_emails
from hotline.qa.redact.text import MASK, mask, normalise

CARD = "card"
SECURITY_CODE = "security_code"
PHONE = "phone"
EMAIL = "email"
MARKERS = {CARD: "[card]", SECURITY_CODE: "[security code]", PHONE: "[phone]", EMAIL: "[email]"}

# How many utterances after a card number (or a card prompt) may hold the security code.
AFTER_CARD_UTTERANCES = 2


@dataclass(frozen=True)
class RedactionConfig:
    cards: bool = True
    security_codes: bool = True
    phones: bool = True
    emails: bool = True


@dataclass(frozen=True)
class Redacted:
    text: str  # the text with each finding replaced by its marker
    kinds: tuple[str, ...]  # kinds found, in order of appearance


@dataclass(frozen=True)
class _Analysis:
    redacted: Redacted
    card: bool  # a card number was found (also when cards are not redacted)
    head: tuple[Item, ...]  # digits at the start of the text, not part of a card
    tail: tuple[Item, ...]  # digits at the end of the text, not part of a card


def _apply(text: str, findings: list[tuple[int, int, str]]) -> Redacted:
    findings.sort()
    parts: list[str] = []
    pos = 0
    kinds: list[str] = []
    for start, end, kind in findings:
        if start < pos:
            continue
        parts.append(text[pos:start])
        parts.append(MARKERS[kind])
        kinds.append(kind)
        pos = end
    parts.append(text[pos:])
    return Redacted("".join(parts), tuple(kinds))


class Redactor:
    """Finds and replaces card numbers, security codes, phone numbers and e-mail addresses."""

    def __init__(self, config: RedactionConfig | None = None) -> None:
        self.config = config or RedactionConfig()

    def redact(self, text: str, language: str = "en", after_card: bool = False) -> Redacted:
        """`text` with each finding replaced by its marker. `after_card`: the previous utterance
        gave a card number, or the caller is at a card prompt: a 3-4 digit code is a security code."""
        return self._analyse(text, after_card, ()).redacted

    def redact_digits(self, digits: str, after_card: bool = False) -> Redacted:
        """A DTMF digit string ("4111111111111111#"): a Luhn-valid 13-19 digit run is a card; after a
        card, a 3-4 digit run is a security code. Other digits are kept."""
        return self._analyse_digits(digits, after_card)[0]

    def _wanted(self, kind: str) -> bool:
        return {
            CARD: self.config.cards,
            SECURITY_CODE: self.config.security_codes,
            PHONE: self.config.phones,
            EMAIL: self.config.emails,
        }[kind]

    def _analyse_digits(self, digits: str, after_card: bool) -> tuple[Redacted, bool]:
        findings: list[tuple[int, int, str]] = []
        card = False
        for m in re.finditer(r"\d+", digits):
            run = m.group()
            found = card_in(list(run))
            if found is None and card_like(run):  # a mistyped or misheard card number
                found = (0, len(run) - 1)
            rest = m.start()
            if found is not None:
                card = True
                rest = m.start() + found[1] + 1
                findings.append((m.start() + found[0], rest, CARD))
            code = digits[rest : m.end()]
            if (after_card or card) and 3 <= len(code) <= 4:
                findings.append((rest, m.end(), SECURITY_CODE))
        return _apply(digits, [f for f in findings if self._wanted(f[2])]), card

    def _analyse(self, text: str, after_card: bool, forced: tuple[tuple[int, int], ...]) -> _Analysis:
        work = normalise(text)
        findings: list[tuple[int, int, str]] = []
        card_ends: list[int] = []
        for start, end in forced:  # card spans known from the previous utterance
            findings.append((start, end, CARD))
            card_ends.append(end)
            work = mask(work, start, end)
        for start, end in find_emails(work):
            findings.append((start, end, EMAIL))
            work = mask(work, start, end)
        for word in ZH_NOT_NUMBERS:
            work = work.replace(word, MASK * len(word))

        runs = digit_runs(work)
        head: tuple[Item, ...] = ()
        tail: tuple[Item, ...] = ()
        for n, run in enumerate(runs):
            cards = find_cards(work, run)
            segments: list[tuple[Item, ...]] = []
            pos = 0
            for first, last in cards:
                findings.append((run.items[first].start, run.items[last].end, CARD))
                card_ends.append(run.items[last].end)
                if first > pos:
                    segments.append(run.items[pos:first])
                pos = last + 1
            if pos < len(run.items):
                segments.append(run.items[pos:])
            if n == 0 and run.leading:
                head = run.items[: cards[0][0]] if cards else run.items
            if n == len(runs) - 1 and run.trailing:
                tail = run.items[cards[-1][1] + 1 :] if cards else run.items
                if tail and is_quantity(work, text, tail):
                    tail = ()  # "parcel 12345678": no start of a card number
            for items in segments:
                after = after_card or any(e <= items[0].start for e in card_ends)
                kind = self._segment_kind(work, text, items, after)
                if kind == PHONE:
                    findings.append((*phone_span(work, items[0].start, items[-1].end), PHONE))
                elif kind is not None:
                    findings.append((items[0].start, items[-1].end, kind))
        redacted = _apply(text, [f for f in findings if self._wanted(f[2])])
        return _Analysis(redacted, bool(card_ends), head, tail)

    @staticmethod
    def _segment_kind(work: str, text: str, items: tuple[Item, ...], after_card: bool) -> str | None:
        length = sum(len(item.digits) for item in items)
        if after_card and 3 <= length <= 4:
            return None if is_quantity(work, text, items) else SECURITY_CODE
        if 7 <= length <= 15 and not is_quantity(work, text, items) and is_phone(work, items):
            return PHONE
        return None
