"""Editing one article of a knowledge file in place, keeping the file's comments and layout.

Used by :class:`hotline.assist.registry.KnowledgeRegistry` for admin edits through the API.
"""

from __future__ import annotations

import difflib
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RtYAMLError
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)
from ruamel.yaml.tokens import CommentToken

from hotline.assist.kb import KbError, parse_kb, to_plain


def file_ids(text: str, file: str) -> list[str]:
    return [a.id for a in parse_kb(text, file)] if not _is_blank(text) else []


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


class _NoSplice(Exception):
    """A layout the text splice does not handle."""


@dataclass
class _Layout:
    dash_col: int = 0  # column of an article's "-"
    item_indent: int = 2  # an article's keys are this far right of its "-"
    seq_indent: int = 4  # a block list nested in an article: items this far right of the key...
    seq_offset: int = 2  # ...and their "-" this far
    blank_between: bool = True  # articles are separated by a blank line


def _rt_yaml(layout: _Layout) -> YAML:
    rt = YAML()  # typ="rt": round trip
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap long strings
    rt.allow_unicode = True
    rt.allow_duplicate_keys = True
    rt.indent(mapping=2, sequence=layout.seq_indent, offset=layout.seq_offset)
    return rt


def _dump(rt: YAML, data: Any) -> str:
    out = io.StringIO()
    rt.dump(data, out)
    return out.getvalue()


def _is_blank(text: str) -> bool:
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


def _same(old: Any, new: Any) -> bool:
    """Whether the file's value ``old`` already reads as the plain value ``new`` (texts are stripped)."""
    if isinstance(new, list):
        return isinstance(old, list) and len(old) == len(new) and all(_same(o, n) for o, n in zip(old, new, strict=True))
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


def _styled_value(value: Any, like: Any) -> Any:
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


def _update_seq(old: CommentedSeq, new: list[Any]) -> None:
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


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_end(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end


def _end(text: str, node: yaml.Node) -> int:
    """Where the node's text ends: after its last character that is not white space."""
    while isinstance(node, (yaml.SequenceNode, yaml.MappingNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    index = int(node.end_mark.index)
    while index > 0 and text[index - 1] in " \t\r\n":
        index -= 1
    return index


def _field_end(text: str, key: yaml.Node, value: yaml.Node) -> int:
    """Where a field's value ends; for a value over several lines, with the comment at the end of
    its last line (ruamel keeps that with the last item, which may move)."""
    end = _end(text, value)
    line_end = _line_end(text, end)
    if line_end == _line_end(text, int(key.start_mark.index)):
        return end
    return line_end if text[end:line_end].strip().startswith("#") else end


def _dash(text: str, item: yaml.Node) -> int:
    """Index of the "-" that opens a list item whose content starts on the same line."""
    index = int(item.start_mark.index) - 1
    while index >= 0 and text[index] in " \t":
        index -= 1
    if index < 0 or text[index] != "-" or text[_line_start(text, index):index].strip():
        raise _NoSplice
    return index


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


class _KbFile:
    """One knowledge file's text, its round-trip document and its node marks, for one edit."""

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self.before = [to_plain(a) for a in parse_kb(text, file)]  # KbError for a file broken now
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        self.root_is_list = isinstance(root, yaml.SequenceNode)
        if isinstance(root, yaml.MappingNode):
            root = next(v for k, v in root.value if str(k.value) == "articles")  # as parse_kb does
        assert isinstance(root, yaml.SequenceNode)  # parse_kb accepted it
        self.seq_node = root
        self.layout = self._layout()
        self.rt = _rt_yaml(self.layout)
        try:
            self.doc = self.rt.load(text)
        except RtYAMLError as exc:
            raise KbError(f"{file}:1: cannot edit this file: {exc}") from exc
        seq = self.doc["articles"] if isinstance(self.doc, CommentedMap) else self.doc
        if not isinstance(seq, CommentedSeq) or len(seq) != len(self.before):
            raise KbError(f"{file}:1: cannot edit this file: its articles do not read back alike")
        self.seq = seq

    def _layout(self) -> _Layout:
        layout = _Layout()
        text, items = self.text, self.seq_node.value
        try:
            dash = _dash(text, items[0])
            layout.dash_col = dash - _line_start(text, dash)
            layout.item_indent = items[0].start_mark.column - layout.dash_col
            if len(items) > 1:
                lines = text.splitlines()
                above = items[1].start_mark.line - 1
                while above >= 0 and _is_comment(lines[above]) and _indent_of(lines[above]) <= layout.dash_col:
                    above -= 1
                layout.blank_between = above >= 0 and not lines[above].strip()
        except _NoSplice:
            pass
        for item in items:
            for key, value in item.value if isinstance(item, yaml.MappingNode) else ():
                if isinstance(value, yaml.SequenceNode) and not value.flow_style and value.value:
                    try:
                        dash = _dash(text, value.value[0])
                    except _NoSplice:
                        continue
                    offset = dash - _line_start(text, dash) - key.start_mark.column
                    indent = value.value[0].start_mark.column - key.start_mark.column
                    if offset >= 0 and indent >= offset + 2:
                        layout.seq_indent, layout.seq_offset = indent, offset
                        return layout
        return layout

    def index_of(self, article_id: str) -> int | None:
        return next((i for i, a in enumerate(self.before) if a["id"] == article_id), None)

    def example(self, key: str, own: CommentedMap | None = None) -> Any:
        """An existing value to take the style of a new ``key`` from: the same field, else the same
        kind of field in another language; in this article first, then in the file's others."""
        base = key.partition("_")[0]
        maps = ([own] if own is not None else []) + [m for m in self.seq if isinstance(m, CommentedMap)]
        for same_language in (True, False):
            for mapping in maps:
                for k, v in mapping.items():
                    if str(k) == key if same_language else str(k).partition("_")[0] == base:
                        return v
        return None

    def update(self, index: int, new: dict[str, Any]) -> set[str]:
        """Update the article's mapping in place key by key; the keys set or added."""
        mapping = self.seq[index]
        changed: set[str] = set()
        for key in [k for k in mapping if str(k) not in new]:
            del mapping[key]
        order = list(new)
        for key, value in new.items():
            if key in mapping:
                old = mapping[key]
                if _same(old, value):
                    continue
                if isinstance(value, list) and isinstance(old, CommentedSeq):
                    _update_seq(old, value)
                else:
                    mapping[key] = _styled_value(value, old)
            else:
                present = list(mapping)
                before = [present.index(k) for k in order[:order.index(key)] if k in mapping]
                mapping.insert(max(before) + 1 if before else 0, key, _styled_value(value, self.example(key, mapping)))
            changed.add(key)
        return changed

    def new_mapping(self, new: dict[str, Any]) -> CommentedMap:
        mapping = CommentedMap()
        for key, value in new.items():
            mapping[key] = _styled_value(value, self.example(key))
        return mapping

    # -- splices: the text with only the edited part changed; _NoSplice where that cannot be done

    def splice_update(self, index: int, changed: set[str]) -> str:
        text, item, mapping = self.text, self.seq_node.value[index], self.seq[index]
        if not isinstance(item, yaml.MappingNode) or item.flow_style:
            raise _NoSplice
        pairs = [(str(k.value), k, v) for k, v in item.value]
        orig = {name: (k, v) for name, k, v in pairs}
        column = pairs[0][1].start_mark.column
        if len(orig) != len(pairs) or any(k.start_mark.column != column for _, k, _ in pairs):
            raise _NoSplice
        edits: list[tuple[int, int, int, str]] = []  # start, end, order, replacement
        for position, (name, _, _) in enumerate(pairs):
            if name not in mapping:
                start, end = self._key_span(pairs, position)
                edits.append((start, end, 0, ""))
        keys = [str(k) for k in mapping]
        if changed:
            emitted_text, emitted = self._emit_at(mapping, column)
            for order, name in enumerate(keys):
                if name not in changed:
                    continue
                key_node, value_node = emitted[name]
                field = emitted_text[key_node.start_mark.index:_field_end(emitted_text, key_node, value_node)]
                if name in orig:
                    key, value = orig[name]
                    edits.append((key.start_mark.index, _field_end(text, key, value), order, field))
                else:
                    anchor = next((k for k in reversed(keys[:order]) if k in orig), None)
                    if anchor is None:
                        raise _NoSplice
                    at = _line_end(text, _end(text, orig[anchor][1]))
                    edits.append((at, at, order, "\n" + " " * column + field))
        edits.sort()
        for (_, end, _, _), (start, _, _, _) in zip(edits, edits[1:], strict=False):
            if start < end:
                raise _NoSplice
        for start, end, _, replacement in reversed(edits):
            text = text[:start] + replacement + text[end:]
        return text

    def _key_span(self, pairs: list[tuple[str, yaml.Node, yaml.Node]], position: int) -> tuple[int, int]:
        """The text to remove with one field: its lines, or up to the next key on an article's "-" line."""
        text = self.text
        _, key, value = pairs[position]
        line_start = _line_start(text, key.start_mark.index)
        end = _end(text, value)
        line_end = _line_end(text, end)
        rest = text[end:line_end].strip()
        if rest and not rest.startswith("#"):
            raise _NoSplice
        prefix = text[line_start:key.start_mark.index].strip()
        if not prefix:
            return line_start, min(line_end + 1, len(text))
        if prefix == "-" and position + 1 < len(pairs):
            return key.start_mark.index, pairs[position + 1][1].start_mark.index
        raise _NoSplice

    def _emit_at(self, mapping: CommentedMap, column: int) -> tuple[str, dict[str, tuple[yaml.Node, yaml.Node]]]:
        """Emit the article with its keys at ``column`` (nested in placeholder keys), so comments
        keep their columns; the text, and its key and value nodes by name."""
        depth, odd = divmod(column, 2)
        if odd:
            raise _NoSplice
        data: Any = mapping
        for _ in range(depth):
            wrapper = CommentedMap()
            wrapper["x"] = data
            data = wrapper
        emitted = _dump(self.rt, data)
        try:
            node = yaml.compose(emitted, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            raise _NoSplice from exc
        for _ in range(depth):
            if not isinstance(node, yaml.MappingNode):
                raise _NoSplice
            node = node.value[0][1]
        if not isinstance(node, yaml.MappingNode) or node.value[0][0].start_mark.column != column:
            raise _NoSplice
        return emitted, {str(k.value): (k, v) for k, v in node.value}

    def splice_delete(self, index: int) -> str:
        text, item = self.text, self.seq_node.value[index]
        dash_col = _dash(text, item) - _line_start(text, item.start_mark.index)
        lines = text.splitlines(keepends=True)
        first = item.start_mark.line
        stop = text.count("\n", 0, _end(text, item)) + 1
        while stop < len(lines) and _is_comment(lines[stop]) and _indent_of(lines[stop]) > dash_col:
            stop += 1  # comments indented under the article's last field
        above = first  # comments right above the "-" introduce the article, unless they open the file
        while above > 0 and _is_comment(lines[above - 1]) and _indent_of(lines[above - 1]) <= dash_col:
            above -= 1
        if any(line.strip() for line in lines[:above]):
            first = above
        out = lines[:first] + lines[stop:]
        if not any(line.strip() for line in out[first:]):  # it was the last: no blank lines at the end
            while out and not out[-1].strip():
                out.pop()
        elif first == 0 or not out[first - 1].strip():  # one blank line where two would meet
            while first < len(out) and not out[first].strip():
                del out[first]
        return "".join(out)

    def splice_append(self, mapping: CommentedMap) -> str:
        text, layout = self.text, self.layout
        if self.seq_node.flow_style or any(
                not isinstance(n, yaml.MappingNode) or n.flow_style for n in self.seq_node.value):
            raise _NoSplice
        item = _render_item(self.rt, mapping, layout)
        if self.root_is_list:  # at the end: the file as it was is the new text's beginning
            out = text if text.endswith("\n") else text + "\n"
            if layout.blank_between and not out.endswith("\n\n"):
                out += "\n"
            return out + item
        at = _line_end(text, _end(text, self.seq_node.value[-1]))
        return text[:at] + "\n" + ("\n" if layout.blank_between else "") + item.rstrip("\n") + text[at:]

    def whole(self) -> str:
        """The whole round-trip document emitted again (comments kept, indentation normalised)."""
        return _dump(self.rt, self.doc)


def _render_item(rt: YAML, mapping: CommentedMap, layout: _Layout) -> str:
    lines = _dump(rt, mapping).splitlines(keepends=True)
    head = " " * layout.dash_col + "-" + " " * max(layout.item_indent - 1, 1)
    pad = " " * (layout.dash_col + max(layout.item_indent, 2))
    return head + lines[0] + "".join(pad + line if line.strip() else line for line in lines[1:])


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
    if text is None or _is_blank(text):
        if new is None:
            return text or ""
        layout = _Layout()
        rt = _rt_yaml(layout)
        mapping = CommentedMap((k, _styled_value(v, None)) for k, v in new.items())
        head = ADMIN_HEADER if not text else text if text.endswith("\n") else text + "\n"
        return head + ("\n" if head.strip() else "") + _render_item(rt, mapping, layout)
    kb_file = _KbFile(text, file)
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
    except _NoSplice:
        log.info("knowledge edit re-emits the whole file", extra={"file": file, "reason": "layout"})
    result = kb_file.whole()
    if not _reads_as(result, file, expected):
        raise KbError(f"{file}:0: cannot write this edit without changing other articles; edit the file itself")
    return result
