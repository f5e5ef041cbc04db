"""A node type's spec: its class, the keys it takes besides the common ones, and how to read them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hotline.ivr.model import Node
from hotline.ivr.nodes.fields import Fields
from hotline.ivr.yaml_marks import Located

# reads the node type's own keys from `raw` into `kw` (the keyword arguments of its class),
# recording problems in the `Fields`; `ctx` names the node in messages ("node 'menu'")
Load = Callable[[Fields, Located, dict[str, Any], str], None]


def _nothing(r: Fields, raw: Located, kw: dict[str, Any], ctx: str) -> None:
    return None


@dataclass(frozen=True)
class NodeSpec:
    cls: type[Node]
    keys: frozenset[str] = frozenset()
    load: Load = _nothing
    needs_next: bool = False
    needs_prompt: bool = False

    @property
    def type(self) -> str:
        return self.cls.type
