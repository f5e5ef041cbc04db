from __future__ import annotations

from pathlib import Path

import pytest

from hotline.ivr.flow import FlowError, load_flow, render

FLOWS = Path(__file__).resolve().parents[2] / "flows"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    return path


def test_demo_flow_loads() -> None:
    flow = load_flow(FLOWS / "main.yaml")
    assert flow.start == "greeting"
    assert {"tracking", "agent", "hours"} <= set(flow.vocabulary())
    assert flow.lines["main_menu"] > flow.lines["greeting"]


def test_unknown_target_reports_file_line_column(tmp_path: Path) -> None:
    path = write(tmp_path, "start: a\nnodes:\n  a:\n    type: say\n    prompt: hi\n    next: nowhere\n")
    with pytest.raises(FlowError) as exc:
        load_flow(path)
    assert str(exc.value) == f"{path}:6:5: unknown node 'nowhere'"


def test_bad_yaml_reports_position(tmp_path: Path) -> None:
    path = write(tmp_path, "start: a\nnodes:\n  a: [unclosed\n")
    with pytest.raises(FlowError) as exc:
        load_flow(path)
    assert exc.value.line >= 3 and "invalid YAML" in exc.value.message


def test_missing_prompt_and_bad_key(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="needs a 'prompt'"):
        load_flow(write(tmp_path, "start: a\nnodes:\n  a:\n    type: say\n    next: a\n"))
    text = "start: m\nnodes:\n  m:\n    type: menu\n    prompt: p\n    options:\n      - key: '12'\n        next: m\n"
    with pytest.raises(FlowError, match="option key") as exc:
        load_flow(write(tmp_path, text))
    assert exc.value.line == 7


def test_unknown_node_type(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="type must be one of") as exc:
        load_flow(write(tmp_path, "start: a\nnodes:\n  a:\n    type: dance\n"))
    assert (exc.value.line, exc.value.column) == (4, 5)


def test_render_digits() -> None:
    assert render("You entered {n:digits}.", {"n": "427"}) == "You entered 4 2 7."
    assert render("{missing} ok", {}) == " ok"
