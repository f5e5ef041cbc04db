"""`hotline flows check | simulate | test | graph`: the admins' tools for flow files."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from hotline.center.bot_answers import LocalAnswers
from hotline.center.flow_services import StoreTicketSink, ivr_sources
from hotline.center.settings import Settings
from hotline.center.tickets import SqliteTicketStore
from hotline.ivr.actions import Listen
from hotline.ivr.diagram import flow_svg
from hotline.ivr.flowtest import TestResult, run_file
from hotline.ivr.graph import DiagramError
from hotline.ivr.loader import load_directory
from hotline.ivr.model import Flow, FlowError, FlowSet
from hotline.ivr.simulator import SimulatedCall


def _flow_dir_and_name(target: str, default_dir: Path) -> tuple[Path, str | None]:
    path = Path(target)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        return path.parent, path.stem
    if path.is_dir():
        return path, None
    return default_dir, target


def _load(directory: Path, only_file: Path | None = None) -> tuple[dict[str, Flow], list[FlowError]]:
    flows, errors = load_directory(directory)
    if only_file is not None:
        errors = [e for e in errors if Path(e.file).resolve() == only_file.resolve()]
    return flows, errors


def check(target: str) -> int:
    path = Path(target)
    if not path.exists():
        print(f"{target}: no such file or directory", file=sys.stderr)
        return 1
    directory = path if path.is_dir() else path.parent
    flows, errors = _load(directory, None if path.is_dir() else path)
    files = [path] if path.is_file() else sorted(directory.glob("*.yaml"))
    if not files:
        print(f"{target}: no flow files", file=sys.stderr)
        return 1
    for error in sorted(errors, key=lambda e: (e.file, e.line, e.column)):
        print(str(error), file=sys.stderr)
    bad = {e.file for e in errors}
    for flow in flows.values():
        if flow.file not in bad and (path.is_dir() or Path(flow.file).resolve() == path.resolve()):
            print(f"{flow.file}: ok ({len(flow.nodes)} nodes, languages {', '.join(flow.languages)})")
    if errors:
        print(f"{len(errors)} error(s) in {len(bad)} file(s)", file=sys.stderr)
    return 1 if errors else 0


def _flowset_or_report(directory: Path) -> FlowSet | None:
    flows, errors = _load(directory)
    for error in errors:
        print(str(error), file=sys.stderr)
    return None if errors else FlowSet(flows)


def _clock(value: str | None, settings: Settings) -> Callable[[], datetime] | None:
    if value:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return lambda: when
    return settings.now if settings.clock else None


async def _simulate(flowset: FlowSet, name: str, settings: Settings, now: str | None, tickets_dir: Path) -> int:
    store = SqliteTicketStore(tickets_dir / "tickets.db")

    def show(play: object) -> None:
        text = getattr(play, "text", "")
        lang = getattr(play, "language", "")
        print(f"  IVR [{lang}]: {text}", flush=True)

    call = SimulatedCall(flowset, name, ivr_sources(settings), StoreTicketSink(store), now=_clock(now, settings),
                         variables={"caller": "simulator"}, on_prompt=show,
                         answers=LocalAnswers(settings.knowledge))  # the bot matches with the local knowledge
    print("Type digits (e.g. 1 or 12345678#) to press keys, words to speak, an empty line for silence,\n"
          "/vars for the variables, /agents to let transfers succeed, /hangup or Ctrl-D to hang up.")
    await call.start()
    seen = 0
    loop = asyncio.get_running_loop()
    while not call.finished:
        print(f"  (at {call.engine.path[-1] if call.engine.path else '?'}, waiting for "
              f"{call.engine.waiting_for or 'nothing'})")
        seen = len(call.engine.path)
        line = await loop.run_in_executor(None, _read_line)
        if line is None or line.strip() == "/hangup":
            await call.hangup()
            break
        line = line.strip()
        if line == "/vars":
            for key, value in sorted(call.engine.variables.items()):
                print(f"  {key} = {value}")
            continue
        if line == "/agents":
            call.agents_available = not call.agents_available
            print(f"  transfers {'succeed' if call.agents_available else 'find no agent'}")
            continue
        if not line:
            await call.silence()
        elif all(c in "0123456789*#" for c in line):
            await call.press(line)
        else:
            await call.say(line)
        if len(call.engine.path) > seen:
            print(f"  path: {' -> '.join(call.engine.path[seen - 1 if seen else 0:])}")
    for ticket in call.tickets_created:
        print(f"  ticket {ticket['ref']}: {ticket.get('type')} {ticket.get('description', '')}")
    print(f"call ended: {call.engine.end_reason or 'hangup'}; path: {' -> '.join(call.engine.path)}")
    store.close()
    return 0


def _read_line() -> str | None:
    try:
        return input("caller> ")
    except EOFError:
        return None


def simulate(target: str, flows_dir: Path, settings: Settings, now: str | None) -> int:
    directory, name = _flow_dir_and_name(target, flows_dir)
    flowset = _flowset_or_report(directory)
    if flowset is None:
        return 1
    name = name or settings.flow
    if name not in flowset.flows:
        print(f"no flow named {name!r} in {directory}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="hotline-sim-") as tmp:
        return asyncio.run(_simulate(flowset, name, settings, now, Path(tmp)))


def _speech_hearer(flowset: FlowSet,
                   settings: Settings) -> Callable[[str, Listen | None], Awaitable[str]]:
    """Caller turns synthesised at 8 kHz (the telephone band) and recognised by the engines a
    node would use. English callers speak with Piper's natural voice (espeak-ng's robot voice
    tested the synthesiser more than the flow), without its random variation, so a test heard
    the same way passes or fails the same way on every run; Mandarin ones with Kokoro's, other languages with
    espeak-ng."""
    from hotline.asr.scheduled import in_process_recognizer
    from hotline.ivr.piper_voice import resolve_voice, shared_voices
    from hotline.ivr.prompts import PromptCache

    vocabulary = tuple(dict.fromkeys(p for f in flowset.flows.values() for p in f.vocabulary()))
    recognizer = in_process_recognizer(settings.asr, vocabulary)
    cache_dir = Path(tempfile.mkdtemp(prefix="hotline-speech-"))
    narrowband = PromptCache(cache_dir, "en-us", speed=150, rate=8000, natural=True)

    voices = {lang: voice for f in flowset.flows.values() for lang, voice in f.voices.items()}

    async def hear(text: str, listen: Listen | None) -> str:
        language = listen.language if listen is not None else settings.asr.language
        voice = voices.get(language, "en-us")
        engine, name = resolve_voice(voice, True)
        if engine == "piper":  # the same audio on every run: a flow test's result must not vary
            pcm = await asyncio.to_thread(shared_voices().synthesize_pcm, text, name, 8000, steady=True)
        else:
            pcm = await narrowband.get(text, voice)
        stream = recognizer.open_stream(8000)
        try:  # what the call session does with the Listen in force
            stream.set_language(language)
            if settings.asr.grammar and listen is not None and (listen.strict or not recognizer.restricts_to_phrases):
                stream.set_phrases(listen.phrases)
            stream.accept(pcm)
            hypothesis = await asyncio.get_running_loop().run_in_executor(None, stream.finish, pcm)
        finally:
            stream.close()
        return hypothesis.text

    return hear


def test(directory: Path, settings: Settings, speech: bool, only: str | None) -> int:
    flowset = _flowset_or_report(directory)
    if flowset is None:
        return 1
    files = sorted((directory / "tests").glob("*.yaml"))
    if not files:
        print(f"{directory / 'tests'}: no flow test files", file=sys.stderr)
        return 1
    hear = _speech_hearer(flowset, settings) if speech else None

    async def run_all() -> list[TestResult]:
        results: list[TestResult] = []
        with tempfile.TemporaryDirectory(prefix="hotline-flowtest-") as tmp:
            store = SqliteTicketStore(Path(tmp) / "tickets.db")
            sources = ivr_sources(settings)
            answers = LocalAnswers(settings.knowledge)  # the bot matches with the local knowledge directory
            for file in files:
                results += await run_file(file, flowset, sources, StoreTicketSink(store), hear, only, answers)
            store.close()
        return results

    results = asyncio.run(run_all())
    for result in results:
        print(f"{'PASS' if result.passed else 'FAIL'} {result.file}:{result.line} {result.name}")
        for said, heard in result.heard if speech else []:
            print(f"     said {said!r} -> heard {heard!r}")
        for failure in result.failures:
            print(f"     {failure}")
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed or not results else 0


def graph(target: str, flows_dir: Path, output: Path | None) -> int:
    directory, name = _flow_dir_and_name(target, flows_dir)
    flows, errors = load_directory(directory)
    name = name or "main"
    flow = flows.get(name)
    if flow is None:
        for error in errors:
            print(str(error), file=sys.stderr)
        print(f"cannot draw flow {name!r}: it does not load", file=sys.stderr)
        return 1
    try:
        svg = flow_svg(flow, [e for e in errors if e.file == flow.file])
    except DiagramError as exc:
        print(f"cannot draw flow {name!r}: {exc}", file=sys.stderr)
        return 1
    if output is None:
        sys.stdout.write(svg)
    else:
        output.write_text(svg, encoding="utf-8")
        print(f"{output}: {len(flow.nodes)} nodes")
    return 0
