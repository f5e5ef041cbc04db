"""The node type registry (hotline.ivr.nodes): every type has a class and a spec, each type's
module checks its own keys with the loader's file:line:column messages, and a new type needs no
change to the loader or the engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from hotline.ivr import nodes
from hotline.ivr.actions import DigitPressed, Hangup, IvrAction, Play, PromptDone
from hotline.ivr.engine import IvrEngine
from hotline.ivr.loader import parse_flow_text
from hotline.ivr.model import ASKING_TYPES, INPUT_TYPES, NODE_TYPES, FlowErrors, Node, Run
from hotline.ivr.nodes.asking import AskingNode
from hotline.ivr.nodes.fields import Fields
from hotline.ivr.nodes.spec import NodeSpec
from hotline.ivr.yaml_marks import Located

REPO = Path(__file__).resolve().parents[2]


def errors_of(node: str) -> list[str]:
    text = f"start: a\nnodes:\n  {node}\n  e: {{type: hangup}}\n"
    with pytest.raises(FlowErrors) as exc:
        parse_flow_text(text, "f.yaml", REPO)
    return [str(e) for e in exc.value.errors]


def test_every_node_type_has_a_class_and_a_spec() -> None:
    assert tuple(nodes.SPECS) == NODE_TYPES
    for name, spec in nodes.SPECS.items():
        assert spec.cls.type == name and issubclass(spec.cls, Node)
    assert {n for n, s in nodes.SPECS.items() if issubclass(s.cls, AskingNode)} == set(ASKING_TYPES)
    assert {n for n, s in nodes.SPECS.items() if s.cls.waits} == set(INPUT_TYPES)
    assert {n for n, s in nodes.SPECS.items() if s.cls.phrases_are_hints} == {"menu"}


def test_an_unknown_type_lists_the_registered_ones() -> None:
    assert errors_of("a: {type: dance}") == [f"f.yaml:3:7: node 'a': type must be one of {', '.join(NODE_TYPES)}"]
    assert errors_of("a: {prompt: hi}") == [f"f.yaml:3:6: node 'a': type must be one of {', '.join(NODE_TYPES)}"]


@pytest.mark.parametrize(("node", "expected"), [
    ("a: {type: say, prompt: hi}", ["f.yaml:3:6: node 'a': a say node needs 'next'"]),
    ("a: {type: menu, prompt: hi, options: []}", ["f.yaml:3:31: node 'a': a menu needs a non-empty 'options' list"]),
    ("a: {type: menu, prompt: hi, options: [{key: '1', next: e}, {key: '1', next: e}]}",
     ["f.yaml:3:63: node 'a': key '1' is used by two options"]),
    ("a: {type: gather, prompt: hi, next: e, min_digits: 5, max_digits: 3, terminator: x}",
     ["f.yaml:3:6: node 'a': a gather node needs 'var' to store the digits in",
      "f.yaml:3:42: node 'a': min_digits is larger than max_digits",
      "f.yaml:3:72: node 'a': terminator must be '#' or '*' (or empty for none)"]),
    ("a: {type: gather, prompt: hi, next: e, var: n, pattern: '('}",
     ["f.yaml:3:50: node 'a': bad regular expression '(': missing ), unterminated subpattern at position 0"]),
    ("a: {type: ask, prompt: hi, next: e}",
     ["f.yaml:3:6: node 'a': an ask node needs 'intents' (name: {examples: [...], next: node})"]),
    ("a: {type: set, set: {x: '1'}}", ["f.yaml:3:6: node 'a': a set node needs 'next'"]),
    ("a: {type: goto}", ["f.yaml:3:6: node 'a': a goto node needs 'next'"]),
    ("a: {type: branch, cases: [{if: 'x ==', next: e}]}",
     ["f.yaml:3:6: node 'a': a branch needs 'else'", "f.yaml:3:34: node 'a' case 1: bad condition: invalid syntax"]),
    ("a: {type: subflow, next: e}",
     ["f.yaml:3:6: node 'a': a subflow node needs 'flow' (the name of another flow file)"]),
    ("a: {type: return, next: e, flow: x}", ["f.yaml:3:30: node 'a': unknown key 'flow' for a return node"]),
    ("a: {type: lookup, next: e}",
     ["f.yaml:3:6: node 'a': a lookup needs 'source' and 'operation'",
      "f.yaml:3:6: node 'a': a lookup needs 'on_error' (where to go when the service fails)"]),
    ("a: {type: hours, schedule: office, open: e}",
     ["f.yaml:3:3: node 'a': unknown schedule 'office' (define it under 'hours:')",
      "f.yaml:3:6: node 'a': an hours node needs 'schedule', 'open' and 'closed'"]),
    ("a: {type: transfer, queue: q, uri: 'tel:1'}",
     ["f.yaml:3:6: node 'a': a transfer needs exactly one of 'queue' or 'uri'",
      "f.yaml:3:6: node 'a': a transfer needs 'on_unavailable' (where to go when nobody can answer)",
      "f.yaml:3:33: node 'a': uri must be a SIP URI (sip:user@host)"]),
    ("a: {type: voicemail, next: e, on_error: e, ticket: {priority: high}}",
     ["f.yaml:3:6: node 'a': a voicemail node needs a 'prompt'"]),
    ("a: {type: ticket, next: e}",
     ["f.yaml:3:6: node 'a': 'ticket' needs a 'type'",
      "f.yaml:3:6: node 'a': needs 'on_error' (where to go when the ticket cannot be created)"]),
    ("a: {type: hangup, options: []}", ["f.yaml:3:21: node 'a': unknown key 'options' for a hangup node"]),
], ids=lambda v: v.split(",")[0].removeprefix("a: {type: ") if isinstance(v, str) else "")
def test_each_node_type_checks_its_own_keys(node: str, expected: list[str]) -> None:
    assert errors_of(node) == expected


def test_nodes_are_of_their_type_s_class_with_edges_in_a_fixed_order() -> None:
    flow = parse_flow_text(
        "start: m\nnodes:\n  m: {type: menu, prompt: p, on_failure: t, options: [{key: '1', label: one, next: l}]}\n"
        "  l: {type: lookup, source: s, operation: o, next: t, on_error: m}\n"
        "  t: {type: transfer, queue: q, on_unavailable: m}\n", "f.yaml")
    menu, lookup, transfer = flow.nodes["m"], flow.nodes["l"], flow.nodes["t"]
    assert type(menu) is nodes.SPECS["menu"].cls and menu.type == "menu"
    assert menu.targets() == [("failure", "t"), ("one", "l")]
    assert lookup.targets() == [("next", "t"), ("error", "m")] and lookup.source == "s"
    assert transfer.targets() == [("unavailable", "m")] and transfer.queue == "q"
    # what code that handles every node alike reads is there on every type
    assert (lookup.choices, lookup.cases, lookup.var, lookup.flow, transfer.schedule) == ((), (), "", "", "")
    assert menu.confirm.empty and not menu.sensitive


@dataclass(frozen=True, kw_only=True)
class _CountNode(Node):
    """A node type made up for the test: says how many times the caller has been here."""

    type: ClassVar[str] = "count"
    var: str = ""

    def on_enter(self, run: Run, actions: list[IvrAction]) -> str | None:
        run.variables[self.var] = str(int(run.variables.get(self.var, "0")) + 1)
        return self.next


def _load_count(r: Fields, raw: Located, kw: dict[str, Any], ctx: str) -> None:
    kw["var"] = r.text(raw, "var", ctx) or "count"


def test_a_new_node_type_is_a_class_and_a_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(nodes.SPECS, "count", NodeSpec(_CountNode, frozenset({"var"}), _load_count, needs_next=True))
    flow = parse_flow_text("start: c\nnodes:\n  c: {type: count, var: visits, next: m}\n"
                           "  m: {type: menu, prompt: Again, options: [{key: '1', next: c}]}\n", "f.yaml")
    engine = IvrEngine(flow)
    actions = engine.start()
    assert engine.variables["visits"] == "1"
    play = next(a for a in actions if isinstance(a, Play))
    engine.handle(PromptDone(play.prompt_id))
    engine.handle(DigitPressed("1"))
    assert engine.variables["visits"] == "2" and engine.path == ["c", "m", "c", "m"]
    assert not any(isinstance(a, Hangup) for a in actions)
    assert errors_of("a: {type: count, next: e, bogus: 1}") == ["f.yaml:3:29: node 'a': unknown key 'bogus' for a count node"]
