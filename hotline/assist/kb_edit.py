"""Editing one article of a knowledge file in place, keeping the file's comments and layout.

Used by :class:`hotline.assist.registry.KnowledgeRegistry` for admin edits through the API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from ruamel.yaml.comments import CommentedMap

from hotline.assist.kb import KbError, parse_kb, to_plain
from hotline.assist.kb_roundtrip import Layout, is_blank, render_item, rt_yaml, styled_value
from hotline.assist.kb_splice import KbFile, NoSplice


def file_ids(text: str, file: str) -> list[str]:
    return [a.id for a in parse_kb(text, file)] if not is_blank(text) else []


log = logging.getLogger(__name__)


# --- Editing a knowledge file in place -----------------------------------------------------------
#
# An admin edit changes only what it has to. The file is read twice: by ruamel.yaml in round-trip
# mode, which keeps comments, quoting and flow/block style with the values, and by PyYAML's
# composer, whose node marks say where each article and field lies in the text. The article's
# round-trip mapping is updated in place key by key; each field whose value changed is emitted
# with its comments and spliced over the old field's text, so everything else in the file stays
# byte for byte (ruamel has one indentation setting per file, so re-emitting the whole file would
# re-indent layouts like a top-level list at column 0 with lists nested two further in). If the
# layout is one the splice does not handle (flow-style articles, a bare "-" line...) or its result
# does not read back as exactly the intended articles, the whole round-trip document is emitted
# instead, which still keeps the comments. A result that still does not read back is refused.

ADMIN_HEADER = "# Edited through the hotline admin API.\n"


def _reads_as(text: str, file: str, expected: list[dict[str, Any]]) -> bool:
    try:
        return [to_plain(a) for a in parse_kb(text, file)] == expected
    except KbError:
        return False


def edit_file_text(text: str | None, file: str, article_id: str, new: dict[str, Any] | None) -> str:
    """A knowledge file's text with one article replaced by ``new`` (appended when the file does not
    have it) or, for ``new=None``, removed; "" when no article would be left.

    Comments, quoting and layout of everything not edited are kept; :class:`KbError` when the file
    is not a valid knowledge file now or the edit cannot be written without changing other articles.
    """
    if text is None or is_blank(text):
        if new is None:
            return text or ""
        layout = Layout()
        rt = rt_yaml(layout)
        mapping = CommentedMap((k, styled_value(v, None)) for k, v in new.items())
        head = ADMIN_HEADER if not text else text if text.endswith("\n") else text + "\n"
        return head + ("\n" if head.strip() else "") + render_item(rt, mapping, layout)
    kb_file = KbFile(text, file)
    index = kb_file.index_of(article_id)
    expected = list(kb_file.before)
    splice: Callable[[], str]
    if new is None:
        if index is None:
            return text
        del expected[index]
        if not expected:
            return ""
        del kb_file.seq[index]
        splice = partial(kb_file.splice_delete, index)
    elif index is None:
        expected.append(new)
        mapping = kb_file.new_mapping(new)
        kb_file.seq.append(mapping)
        splice = partial(kb_file.splice_append, mapping)
    else:
        expected[index] = new
        changed = kb_file.update(index, new)
        if not changed:
            return text
        splice = partial(kb_file.splice_update, index, changed)
    try:
        result = splice()
        if _reads_as(result, file, expected):
            return result
        log.warning("knowledge edit re-emits the whole file", extra={"file": file, "reason": "splice mismatch"})
    except NoSplice:
        log.info("knowledge edit re-emits the whole file", extra={"file": file, "reason": "layout"})
    result = kb_file.whole()
    if not _reads_as(result, file, expected):
        raise KbError(f"{file}:0: cannot write this edit without changing other articles; edit the file itself")
    return result
