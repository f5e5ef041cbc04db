"""IVR flow diagrams as self-contained SVG, laid out by Graphviz `dot`.

`to_dot` writes the graph as DOT text (pure); `render_svg` runs `dot -Tsvg` on it and marks up the
result for the pages and tests: every node group gets `data-node`, `data-kind` and, where they
apply, `data-start` and `data-error`; every edge group `data-source`, `data-target` and
`data-kind`; the `<title>` of a node is its file:line and error, which browsers show as a tooltip.

Graphviz is a maintained layered layout (cycle breaking, crossing reduction, spline routing), which
replaced a home-made one whose diagrams sprawled. Node ids in the DOT text are synthetic (`n0`,
`n1`, ...) and every label is an HTML-like label with its text XML-escaped, so nothing a flow file
says can break the DOT syntax or reach the SVG as markup. The SVG is parsed and written out again
with ElementTree, which drops Graphviz's DOCTYPE (the only external reference in its output).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from hotline.ivr.model import ASKING_TYPES
from hotline.system.errors import HotlineError

_SVG, _XLINK = "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"
_DOT_TIMEOUT_S = 20.0


class DiagramError(HotlineError):
    """Graphviz is missing, failed or took too long; the flow itself may be fine."""


@dataclass(frozen=True)
class GraphNode:
    id: str
    kind: str
    label: str = ""
    line: int = 0
    error: str = ""


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    label: str = ""
    kind: str = "normal"  # normal | failure | global


# (fill, border, shape) by node kind: asking nodes, actions, decisions, hand-offs, ends
_INPUT, _ACTION = ("#dbeafe", "#2563eb", "box"), ("#dcfce7", "#16a34a", "box")
_STYLE: dict[str, tuple[str, str, str]] = {
    **dict.fromkeys(ASKING_TYPES, _INPUT),
    **dict.fromkeys(("say", "set", "lookup", "ticket"), _ACTION),
    **dict.fromkeys(("branch", "hours"), ("#fef3c7", "#d97706", "hexagon")),
    **dict.fromkeys(("goto", "subflow"), ("#fef3c7", "#d97706", "box")),
    **dict.fromkeys(("transfer", "voicemail"), ("#f3e8ff", "#9333ea", "box")),
    "hangup": ("#e5e7eb", "#374151", "oval"),
    "return": ("#e0f2f1", "#0f766e", "oval"),
}
_NEUTRAL, _ERROR, _MISSING = ("#f5f5f5", "#9ca3af", "box"), "#dc2626", "missing"
# (colour, style) by edge kind
_EDGE_STYLE = {"normal": ("#4b5563", "solid"), "failure": ("#c2410c", "dashed"), "global": ("#6b7280", "dotted")}
_GRAPH = ('graph [rankdir=TB, nodesep=0.25, ranksep=0.4, pad=0.2, bgcolor="#ffffff",'
          ' fontname="sans-serif", fontsize=15, labelloc=t, labeljust=l];\n'
          'node [fontname="sans-serif", fontsize=13, shape=box, style="rounded,filled", penwidth=1.4,'
          ' margin="0.12,0.05"];\n'
          'edge [fontname="sans-serif", fontsize=10, penwidth=1.2, arrowsize=0.7];\n')


def _clean(text: str, limit: int = 0) -> str:
    """Drop characters XML cannot carry; flatten whitespace; optionally shorten with an ellipsis."""
    text = " ".join("".join(c for c in text if c >= " " or c in "\t\n\r").split())
    return text[: limit - 1] + "…" if limit and len(text) > limit else text


def _html(text: str) -> str:
    return escape(text).replace('"', "&quot;")


def _attrs(**values: str) -> str:
    """DOT attributes; values starting with '<' are HTML-like labels, the rest are quoted."""
    return ", ".join(f"{k}={v}" if v.startswith("<") else f'{k}="{v}"' for k, v in values.items())


def _node_label(nid: str, node: GraphNode) -> str:
    if node.kind == _MISSING:
        return f'<<B>?</B><BR/><FONT POINT-SIZE="11">{_html(_clean(nid, 40))}</FONT>>'
    rows = [f"<B>{_html(_clean(nid, 40))}</B>"]
    if label := _clean(node.label, 30):
        rows.append(f'<FONT POINT-SIZE="11" COLOR="#374151">{_html(label)}</FONT>')
    if node.error:  # shown in the drawing too: a diagram in an <img> has no tooltips
        rows.append(f'<FONT POINT-SIZE="11" COLOR="{_ERROR}">⚠ {_html(_clean(node.error, 40))}</FONT>')
    return "<" + "<BR/>".join(rows) + ">"


def _graph_nodes(
    nodes: Sequence[GraphNode], edges: Sequence[GraphEdge], start: str
) -> tuple[dict[str, GraphNode], dict[str, str]]:
    """Nodes by id (first one wins, placeholders for edge ends that name no node), and the DOT name
    of each; the start node comes first (dot breaks cycles in the order nodes are declared)."""
    by_id: dict[str, GraphNode] = {}
    for node in nodes:
        by_id.setdefault(node.id, node)
    for e in edges:
        for end in (e.source, e.target):
            by_id.setdefault(end, GraphNode(end, _MISSING))
    ordered = {nid: by_id[nid] for nid in sorted(by_id, key=lambda nid: nid != start)}  # stable sort
    return ordered, {nid: f"n{i}" for i, nid in enumerate(ordered)}


def to_dot(nodes: Sequence[GraphNode], edges: Sequence[GraphEdge], start: str, title: str = "") -> str:
    """The graph as DOT text; the start node comes first and is pinned to the top rank."""
    by_id, key = _graph_nodes(nodes, edges, start)
    lines = ["digraph flow {", _GRAPH]
    if title := _clean(title):
        lines.append(f"label=<<B>{_html(title)}</B>>;")
    for nid, node in by_id.items():
        fill, border, shape = _STYLE.get(node.kind, _NEUTRAL)
        width = "3" if nid == start else "1.4"
        style = "rounded,filled"
        if node.kind == _MISSING:
            fill, border, style = "#ffffff", _ERROR, "rounded,dashed,filled"
        if node.error:
            border, width = _ERROR, "3" if nid == start else "2.5"
        if shape != "box":
            style = style.replace("rounded,", "")
        lines.append(f"{key[nid]} [" + _attrs(id=key[nid], label=_node_label(nid, node), shape=shape,
                                              style=style, fillcolor=fill, color=border, penwidth=width) + "];")
    if start in key:
        lines.append(f"{{rank=min; {key[start]}}}")
    for i, e in enumerate(edges):
        colour, style = _EDGE_STYLE.get(e.kind, _EDGE_STYLE["normal"])
        source, extra = key[e.source], {}
        if e.kind == "global":  # drawn from a small "any node" mark beside its target, not across the page
            source = f"a{i}"
            lines.append(f"{source} [" + _attrs(id=source, label="any node", shape="plaintext", style="solid",
                                               fontsize="10", fontcolor=colour, height="0.2") + "];")
        if label := _clean(e.label, 32):
            extra["label"] = f"<{_html(label)}>"
        lines.append(f"{source} -> {key[e.target]} [" + _attrs(
            id=f"e{i}", color=colour, fontcolor=colour, style=style, **extra) + "];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def run_dot(dot_text: str, timeout_s: float = _DOT_TIMEOUT_S) -> str:
    """Graphviz's SVG for `dot_text`; DiagramError if `dot` is missing, fails or times out."""
    exe = shutil.which("dot")
    if exe is None:
        raise DiagramError("cannot draw the flow: Graphviz 'dot' is not installed (Debian package graphviz)")
    try:
        proc = subprocess.run([exe, "-Tsvg"], input=dot_text.encode(), capture_output=True,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise DiagramError(f"cannot draw the flow: Graphviz 'dot' took more than {timeout_s:g} s") from exc
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        raise DiagramError(f"cannot draw the flow: Graphviz 'dot' failed: {detail[0]}")
    return proc.stdout.decode()


def render_svg(
    nodes: Sequence[GraphNode], edges: Sequence[GraphEdge], start: str, title: str = "", file: str = ""
) -> str:
    """The diagram as one SVG document (no scripts, no external references)."""
    by_id, names = _graph_nodes(nodes, edges, start)
    key = {name: nid for nid, name in names.items()}
    raw = run_dot(to_dot(nodes, edges, start, title))
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise DiagramError(f"cannot draw the flow: Graphviz wrote SVG that does not parse: {exc}") from exc
    for group in root.iter(f"{{{_SVG}}}g"):
        gid, cls = group.get("id", ""), group.get("class")
        if cls == "node" and gid in key:
            nid = key[gid]
            node = by_id[nid]
            where = f"{file}:{node.line}" if file and node.line else (f"line {node.line}" if node.line else "")
            tip = [f"missing node: {nid}"] if node.kind == _MISSING else [where or f"{node.kind} {nid}"]
            tip += [node.error] if node.error else []
            group.attrib.update({"data-node": nid, "data-kind": node.kind})
            if nid == start:
                group.set("data-start", "true")
            if node.error:
                group.set("data-error", "true")
            _set_title(group, "\n".join(_clean(part) for part in tip))
        elif cls == "edge" and gid.startswith("e") and gid[1:].isdigit() and int(gid[1:]) < len(edges):
            e = edges[int(gid[1:])]
            group.attrib.update({"data-source": e.source, "data-target": e.target, "data-kind": e.kind})
            _set_title(group, _clean(f"{e.source} → {e.target}" + (f": {e.label}" if e.label else "")))
        elif cls == "node" and gid.startswith("a"):  # a global edge's "any node" mark, not a flow node
            group.set("class", "anchor")
        elif cls == "graph":
            _set_title(group, _clean(title) or "IVR flow")
    heading = ET.Element(f"{{{_SVG}}}title")
    heading.text = _clean(title) or "IVR flow"
    root.insert(0, heading)
    made_by = re.search(r"<!-- Generated by graphviz[^<>]*?-->", raw)
    _unqualify(root)
    body = ET.tostring(root, encoding="unicode")
    return (made_by.group(0) + "\n" if made_by else "") + body + "\n"


def _unqualify(root: ET.Element) -> None:
    """Plain SVG names, as browsers and `data-*` selectors expect, instead of ElementTree's `ns0:`."""
    for el in root.iter():
        el.tag = el.tag.removeprefix(f"{{{_SVG}}}")
        for name in [n for n in el.attrib if n.startswith(f"{{{_XLINK}}}")]:
            el.set(name.replace(f"{{{_XLINK}}}", "xlink:"), el.attrib.pop(name))
    root.set("xmlns", _SVG)
    if any(n.startswith("xlink:") for el in root.iter() for n in el.attrib):
        root.set("xmlns:xlink", _XLINK)


def _set_title(group: ET.Element, text: str) -> None:
    title = group.find(f"{{{_SVG}}}title")
    if title is None:
        title = ET.SubElement(group, f"{{{_SVG}}}title")
    title.text = text
