"""The IVR node types: one module per type, each with its class (fields and run rules) and its
`SPEC` (keys and how they are read and checked). A new node type is a module here, one line in
`SPECS`, and its tests; the loader and the engine need no change.

`load_node` reads one node of a flow file: the keys every node has, then the type's own.
"""

from __future__ import annotations

from typing import Any

from hotline.ivr.model import Node
from hotline.ivr.nodes import (
    answer,
    ask,
    branch,
    gather,
    goto,
    hangup,
    hours,
    lookup,
    menu,
    return_,
    say,
    set_,
    subflow,
    ticket,
    transfer,
    voicemail,
)
from hotline.ivr.nodes.fields import Fields
from hotline.ivr.nodes.spec import NodeSpec
from hotline.ivr.yaml_marks import Located

# in the order the "type must be one of" message lists them
SPECS: dict[str, NodeSpec] = {spec.type: spec for spec in (
    say.SPEC, menu.SPEC, gather.SPEC, ask.SPEC, answer.SPEC, set_.SPEC, branch.SPEC, goto.SPEC, subflow.SPEC, return_.SPEC,
    lookup.SPEC, hours.SPEC, transfer.SPEC, voicemail.SPEC, ticket.SPEC, hangup.SPEC)}

COMMON_KEYS = frozenset({"type", "prompt", "next", "set", "barge_in", "global", "description", "language",
                         "sensitive"})


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def load_node(r: Fields, node_id: str, raw: Located, line: int, column: int = 1) -> Node | None:
    """The node `node_id` of a flow file, or None when its type is unknown (problems go to `r`)."""
    ctx = f"node '{node_id}'"
    ntype = raw.get("type")
    spec = SPECS.get(ntype) if isinstance(ntype, str) else None
    if spec is None:
        r.err(raw, "type" if "type" in raw else None, f"{ctx}: type must be one of {', '.join(SPECS)}")
        return None
    for name in sorted(set(raw) - COMMON_KEYS - spec.keys):
        r.err(raw, name, f"{ctx}: unknown key '{name}' for {_a(spec.type)} node")
    kw: dict[str, Any] = {"id": node_id, "line": line, "column": column}
    kw["prompt"] = r.prompt(raw, "prompt", ctx)
    kw["next"] = r.target(raw, "next", node_id)
    kw["set"] = r.mapping_of_text(raw, "set", ctx)
    kw["barge_in"] = r.flag(raw, "barge_in", ctx, True)
    kw["use_global"] = r.flag(raw, "global", ctx, True)
    kw["sensitive"] = r.flag(raw, "sensitive", ctx, False)
    kw["language"] = r.text(raw, "language", ctx)
    if kw["language"] and kw["language"] not in r.languages:
        r.err(raw, "language", f"{ctx}: language '{kw['language']}' is not one of the flow's languages")
    if spec.needs_next and kw["next"] is None:
        r.err(raw, None, f"{ctx}: {_a(spec.type)} node needs 'next'")
    if spec.needs_prompt and kw["prompt"].empty and "prompt" not in raw:
        r.err(raw, None, f"{ctx}: {_a(spec.type)} node needs a 'prompt'")
    spec.load(r, raw, kw, ctx)
    return spec.cls(**kw)
