"""What answer each node expects (the session sets the VAD's hangover from it), and spoken digits
that a pause split over two utterances."""

from __future__ import annotations

from hotline.ivr.actions import (
    DigitPressed,
    IvrAction,
    Listen,
    Play,
    PromptDone,
    SpeechHeard,
    StartTimer,
    TimerFired,
)
from hotline.ivr.engine import IvrEngine
from hotline.ivr.loader import parse_flow_text

FLOW = """flow: main
language: en
start: hello
nodes:
  hello: {type: say, prompt: "Hello.", next: menu}
  menu:
    type: menu
    prompt: "Say tracking or problem."
    options:
      - {key: "1", say: [tracking], next: number}
      - {key: "2", say: [problem], next: what}
  number:
    type: gather
    prompt: "Your number?"
    var: n
    min_digits: 8
    max_digits: 8
    inter_digit_timeout: 3
    no_match: "Eight digits, please."
    confirm: "I heard {n:digits}. Say yes or no."
    next: bye
  what:
    type: ask
    prompt: "What happened?"
    var: problem
    intents:
      damage: {examples: [damaged, broken]}
    next: bye
  bye: {type: hangup, prompt: "Bye."}
"""


def engine_at(node_key: str) -> tuple[IvrEngine, list[IvrAction]]:
    engine = IvrEngine(parse_flow_text(FLOW, "main.yaml"))
    hello = next(a for a in engine.start() if isinstance(a, Play))
    engine.handle(PromptDone(hello.prompt_id))
    actions = engine.handle(DigitPressed(node_key))
    engine.handle(PromptDone(next(a for a in actions if isinstance(a, Play)).prompt_id))  # the question was heard
    return engine, actions


def listen(actions: list[IvrAction]) -> Listen:
    return next(a for a in actions if isinstance(a, Listen))


def test_each_node_says_which_answer_it_expects() -> None:
    engine = IvrEngine(parse_flow_text(FLOW, "main.yaml"))
    start = engine.start()
    assert listen(start).answer == ""  # an announcement: the configured hangover
    menu = engine.handle(PromptDone(next(a for a in start if isinstance(a, Play)).prompt_id))
    assert listen(menu).answer == "short" and listen(menu).phrases == ("tracking", "problem")
    assert listen(engine_at("1")[1]).answer == "short"  # spoken digits
    assert listen(engine_at("2")[1]).answer == "open"  # the caller's own words
    number, _ = engine_at("1")
    assert listen(number.handle(SpeechHeard("one two three four five six seven eight"))).answer == "short"  # yes/no


def test_spoken_digits_split_by_a_pause_are_gathered_over_two_utterances() -> None:
    engine, _ = engine_at("1")
    first = engine.handle(SpeechHeard("one two three four"))
    assert [type(a) for a in first] == [StartTimer]  # waits for the rest, says nothing
    assert first[0].ms == 3000  # type: ignore[union-attr]
    confirm = engine.handle(SpeechHeard("five six seven eight"))
    assert next(a for a in confirm if isinstance(a, Play)).text == "I heard 1 2 3 4 5 6 7 8. Say yes or no."
    engine.handle(SpeechHeard("yes"))
    assert engine.variables["n"] == "12345678" and engine.path[-1] == "bye"


def test_half_a_spoken_number_then_silence_is_a_no_match() -> None:
    engine, _ = engine_at("1")
    timer = engine.handle(SpeechHeard("one two three four"))[0]
    assert isinstance(timer, StartTimer)
    retry = next(a for a in engine.handle(TimerFired(timer.token)) if isinstance(a, Play))
    assert retry.text.startswith("Eight digits, please.")
    # the next answer starts afresh
    confirm = engine.handle(SpeechHeard("eight seven six five four three two one"))
    assert "8 7 6 5 4 3 2 1" in next(a for a in confirm if isinstance(a, Play)).text


def test_too_many_spoken_digits_over_two_utterances_is_a_no_match() -> None:
    engine, _ = engine_at("1")
    engine.handle(SpeechHeard("one two three four five"))
    retry = next(a for a in engine.handle(SpeechHeard("six seven eight nine")) if isinstance(a, Play))
    assert retry.text.startswith("Eight digits, please.") and "n" not in engine.variables
