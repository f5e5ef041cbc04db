"""The PostgreSQL call store's pure pieces: search words and snippets as SQLite's FTS5 makes them, and
JSON paths set and read the way SQLite's ``json_set`` / ``json_extract`` do."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from hotline.center.store import HIT_END, HIT_START
from hotline.qa.search import spaced

_TOKEN = re.compile(r"[^\W_]+")  # what SQLite's unicode61 tokenizer keeps: runs of letters and digits
_TERM = re.compile(r"[\w\u3400-\u9fff]+")  # a reviewer's words, as `fts_query` splits them
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
SNIPPET_TOKENS = 12
_ELLIPSIS = " ... "


def _fold(token: str) -> str:
    """Lower case without diacritics (unicode61's ``remove_diacritics 2``)."""
    decomposed = unicodedata.normalize("NFD", token.lower())
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _tokens(text: str) -> list[tuple[str, int, int]]:
    return [(_fold(m.group()), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def words_of(text: str) -> str:
    """Index text as the searched column: folded tokens, one space between and around them."""
    return " " + " ".join(t for t, _, _ in _tokens(text)) + " "


def query_terms(text: str) -> list[tuple[list[str], bool]] | None:
    """A reviewer's words as phrases of folded tokens, each with whether its last token is a prefix
    (the last word, unless Chinese); None when nothing searchable (as `fts_query`)."""
    terms = _TERM.findall(text.lower())
    if not terms:
        return None
    out = []
    for i, term in enumerate(terms):
        tokens = [t for t, _, _ in _tokens(spaced(term))]
        if tokens:
            out.append((tokens, i == len(terms) - 1 and not _CJK.search(term)))
    return out or None


def like_pattern(phrase: list[str], prefix: bool) -> str:
    body = " ".join(phrase).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"% {body}{'%' if prefix else ' %'}"


def snippet(text: str, terms: list[tuple[list[str], bool]], size: int = SNIPPET_TOKENS) -> str:
    """The words found in ``text`` marked, in a window of ``size`` tokens (FTS5's ``snippet()``)."""
    tokens = _tokens(text)
    hits: list[tuple[int, int, int]] = []  # (first token, last token, term)
    for n, (phrase, prefix) in enumerate(terms):
        k = len(phrase)
        for i in range(len(tokens) - k + 1):
            if all(tokens[i + j][0] == phrase[j] for j in range(k - 1)) and (
                    tokens[i + k - 1][0].startswith(phrase[-1]) if prefix else tokens[i + k - 1][0] == phrase[-1]):
                hits.append((i, i + k - 1, n))
    if not tokens:
        return ""
    start = 0
    if hits and len(tokens) > size:
        best = -1
        for first, _, _ in hits:  # a window starting at each hit: most different words, then most hits
            inside = [h for h in hits if h[0] >= first and h[1] < first + size]
            score = 1000 * len({h[2] for h in inside}) + len(inside)
            if score > best:
                best = score
                last = max(h[1] for h in inside)
                start = first - (size - (last - first + 1)) // 2  # the hits in the middle
        start = max(0, min(start, len(tokens) - size))
    end = min(len(tokens), start + size)  # tokens [start, end)
    marks = sorted((h[0], h[1]) for h in hits if h[0] >= start and h[1] < end)
    out: list[str] = [] if start == 0 else [_ELLIPSIS]
    pos = 0 if start == 0 else tokens[start][1]
    open_until = -1
    for i in range(start, end):
        token_start, token_end = tokens[i][1], tokens[i][2]
        out.append(text[pos:token_start])
        if open_until < i and any(a == i for a, _ in marks):
            out.append(HIT_START)
            open_until = max(b for a, b in marks if a == i)
        out.append(text[token_start:token_end])
        if open_until == i:
            out.append(HIT_END)
        pos = token_end
    out.append(text[pos:] if end == len(tokens) else _ELLIPSIS)
    return "".join(out)


def _built(steps: list[str | int], value: Any) -> tuple[bool, Any]:
    """What SQLite's ``json_set`` creates for a missing path: objects for keys, a list for index 0."""
    if not steps:
        return True, value
    ok, inner = _built(steps[1:], value)
    if not ok:
        return False, None
    if isinstance(steps[0], str):
        return True, {steps[0]: inner}
    return (True, [inner]) if steps[0] == 0 else (False, None)


def set_path(doc: Any, steps: list[str | int], value: Any) -> None:
    """Set ``steps`` in ``doc`` as SQLite's ``json_set`` does: missing keys (and the next item of a
    list) are created, anything else that does not fit leaves the document as it was."""
    node = doc
    for n, step in enumerate(steps):
        last = n == len(steps) - 1
        if isinstance(step, str):
            if not isinstance(node, dict):
                return
            if step not in node:
                ok, made = _built(steps[n + 1:], value)
                if ok:
                    node[step] = made
                return
            if last:
                node[step] = value
                return
            node = node[step]
        else:
            if not isinstance(node, list) or step > len(node):
                return
            if step == len(node):
                ok, made = _built(steps[n + 1:], value)
                if ok:
                    node.append(made)
                return
            if last:
                node[step] = value
                return
            node = node[step]


def get_path(doc: Any, steps: list[str | int]) -> Any:
    node = doc
    for step in steps:
        if isinstance(step, str) and isinstance(node, dict):
            node = node.get(step)
        elif isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
        else:
            return None
    return node
