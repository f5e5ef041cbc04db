"""YAML loading that remembers where every mapping and key started (for file:line:column errors)."""

from __future__ import annotations

from typing import Any

import yaml


class Located(dict):  # type: ignore[type-arg]
    """A mapping from YAML that knows its own position and the position of each key."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.mark = (1, 1)
        self.key_marks: dict[str, tuple[int, int]] = {}
        self.value_marks: dict[str, tuple[int, int]] = {}

    def where(self, key: str | None = None) -> tuple[int, int]:
        return self.key_marks.get(key, self.mark) if key else self.mark

    def value_at(self, key: str) -> tuple[int, int]:
        return self.value_marks.get(key, self.where(key))


class LocatedList(list):  # type: ignore[type-arg]
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.mark = (1, 1)
        self.item_marks: list[tuple[int, int]] = []


class _LineLoader(yaml.SafeLoader):
    pass


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> Located:
    mapping = Located(loader.construct_mapping(node, deep=True))
    mapping.mark = _mark(node)
    for key_node, value_node in node.value:
        mapping.key_marks[str(key_node.value)] = _mark(key_node)
        mapping.value_marks[str(key_node.value)] = _mark(value_node)
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LocatedList:
    seq = LocatedList(loader.construct_sequence(node, deep=True))
    seq.mark = _mark(node)
    seq.item_marks = [_mark(item) for item in node.value]
    return seq


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_located(text: str) -> Any:
    """Parse YAML text; raises yaml.MarkedYAMLError on syntax errors."""
    return yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)
