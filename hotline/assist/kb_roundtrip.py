"""Knowledge-file values in ruamel.yaml's round-trip form: a file's layout, and new values styled like
the ones they replace (quoting, block or flow lists, comments that follow a list).

See `hotline.assist.kb_edit` for how an edit uses them.
"""

from __future__ import annotations

import difflib
import io
from dataclasses import dataclass
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)
from ruamel.yaml.tokens import CommentToken


@dataclass
class Layout:
    dash_col: int = 0  # column of an article's "-"
    item_indent: int = 2  # an article's keys are this far right of its "-"
    seq_indent: int = 4  # a block list nested in an article: items this far right of the key...
    seq_offset: int = 2  # ...and their "-" this far
    blank_between: bool = True  # articles are separated by a blank line


def rt_yaml(layout: Layout) -> YAML:
    rt = YAML()  # typ="rt": round trip
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap long strings
    rt.allow_unicode = True
    rt.allow_duplicate_keys = True
    rt.indent(mapping=2, sequence=layout.seq_indent, offset=layout.seq_offset)
    return rt


def dump(rt: YAML, data: Any) -> str:
    out = io.StringIO()
    rt.dump(data, out)
    return out.getvalue()


def is_blank(text: str) -> bool:
    """True for a file with no YAML content (empty, or comments only)."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader) is None
    except yaml.YAMLError:
        return False


def _needs_quotes(text: str) -> bool:
    """True when the plain scalar would not read back as this string (``yes``, ``1.5``, ``a: b``...)."""
    try:
        return bool(yaml.safe_load(text) != text)
    except yaml.YAMLError:
        return True


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value).strip()


def reads_same(old: Any, new: Any) -> bool:
    """Whether the file's value ``old`` already reads as the plain value ``new`` (texts are stripped)."""
    if isinstance(new, list):
        return isinstance(old, list) and len(old) == len(new) and all(reads_same(o, n) for o, n in zip(old, new, strict=True))
    return bool(_scalar_text(old) == new)


def _styled(text: str, like: Any) -> Any:
    """``text`` as a scalar in the style of ``like`` (the value it replaces or a sibling's)."""
    if isinstance(like, list):
        like = like[0] if like else None
    if isinstance(like, DoubleQuotedScalarString):
        return DoubleQuotedScalarString(text)
    if isinstance(like, SingleQuotedScalarString):
        return SingleQuotedScalarString(text)
    if isinstance(like, LiteralScalarString):
        return LiteralScalarString(text + "\n" if str(like).endswith("\n") else text)
    if isinstance(like, FoldedScalarString):
        return FoldedScalarString(text + "\n" if str(like).endswith("\n") else text)
    if "\n" in text:
        return LiteralScalarString(text + "\n")
    if _needs_quotes(text):
        return DoubleQuotedScalarString(text)
    return text


def styled_value(value: Any, like: Any) -> Any:
    if not isinstance(value, list):
        return _styled(str(value), like)
    seq = CommentedSeq(_styled(str(item), like) for item in value)
    if isinstance(like, CommentedSeq) and like.fa.flow_style():
        seq.fa.set_flow_style()
    else:
        seq.fa.set_block_style()
    return seq


def _detach_trailing(seq: CommentedSeq) -> CommentToken | None:
    """Take off the comment lines that follow the list (ruamel keeps them with its last item)."""
    entry: list[Any] | None = seq.ca.items.get(len(seq) - 1) if len(seq) else None
    token = entry[0] if entry else None
    if entry is None or not isinstance(token, CommentToken):
        return None
    value = token.value
    if value.startswith("#"):  # the item's own end-of-line comment stays with it
        eol, _, rest = value.partition("\n")
        if not rest:
            return None
        token.value = eol + "\n"
        return CommentToken("\n" + rest, token.start_mark, token.end_mark)
    entry[0] = None
    return token


def _attach_trailing(seq: CommentedSeq, trailing: CommentToken | None) -> None:
    if trailing is None or not len(seq):
        return
    entry = seq.ca.items.setdefault(len(seq) - 1, [None, None])
    if isinstance(entry[0], CommentToken):
        entry[0].value = entry[0].value + trailing.value[1:]
    else:
        entry[0] = trailing


def update_seq(old: CommentedSeq, new: list[Any]) -> None:
    """Edit the list in place so items that stay keep their comments and quoting; comments that
    follow the list stay after it, whatever its new last item."""
    trailing = _detach_trailing(old)
    matcher = difflib.SequenceMatcher(a=[_scalar_text(item) for item in old], b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
        if tag == "equal":
            continue
        like = old[i1] if i1 < len(old) else (old[-1] if len(old) else None)
        pairs = min(i2 - i1, j2 - j1)
        for offset in range(pairs):
            old[i1 + offset] = _styled(str(new[j1 + offset]), old[i1 + offset])
        for index in reversed(range(i1 + pairs, i2)):
            del old[index]
        for offset, item in enumerate(new[j1 + pairs:j2]):
            old.insert(i1 + pairs + offset, _styled(str(item), like))
    _attach_trailing(old, trailing)


def render_item(rt: YAML, mapping: CommentedMap, layout: Layout) -> str:
    lines = dump(rt, mapping).splitlines(keepends=True)
    head = " " * layout.dash_col + "-" + " " * max(layout.item_indent - 1, 1)
    pad = " " * (layout.dash_col + max(layout.item_indent, 2))
    return head + lines[0] + "".join(pad + line if line.strip() else line for line in lines[1:])

