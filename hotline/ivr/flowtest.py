"""Flow test files (`flows/tests/*.yaml`): scripted callers with expected prompts, path and variables.

    flow: main
    now: "2026-11-23T10:00:00+00:00"      # the wall clock the flow sees (business hours)
    tests:
      - name: track a parcel by keypad
        steps:
          - expect: "Welcome to the parcel hotline"   # text of a prompt played since the last step
          - press: "1"
          - press: "12345678#"
          - say: "yes"                                 # speech (text, or synthesised + recognised)
          - silence: true                              # the caller says nothing: a timeout fires
          - expect_not: "Sorry"
          - hangup: true
        path: [main_menu, track, parcel_number.ask_number]   # visited in this order (gaps allowed)
        variables: {parcel.status: out_for_delivery}
        tickets: [{type: damage}]
        end: transferred                                     # the engine's end reason
        transfer: {queue: general}
        bot: [{article: customs-fees, resolved: "no", outcome: agent}]  # the voice bot's questions

Matching is case-insensitive on whitespace-normalised text.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from hotline.ivr.actions import Listen
from hotline.ivr.lookups import DataSource
from hotline.ivr.model import FlowSet
from hotline.ivr.simulator import AnswerSource, SimulatedCall, TicketSink
from hotline.ivr.yaml_marks import Located, load_located

_STEP_KINDS = ("expect", "expect_not", "press", "say", "silence", "hangup")


@dataclass
class TestResult:
    file: str
    line: int
    name: str
    failures: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    heard: list[tuple[str, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _parse_now(value: Any) -> datetime:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"'now' needs a time zone offset: {value}")
    return when


def _subsequence(expected: list[str], path: list[str]) -> bool:
    it = iter(path)
    return all(any(step == node for node in it) for step in expected)


async def run_test(spec: Located, file: str, flows: FlowSet, default_flow: str, default_now: Any,
                   sources: Mapping[str, DataSource], tickets: TicketSink,
                   hear: Callable[[str, Listen | None], Awaitable[str]] | None,
                   answers: AnswerSource | None = None) -> TestResult:
    result = TestResult(file, spec.where()[0], str(spec.get("name", f"test at line {spec.where()[0]}")))
    fail = result.failures.append
    flow = str(spec.get("flow", default_flow))
    if flow not in flows.flows:
        fail(f"{file}:{result.line}: unknown flow '{flow}'")
        return result
    now_value = spec.get("now", default_now)
    now = _parse_now(now_value) if now_value is not None else None
    call = SimulatedCall(flows, flow, sources, tickets, now=(lambda: now) if now else None,
                         variables={str(k): str(v) for k, v in (spec.get("variables_in") or {}).items()},
                         agents_available=bool(spec.get("agents_available", False)), hear=hear, answers=answers)
    recent = [p.text for p in await call.start()]
    steps = spec.get("steps") or []
    for index, step in enumerate(steps):
        line = steps.item_marks[index][0] if hasattr(steps, "item_marks") else result.line
        if not isinstance(step, Located) or len(step) != 1 or next(iter(step)) not in _STEP_KINDS:
            fail(f"{file}:{line}: a step is one of {', '.join(_STEP_KINDS)}")
            break
        kind, value = next(iter(step.items()))
        if kind == "expect":
            texts = value if isinstance(value, list) else [value]
            for text in texts:
                if not any(_norm(str(text)) in _norm(p) for p in recent):
                    fail(f"{file}:{line}: expected a prompt with {text!r}; heard: "
                         + (" | ".join(recent) if recent else "(nothing)"))
            continue
        if kind == "expect_not":
            texts = value if isinstance(value, list) else [value]
            for text in texts:
                if any(_norm(str(text)) in _norm(p) for p in recent):
                    fail(f"{file}:{line}: prompt with {text!r} was not expected")
            continue
        if call.finished and kind != "hangup":
            fail(f"{file}:{line}: the call already ended ({call.engine.end_reason}) before '{kind}'")
            break
        if kind == "press":
            recent = [p.text for p in await call.press(str(value))]
        elif kind == "say":
            recent = [p.text for p in await call.say(str(value))]
        elif kind == "silence":
            recent = [p.text for p in await call.silence()]
        else:
            recent = [p.text for p in await call.hangup()]
    result.prompts = [p.text for p in call.prompts]
    result.heard = list(call.heard)
    engine = call.engine
    if "path" in spec and not _subsequence([str(p) for p in spec["path"]], engine.path):
        fail(f"{file}:{spec.where('path')[0]}: path {list(spec['path'])} not followed; actual: {engine.path}")
    for name, expected in (spec.get("variables") or {}).items():
        actual = engine.variables.get(str(name))
        if actual != str(expected):
            fail(f"{file}:{spec['variables'].where(str(name))[0]}: variable {name} = {actual!r}, "
                 f"expected {str(expected)!r}")
    if "end" in spec and engine.end_reason != str(spec["end"]):
        fail(f"{file}:{spec.where('end')[0]}: call ended with {engine.end_reason or 'nothing (still running)'!r}, "
             f"expected {spec['end']!r}")
    for i, expected_ticket in enumerate(spec.get("tickets") or []):
        if i >= len(call.tickets_created):
            fail(f"{file}:{spec.where('tickets')[0]}: expected ticket {i + 1}, {len(call.tickets_created)} created")
            continue
        for key, value in expected_ticket.items():
            if call.tickets_created[i].get(str(key)) != str(value):
                fail(f"{file}:{spec.where('tickets')[0]}: ticket {i + 1} {key} = "
                     f"{call.tickets_created[i].get(str(key))!r}, expected {str(value)!r}")
    for i, expected_entry in enumerate(spec.get("bot") or []):
        where = spec.where("bot")[0]
        if i >= len(engine.bot):
            fail(f"{file}:{where}: expected bot question {i + 1}, {len(engine.bot)} asked")
            continue
        for key, value in expected_entry.items():
            actual = engine.bot[i].get(str(key))
            if (str(actual) if actual is not None else "") != ("" if value is None else str(value)):
                fail(f"{file}:{where}: bot question {i + 1} {key} = {actual!r}, expected {value!r}")
    if "transfer" in spec:
        want = spec["transfer"] or {}
        if not call.transfers:
            fail(f"{file}:{spec.where('transfer')[0]}: expected a transfer, none happened")
        else:
            got = call.transfers[-1]
            for key, value in want.items():
                if str(getattr(got, str(key), "")) != str(value):
                    fail(f"{file}:{spec.where('transfer')[0]}: transfer {key} = {getattr(got, str(key), '')!r}, "
                         f"expected {str(value)!r}")
    return result


async def run_file(path: Path, flows: FlowSet, sources: Mapping[str, DataSource], tickets: TicketSink,
                   hear: Callable[[str, Listen | None], Awaitable[str]] | None = None,
                   only: str | None = None, answers: AnswerSource | None = None) -> list[TestResult]:
    file = str(path)
    try:
        data = load_located(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return [TestResult(file, 1, path.name, [f"{file}: cannot read test file: {exc}"])]
    if not isinstance(data, Located) or not isinstance(data.get("tests"), list):
        return [TestResult(file, 1, path.name, [f"{file}:1: a test file needs 'tests:' (a list)"])]
    results = []
    for spec in data["tests"]:
        if not isinstance(spec, Located):
            results.append(TestResult(file, 1, "?", [f"{file}: each test must be a mapping"]))
            continue
        if only and only not in str(spec.get("name", "")):
            continue
        try:
            results.append(await run_test(spec, file, flows, str(data.get("flow", "main")), data.get("now"),
                                          sources, tickets, hear, answers))
        except (ValueError, KeyError) as exc:
            results.append(TestResult(file, spec.where()[0], str(spec.get("name", "?")),
                                      [f"{file}:{spec.where()[0]}: {type(exc).__name__}: {exc}"]))
    return results
