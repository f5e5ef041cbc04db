"""E-mail addresses, written ("name@example.com") and spoken ("name at example dot com")."""

from __future__ import annotations

import re

from hotline.qa.redact.text import mask

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


def find_emails(work: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for m in _EMAIL_WRITTEN.finditer(work):
        spans.append(m.span())
        work = mask(work, *m.span())
    for m in _EMAIL_SPOKEN.finditer(work):
        if m.group("local") not in _NOT_LOCAL:
            spans.append(m.span())
    return sorted(spans)
