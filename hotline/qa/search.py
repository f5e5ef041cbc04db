"""Full-text search over archived calls: what goes into the index, and how a reviewer's words
become an SQLite FTS5 query.

The index holds a call's (already redacted) live and post-call transcript, the agent's wrap-up
notes, the parcel numbers and ticket references it touched. SQLite's ``unicode61`` tokenizer keeps
a run of Chinese characters as one token, so Chinese text is indexed one character per token and
a Chinese query becomes a phrase of its characters: "包裹" finds "我的包裹坏了".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_CJK = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
_SPACES = re.compile(r"[ \t]{2,}")
_TERM = re.compile(r"[\w\u3400-\u9fff]+", re.UNICODE)


def spaced(text: str) -> str:
    """Text as indexed: every CJK character its own token."""
    return _SPACES.sub(" ", _CJK.sub(r" \1 ", text)).strip()


def index_text(record: Mapping[str, Any]) -> str:
    """Everything searchable about one call record."""
    parts: list[str] = [str(s.get("text", "")) for s in record.get("transcript") or []]
    post = record.get("post_transcript") or {}
    parts += [str(s.get("text", "")) for s in post.get("segments") or []]
    wrapup = record.get("wrapup") or {}
    if wrapup.get("notes"):
        parts.append(str(wrapup["notes"]))
    variables = record.get("variables") or {}
    parts += [str(v) for k, v in variables.items() if k.endswith(("parcel", "parcel_number", "ticket"))]
    parts += [str(t) for t in record.get("tickets") or []]
    return "\n".join(spaced(p) for p in parts if p)


def fts_query(text: str) -> str | None:
    """A reviewer's words as an FTS5 query: every word must occur (the last one as a prefix, for
    search-as-you-type); Chinese runs as phrases of characters. None when nothing searchable."""
    terms = _TERM.findall(text.lower())
    if not terms:
        return None
    out = []
    for i, term in enumerate(terms):
        chars = spaced(term).split()
        phrase = " ".join(chars)
        last = i == len(terms) - 1 and not _CJK.search(term)
        out.append(f'"{phrase}"' + ("*" if last else ""))
    return " AND ".join(out)


@dataclass(frozen=True)
class CallQuery:
    """What the QA page searches by; every field optional."""

    text: str = ""
    since: float | None = None
    until: float | None = None
    agent: str | None = None
    queue: str | None = None
    outcome: str | None = None
    disposition: str | None = None
    status: str | None = None
    limit: int = 50
    offset: int = 0
