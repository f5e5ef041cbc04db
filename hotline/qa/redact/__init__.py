"""Redaction of card numbers, security codes, phone numbers and e-mail addresses.

Transcripts (Whisper / Vosk output, English or Chinese) and keyed DTMF digits are redacted before
they go into the QA archive and its search index. Each finding is replaced by a marker, the rest of
the sentence is kept: "my card is [card] and it expires in May".

How numbers are read
  A *digit run* is a sequence of digit groups with only gaps between them. A group is Arabic digits
  ("4111", full-width too), a digit word ("four", "zero", "nought"; "oh"/"o" only next to another
  digit), "double"/"triple" + a digit, a tens word with an optional unit ("twenty three"), a teen,
  or one Chinese numeral (零〇一幺二三四五六七八九). Gaps are spaces, "- – — . , ( ) + 、 。 …" and
  fillers ("uh", "um", "er", "嗯", "呃", ...). Anything else ends a run: other words, ":" and "/"
  (times, dates), "hundred"/"thousand", Chinese numbers with 十/百/千/万/两, decimals ("4.50"),
  dates ("2024-03-14", "14/03/2024", "12/25"), times ("10:30"), words with digits in them
  ("PX990312", "2pm", "14th"). Both vocabularies are always read (recognisers mix them), so the
  language argument changes nothing today; it is part of the API for language-specific rules.

Card ("[card]")
  A digit run of 13 to 19 digits, not starting with 0, Luhn-valid. Inside a longer run (a card
  number said together with its code or expiry, a stray "oh" or "1" before it) a card number is a
  window of consecutive groups that starts with the run's first group or ends with its last, is
  Luhn-valid, and also has an issuer prefix that goes with its length (Visa 4: 13/16/19 digits,
  Mastercard 51-55 / 2221-2720: 16, Amex 34/37: 15, Discover, UnionPay 62, JCB, Diners). Order:
  from the first group with an issuer prefix (lengths 16, 15, 14, 13, 19, 18, 17), then the whole
  run, then windows ending with the last group; after a card the rest of the run is read again.
  The marker covers the whole span, words and fillers between the groups included. A run written
  with a leading "+" is a phone number. Cards are redacted whatever their context (a Luhn-valid
  parcel or reference number of 13-19 digits too: cards come first).
  A 13-22 digit run that is not Luhn-valid but starts with a card issuer's prefix is taken for a
  misheard card number and redacted too (a recogniser adds, drops or changes digits of a long
  number: "4111111111111111111" for a 16-digit Visa number). Other 16-19 digit runs that are not
  Luhn-valid are kept (longer than an E.164 phone number, so no phone either: an order or account
  number), unless a window of one is a card by the rule above; a 13-15 digit one is a phone.

Security code ("[security code]")
  Only after a card: `after_card=True` (the previous utterance gave a card number, or the caller is
  at a card prompt), or later in the same text as a card. A digit run of exactly 3 or 4 digits,
  unless the context says it is something else (see *Kept* below).

Phone ("[phone]")
  A digit run of 7 to 15 digits that is not a card and not kept by its context, when
  - it has 7 or 13-15 digits, or
  - it is written with a leading "+" or said with a leading "plus", or starts with "00" (10+ digits),
    or starts with 0 (a national trunk prefix: "020 7946 0958", "oh seven seven ..."), or
  - it is a Chinese mobile number (11 digits, 1[3-9]...), or
  - it has an area code in parentheses, or is written in groups of 3-4, 3-3-4 or 1-3-3-4 digits, or
  - a phone word is the nearest keyword in the four words before it ("phone", "mobile", "call",
    "reach", "contact", "number", "电话", "手机", ...).
  Runs of 8 to 12 digits with none of these are kept: the demo's parcel numbers are 8-12 digits
  ("12345678", "7777888899") and the QA search must find them. 6-digit runs (ticket references)
  and other runs under 7 digits are never phones. The marker takes in a leading "+", "(" or "plus".

Kept (no phone, no security code; a card is still redacted)
  - a parcel number: a run directly after two single letters ("PX 990312", "p x nine nine ...",
    "P.X. 990312") or after an upper-case two-letter word; "PX990312" is one word and kept anyway;
  - the nearest keyword in the four words before is a reference word ("ticket", "reference", "order",
    "parcel", "tracking", "case", "单号", "工单", "订单", "包裹", ...), an amount word ("pay", "total",
    "price", "balance", ...), or a date / expiry word ("expires", "valid", "until", "since", month
    names, "有效期", "第", "年", "月", ...);
  - a currency sign before it ("$", "£", "€", "¥"), or a unit after it ("dollars", "pm", "days",
    "parcels", "percent", "%", month names, "个", "元", "天", "点", "号", ...);
  - a number with thousands separators ("1,500", "1,250,000").

E-mail ("[email]")
  "name@example.com", and the spoken forms "name at example dot com", "john dot smith at mail dot co
  dot uk", "john.smith at example.com", "john艾特163点com". Spoken forms need a known top-level domain
  ("com", "net", "org", "uk", "cn", ...), and "look at example dot com" (a common word before "at")
  is not taken for an address. E-mail addresses are never read as digit runs.

:class:`Redactor` is stateless; :class:`CallRedactor` keeps the state of one call (speaker):
a card number (or `card_prompt()`) makes the next two utterances `after_card`, and a card number
split over two consecutive utterances is redacted in both: when the previous utterance ends with a
digit run (only gaps after it; not kept by its context) and this one starts with one (only gaps,
"and", "then", "然后" before it), and the whole previous run plus the first groups of this one make
a Luhn-valid card number with an issuer prefix. DTMF strings (:meth:`Redactor.redact_digits`)
have cards and security codes redacted; keyed phone-length numbers are kept, as parcel numbers are
keyed in.

Modules: `text` (normalisation), `emails`, `digit_runs`, `context` (what the words around a run
say), `cards`, `redactor` (:class:`Redactor`, the markers) and `call` (:class:`CallRedactor`).
"""

from __future__ import annotations

from hotline.qa.redact.call import CallRedactor
from hotline.qa.redact.redactor import (
    AFTER_CARD_UTTERANCES,
    CARD,
    EMAIL,
    MARKERS,
    PHONE,
    SECURITY_CODE,
    Redacted,
    RedactionConfig,
    Redactor,
)

__all__ = [
    "AFTER_CARD_UTTERANCES",
    "CARD",
    "EMAIL",
    "MARKERS",
    "PHONE",
    "SECURITY_CODE",
    "CallRedactor",
    "Redacted",
    "RedactionConfig",
    "Redactor",
]
