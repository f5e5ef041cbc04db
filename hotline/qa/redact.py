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
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from hotline.ivr.numbers import (
    EN_HOMOPHONES,
    EN_OH,
    EN_REPEAT,
    EN_TEENS,
    EN_TENS,
    EN_UNITS,
    ZH_DIGITS,
    ZH_NOT_NUMBERS,
)

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


# --- text normalisation -----------------------------------------------------------------------

_MASK = "\ue000"  # stands for text already dealt with (an e-mail address, a card): ends a digit run


# Lower case and NFKC (full-width digits), one character for one character, so that offsets in the
# normalised text are offsets in the original.
def _normalise(text: str) -> str:
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


def _mask(text: str, start: int, end: int) -> str:
    return text[:start] + _MASK * (end - start) + text[end:]


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


# --- e-mail addresses -------------------------------------------------------------------------

_EMAIL_WRITTEN = re.compile(
    r"(?<![a-z0-9._%+-])[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?![a-z0-9])"
)
_LOCAL = r"[a-z0-9](?:[a-z0-9_%+-]*[a-z0-9])?"
_LOCAL_JOIN = r"(?:[._-]|\s+(?:dot|underscore|dash|hyphen)\s+)"
_AT = r"(?:\s*@\s*|\s+at\s+|\s*艾特\s*)"
_DOT = r"(?:\.|\s+dot\s+|\s*点\s*)"
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_TLDS = (
    "com|net|org|edu|gov|mil|info|biz|io|co|uk|us|de|fr|es|it|nl|be|ch|at|ie|eu|cn|hk|tw|jp|kr|sg|"
    "au|nz|ca|in|me|ai|app|dev"
)
_EMAIL_SPOKEN = re.compile(
    rf"(?<![a-z0-9._%+'-])(?P<local>{_LOCAL}(?:{_LOCAL_JOIN}{_LOCAL})*){_AT}"
    rf"{_LABEL}(?:{_DOT}{_LABEL})*{_DOT}(?:{_TLDS})(?![a-z0-9])"
)
# words that stand before "at" in ordinary speech: "look at example dot com" is no address
_NOT_LOCAL = frozenset({
    "look", "looks", "looked", "looking", "me", "us", "him", "her", "them", "it", "is", "are", "am", "was",
    "were", "be", "been", "here", "there", "that", "this", "you", "i", "we", "they", "one", "site",
    "website", "online", "arrive", "arrived", "stay", "staying", "available", "email", "mail", "address",
    "page", "go", "went", "check", "find", "found", "reach", "or", "and", "only", "just", "even",
})  # fmt: skip


def _emails(work: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for m in _EMAIL_WRITTEN.finditer(work):
        spans.append(m.span())
        work = _mask(work, *m.span())
    for m in _EMAIL_SPOKEN.finditer(work):
        if m.group("local") not in _NOT_LOCAL:
            spans.append(m.span())
    return sorted(spans)


# --- digit runs -------------------------------------------------------------------------------

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
class _Item:
    """One digit group: its digits and its span in the text."""

    digits: str
    start: int
    end: int
    written: bool = False  # Arabic digits
    amount: bool = False  # "1,500"


@dataclass(frozen=True)
class _Run:
    items: tuple[_Item, ...]
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


def _items(work: str) -> list[tuple[str, _Item | None]]:
    """The text as a sequence of ("item", item), ("gap", None), ("lead", None), ("break", None)."""
    toks = _raw_tokens(work)
    out: list[tuple[str, _Item | None, int, int]] = []  # kind, item, start, end (for "oh")
    i = 0
    while i < len(toks):
        kind, s, e, val = toks[i]
        i += 1
        if kind == "num":
            out.append(("item", _Item(val, s, e, written=True), s, e))
        elif kind == "amount":
            out.append(("item", _Item(val, s, e, written=True, amount=True), s, e))
        elif kind == "item":
            out.append(("item", _Item(val, s, e), s, e))
        elif kind in ("space", "gap"):
            out.append(("gap", None, s, e))
        elif kind == "word":
            if val in _FILLERS:
                out.append(("gap", None, s, e))
            elif val in _EN_UNITS:
                out.append(("item", _Item(_EN_UNITS[val], s, e), s, e))
            elif val in _EN_TEENS:
                out.append(("item", _Item(_EN_TEENS[val], s, e), s, e))
            elif val in _EN_TENS:
                j = _next_word(toks, i - 1)
                unit = _EN_UNITS.get(toks[j][3], "0") if j is not None else "0"
                if j is not None and unit != "0":
                    out.append(("item", _Item(_EN_TENS[val] + unit, s, toks[j][2]), s, toks[j][2]))
                    i = j + 1
                else:
                    out.append(("item", _Item(_EN_TENS[val] + "0", s, e), s, e))
            elif val in EN_REPEAT:
                j = _next_word(toks, i - 1)
                nxt = toks[j][3] if j is not None else ""
                digit = (
                    "0"
                    if nxt in EN_OH
                    else _EN_UNITS.get(nxt, nxt if len(nxt) == 1 and nxt.isdigit() else "")
                )
                if j is not None and digit:
                    out.append(("item", _Item(digit * EN_REPEAT[val], s, toks[j][2]), s, toks[j][2]))
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
def _resolve_ohs(out: list[tuple[str, _Item | None, int, int]], work: str) -> None:
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
                out[k] = ("item", _Item(EN_HOMOPHONES.get(work[s:e], "0"), s, e), s, e)
                changed = True
    for k, (kind, _, s, e) in enumerate(out):
        if kind == "oh":
            out[k] = ("break", None, s, e)


def _runs(work: str) -> list[_Run]:
    seq = _items(work)
    runs: list[_Run] = []
    current: list[_Item] = []
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
                runs.append(_Run(tuple(current), run_leading, False))
                current = []
            tail_clean = False
            if kind != "lead":
                leading = False
        if kind == "item":
            leading = False
    if current:
        runs.append(_Run(tuple(current), run_leading, tail_clean))
    return runs


# --- context -----------------------------------------------------------------------------------

_REF, _PHONE_CTX, _KEEP = "ref", "phone", "keep"
_MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec",
)  # fmt: skip
_EN_CONTEXT: dict[str, str] = {
    **dict.fromkeys((
        "ticket", "tickets", "reference", "ref", "parcel", "parcels", "tracking", "track", "order", "case",
        "booking", "invoice", "shipment", "consignment", "package", "confirmation", "claim", "waybill",
    ), _REF),
    **dict.fromkeys((
        "phone", "telephone", "mobile", "cell", "cellphone", "landline", "call", "calling", "ring", "reach",
        "contact", "callback", "text", "whatsapp", "fax", "plus", "tel",
    ), _PHONE_CTX),
    **dict.fromkeys((
        "pay", "paid", "paying", "payment", "owe", "owed", "cost", "costs", "total", "amount", "price",
        "balance", "charge", "charged", "refund", "worth", "spent", "usd", "rmb", "eur", "gbp",
        "expires", "expire", "expired", "expiry", "expiration", "exp", "expiring", "valid", "until", "till",
        "since", "year", "born", "birthday", "dated", "date", *_MONTHS,
    ), _KEEP),
}  # fmt: skip
_ZH_CONTEXT: dict[str, str] = {
    **dict.fromkeys(("单号", "工单", "订单", "包裹", "快递", "编号", "参考号", "运单", "案件"), _REF),
    **dict.fromkeys(("电话", "手机", "座机", "联系", "回电", "打给", "致电"), _PHONE_CTX),
    **dict.fromkeys((
        "金额", "付款", "支付", "价格", "余额", "费用", "退款", "花了", "共", "有效期", "到期", "过期", "第",
        "年", "月",
    ), _KEEP),
}  # fmt: skip
_EN_AFTER_UNITS = frozenset({
    "dollars", "dollar", "bucks", "pounds", "pound", "quid", "euros", "euro", "cents", "cent", "pence",
    "yuan", "rmb", "usd", "percent", "per", "pm", "am", "o'clock", "oclock", "days", "day", "weeks", "week",
    "months", "month", "years", "year", "yrs", "hours", "hour", "hrs", "minutes", "minute", "mins", "min",
    "seconds", "secs", "times", "parcels", "parcel", "packages", "package", "items", "item", "boxes",
    "box", "pieces", "orders", "units", "kg", "kilos", "kilograms", "grams", "lbs", "miles", "km",
    "metres", "meters", "people", "hundred", "thousand", "million", "billion", "digits", "digit", "st",
    "nd", "rd", "th", *_MONTHS,
})  # fmt: skip
_ZH_AFTER_UNITS = (
    *"个天块元点号月年日分岁次件位秒周毛角万亿米斤折楼层箱包份张台人度倍遍%",
    "小时", "分钟", "星期", "公斤", "美元", "英镑", "欧元",
)  # fmt: skip
_EN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_AFTER_WORD = re.compile(r"\s*([a-z]+(?:'[a-z]+)?)")
_AFTER_AMPM = re.compile(r"\s*(?:%|[ap]\.\s?m\b)")
_CURRENCY_BEFORE = re.compile(r"[$£€¥]\s*$")
_PARCEL_BEFORE = re.compile(r"(?<![a-z0-9'])([a-z])([\s.\-]*)([a-z])[\s.\-]*$")
_PHONE_GROUPS = frozenset({(3, 4), (3, 3, 4), (1, 3, 3, 4)})


def _context(work: str, start: int) -> str | None:
    """The category of the nearest keyword before `start` (four words, a few Chinese characters)."""
    before = work[max(0, start - 60) : start]
    best, best_pos = None, -1
    number_seen = False
    for m in list(_EN_WORD.finditer(before))[-4:]:
        word = m.group()
        if word in ("number", "numbers"):
            number_seen = True
        elif word in _EN_CONTEXT and m.start() > best_pos:
            best, best_pos = _EN_CONTEXT[word], m.start()
    zh_from = max(0, len(before) - 10)
    for word, category in _ZH_CONTEXT.items():
        pos = before.rfind(word, zh_from)
        if pos > best_pos:
            best, best_pos = category, pos
    if best is None and number_seen:
        return _PHONE_CTX  # "my number is ..."
    return best


def _quantity(work: str, text: str, items: tuple[_Item, ...]) -> bool:
    """True when the digits are a parcel number, amount, date, count or reference: no phone, no code."""
    start, end = items[0].start, items[-1].end
    if any(item.amount for item in items):
        return True
    base = max(0, start - 60)
    before = work[base:start]
    if _CURRENCY_BEFORE.search(before):
        return True
    parcel = _PARCEL_BEFORE.search(before)
    if parcel is not None and (
        parcel.group(2) or text[base + parcel.start(1) : base + parcel.end(3)].isupper()
    ):
        return True
    if _context(work, start) in (_REF, _KEEP):
        return True
    after = work[end : end + 16]
    word = _AFTER_WORD.match(after)
    if (word is not None and word.group(1) in _EN_AFTER_UNITS) or _AFTER_AMPM.match(after):
        return True
    return after.lstrip().startswith(_ZH_AFTER_UNITS)


def _plus_before(work: str, start: int) -> bool:
    before = work[max(0, start - 20) : start].rstrip(" (")
    return before.endswith("+") or _EN_WORD.findall(before[-12:])[-1:] == ["plus"]


def _is_phone(work: str, items: tuple[_Item, ...]) -> bool:
    digits = "".join(item.digits for item in items)
    if not 7 <= len(digits) <= 15:
        return False
    start, end = items[0].start, items[-1].end
    if len(digits) in (7, 13, 14, 15) or digits.startswith("0"):
        return True
    if _plus_before(work, start):
        return True
    if len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789":
        return True
    if "(" in work[max(0, start - 1) : end]:
        return True
    if all(item.written for item in items) and tuple(len(item.digits) for item in items) in _PHONE_GROUPS:
        return True
    return _context(work, start) == _PHONE_CTX


def _phone_span(work: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and work[start - 1] in "+(":
        start -= 1
    plus = re.search(r"\bplus\s+$", work[max(0, start - 12) : start])
    if plus is not None:
        start -= len(plus.group())
    if work.count("(", start, end) > work.count(")", start, end) and work[end : end + 1] == ")":
        end += 1
    return start, end


# --- cards ---------------------------------------------------------------------------------------

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
    if not 13 <= len(digits) <= 19 or digits[0] == "0" or not _luhn(digits):
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


def _card_in(groups: list[str]) -> tuple[int, int] | None:
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


def _cards(work: str, run: _Run) -> list[tuple[int, int]]:
    """Cards in a run as (first item, last item) index pairs."""
    found: list[tuple[int, int]] = []
    offset = 0
    items = run.items
    if _plus_before(work, items[0].start):  # "+44 ...": a phone number, whatever its digits
        offset = 1
    while offset < len(items):
        card = _card_in([item.digits for item in items[offset:]])
        if card is None:
            break
        found.append((offset + card[0], offset + card[1]))
        offset += card[1] + 1
    if not found and offset == 0 and _card_like("".join(item.digits for item in items)):
        found.append((0, len(items) - 1))
    return found


def _card_like(digits: str) -> bool:
    """A misheard card number: 13-22 digits with a card issuer's prefix, Luhn or not (recognisers
    add, drop and change digits of long numbers; such a run is no phone, and hardly anything else)."""
    return 13 <= len(digits) <= 22 and any(lo <= digits[: len(lo)] <= hi for lo, hi, _ in _NETWORKS)


def _split_card(tail: tuple[_Item, ...], head: tuple[_Item, ...]) -> tuple[int, int] | None:
    """A card made of the digits at the end of one utterance and those at the start of the next:
    (index of its first item in `tail`, index of its last item in `head`), or None. It starts with
    the first tail item and needs an issuer prefix (two numbers said one after the other are no card
    by Luhn alone)."""
    end = _card_from([item.digits for item in tail + head], 0, min_end=len(tail))
    return None if end is None else (0, end - len(tail))


# --- the redactor --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Analysis:
    redacted: Redacted
    card: bool  # a card number was found (also when cards are not redacted)
    head: tuple[_Item, ...]  # digits at the start of the text, not part of a card
    tail: tuple[_Item, ...]  # digits at the end of the text, not part of a card


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
            found = _card_in(list(run))
            if found is None and _card_like(run):  # a mistyped or misheard card number
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
        work = _normalise(text)
        findings: list[tuple[int, int, str]] = []
        card_ends: list[int] = []
        for start, end in forced:  # card spans known from the previous utterance
            findings.append((start, end, CARD))
            card_ends.append(end)
            work = _mask(work, start, end)
        for start, end in _emails(work):
            findings.append((start, end, EMAIL))
            work = _mask(work, start, end)
        for word in ZH_NOT_NUMBERS:
            work = work.replace(word, _MASK * len(word))

        runs = _runs(work)
        head: tuple[_Item, ...] = ()
        tail: tuple[_Item, ...] = ()
        for n, run in enumerate(runs):
            cards = _cards(work, run)
            segments: list[tuple[_Item, ...]] = []
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
                if tail and _quantity(work, text, tail):
                    tail = ()  # "parcel 12345678": no start of a card number
            for items in segments:
                after = after_card or any(e <= items[0].start for e in card_ends)
                kind = self._segment_kind(work, text, items, after)
                if kind == PHONE:
                    findings.append((*_phone_span(work, items[0].start, items[-1].end), PHONE))
                elif kind is not None:
                    findings.append((items[0].start, items[-1].end, kind))
        redacted = _apply(text, [f for f in findings if self._wanted(f[2])])
        return _Analysis(redacted, bool(card_ends), head, tail)

    @staticmethod
    def _segment_kind(work: str, text: str, items: tuple[_Item, ...], after_card: bool) -> str | None:
        length = sum(len(item.digits) for item in items)
        if after_card and 3 <= length <= 4:
            return None if _quantity(work, text, items) else SECURITY_CODE
        if 7 <= length <= 15 and not _quantity(work, text, items) and _is_phone(work, items):
            return PHONE
        return None


@dataclass(frozen=True)
class _Previous:
    text: str
    after_card: bool
    forced: tuple[tuple[int, int], ...]
    redacted: Redacted
    tail: tuple[_Item, ...]


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
            split = _split_card(prev.tail, current.head)
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
