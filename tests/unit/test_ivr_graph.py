from __future__ import annotations

import xml.etree.ElementTree as ET

from hotline.ivr.graph import GraphEdge, GraphNode, render_svg

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def node_groups(root: ET.Element) -> dict[str, ET.Element]:
    return {g.attrib["data-node"]: g for g in root.iter(f"{SVG}g") if g.get("class") == "node"}


def edge_groups(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]


def box(group: ET.Element) -> ET.Element:
    rect = group.find(f"{SVG}rect")
    assert rect is not None
    return rect


def top(group: ET.Element) -> float:
    return float(box(group).attrib["y"])


def middle(group: ET.Element) -> float:
    return top(group) + float(box(group).attrib["height"]) / 2


def sample() -> tuple[list[GraphNode], list[GraphEdge]]:
    nodes = [
        GraphNode("greeting", "say", "Welcome", line=3),
        GraphNode("menu", "menu", "Press 1 for tracking", line=7),
        GraphNode("track", "gather", "Key in your number", line=15),
        GraphNode("agent", "transfer", line=20),
        GraphNode("bye", "hangup", "Goodbye", line=25),
    ]
    edges = [
        GraphEdge("greeting", "menu"),
        GraphEdge("menu", "track", "1 / tracking"),
        GraphEdge("menu", "agent", "0 / agent"),
        GraphEdge("menu", "bye", "no input", "failure"),
        GraphEdge("track", "bye"),
        GraphEdge("agent", "bye", "busy", "global"),
    ]
    return nodes, edges


def test_document_is_valid_svg_with_size_and_title() -> None:
    nodes, edges = sample()
    root = parse(render_svg(nodes, edges, "greeting", title="Parcel hotline", file="main.yaml"))
    width, height = float(root.attrib["width"]), float(root.attrib["height"])
    assert width > 0 and height > 0
    assert root.attrib["viewBox"] == f"0 0 {root.attrib['width']} {root.attrib['height']}"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "Parcel hotline"


def test_every_node_has_a_group_and_every_edge_a_path() -> None:
    nodes, edges = sample()
    root = parse(render_svg(nodes, edges, "greeting"))
    groups = node_groups(root)
    assert set(groups) == {n.id for n in nodes}
    assert groups["menu"].get("data-kind") == "menu"
    drawn = edge_groups(root)
    assert len(drawn) == len(edges)
    assert [(g.get("data-source"), g.get("data-target")) for g in drawn] == [
        (e.source, e.target) for e in edges
    ]
    for group in drawn:
        path = group.find(f"{SVG}path")
        assert path is not None and path.attrib["d"].startswith("M")
        assert path.attrib["marker-end"].startswith("url(#")


def test_layers_go_top_to_bottom_and_start_is_emphasised() -> None:
    nodes, edges = sample()
    groups = node_groups(parse(render_svg(nodes, edges, "greeting")))
    assert top(groups["greeting"]) < top(groups["menu"]) < top(groups["track"]) < top(groups["bye"])
    assert middle(groups["track"]) == middle(groups["agent"])  # the menu's fan-out shares a layer
    assert groups["greeting"].get("data-start") == "true"
    assert groups["menu"].get("data-start") is None
    assert float(box(groups["greeting"]).attrib["stroke-width"]) > float(
        box(groups["menu"]).attrib["stroke-width"]
    )


def test_nodes_in_a_layer_do_not_overlap() -> None:
    nodes = [GraphNode("m", "menu")] + [GraphNode(f"option_{i}", "say", "x" * 30) for i in range(6)]
    edges = [GraphEdge("m", f"option_{i}", str(i)) for i in range(6)]
    groups = node_groups(parse(render_svg(nodes, edges, "m")))
    spans = sorted(
        (float(box(g).attrib["x"]), float(box(g).attrib["x"]) + float(box(g).attrib["width"]))
        for name, g in groups.items()
        if name != "m"
    )
    assert len(spans) == 6
    for (_, right), (left, _) in zip(spans, spans[1:], strict=False):
        assert left >= right


def test_cycle_terminates_and_back_edge_target_stays_above() -> None:
    nodes = [GraphNode("a", "menu"), GraphNode("b", "say", "Sorry")]
    edges = [GraphEdge("a", "b", "no match", "failure"), GraphEdge("b", "a", "retry")]
    root = parse(render_svg(nodes, edges, "a"))
    groups = node_groups(root)
    assert top(groups["b"]) > top(groups["a"])
    assert len(edge_groups(root)) == 2


def test_self_loop_and_longer_cycle() -> None:
    nodes = [GraphNode(i, "say") for i in "abcd"]
    edges = [
        GraphEdge("a", "b"),
        GraphEdge("b", "c"),
        GraphEdge("c", "a"),
        GraphEdge("c", "c"),
        GraphEdge("c", "d"),
    ]
    root = parse(render_svg(nodes, edges, "a"))
    groups = node_groups(root)
    assert top(groups["a"]) < top(groups["b"]) < top(groups["c"]) < top(groups["d"])
    assert len(edge_groups(root)) == 5


def test_unreachable_node_is_drawn_in_the_last_layer() -> None:
    nodes = [GraphNode("a", "say"), GraphNode("b", "hangup"), GraphNode("lost", "say", "never reached")]
    groups = node_groups(parse(render_svg(nodes, [GraphEdge("a", "b")], "a")))
    assert "lost" in groups
    assert top(groups["lost"]) > top(groups["b"])


def test_special_characters_are_escaped_and_preserved() -> None:
    label = "<b>Tom & Jerry</b> 您好，欢迎致电"
    nodes = [GraphNode("a&b", "say", label, line=4), GraphNode('q"<', "hangup")]
    edges = [GraphEdge("a&b", 'q"<', '1 < 2 & "x"')]
    svg = render_svg(nodes, edges, "a&b", title="Flow <main> & co", file="flows/x&y.yaml")
    assert "<b>" not in svg
    root = parse(svg)
    groups = node_groups(root)
    assert set(groups) == {"a&b", 'q"<'}
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert label in texts
    assert '1 < 2 & "x"' in texts
    tip = groups["a&b"].find(f"{SVG}title")
    assert tip is not None and tip.text == "flows/x&y.yaml:4"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "Flow <main> & co"


def test_control_characters_do_not_break_the_xml() -> None:
    nodes = [GraphNode("a", "say", "bell\x07 and\nnewline")]
    root = parse(render_svg(nodes, [], "a"))
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "bell and newline" in texts


def test_wide_characters_get_wider_boxes() -> None:
    nodes = [GraphNode("a", "say", "x" * 40), GraphNode("b", "say", "欢" * 40)]
    groups = node_groups(parse(render_svg(nodes, [GraphEdge("a", "b")], "a")))
    assert float(box(groups["b"]).attrib["width"]) > float(box(groups["a"]).attrib["width"]) * 1.4


def test_missing_target_gets_a_placeholder() -> None:
    nodes = [GraphNode("a", "menu")]
    root = parse(render_svg(nodes, [GraphEdge("a", "ghost", "2")], "a"))
    groups = node_groups(root)
    assert groups["ghost"].get("data-kind") == "missing"
    assert "?" in ["".join(t.itertext()) for t in groups["ghost"].iter(f"{SVG}text")]
    assert box(groups["ghost"]).attrib["stroke"] == "#dc2626"
    assert edge_groups(root)[0].get("data-target") == "ghost"


def test_error_node_has_red_border_and_error_tooltip() -> None:
    nodes = [
        GraphNode("a", "say", line=3),
        GraphNode("b", "say", line=9, error="unknown variable 'x'"),
    ]
    groups = node_groups(parse(render_svg(nodes, [GraphEdge("a", "b")], "a", file="main.yaml")))
    bad, good = box(groups["b"]), box(groups["a"])
    assert bad.attrib["stroke"] == "#dc2626" != good.attrib["stroke"]
    assert float(bad.attrib["stroke-width"]) >= 2.5
    assert groups["b"].get("data-error") == "true" and groups["a"].get("data-error") is None
    tip = groups["b"].find(f"{SVG}title")
    assert tip is not None and tip.text == "main.yaml:9\nunknown variable 'x'"


def test_kinds_are_coloured_by_family_and_unknown_is_neutral() -> None:
    nodes = [GraphNode(k, k) for k in ("menu", "gather", "say", "set", "hangup", "return", "mystery")]
    groups = node_groups(parse(render_svg(nodes, [], "menu")))
    fill = {k: box(g).attrib["fill"] for k, g in groups.items()}
    assert fill["menu"] == fill["gather"] != fill["say"]
    assert fill["say"] == fill["set"]
    assert len({fill["menu"], fill["say"], fill["hangup"], fill["return"], fill["mystery"]}) == 5


def test_edge_kinds_are_styled() -> None:
    nodes, edges = sample()
    root = parse(render_svg(nodes, edges, "greeting"))
    paths = {g.get("data-kind"): g.find(f"{SVG}path") for g in edge_groups(root)}
    normal, failure, glob = paths["normal"], paths["failure"], paths["global"]
    assert normal is not None and failure is not None and glob is not None
    assert "stroke-dasharray" not in normal.attrib
    assert failure.attrib["stroke-dasharray"] != glob.attrib["stroke-dasharray"]
    assert len({normal.attrib["stroke"], failure.attrib["stroke"], glob.attrib["stroke"]}) == 3
    labelled = [g for g in edge_groups(root) if g.get("data-target") == "track"][0]
    assert labelled.find(f"{SVG}rect") is not None  # label background
    assert "1 / tracking" in ["".join(t.itertext()) for t in labelled.iter(f"{SVG}text")]


def test_drawing_fits_inside_the_canvas() -> None:
    nodes, edges = sample()
    edges.append(GraphEdge("bye", "greeting", "again"))  # a long back edge, routed around the side
    root = parse(render_svg(nodes, edges, "greeting", title="t"))
    width, height = float(root.attrib["width"]), float(root.attrib["height"])
    shift = [g for g in root if g.tag == f"{SVG}g"][0].attrib["transform"]
    dx, dy = (float(v) for v in shift.removeprefix("translate(").removesuffix(")").split(","))
    for group in node_groups(root).values():
        rect = box(group)
        left, upper = float(rect.attrib["x"]) + dx, float(rect.attrib["y"]) + dy
        assert 0 <= left and left + float(rect.attrib["width"]) <= width
        assert 0 <= upper and upper + float(rect.attrib["height"]) <= height


def test_empty_graph_and_missing_start() -> None:
    root = parse(render_svg([], [], "nowhere"))
    assert node_groups(root) == {} and float(root.attrib["width"]) > 0
    groups = node_groups(parse(render_svg([GraphNode("x", "say"), GraphNode("y", "say")], [], "nowhere")))
    assert set(groups) == {"x", "y"}
