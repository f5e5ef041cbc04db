"""YAML flow files -> validated `Flow` objects, with every problem reported as file:line:column.

`load_flow` reads one file; `load_directory` reads every `*.yaml` of a flow directory and checks
the references between files (sub-flows). Schema problems and graph problems (unknown targets,
unreachable nodes, loops that never wait for the caller, missing languages, bad regular
expressions and conditions) are all collected, not just the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from hotline.ivr import expr
from hotline.ivr.hours import ScheduleError, parse_schedule
from hotline.ivr.model import (
    ASKING_TYPES,
    INPUT_TYPES,
    NO_PROMPT,
    NODE_TYPES,
    Case,
    Choice,
    Flow,
    FlowError,
    FlowErrors,
    Node,
    Prompt,
    PromptVariant,
)
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
_KEYS = "0123456789*#"
_COMMON = {"type", "prompt", "next", "set", "barge_in", "global", "description", "language", "sensitive"}
_ALLOWED: dict[str, set[str]] = {
    "say": {"next"},
    "menu": {"options", "timeout", "retries", "no_input", "no_match", "on_failure", "grammar"},
    "gather": {"var", "min_digits", "max_digits", "terminator", "timeout", "inter_digit_timeout", "pattern",
               "speech", "confirm", "retries", "no_input", "no_match", "on_failure"},
    "ask": {"var", "intents", "timeout", "retries", "no_input", "no_match", "on_failure", "threshold"},
    "set": set(),
    "branch": {"cases", "else"},
    "goto": set(),
    "subflow": {"flow"},
    "return": set(),
    "lookup": {"source", "operation", "params", "result", "on_error"},
    "hours": {"schedule", "open", "closed"},
    "transfer": {"queue", "skill", "priority", "uri", "on_unavailable"},
    "voicemail": {"max_seconds", "ticket", "result", "on_error"},
    "ticket": {"ticket", "result", "on_error"},
    "hangup": set(),
}
_NEEDS_NEXT = {"say", "gather", "ask", "set", "goto", "subflow", "lookup", "voicemail", "ticket"}
_NEEDS_PROMPT = {"menu", "gather", "ask", "voicemail"}
_TOP_KEYS = {"flow", "description", "languages", "language", "voices", "voice", "start", "messages", "global",
             "hours", "nodes", "goodbye", "speech_unavailable"}


class _Parser:
    def __init__(self, file: str, base_dir: Path) -> None:
        self.file = file
        self.base_dir = base_dir
        self.errors: list[FlowError] = []
        self.languages: tuple[str, ...] = ("en",)
        self.edges: list[tuple[str, str, Located, str]] = []  # (source node, target, where, key)

    def err(self, obj: Any, key: str | None, message: str) -> None:
        line, col = obj.where(key) if isinstance(obj, Located) else getattr(obj, "mark", (1, 1))
        self.errors.append(FlowError(self.file, line, col, message))

    # --- value helpers -----------------------------------------------------------------------

    def text(self, raw: Located, key: str, ctx: str) -> str:
        value = raw.get(key)
        if value is None:
            return ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.err(raw, key, f"{ctx}: '{key}' must be text")
            return ""
        return str(value)

    def number(self, raw: Located, key: str, ctx: str, default: float, *, integer: bool = False,
               minimum: float = 0) -> float:
        if key not in raw:
            return default
        value = raw[key]
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if not ok or isinstance(value, bool) or value < minimum:
            kind = "an integer" if integer else "a number"
            self.err(raw, key, f"{ctx}: '{key}' must be {kind} >= {minimum:g}")
            return default
        return float(value)

    def flag(self, raw: Located, key: str, ctx: str, default: bool) -> bool:
        if key not in raw:
            return default
        if not isinstance(raw[key], bool):
            self.err(raw, key, f"{ctx}: '{key}' must be true or false")
            return default
        return bool(raw[key])

    def target(self, raw: Located, key: str, source: str) -> str | None:
        if key not in raw or raw[key] is None:
            return None
        value = raw[key]
        if not isinstance(value, str) or not value:
            self.err(raw, key, f"node '{source}': '{key}' must name a node")
            return None
        self.edges.append((source, value, raw, key))
        return value

    def mapping_of_text(self, raw: Located, key: str, ctx: str) -> dict[str, str]:
        value = raw.get(key)
        if value is None:
            return {}
        if not isinstance(value, Located):
            self.err(raw, key, f"{ctx}: '{key}' must be a mapping of names to values")
            return {}
        out = {}
        for name, item in value.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", str(name)):
                self.err(value, str(name), f"{ctx}: '{name}' is not a valid variable name")
            elif isinstance(item, Located | list) or item is None:
                self.err(value, str(name), f"{ctx}: value of '{name}' must be text")
            else:
                out[str(name)] = str(item).lower() if isinstance(item, bool) else str(item)
        return out

    def prompt(self, raw: Located, key: str, ctx: str) -> Prompt:
        value = raw.get(key)
        if value is None:
            return NO_PROMPT
        if isinstance(value, str):
            if len(self.languages) > 1:
                self.err(raw, key, f"{ctx}: '{key}' needs a variant for each language "
                                   f"({', '.join(self.languages)}), e.g. {{en: ..., zh: ...}}")
                return NO_PROMPT
            return Prompt({self.languages[0]: PromptVariant(text=value)})
        if not isinstance(value, Located):
            self.err(raw, key, f"{ctx}: '{key}' must be text or a mapping of languages")
            return NO_PROMPT
        if "file" in value or "text" in value:  # one recording (and/or text) for a single-language flow
            value = Located({self.languages[0]: value}) if len(self.languages) == 1 else value
            if "file" in value or "text" in value:
                self.err(raw, key, f"{ctx}: '{key}' needs a variant per language ({', '.join(self.languages)})")
                return NO_PROMPT
        variants: dict[str, PromptVariant] = {}
        for lang, item in value.items():
            if lang not in self.languages:
                self.err(value, str(lang), f"{ctx}: language '{lang}' is not one of the flow's languages "
                                           f"({', '.join(self.languages)})")
                continue
            if isinstance(item, str):
                variants[str(lang)] = PromptVariant(text=item)
            elif isinstance(item, Located) and ("file" in item or "text" in item):
                file = ""
                if "file" in item:
                    path = (self.base_dir / str(item["file"])).resolve()
                    if not path.is_file():
                        self.err(item, "file", f"{ctx}: recorded prompt '{item['file']}' not found")
                    file = str(path)
                variants[str(lang)] = PromptVariant(text=str(item.get("text", "")), file=file)
            else:
                self.err(value, str(lang), f"{ctx}: '{key}.{lang}' must be text or {{file: ..., text: ...}}")
        for lang in self.languages:
            if lang not in variants and lang not in value:
                self.err(raw, key, f"{ctx}: '{key}' has no '{lang}' variant")
        return Prompt(variants)

    def phrases(self, raw: Located, key: str, ctx: str) -> dict[str, tuple[str, ...]]:
        value = raw.get(key)
        if value is None:
            return {}
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return {self.languages[0]: tuple(str(p).lower().strip() for p in value)}
        if isinstance(value, Located):
            out = {}
            for lang, items in value.items():
                if lang not in self.languages:
                    self.err(value, str(lang), f"{ctx}: language '{lang}' is not one of the flow's languages")
                    continue
                items = [items] if isinstance(items, str) else items
                if not isinstance(items, list):
                    self.err(value, str(lang), f"{ctx}: '{key}.{lang}' must be a list of phrases")
                    continue
                out[str(lang)] = tuple(str(p).lower().strip() for p in items)
            return out
        self.err(raw, key, f"{ctx}: '{key}' must be a list of phrases or a mapping of languages to lists")
        return {}

    def choice(self, raw: Any, parent: Located, ctx: str, source: str, *, phrase_key: str = "say",
               label: str = "", default_next: str | None = None) -> Choice | None:
        if not isinstance(raw, Located):
            self.err(parent, None, f"{ctx}: each entry must be a mapping with 'next'")
            return None
        unknown = set(raw) - {"key", phrase_key, "label", "next", "set"}
        for name in sorted(unknown):
            self.err(raw, name, f"{ctx}: unknown key '{name}'")
        key = raw.get("key")
        if key is not None:
            key = str(key)
            if len(key) != 1 or key not in _KEYS:
                self.err(raw, "key", f"{ctx}: key must be one of 0-9 * #")
        target = self.target(raw, "next", source) or default_next
        if target is None:
            self.err(raw, None, f"{ctx}: needs 'next'")
            return None
        phrases = self.phrases(raw, phrase_key, ctx)
        if key is None and not phrases:
            self.err(raw, None, f"{ctx}: needs a 'key' or phrases ('{phrase_key}')")
        return Choice(target, key, phrases, str(raw.get("label", label or target)),
                      self.mapping_of_text(raw, "set", ctx))

    # --- nodes ---------------------------------------------------------------------------------

    def node(self, node_id: str, raw: Located, line: int, column: int = 1) -> Node | None:
        ctx = f"node '{node_id}'"
        ntype = raw.get("type")
        if ntype not in NODE_TYPES:
            self.err(raw, "type" if "type" in raw else None, f"{ctx}: type must be one of {', '.join(NODE_TYPES)}")
            return None
        for name in sorted(set(raw) - _COMMON - _ALLOWED[ntype]):
            self.err(raw, name, f"{ctx}: unknown key '{name}' for a {ntype} node")
        kw: dict[str, Any] = {"id": node_id, "type": ntype, "line": line, "column": column}
        kw["prompt"] = self.prompt(raw, "prompt", ctx)
        kw["next"] = self.target(raw, "next", node_id)
        kw["set"] = self.mapping_of_text(raw, "set", ctx)
        kw["barge_in"] = self.flag(raw, "barge_in", ctx, True)
        kw["use_global"] = self.flag(raw, "global", ctx, True)
        kw["sensitive"] = self.flag(raw, "sensitive", ctx, False)
        kw["language"] = self.text(raw, "language", ctx)
        if kw["language"] and kw["language"] not in self.languages:
            self.err(raw, "language", f"{ctx}: language '{kw['language']}' is not one of the flow's languages")
        if ntype in _NEEDS_NEXT and kw["next"] is None:
            self.err(raw, None, f"{ctx}: a {ntype} node needs 'next'")
        if ntype in _NEEDS_PROMPT and kw["prompt"].empty and "prompt" not in raw:
            self.err(raw, None, f"{ctx}: a {ntype} node needs a 'prompt'")
        if ntype in ASKING_TYPES:
            kw["timeout_ms"] = int(self.number(raw, "timeout", ctx, 6.0, minimum=0.5) * 1000)
            kw["retries"] = int(self.number(raw, "retries", ctx, 2, integer=True))
            kw["no_input"] = self.prompt(raw, "no_input", ctx)
            kw["no_match"] = self.prompt(raw, "no_match", ctx)
            kw["on_failure"] = self.target(raw, "on_failure", node_id)
        getattr(self, f"_{ntype}", lambda *_: None)(raw, kw, ctx)
        return Node(**kw)

    def _menu(self, raw: Located, kw: dict[str, Any], ctx: str) -> None:
        options = raw.get("options")
        if not isinstance(options, list) or not options:
            self.err(raw, "options" if "options" in raw else None, f"{ctx}: a menu needs a non-empty 'options' list")
            return
        choices = [self.choice(o, raw, f"{ctx} option {i + 1}", kw["id"]) for i, o in enumerate(options)]
        seen: set[str] = set()
        for c, o in zip(choices, options, strict=True):
            if c is not None and c.key is not None:
                if c.key in seen:
                    self.err(o, "key", f"{ctx}: key '{c.key}' is used by two options")
                seen.add(c.key)
        kw["choices"] = tuple(c for c in choices if c is not None)
        kw["grammar"] = self.flag(raw, "grammar", ctx, True)

    def _gather(self, raw: Located, kw: dict[str, Any], ctx: str) -> None:
        kw["var"] = self.text(raw, "var", ctx)
        if not kw["var"]:
            self.err(raw, None, f"{ctx}: a gather node needs 'var' to store the digits in")
        kw["min_digits"] = int(self.number(raw, "min_digits", ctx, 1, integer=True, minimum=1))
        kw["max_digits"] = int(self.number(raw, "max_digits", ctx, 20, integer=True, minimum=1))
        if kw["min_digits"] > kw["max_digits"]:
            self.err(raw, "min_digits", f"{ctx}: min_digits is larger than max_digits")
        kw["terminator"] = self.text(raw, "terminator", ctx) if "terminator" in raw else "#"
        if kw["terminator"] and kw["terminator"] not in ("#", "*"):
            self.err(raw, "terminator", f"{ctx}: terminator must be '#' or '*' (or empty for none)")
        kw["inter_digit_ms"] = int(self.number(raw, "inter_digit_timeout", ctx, 4.0, minimum=0.5) * 1000)
        kw["pattern"] = self.text(raw, "pattern", ctx)
        if kw["pattern"]:
            try:
                re.compile(kw["pattern"])
            except re.error as exc:
                self.err(raw, "pattern", f"{ctx}: bad regular expression {kw['pattern']!r}: {exc}")
        kw["speech"] = self.flag(raw, "speech", ctx, True)
        kw["confirm"] = self.prompt(raw, "confirm", ctx)

    def _ask(self, raw: Located, kw: dict[str, Any], ctx: str) -> None:
        kw["var"] = self.text(raw, "var", ctx) or f"{kw['id']}.intent"
        kw["threshold"] = self.number(raw, "threshold", ctx, 0.5)
        intents = raw.get("intents")
        if not isinstance(intents, Located) or not intents:
            self.err(raw, "intents" if "intents" in raw else None,
                     f"{ctx}: an ask node needs 'intents' (name: {{examples: [...], next: node}})")
            return
        choices = [self.choice(item, intents, f"{ctx} intent '{name}'", kw["id"], phrase_key="examples",
                               label=str(name), default_next=kw["next"]) for name, item in intents.items()]
        kw["choices"] = tuple(c for c in choices if c is not None)

    def _branch(self, raw: Located, kw: dict[str, Any], ctx: str) -> None:
        cases = raw.get("cases")
        if not isinstance(cases, list) or not cases:
            self.err(raw, "cases" if "cases" in raw else None, f"{ctx}: a branch needs 'cases' (a list of if/next)")
            return
        parsed = []
        for i, case in enumerate(cases):
            if not isinstance(case, Located) or "if" not in case or "next" not in case:
                self.err(case if isinstance(case, Located) else raw, None, f"{ctx} case {i + 1}: needs 'if' and 'next'")
                continue
            condition = str(case["if"])
            try:
                expr.parse(condition)
            except expr.ExprError as exc:
                line, col = case.value_at("if")
                self.errors.append(FlowError(self.file, line, col + max(exc.column - 1, 0),
                                             f"{ctx} case {i + 1}: {exc}"))
            target = self.target(case, "next", kw["id"])
            if target:
                parsed.append(Case(condition, target))
        kw["cases"] = tuple(parsed)
        kw["otherwise"] = self.target(raw, "else", kw["id"])
        if kw["otherwise"] is None:
            self.err(raw, None, f"{ctx}: a branch needs 'else'")

    def _subflow(self, raw: Located, kw: dict[str, Any], ctx: str) -> None:
        kw["flow"] = self.text(raw, "flow", ctx)
        if not kw["flow"]:
            self.err(raw, None, f"{ctx}: a subflow node needs 'flow' (the name of another flow file)")

    def _lookup(self, raw: Located, kw: dict[str, Any], ctx: str) -> None:
        kw["source"] = self.text(raw, "source", ctx)
        kw["operation"] = self.text(raw, "operation", ctx)
        if not kw["source"] or not kw["operation"]:
            self.err(raw, None, f"{ctx}: a lookup needs 'source' and 'operation'")
        kw["params"] = self.mapping_of_text(raw, "params", ctx)
        kw["result"] = self.text(raw, "result", ctx) or kw["source"]
        kw["on_error"] = self.target(raw, "on_error", kw["id"])
        if kw["on_error"] is None:
            self.err(raw, None, f"{ctx}: a lookup needs 'on_error' (where to go when the service fails)")

    def _hours(self, raw: Located, kw: dict[str, Any], ctx: str) -> None:
        kw["schedule"] = self.text(raw, "schedule", ctx)
        kw["open"] = self.target(raw, "open", kw["id"])
        kw["closed"] = self.target(raw, "closed", kw["id"])
        if not kw["schedule"] or kw["open"] is None or kw["closed"] is None:
            self.err(raw, None, f"{ctx}: an hours node needs 'schedule', 'open' and 'closed'")

    def _transfer(self, raw: Located, kw: dict[str, Any], ctx: str) -> None:
        kw["queue"] = self.text(raw, "queue", ctx)
        kw["uri"] = self.text(raw, "uri", ctx)
        kw["skill"] = self.text(raw, "skill", ctx)
        kw["priority"] = int(self.number(raw, "priority", ctx, 0, integer=True))
        if bool(kw["queue"]) == bool(kw["uri"]):
            self.err(raw, None, f"{ctx}: a transfer needs exactly one of 'queue' or 'uri'")
        if kw["uri"] and not re.match(r"^sips?:[^@\s]+@?[^\s]*$", kw["uri"]):
            self.err(raw, "uri", f"{ctx}: uri must be a SIP URI (sip:user@host)")
        kw["on_unavailable"] = self.target(raw, "on_unavailable", kw["id"])
        if kw["on_unavailable"] is None:
            self.err(raw, None, f"{ctx}: a transfer needs 'on_unavailable' (where to go when nobody can answer)")

    def _voicemail(self, raw: Located, kw: dict[str, Any], ctx: str) -> None:
        kw["max_ms"] = int(self.number(raw, "max_seconds", ctx, 60, minimum=1) * 1000)
        self._ticket(raw, kw, ctx, default_type="callback")

    def _ticket(self, raw: Located, kw: dict[str, Any], ctx: str, default_type: str = "") -> None:
        fields = self.mapping_of_text(raw, "ticket", ctx)
        if not fields.get("type", default_type):
            self.err(raw, "ticket" if "ticket" in raw else None, f"{ctx}: 'ticket' needs a 'type'")
        kw["ticket"] = {"type": default_type, **fields} if default_type else fields
        kw["result"] = self.text(raw, "result", ctx) or "ticket"
        kw["on_error"] = self.target(raw, "on_error", kw["id"])
        if kw["on_error"] is None:
            self.err(raw, None, f"{ctx}: needs 'on_error' (where to go when the ticket cannot be created)")

    # --- flow ----------------------------------------------------------------------------------

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
            node = self.node(str(node_id), raw, *raw_nodes.where(str(node_id)))
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
                self.err(where, key, f"unknown node '{target}'" + _suggest(target, raw_nodes))
        for node in nodes.values():
            if node.type == "hours" and node.schedule and node.schedule not in schedules and node.schedule not in \
                    raw_hours:
                self.errors.append(FlowError(self.file, node.line, node.column,
                                             f"node '{node.id}': unknown schedule '{node.schedule}' (define it "
                                             f"under 'hours:')"))
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


def _suggest(target: str, names: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(target, [str(n) for n in names], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


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
    silent = {nid for nid, n in flow.nodes.items() if n.type not in INPUT_TYPES}
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
    errors = []
    for flow in flows.values():
        for node in flow.nodes.values():
            if node.type != "subflow" or not node.flow:
                continue
            callee = flows.get(node.flow)
            if callee is None:
                errors.append(FlowError(flow.file, node.line, node.column, f"node '{node.id}': unknown flow '{node.flow}'"
                                        + _suggest(node.flow, flows)))
            elif not any(n.type == "return" for n in callee.nodes.values()):
                errors.append(FlowError(flow.file, node.line, node.column,
                                        f"node '{node.id}': flow '{node.flow}' has no 'return' node"))
            elif set(flow.languages) - set(callee.languages):
                errors.append(FlowError(flow.file, node.line, node.column, f"node '{node.id}': flow '{node.flow}' lacks "
                                        f"languages {sorted(set(flow.languages) - set(callee.languages))}"))
    return errors


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
