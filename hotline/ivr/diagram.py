"""A flow as a diagram: its nodes and edges, drawn by Graphviz through `hotline.ivr.graph.render_svg`."""

from __future__ import annotations

from collections.abc import Iterable

from hotline.ivr.graph import GraphEdge, GraphNode, render_svg
from hotline.ivr.model import Flow, FlowError, Node

_FAILURE_LABELS = {"failure", "error", "unavailable", "closed", "no match"}


def _label(node: Node, language: str) -> str:
    text = node.summary(language)  # each node type says what it does (hotline.ivr.nodes)
    return text if len(text) <= 40 else text[:39] + "…"


def flow_svg(flow: Flow, errors: Iterable[FlowError] = ()) -> str:
    by_line = {e.line: e.message for e in errors}
    nodes = [GraphNode(n.id, n.type, _label(n, flow.language), n.line, by_line.get(n.line, ""))
             for n in flow.nodes.values()]
    edges: list[GraphEdge] = []
    for node in flow.nodes.values():
        for choice in node.choices:
            label = " / ".join(x for x in (choice.key, choice.label) if x)
            edges.append(GraphEdge(node.id, choice.next, label))
        for case in node.cases:
            edges.append(GraphEdge(node.id, case.next, case.condition if len(case.condition) < 30 else "if …"))
        for label, target in node.exits():  # the named edges (choices and cases are above)
            if target:
                edges.append(GraphEdge(node.id, target, "" if label == "next" else label,
                                       "failure" if label in _FAILURE_LABELS else "normal"))
    for choice in flow.global_choices:
        edges.append(GraphEdge(flow.start, choice.next, f"any time: {choice.key or choice.label}", "global"))
    return render_svg(nodes, edges, flow.start, title=f"flow {flow.name}", file=flow.file)
