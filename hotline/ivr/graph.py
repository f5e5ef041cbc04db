"""IVR flow diagrams as self-contained SVG, laid out here with the standard library only.

The layout is a small layered (Sugiyama-style) one: a DFS from the start node finds back edges
(retry loops), the remaining edges form a DAG whose longest path gives each node its layer, long
edges get invisible waypoints, a few barycentre sweeps order each layer, and nodes are nudged
towards their neighbours. Back edges are routed around the side. Nodes not reachable from the
start go in a final layer. Pure: no I/O, the result is one SVG string.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from hotline.ivr.model import ASKING_TYPES


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


# (fill, stroke) by node kind
_INPUT, _ACTION = ("#dbeafe", "#2563eb"), ("#dcfce7", "#16a34a")
_STYLE: dict[str, tuple[str, str]] = {
    **dict.fromkeys(ASKING_TYPES, _INPUT),
    **dict.fromkeys(("say", "set", "lookup", "hours", "ticket"), _ACTION),
    **dict.fromkeys(("branch", "goto", "subflow"), ("#fef3c7", "#d97706")),
    **dict.fromkeys(("transfer", "voicemail"), ("#f3e8ff", "#9333ea")),
    "hangup": ("#e5e7eb", "#374151"),
    "return": ("#e0f2f1", "#0f766e"),
}
_NEUTRAL, _ERROR, _MISSING = ("#f5f5f5", "#9ca3af"), "#dc2626", "missing"
_EDGE_STYLE = {"normal": ("#4b5563", ""), "failure": ("#c2410c", "6 4"), "global": ("#9ca3af", "2 3")}
_GAP, _DUMMY_GAP, _VGAP, _MARGIN, _LANE, _RADIUS = 36.0, 14.0, 72.0, 24.0, 16.0, 8.0
_ID_SIZE, _LABEL_SIZE, _EDGE_SIZE = 13.0, 11.0, 10.0


def _clean(text: str, limit: int = 0) -> str:
    """Drop characters XML cannot carry; flatten whitespace; optionally shorten with an ellipsis."""
    text = " ".join("".join(c for c in text if c >= " " or c in "\t\n\r").split())
    return text[: limit - 1] + "…" if limit and len(text) > limit else text


def _text_w(text: str, size: float) -> float:
    return sum(size * (1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6) for c in text)


def _n(v: float) -> str:
    return f"{v:.1f}".removesuffix(".0")


def _rounded(points: list[tuple[float, float]]) -> str:
    """An orthogonal polyline with its corners rounded by short cubic curves."""
    out = [f"M{_n(points[0][0])},{_n(points[0][1])}"]
    for (ax, ay), (bx, by), (cx, cy) in zip(points, points[1:], points[2:], strict=False):
        r1 = min(_RADIUS, (abs(bx - ax) + abs(by - ay)) / 2)
        r2 = min(_RADIUS, (abs(cx - bx) + abs(cy - by)) / 2)
        d1 = ((bx > ax) - (bx < ax), (by > ay) - (by < ay))
        d2 = ((cx > bx) - (cx < bx), (cy > by) - (cy < by))
        out.append(f"L{_n(bx - d1[0] * r1)},{_n(by - d1[1] * r1)}")
        out.append(f"C{_n(bx)},{_n(by)} {_n(bx)},{_n(by)} {_n(bx + d2[0] * r2)},{_n(by + d2[1] * r2)}")
    out.append(f"L{_n(points[-1][0])},{_n(points[-1][1])}")
    return " ".join(out)


def render_svg(
    nodes: Sequence[GraphNode], edges: Sequence[GraphEdge], start: str, title: str = "", file: str = ""
) -> str:
    by_id: dict[str, GraphNode] = {}
    for node in nodes:
        by_id.setdefault(node.id, node)
    for e in edges:  # placeholders for ends that name no node
        for end in (e.source, e.target):
            by_id.setdefault(end, GraphNode(end, _MISSING))
    ids = list(by_id)
    out: dict[str, list[str]] = {v: [] for v in ids}
    for e in edges:
        out[e.source].append(e.target)

    # DFS from the start: preorder for the initial order, postorder for a topological order,
    # and the back edges, which are left out of layering.
    root = start if start in by_id else (ids[0] if ids else "")
    state: dict[str, int] = {}
    pre: list[str] = []
    post: list[str] = []
    back: set[tuple[str, str]] = set()
    stack = [(root, iter(out[root]))] if root else []
    if root:
        state[root] = 1
        pre.append(root)
    while stack:
        u, children = stack[-1]
        for v in children:
            if v not in state:
                state[v] = 1
                pre.append(v)
                stack.append((v, iter(out[v])))
                break
            if state[v] == 1:
                back.add((u, v))
        else:
            state[u] = 2
            post.append(u)
            stack.pop()
    layer: dict[str, int] = {}
    for u in reversed(post):
        layer.setdefault(u, 0)
        for v in out[u]:
            if (u, v) not in back:
                layer[v] = max(layer.get(v, 0), layer[u] + 1)
    final = max(layer.values(), default=-1) + 1
    rank = {v: float(n) for n, v in enumerate(pre + [v for v in ids if v not in state])}
    for v in ids:
        layer.setdefault(v, final)

    # Box sizes; long forward edges get a chain of zero-height waypoints, one per crossed layer.
    width: dict[str, float] = {}
    height: dict[str, float] = {}
    for nid, node in by_id.items():
        text_w = max(_text_w(nid, _ID_SIZE) * 1.05, _text_w(_clean(node.label, 48), _LABEL_SIZE))
        pill = node.kind in ("hangup", "return")
        width[nid] = max(28.0 if node.kind == _MISSING else 60.0, text_w + (34 if pill else 20))
        height[nid] = 40.0 if node.label or node.kind == _MISSING else 26.0
    chains: list[list[str]] = []
    up: dict[str, list[str]] = {v: [] for v in ids}
    down: dict[str, list[str]] = {v: [] for v in ids}
    for k, e in enumerate(edges):
        ls, lt = layer[e.source], layer[e.target]
        chain = [e.source]
        if lt > ls:
            for lay in range(ls + 1, lt):
                d = f"\x00{k}.{lay}"
                layer[d], rank[d], width[d], height[d] = lay, rank[e.source] + 0.5, 8.0, 0.0
                up[d], down[d] = [], []
                chain.append(d)
            chain.append(e.target)
            for a, b in zip(chain, chain[1:], strict=False):
                down[a].append(b)
                up[b].append(a)
        chains.append(chain)
    rows: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for v in sorted(layer, key=rank.__getitem__):
        rows[layer[v]].append(v)

    # Ordering: barycentre sweeps, down then up.
    pos = {v: i for row in rows for i, v in enumerate(row)}
    for sweep in range(6):
        nb = up if sweep % 2 == 0 else down
        for row in rows[1:] if sweep % 2 == 0 else rows[-2::-1]:
            key = {v: sum(pos[w] for w in nb[v]) / len(nb[v]) if nb[v] else pos[v] for v in row}
            row.sort(key=key.__getitem__)
            pos.update((v, i) for i, v in enumerate(row))

    # x: pack and centre each row, then pull nodes towards their neighbours, keeping order and gaps.
    def sep(a: str, b: str) -> float:
        real = a[0] != "\x00" and b[0] != "\x00"
        return (width[a] + width[b]) / 2 + (_GAP if real else _DUMMY_GAP)

    x: dict[str, float] = {}
    span = 0.0
    for row in rows:
        for i, v in enumerate(row):
            x[v] = x[row[i - 1]] + sep(row[i - 1], v) if i else width[v] / 2
        span = max(span, x[row[-1]] + width[row[-1]] / 2 if row else 0.0)
    for row in rows:
        shift = (span - (x[row[-1]] + width[row[-1]] / 2)) / 2 if row else 0.0
        x.update((v, x[v] + shift) for v in row)
    for sweep in range(8):
        nb = up if sweep % 2 == 0 else down
        for row in rows[1:] if sweep % 2 == 0 else rows[-2::-1]:
            want = [sum(x[w] for w in nb[v]) / len(nb[v]) if nb[v] else x[v] for v in row]
            placed: list[float] = []
            for i, v in enumerate(row):
                placed.append(max(want[i], placed[-1] + sep(row[i - 1], v)) if i else want[i])
            shift = sum(w - p for w, p in zip(want, placed, strict=True)) / max(len(row), 1)
            x.update((v, p + shift) for v, p in zip(row, placed, strict=True))

    # y: rows of the height of their tallest box.
    head = 40.0 if title else 0.0
    row_top: list[float] = []
    row_h: list[float] = []
    cursor = head
    for row in rows:
        row_top.append(cursor)
        row_h.append(max((height[v] for v in row), default=0.0) or 26.0)
        cursor += row_h[-1] + _VGAP
    y = {v: row_top[layer[v]] + row_h[layer[v]] / 2 for v in layer}
    xs = [x[v] + s * width[v] / 2 for v in x for s in (-1, 1)]
    ys = [y[v] + s * height[v] / 2 for v in y for s in (-1, 1)] + [0.0]

    # Edges.
    parts: list[str] = []
    lanes: dict[int, list[tuple[int, int, float]]] = {1: [], -1: []}
    seen: dict[tuple[str, str], int] = {}
    for e, chain in zip(edges, chains, strict=True):
        k = seen[(e.source, e.target)] = seen.get((e.source, e.target), -1) + 1
        s, t, side = e.source, e.target, 1
        if len(chain) > 1:  # forward: vertical cubic segments through the waypoints
            # ports spread along the box edges towards the other end, so fan-outs do not bunch up
            first, last = x[chain[1]], x[chain[-2]]
            s_port = max(-width[s] / 3, min(width[s] / 3, (first - x[s]) / 4))
            t_port = max(-width[t] / 4, min(width[t] / 4, (last - x[t]) / 6))
            pts = [(x[s] + s_port + 6 * k, y[s] + height[s] / 2)]
            for d in chain[1:-1]:
                pts += [(x[d], row_top[layer[d]]), (x[d], row_top[layer[d]] + row_h[layer[d]])]
            pts.append((x[t] + t_port + 6 * k, y[t] - height[t] / 2))
            d_attr = f"M{_n(pts[0][0])},{_n(pts[0][1])}"
            for (ax, ay), (bx, by) in zip(pts, pts[1:], strict=False):
                my = (ay + by) / 2
                d_attr += f" C{_n(ax)},{_n(my)} {_n(bx)},{_n(my)} {_n(bx)},{_n(by)}"
            (ax, ay), (bx, by) = pts[0], pts[1]
            lx, ly = 0.156 * ax + 0.844 * bx, 0.297 * ay + 0.703 * by - 16 * k  # the curve at t = 3/4
        else:  # back or sideways: around the nearer side of the rows it spans
            lo, hi = min(layer[s], layer[t]), max(layer[s], layer[t])
            spanned = [v for row in rows[lo : hi + 1] for v in row]
            right = max(x[v] + width[v] / 2 for v in spanned)
            left = min(x[v] - width[v] / 2 for v in spanned)
            mid = (x[s] + x[t]) / 2
            side = 1 if right - mid <= mid - left else -1
            lane = (right if side == 1 else left) + side * _GAP / 2
            while any(a <= hi and lo <= b and abs(c - lane) < _LANE - 0.1 for a, b, c in lanes[side]):
                lane += side * _LANE  # keep clear of lanes already used beside these rows
            lanes[side].append((lo, hi, lane))
            srow, trow = rows[layer[s]], rows[layer[t]]
            s_out = srow[-1 if side == 1 else 0] == s
            t_out = trow[-1 if side == 1 else 0] == t
            dy = height[s] / 4 if s == t else 0.0
            sx, tx = x[s] + side * width[s] / 2, x[t] + side * width[t] / 2
            pts = (
                [(sx, y[s] + dy), (lane, y[s] + dy)]
                if s_out
                else [
                    (x[s], y[s] + height[s] / 2),
                    (x[s], row_top[layer[s]] + row_h[layer[s]] + 10 + 4 * k),
                    (lane, row_top[layer[s]] + row_h[layer[s]] + 10 + 4 * k),
                ]
            )
            if t_out:
                pts += [(lane, y[t] - dy), (tx, y[t] - dy)]
            else:
                above = row_top[layer[t]] - 12 - 4 * k
                entry = x[t] + side * (width[t] / 2 - 12)
                pts += [(lane, above), (entry, above), (entry, y[t] - height[t] / 2)]
            d_attr = _rounded(pts)
            lx, ly = lane, (pts[-2][1] + pts[1][1]) / 2 if s != t else y[s]
        colour, dash = _EDGE_STYLE.get(e.kind, _EDGE_STYLE["normal"])
        xs += [p[0] for p in pts]
        ys += [p[1] for p in pts]
        label = _clean(e.label, 32)
        group = [
            f'<g class="edge" data-source={quoteattr(s)} data-target={quoteattr(t)} '
            f"data-kind={quoteattr(e.kind)}>",
            f"<title>{escape(_clean(f'{s} → {t}' + (f': {e.label}' if e.label else '')))}</title>",
            f'<path d="{d_attr}" fill="none" stroke="{colour}" stroke-width="1.4"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + f' marker-end="url(#hl-arrow-{e.kind if e.kind in _EDGE_STYLE else "normal"})"/>',
        ]
        if label:
            lw = _text_w(label, _EDGE_SIZE) + 8
            if s == t and len(chain) == 1:  # a self-loop's label goes beside it, not over it
                lx += side * (lw / 2 + 3)
            xs += [lx - lw / 2, lx + lw / 2]
            ys += [ly - 8, ly + 6]
            group.append(
                f'<rect x="{_n(lx - lw / 2)}" y="{_n(ly - 8)}" width="{_n(lw)}" height="14" rx="3"'
                f' fill="#ffffff" fill-opacity="0.9"/><text x="{_n(lx)}" y="{_n(ly + 3)}"'
                f' text-anchor="middle" font-size="{_n(_EDGE_SIZE)}" fill="{colour}">{escape(label)}</text>'
            )
        parts.append("".join(group) + "</g>")

    # Nodes.
    for nid, node in by_id.items():
        w, h, cx, cy = width[nid], height[nid], x[nid], y[nid]
        fill, stroke = _STYLE.get(node.kind, _NEUTRAL)
        stroke_w, dash, rx = (
            (3.0 if nid == root else 1.4),
            "",
            (h / 2 if node.kind in ("hangup", "return") else 6),
        )
        where = f"{file}:{node.line}" if file and node.line else (f"line {node.line}" if node.line else "")
        tip, main_text, sub_text = [where or f"{node.kind} {nid}"], nid, _clean(node.label, 48)
        if node.kind == _MISSING:
            fill, stroke, dash = "#ffffff", _ERROR, ' stroke-dasharray="4 3"'
            tip, main_text, sub_text = [f"missing node: {nid}"], "?", nid
        if node.error:
            stroke, stroke_w = _ERROR, max(stroke_w, 2.5)
            tip.append(node.error)
        attrs = f'class="node" data-node={quoteattr(nid)} data-kind={quoteattr(node.kind)}'
        attrs += (' data-start="true"' if nid == root else "") + (' data-error="true"' if node.error else "")
        id_fill = f' fill="{_ERROR}"' if node.kind == _MISSING else ""
        group = [
            f"<g {attrs}><title>{escape(chr(10).join(_clean(part) for part in tip))}</title>",
            f'<rect x="{_n(cx - w / 2)}" y="{_n(cy - h / 2)}" width="{_n(w)}" height="{_n(h)}" rx="{_n(rx)}"'
            f' fill="{fill}" stroke="{stroke}" stroke-width="{_n(stroke_w)}"{dash}/>',
            f'<text x="{_n(cx)}" y="{_n(cy - 3 if sub_text else cy + 4.5)}" text-anchor="middle"'
            f' font-weight="bold" font-size="{_n(_ID_SIZE)}"{id_fill}>{escape(main_text)}</text>',
        ]
        if sub_text:
            group.append(
                f'<text x="{_n(cx)}" y="{_n(cy + 12)}" text-anchor="middle" font-size="{_n(_LABEL_SIZE)}"'
                f' fill="#374151">{escape(sub_text)}</text>'
            )
        parts.append("".join(group) + "</g>")

    # Document: everything shifted so the drawing starts at the margin.
    min_x, max_x = min(xs, default=0.0), max(xs, default=0.0)
    min_y, max_y = min(ys), max(ys, default=0.0)
    full_w, full_h = max_x - min_x + 2 * _MARGIN, max_y - min_y + 2 * _MARGIN
    doc_title = _clean(title) or "IVR flow"
    markers = "".join(
        f'<marker id="hl-arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"'
        f' markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        for name, (colour, _) in _EDGE_STYLE.items()
    )
    heading = (
        f'<text x="{_n(min_x)}" y="18" font-size="15" font-weight="bold">{escape(doc_title)}</text>'
        if title
        else ""
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(full_w)}" height="{_n(full_h)}"'
        f' viewBox="0 0 {_n(full_w)} {_n(full_h)}" font-family="sans-serif">'
        f"<title>{escape(doc_title)}</title><defs>{markers}</defs>"
        f'<rect width="100%" height="100%" fill="#ffffff"/>'
        f'<g transform="translate({_n(_MARGIN - min_x)},{_n(_MARGIN - min_y)})">'
        f"{heading}{''.join(parts)}</g></svg>\n"
    )
