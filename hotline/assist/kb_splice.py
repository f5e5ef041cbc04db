"""One knowledge file open for one edit: its text, its round-trip document and PyYAML's node marks, and
the text splices that change only the edited article. See `hotline.assist.kb_edit`."""

from __future__ import annotations

from typing import Any

import yaml
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RtYAMLError

from hotline.assist.kb import KbError, parse_kb, to_plain
from hotline.assist.kb_roundtrip import (
    Layout,
    dump,
    reads_same,
    render_item,
    rt_yaml,
    styled_value,
    update_seq,
)


class NoSplice(Exception):
    """A layout the text splice does not handle."""


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
        raise NoSplice
    return index


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


class KbFile:
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
        self.rt = rt_yaml(self.layout)
        try:
            self.doc = self.rt.load(text)
        except RtYAMLError as exc:
            raise KbError(f"{file}:1: cannot edit this file: {exc}") from exc
        seq = self.doc["articles"] if isinstance(self.doc, CommentedMap) else self.doc
        if not isinstance(seq, CommentedSeq) or len(seq) != len(self.before):
            raise KbError(f"{file}:1: cannot edit this file: its articles do not read back alike")
        self.seq = seq

    def _layout(self) -> Layout:
        layout = Layout()
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
        except NoSplice:
            pass
        for item in items:
            for key, value in item.value if isinstance(item, yaml.MappingNode) else ():
                if isinstance(value, yaml.SequenceNode) and not value.flow_style and value.value:
                    try:
                        dash = _dash(text, value.value[0])
                    except NoSplice:
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
        """Update the article's mapping in place key by key; the keys set, added or removed."""
        mapping = self.seq[index]
        changed: set[str] = set()
        for key in [k for k in mapping if str(k) not in new]:
            del mapping[key]
            changed.add(str(key))  # a field only removed (a spoken answer cleared) is an edit too
        order = list(new)
        for key, value in new.items():
            if key in mapping:
                old = mapping[key]
                if reads_same(old, value):
                    continue
                if isinstance(value, list) and isinstance(old, CommentedSeq):
                    update_seq(old, value)
                else:
                    mapping[key] = styled_value(value, old)
            else:
                present = list(mapping)
                before = [present.index(k) for k in order[:order.index(key)] if k in mapping]
                mapping.insert(max(before) + 1 if before else 0, key, styled_value(value, self.example(key, mapping)))
            changed.add(key)
        return changed

    def new_mapping(self, new: dict[str, Any]) -> CommentedMap:
        mapping = CommentedMap()
        for key, value in new.items():
            mapping[key] = styled_value(value, self.example(key))
        return mapping

    # -- splices: the text with only the edited part changed; NoSplice where that cannot be done

    def splice_update(self, index: int, changed: set[str]) -> str:
        text, item, mapping = self.text, self.seq_node.value[index], self.seq[index]
        if not isinstance(item, yaml.MappingNode) or item.flow_style:
            raise NoSplice
        pairs = [(str(k.value), k, v) for k, v in item.value]
        orig = {name: (k, v) for name, k, v in pairs}
        column = pairs[0][1].start_mark.column
        if len(orig) != len(pairs) or any(k.start_mark.column != column for _, k, _ in pairs):
            raise NoSplice
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
                        raise NoSplice
                    at = _line_end(text, _end(text, orig[anchor][1]))
                    edits.append((at, at, order, "\n" + " " * column + field))
        edits.sort()
        for (_, end, _, _), (start, _, _, _) in zip(edits, edits[1:], strict=False):
            if start < end:
                raise NoSplice
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
            raise NoSplice
        prefix = text[line_start:key.start_mark.index].strip()
        if not prefix:
            return line_start, min(line_end + 1, len(text))
        if prefix == "-" and position + 1 < len(pairs):
            return key.start_mark.index, pairs[position + 1][1].start_mark.index
        raise NoSplice

    def _emit_at(self, mapping: CommentedMap, column: int) -> tuple[str, dict[str, tuple[yaml.Node, yaml.Node]]]:
        """Emit the article with its keys at ``column`` (nested in placeholder keys), so comments
        keep their columns; the text, and its key and value nodes by name."""
        depth, odd = divmod(column, 2)
        if odd:
            raise NoSplice
        data: Any = mapping
        for _ in range(depth):
            wrapper = CommentedMap()
            wrapper["x"] = data
            data = wrapper
        emitted = dump(self.rt, data)
        try:
            node = yaml.compose(emitted, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            raise NoSplice from exc
        for _ in range(depth):
            if not isinstance(node, yaml.MappingNode):
                raise NoSplice
            node = node.value[0][1]
        if not isinstance(node, yaml.MappingNode) or node.value[0][0].start_mark.column != column:
            raise NoSplice
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
            raise NoSplice
        item = render_item(self.rt, mapping, layout)
        if self.root_is_list:  # at the end: the file as it was is the new text's beginning
            out = text if text.endswith("\n") else text + "\n"
            if layout.blank_between and not out.endswith("\n\n"):
                out += "\n"
            return out + item
        at = _line_end(text, _end(text, self.seq_node.value[-1]))
        return text[:at] + "\n" + ("\n" if layout.blank_between else "") + item.rstrip("\n") + text[at:]

    def whole(self) -> str:
        """The whole round-trip document emitted again (comments kept, indentation normalised)."""
        return dump(self.rt, self.doc)
