"""What the words around a digit run say it is: a phone number, or a reference, amount or date to keep."""

from __future__ import annotations

import re

from hotline.qa.redact.digit_runs import Item

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
EN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
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
    for m in list(EN_WORD.finditer(before))[-4:]:
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


def is_quantity(work: str, text: str, items: tuple[Item, ...]) -> bool:
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


def plus_before(work: str, start: int) -> bool:
    before = work[max(0, start - 20) : start].rstrip(" (")
    return before.endswith("+") or EN_WORD.findall(before[-12:])[-1:] == ["plus"]


def is_phone(work: str, items: tuple[Item, ...]) -> bool:
    digits = "".join(item.digits for item in items)
    if not 7 <= len(digits) <= 15:
        return False
    start, end = items[0].start, items[-1].end
    if len(digits) in (7, 13, 14, 15) or digits.startswith("0"):
        return True
    if plus_before(work, start):
        return True
    if len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789":
        return True
    if "(" in work[max(0, start - 1) : end]:
        return True
    if all(item.written for item in items) and tuple(len(item.digits) for item in items) in _PHONE_GROUPS:
        return True
    return _context(work, start) == _PHONE_CTX


def phone_span(work: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and work[start - 1] in "+(":
        start -= 1
    plus = re.search(r"\bplus\s+$", work[max(0, start - 12) : start])
    if plus is not None:
        start -= len(plus.group())
    if work.count("(", start, end) > work.count(")", start, end) and work[end : end + 1] == ")":
        end += 1
    return start, end
