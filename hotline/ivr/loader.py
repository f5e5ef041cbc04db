"""YAML flow files -> validated `Flow` objects, with every problem reported as file:line:column.

Each node type's own keys are read and checked by its module in `hotline.ivr.nodes`.
`load_flow` reads one file; `load_directory` reads every `*.yaml` of a flow directory and checks
the references between files (sub-flows). Schema problems and graph problems (unknown targets,
unreachable nodes, loops that never wait for the caller, missing languages, bad regular
expressions and conditions) are all collected, not just the first.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from hotline.ivr.hours import ScheduleError, parse_schedule
from hotline.ivr.model import Choice, Flow, FlowError, FlowErrors, Node, Prompt, PromptVariant
from hotline.ivr.nodes import load_node
from hotline.ivr.nodes.fields import Fields, suggest
from hotline.ivr.yaml_marks import Located, LocatedList, load_located

DEFAULT_VOICES = {"en": "en-us", "zh": "cmn"}
DEFAULT_MESSAGES: dict[str, dict[str, str]] = {
    "goodbye": {"en": "Thank you for calling. Goodbye.", "zh": "感谢您的来电，再见。"},
    "no_input": {"en": "Sorry, I did not hear anything.", "zh": "对不起，我没有听到您的回答。"},
    "no_match": {"en": "Sorry, I did not get that.", "zh": "对不起，我没有听懂。"},
    "speech_unavailable": {"en": "Sorry, I cannot understand speech right now. Please use your telephone keypad.",
                           "zh": "对不起，现在无法识别语音，请使用电话按键。"},
    "confirm_retry": {"en": "Let's try again.", "zh": "我们再试一次。"},
    "recording_beep": {"en": "Please speak after the tone, and press the hash key when you are done.",
                       "zh": "请在提示音后留言，结束后请按井号键。"},
}
_TOP_KEYS = {"flow", "description", "languages", "language", "voices", "voice", "start", "messages", "global",
             "hours", "nodes", "goodbye", "speech_unavailable"}


class _Parser(Fields):
    """Reads one flow file: the top-level keys here, each node by its type's spec (hotline.ivr.nodes)."""

    def flow(self, data: Any) -> Flow | None:
        if not isinstance(data, Located):
            self.err(data, None, "a flow file must be a mapping with 'start' and 'nodes'")
            return None
        for name in sorted(set(data) - _TOP_KEYS):
            self.err(data, name, f"unknown top-level key '{name}'")
        langs = data.get("languages", data.get("language", "en"))
        langs = [langs] if isinstance(langs, str) else langs
        if not isinstance(langs, list) or not langs or not all(isinstance(x, str) for x in langs):
            self.err(data, "languages", "'languages' must be a list of language codes, e.g. [en, zh]")
            langs = ["en"]
        self.languages = tuple(langs)
        voices = dict(DEFAULT_VOICES)
        if isinstance(data.get("voice"), str):
            voices[self.languages[0]] = data["voice"]
        voices.update(self.mapping_of_text(data, "voices", "voices"))
        for lang in self.languages:
            if lang not in voices:
                self.err(data, "voices" if "voices" in data else None, f"no voice for language '{lang}' in 'voices'")

        messages: dict[str, Prompt] = {}
        raw_messages = data.get("messages") or Located()
        for legacy in ("goodbye", "speech_unavailable"):
            if legacy in data and isinstance(raw_messages, Located):
                raw_messages[legacy] = data[legacy]
                raw_messages.key_marks[legacy] = data.where(legacy)
        if not isinstance(raw_messages, Located):
            self.err(data, "messages", "'messages' must be a mapping")
            raw_messages = Located()
        for name, defaults in DEFAULT_MESSAGES.items():
            if name in raw_messages:
                messages[name] = self.prompt(raw_messages, name, f"message '{name}'")
            elif all(lang in defaults for lang in self.languages):
                messages[name] = Prompt({lang: PromptVariant(text=defaults[lang]) for lang in self.languages})
            else:
                self.err(data, "messages" if "messages" in data else None,
                         f"message '{name}' has no built-in text for {', '.join(self.languages)}: define it")

        schedules = {}
        raw_hours = data.get("hours") or Located()
        if not isinstance(raw_hours, Located):
            self.err(data, "hours", "'hours' must be a mapping of schedule names to schedules")
            raw_hours = Located()
        for name, spec in raw_hours.items():
            try:
                schedules[str(name)] = parse_schedule(spec)
            except ScheduleError as exc:
                obj: Any = spec
                for part in re.split(r"[.\[\]]+", exc.key):
                    if isinstance(obj, Located) and part in obj:
                        if not isinstance(obj[part], Located | LocatedList):
                            break
                        obj = obj[part]
                line, col = obj.where(exc.key.split(".")[-1]) if isinstance(obj, Located) else \
                    getattr(obj, "mark", raw_hours.where(str(name)))
                self.errors.append(FlowError(self.file, line, col, f"hours '{name}': {exc}"))

        self.schedules = frozenset(str(name) for name in raw_hours)
        raw_nodes = data.get("nodes")
        if not isinstance(raw_nodes, Located) or not raw_nodes:
            self.err(data, "nodes" if "nodes" in data else None, "'nodes' must be a non-empty mapping")
            return None
        start = data.get("start")
        if not isinstance(start, str):
            self.err(data, "start" if "start" in data else None, "'start' must name a node")
            return None
        nodes: dict[str, Node] = {}
        for node_id, raw in raw_nodes.items():
            if not isinstance(raw, Located):
                self.err(raw_nodes, str(node_id), f"node '{node_id}' must be a mapping")
                continue
            node = load_node(self, str(node_id), raw, *raw_nodes.where(str(node_id)))
            if node is not None:
                nodes[node.id] = node

        global_choices: list[Choice] = []
        raw_global = data.get("global") or []
        if not isinstance(raw_global, list):
            self.err(data, "global", "'global' must be a list of handlers (key / say / next)")
            raw_global = []
        for i, item in enumerate(raw_global):
            choice = self.choice(item, data, f"global handler {i + 1}", "*global*")
            if choice is not None:
                global_choices.append(choice)

        if start not in nodes and isinstance(raw_nodes, Located) and start not in raw_nodes:
            self.err(data, "start", f"start node '{start}' is not defined")
        for _source, target, where, key in self.edges:
            if target not in nodes and target not in raw_nodes:
                self.err(where, key, f"unknown node '{target}'" + suggest(target, raw_nodes))
        flow = Flow(name=str(data.get("flow", Path(self.file).stem)), start=start, nodes=nodes,
                    languages=self.languages, voices=voices, file=self.file, messages=messages,
                    global_choices=tuple(global_choices), schedules=schedules)
        if not self.errors:
            self.graph_checks(flow)
        return flow

    def graph_checks(self, flow: Flow) -> None:
        reachable = _reachable(flow)
        for node in flow.nodes.values():
            if node.id not in reachable:
                self.errors.append(FlowError(self.file, node.line, node.column,
                                             f"node '{node.id}' is unreachable from '{flow.start}'"))
        for cycle in _silent_loops(flow):
            first = flow.nodes[cycle[0]]
            self.errors.append(FlowError(self.file, first.line, first.column, "loop that never waits for the caller: "
                                         + " -> ".join([*cycle, cycle[0]])))


def _reachable(flow: Flow) -> set[str]:
    seen: set[str] = set()
    todo = [flow.start, *(c.next for c in flow.global_choices)]
    while todo:
        nid = todo.pop()
        if nid in seen or nid not in flow.nodes:
            continue
        seen.add(nid)
        todo.extend(t for _, t in flow.nodes[nid].targets())
    return seen


def _silent_loops(flow: Flow) -> list[list[str]]:
    """Cycles made only of nodes that never wait for the caller (say/set/goto/branch/lookup...)."""
    silent = {nid for nid, n in flow.nodes.items() if not n.waits}
    found: list[list[str]] = []
    state: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(nid: str, stack: list[str]) -> None:
        state[nid] = 1
        stack.append(nid)
        for _, target in flow.nodes[nid].targets():
            if target not in silent:
                continue
            if state.get(target) == 1:
                cycle = stack[stack.index(target):]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    found.append(list(cycle))
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[nid] = 2

    for nid in flow.nodes:
        if nid in silent and nid not in state:
            visit(nid, [])
    return found


def parse_flow_text(text: str, file: str, base_dir: Path | None = None) -> Flow:
    """Parse and validate one flow; raises FlowErrors listing every problem."""
    try:
        data = load_located(text)
    except yaml.MarkedYAMLError as exc:
        # report where the broken construct starts (an unclosed quote), not where the parser gave up
        mark = exc.context_mark or exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = f"{exc.context}, {exc.problem}" if exc.context else str(exc.problem or exc)
        raise FlowErrors([FlowError(file, line, col, f"invalid YAML: {what}")]) from exc
    except yaml.YAMLError as exc:
        raise FlowErrors([FlowError(file, 1, 1, f"invalid YAML: {exc}")]) from exc
    parser = _Parser(file, base_dir or Path(file).parent)
    flow = parser.flow(data)
    if parser.errors or flow is None:
        raise FlowErrors(sorted(parser.errors, key=lambda e: (e.line, e.column)) or
                         [FlowError(file, 1, 1, "empty flow")])
    return _with_source(flow, text)


def _with_source(flow: Flow, text: str) -> Flow:
    from dataclasses import replace

    return replace(flow, source_text=text)


def load_flow(path: str | Path) -> Flow:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowErrors([FlowError(str(path), 1, 1, f"cannot read flow: {exc}")]) from exc
    return parse_flow_text(text, str(path), path.parent)


def flow_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.yaml") if p.is_file())


def check_references(flows: dict[str, Flow]) -> list[FlowError]:
    """Problems between files: sub-flows that do not exist, sub-flows without a `return`."""
    return [error for flow in flows.values() for node in flow.nodes.values()
            for error in node.flow_problems(flow, flows)]


def load_directory(directory: Path) -> tuple[dict[str, Flow], list[FlowError]]:
    """Every flow of a directory that loads, and every problem found (per file and between files)."""
    flows: dict[str, Flow] = {}
    errors: list[FlowError] = []
    for path in flow_files(directory):
        try:
            flow = load_flow(path)
        except FlowErrors as exc:
            errors.extend(exc.errors)
            continue
        if flow.name in flows:
            errors.append(FlowError(str(path), 1, 1, f"flow name '{flow.name}' is also used by {flows[flow.name].file}"))
            continue
        flows[flow.name] = flow
    errors.extend(check_references(flows))
    return flows, errors
