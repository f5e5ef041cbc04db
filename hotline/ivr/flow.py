"""Flow model and YAML loader with file:line:column errors.

The skeleton's flow language: `say`, `menu` (DTMF keys and spoken phrases), `gather` (digits)
and `hangup` nodes. See docs/flows.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

NODE_TYPES = ("say", "menu", "gather", "hangup")
_VAR = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_.]*)(?::([a-z]+))?\}")


class FlowError(Exception):
    def __init__(self, file: str, line: int, column: int, message: str) -> None:
        super().__init__(f"{file}:{line}:{column}: {message}")
        self.file, self.line, self.column, self.message = file, line, column, message


@dataclass(frozen=True)
class MenuOption:
    next: str
    key: str | None = None
    phrases: tuple[str, ...] = ()
    label: str = ""


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    prompt: str = ""
    next: str | None = None
    barge_in: bool = True
    # menu
    options: tuple[MenuOption, ...] = ()
    retries: int = 2
    timeout_ms: int = 6000
    no_match_prompt: str = "Sorry, I did not get that."
    no_input_prompt: str = "Sorry, I did not hear anything."
    on_failure: str | None = None
    grammar: bool = True  # recognise only the options' phrases while in this menu
    # gather
    var: str = ""
    min_digits: int = 1
    max_digits: int = 20
    terminator: str = "#"
    inter_digit_ms: int = 4000


@dataclass(frozen=True)
class Flow:
    name: str
    start: str
    nodes: dict[str, Node]
    language: str = "en"
    voice: str = "en-us"
    file: str = ""
    goodbye: str = "Goodbye."
    speech_unavailable: str = "Sorry, I cannot understand speech right now. Please use your telephone keypad."
    lines: dict[str, int] = field(default_factory=dict)

    def vocabulary(self) -> tuple[str, ...]:
        """Every phrase a menu of this flow listens for, in flow order."""
        words = (p for node in self.nodes.values() for opt in node.options for p in opt.phrases)
        return tuple(dict.fromkeys(words))


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers where each mapping and key started."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = _Located(loader.construct_mapping(node, deep=True))
    mapping.mark = (node.start_mark.line + 1, node.start_mark.column + 1)
    for key_node, _ in node.value:
        mapping.key_marks[str(key_node.value)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    return mapping


class _Located(dict):  # type: ignore[type-arg]
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.mark = (1, 1)
        self.key_marks: dict[str, tuple[int, int]] = {}

    def where(self, key: str | None = None) -> tuple[int, int]:
        return self.key_marks.get(key, self.mark) if key else self.mark


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def render(template: str, variables: dict[str, str]) -> str:
    """Fill `{name}` and `{name:digits}` (read digit by digit) from `variables`."""

    def sub(m: re.Match[str]) -> str:
        value = str(variables.get(m.group(1), ""))
        if m.group(2) == "digits":
            return " ".join(value)
        return value

    return _VAR.sub(sub, template)


def load_flow(path: str | Path) -> Flow:
    path = Path(path)
    name = str(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 (safe loader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise FlowError(name, line, col, f"invalid YAML: {exc.problem or exc}") from exc
    except OSError as exc:
        raise FlowError(name, 1, 1, f"cannot read flow: {exc.strerror}") from exc
    return parse_flow(data, name)


def parse_flow(data: Any, file: str) -> Flow:
    if not isinstance(data, _Located):
        raise FlowError(file, 1, 1, "a flow file must be a mapping with 'start' and 'nodes'")

    def err(obj: _Located, key: str | None, message: str) -> FlowError:
        line, col = obj.where(key)
        return FlowError(file, line, col, message)

    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, _Located) or not raw_nodes:
        raise err(data, "nodes" if "nodes" in data else None, "'nodes' must be a non-empty mapping")
    start = data.get("start")
    if not isinstance(start, str):
        raise err(data, "start" if "start" in data else None, "'start' must name a node")

    nodes: dict[str, Node] = {}
    targets: list[tuple[str, _Located, str]] = []  # (target, where, key)
    for node_id, raw in raw_nodes.items():
        if not isinstance(raw, _Located):
            raise err(raw_nodes, node_id, f"node '{node_id}' must be a mapping")
        ntype = raw.get("type")
        if ntype not in NODE_TYPES:
            raise err(raw, "type" if "type" in raw else None,
                      f"node '{node_id}': type must be one of {', '.join(NODE_TYPES)}")
        kwargs: dict[str, Any] = {"id": node_id, "type": ntype}
        for key in ("prompt", "no_match_prompt", "no_input_prompt", "var", "terminator"):
            if key in raw:
                if not isinstance(raw[key], str):
                    raise err(raw, key, f"node '{node_id}': '{key}' must be text")
                kwargs[key] = raw[key]
        for key, default_unit in (("timeout", "timeout_ms"), ("inter_digit_timeout", "inter_digit_ms")):
            if key in raw:
                if not isinstance(raw[key], int | float) or raw[key] <= 0:
                    raise err(raw, key, f"node '{node_id}': '{key}' must be a positive number of seconds")
                kwargs[default_unit] = int(raw[key] * 1000)
        for key in ("retries", "min_digits", "max_digits"):
            if key in raw:
                if not isinstance(raw[key], int) or raw[key] < 0:
                    raise err(raw, key, f"node '{node_id}': '{key}' must be a non-negative integer")
                kwargs[key] = raw[key]
        for key in ("barge_in", "grammar"):
            if key in raw:
                if not isinstance(raw[key], bool):
                    raise err(raw, key, f"node '{node_id}': '{key}' must be true or false")
                kwargs[key] = raw[key]
        for key in ("next", "on_failure"):
            if key in raw:
                kwargs[key] = str(raw[key])
                targets.append((str(raw[key]), raw, key))
        if ntype in ("say", "gather") and "next" not in raw:
            raise err(raw, None, f"node '{node_id}': a {ntype} node needs 'next'")
        if ntype in ("say", "menu", "gather") and not kwargs.get("prompt"):
            raise err(raw, None, f"node '{node_id}': a {ntype} node needs a 'prompt'")
        if ntype == "gather" and not kwargs.get("var"):
            raise err(raw, None, f"node '{node_id}': a gather node needs 'var' to store the digits in")
        if ntype == "menu":
            options = raw.get("options")
            if not isinstance(options, list) or not options:
                raise err(raw, "options" if "options" in raw else None,
                          f"node '{node_id}': a menu needs a non-empty 'options' list")
            parsed = []
            for opt in options:
                if not isinstance(opt, _Located) or "next" not in opt:
                    where = opt if isinstance(opt, _Located) else raw
                    raise err(where, None, f"node '{node_id}': each option needs 'next'")
                opt_key = opt.get("key")
                if opt_key is not None and (str(opt_key) not in "0123456789*#" or len(str(opt_key)) != 1):
                    raise err(opt, "key", f"node '{node_id}': option key must be one of 0-9 * #")
                phrases = opt.get("say", [])
                if isinstance(phrases, str):
                    phrases = [phrases]
                parsed.append(MenuOption(str(opt["next"]), None if opt_key is None else str(opt_key),
                                         tuple(str(p).lower() for p in phrases), str(opt.get("label", opt["next"]))))
                targets.append((str(opt["next"]), opt, "next"))
            kwargs["options"] = tuple(parsed)
        nodes[node_id] = Node(**kwargs)

    if start not in nodes:
        raise err(data, "start", f"start node '{start}' is not defined")
    for target, where, key in targets:
        if target not in nodes:
            raise err(where, key, f"unknown node '{target}'")
    lines = {nid: raw_nodes.where(nid)[0] for nid in nodes}
    return Flow(
        name=str(data.get("flow", Path(file).stem)),
        start=start,
        nodes=nodes,
        language=str(data.get("language", "en")),
        voice=str(data.get("voice", "en-us")),
        file=file,
        goodbye=str(data.get("goodbye", "Goodbye.")),
        speech_unavailable=str(data.get("speech_unavailable", Flow.speech_unavailable)),
        lines=lines,
    )
