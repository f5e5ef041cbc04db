"""The voice bot's IVR node (`answer`): its keys checked with file:line:column, the engine's runs
(a question asked or taken from a menu, the answer read, yes / no / keys / silence, nothing that
fits, a caller who hangs up), the bot's entries for the call record, the diagram and the simulator."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hotline.ivr.actions import (
    AnswerFound,
    CallerHungUp,
    DigitPressed,
    FindAnswer,
    IvrAction,
    Listen,
    Play,
    PromptDone,
    SpeechHeard,
    StartRecording,
    StartTimer,
    TimerFired,
    Transfer,
)
from hotline.ivr.diagram import flow_svg
from hotline.ivr.engine import IvrEngine
from hotline.ivr.loader import parse_flow_text
from hotline.ivr.model import FlowErrors, FlowSet
from hotline.ivr.simulator import SimulatedCall

REPO = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"

FLOW = """\
flow: main
language: en
start: menu
global:
  - {key: "0", say: [agent], label: agent, next: agent}
nodes:
  menu:
    type: menu
    prompt: "Say tracking, or press 6 for questions, or ask."
    options:
      - {key: "1", say: [tracking], next: bye}
      - {key: "6", say: [question], next: bot}
    on_other_speech: bot
  bot:
    type: answer
    question: "{utterance}"
    prompt: "What is your question?"
    confirm: "Did that answer your question?"
    no_answer: "Sorry, I have no answer to that."
    retries: 1
    resolved: menu
    unresolved: agent
    on_no_match: message
  agent:
    type: transfer
    prompt: "Please hold."
    queue: general
    on_unavailable: message
  message:
    type: voicemail
    prompt: "Leave a message."
    next: bye
    on_error: bye
  bye: {type: hangup, prompt: "Goodbye."}
"""

ANSWER = "Parcels wait seven days at the pickup point."


def flow_set(text: str = FLOW) -> FlowSet:
    return FlowSet({"main": parse_flow_text(text, "f.yaml", REPO)})


class Caller:
    """Drives the engine the way the call session does: prompts end at once, results are fed back."""

    def __init__(self, text: str = FLOW) -> None:
        self.engine = IvrEngine(flow_set(text), "main")
        self.played: list[str] = []
        self.questions: list[FindAnswer] = []
        self.timer: int | None = None
        self.listen: Listen | None = None
        self.transfers: list[Transfer] = []
        self.recording = False
        self.feed(self.engine.start())

    def feed(self, actions: list[IvrAction]) -> None:
        todo = list(actions)
        while todo:
            action = todo.pop(0)
            if isinstance(action, Play):
                self.played.append(action.text)
                todo += self.engine.handle(PromptDone(action.prompt_id))
            elif isinstance(action, StartTimer):
                self.timer = action.token
            elif isinstance(action, Listen):
                self.listen = action
            elif isinstance(action, FindAnswer):
                self.questions.append(action)
            elif isinstance(action, Transfer):
                self.transfers.append(action)
            elif isinstance(action, StartRecording):
                self.recording = True

    def say(self, text: str) -> None:
        self.feed(self.engine.handle(SpeechHeard(text)))

    def press(self, key: str) -> None:
        self.feed(self.engine.handle(DigitPressed(key)))

    def silence(self) -> None:
        assert self.timer is not None
        self.feed(self.engine.handle(TimerFired(self.timer)))

    def answer(self, article: str = "pickup-point", answer: str = ANSWER, **kw: object) -> None:
        token = self.questions[-1].token
        found = AnswerFound(token, article, "Collect from a pickup point" if article else "", answer, 0.93) \
            if article else AnswerFound(token, **kw)  # type: ignore[arg-type]
        self.feed(self.engine.handle(found))


def errors_of(node: str) -> list[str]:
    text = f"start: a\nnodes:\n  {node}\n  e: {{type: hangup}}\n"
    with pytest.raises(FlowErrors) as exc:
        parse_flow_text(text, "f.yaml", REPO)
    return [str(e) for e in exc.value.errors]


@pytest.mark.parametrize(("node", "expected"), [
    ("a: {type: answer, prompt: q, confirm: c, resolved: e}",
     ["f.yaml:3:6: node 'a': an answer node needs 'unresolved', 'on_no_match'"]),
    ("a: {type: answer, prompt: q, resolved: e, unresolved: e, on_no_match: e}",
     ["f.yaml:3:6: node 'a': an answer node needs 'confirm' (e.g. \"Did that answer your question?\")"]),
    ("a: {type: answer, confirm: c, resolved: e, unresolved: e, on_no_match: e}",
     ["f.yaml:3:6: node 'a': an answer node needs a 'prompt'"]),
    ("a: {type: answer, prompt: q, confirm: c, question: words, resolved: e, unresolved: e, on_no_match: e}",
     ["f.yaml:3:44: node 'a': 'question' names the words said before this node, e.g. \"{main_menu.utterance}\""]),
    ("a: {type: answer, prompt: q, confirm: c, resolved: e, unresolved: e, on_no_match: zz, answers: 1}",
     ["f.yaml:3:89: node 'a': unknown key 'answers' for an answer node", "f.yaml:3:72: unknown node 'zz'"]),
    ("a: {type: menu, prompt: q, options: [{key: '1', next: e}], on_other_speech: zz}",
     ["f.yaml:3:62: unknown node 'zz'"]),
    ("a: {type: menu, prompt: q, options: [{key: '1', next: e}], on_other_speech: e, sensitive: true}",
     ["f.yaml:3:62: node 'a': a sensitive node keeps the caller's words to itself: no 'on_other_speech'"]),
])
def test_loading_errors_name_the_line_and_column(node: str, expected: list[str]) -> None:
    assert sorted(errors_of(node)) == sorted(expected)


def test_a_question_is_asked_answered_and_yes_goes_to_resolved() -> None:
    caller = Caller()
    caller.press("6")
    assert caller.played[-1] == "What is your question?"
    assert caller.listen is not None and caller.listen.answer == "open" and caller.listen.phrases is None
    caller.say("how long does the pickup point keep my parcel")
    assert caller.questions[-1].question == "how long does the pickup point keep my parcel"
    assert caller.questions[-1].language == "en" and caller.engine.waiting_for == "answer"
    caller.answer()
    assert caller.played[-1] == f"{ANSWER} Did that answer your question?"
    assert caller.listen.answer == "short" and "yes" in (caller.listen.phrases or ())
    caller.say("yes it did thank you")
    assert caller.engine.path[-2:] == ["bot", "menu"]
    v = caller.engine.variables
    assert (v["bot.article"], v["bot.title"], v["bot.score"], v["bot.resolved"]) == (
        "pickup-point", "Collect from a pickup point", "0.93", "yes")
    [entry] = caller.engine.bot
    assert {k: entry[k] for k in ("node", "language", "question", "article", "score", "resolved", "outcome")} == {
        "node": "bot", "language": "en", "question": "how long does the pickup point keep my parcel",
        "article": "pickup-point", "score": 0.93, "resolved": "yes", "outcome": "resolved"}
    assert entry["at"] > 0


def test_words_that_fit_no_menu_option_are_the_question_and_no_goes_to_the_agent() -> None:
    caller = Caller()
    assert caller.listen is not None and not caller.listen.strict and caller.listen.answer == "open"
    caller.say("tracking")  # option words still work
    assert caller.engine.path[-1] == "bye"
    caller = Caller()
    caller.say("how long does the pickup point keep my parcel")
    assert caller.engine.variables["menu.utterance"] == "how long does the pickup point keep my parcel"
    assert caller.questions[-1].question == "how long does the pickup point keep my parcel"
    assert "What is your question?" not in caller.played and "utterance" not in caller.engine.variables
    caller.answer()
    caller.press("2")
    assert caller.engine.path[-1] == "agent" and caller.transfers[-1].context["bot.question"].startswith("how long")
    assert caller.engine.bot[-1]["resolved"] == "no" and caller.engine.bot[-1]["outcome"] == "agent"


def test_a_queue_nobody_answers_then_a_message_makes_the_outcome_voicemail() -> None:
    from hotline.ivr.actions import TransferDone

    caller = Caller()
    caller.press("6")
    caller.say("pickup point")
    caller.answer()
    caller.say("no")
    assert caller.engine.bot[-1]["outcome"] == "agent"
    caller.feed(caller.engine.handle(TransferDone(caller.transfers[-1].token, False, "no_agents")))
    assert caller.recording and caller.engine.bot[-1]["outcome"] == "voicemail"


def test_nothing_that_fits_is_said_and_takes_the_no_match_path() -> None:
    caller = Caller()
    caller.say("what is the capital of france")
    caller.answer(article="", error="no_match")
    assert caller.played[-2:] == ["Sorry, I have no answer to that.", "Leave a message."]
    assert caller.engine.path[-1] == "message" and caller.engine.variables["bot.article"] == ""
    assert caller.engine.bot[-1]["article"] is None and caller.engine.bot[-1]["outcome"] == "no_match"
    assert caller.engine.bot[-1]["score"] is None


def test_an_unclear_reply_is_asked_again_and_silence_counts_as_unresolved() -> None:
    caller = Caller()
    caller.press("6")
    caller.say("pickup point")
    caller.answer()
    caller.say("banana")
    assert caller.played[-1].endswith("Did that answer your question?") and caller.played[-1] != caller.played[-2]
    caller.press("7")  # neither 1 nor 2: retries spent (retries: 1)
    assert caller.engine.path[-1] == "agent"
    assert caller.engine.bot[-1]["resolved"] is None and caller.engine.bot[-1]["outcome"] == "agent"
    caller = Caller()
    caller.press("6")
    caller.say("pickup point")
    caller.answer()
    caller.silence()
    assert caller.played[-1].endswith("Did that answer your question?")
    caller.press("1")
    assert caller.engine.path[-1] == "menu" and caller.engine.bot[-1]["outcome"] == "resolved"


def test_a_global_key_or_word_overtakes_the_bot_and_a_hang_up_is_recorded() -> None:
    caller = Caller()
    caller.press("6")
    caller.say("agent")  # a global phrase, not a question
    assert caller.engine.path[-1] == "agent" and not caller.questions
    caller = Caller()
    caller.press("6")
    caller.say("pickup point")
    caller.answer()
    caller.press("0")
    assert caller.engine.path[-1] == "agent" and caller.engine.bot[-1]["outcome"] == "agent"
    caller = Caller()
    caller.press("6")
    caller.say("pickup point")
    caller.answer()
    caller.feed(caller.engine.handle(CallerHungUp()))
    assert caller.engine.bot[-1]["outcome"] == "hangup" and caller.engine.bot[-1]["resolved"] is None


def test_a_stale_answer_is_ignored_and_keys_while_waiting_are_kept() -> None:
    caller = Caller()
    caller.press("6")
    caller.say("pickup point")
    caller.press("1")  # before the answer came: kept for the next question
    assert caller.engine.typeahead == ["1"]
    caller.feed(caller.engine.handle(AnswerFound(caller.questions[-1].token + 5, "x", "x", "x", 1.0)))
    assert not caller.engine.bot


def test_coming_back_asks_afresh_and_closes_the_previous_question() -> None:
    caller = Caller()
    caller.say("how long does the pickup point keep my parcel")
    caller.answer()
    caller.feed(caller.engine.handle(TimerFired(-1)))  # stale: nothing
    caller.say("yes")
    assert caller.engine.path[-1] == "menu"
    caller.press("6")  # the earlier words were used once: the bot asks
    assert caller.played[-1] == "What is your question?"


def test_speech_refused_leaves_the_bot_at_once() -> None:
    from hotline.ivr.actions import SpeechUnavailable

    caller = Caller()
    caller.press("6")
    caller.feed(caller.engine.handle(SpeechUnavailable()))
    assert caller.engine.path[-1] == "message"


def test_the_diagram_draws_the_bots_exits() -> None:
    flow = flow_set().get("main")
    node = flow.nodes["bot"]
    assert node.summary("en") == "bot: {utterance}"
    assert dict(node.exits()) == {"resolved": "menu", "unresolved": "agent", "no match": "message", "failure": None}
    root = ET.fromstring(flow_svg(flow))
    drawn = {(g.get("data-source"), g.get("data-target"), g.get("data-kind")) for g in root.iter(f"{SVG}g")
             if g.get("class") == "edge"}
    assert {("bot", "menu", "normal"), ("bot", "agent", "normal"), ("bot", "message", "failure"),
            ("menu", "bot", "normal")} <= drawn


class FakeAnswers:
    def __init__(self) -> None:
        self.asked: list[FindAnswer] = []

    async def find(self, action: FindAnswer) -> AnswerFound:
        self.asked.append(action)
        if "pickup" in action.question:
            return AnswerFound(action.token, "pickup-point", "Collect from a pickup point", ANSWER, 0.9)
        return AnswerFound(action.token, error="no_match")


async def test_the_simulator_asks_its_answer_source_and_without_one_nothing_fits() -> None:
    answers = FakeAnswers()
    call = SimulatedCall(flow_set(), "main", {}, tickets=None, answers=answers)  # type: ignore[arg-type]
    await call.start()
    played = await call.say("where is the pickup point")
    assert [p.text for p in played] == [f"{ANSWER} Did that answer your question?"]
    assert answers.asked[0].question == "where is the pickup point"
    played = await call.say("no")
    assert [p.text for p in played] == ["Please hold.", "Leave a message."] and call.transfers
    bare = SimulatedCall(flow_set(), "main", {}, tickets=None)  # type: ignore[arg-type]
    await bare.start()
    played = await bare.say("where is the pickup point")
    assert played[0].text == "Sorry, I have no answer to that." and bare.engine.bot[0]["outcome"] == "no_match"


def test_words_an_ask_node_cannot_place_go_to_the_bot_and_its_intents_still_work() -> None:
    text = FLOW.replace('''  menu:
    type: menu
    prompt: "Say tracking, or press 6 for questions, or ask."
    options:
      - {key: "1", say: [tracking], next: bye}
      - {key: "6", say: [question], next: bot}
    on_other_speech: bot''', '''  menu:
    type: ask
    prompt: "What happened?"
    intents:
      damage: {examples: [my parcel is damaged, broken box], next: bye}
      missing: {examples: [my parcel is missing, it never came], next: bye}
    next: bye
    on_other_speech: bot''')
    caller = Caller(text)
    caller.say("my parcel is damaged")
    assert caller.engine.path[-1] == "bye" and caller.engine.variables["menu.intent"] == "damage"
    caller = Caller(text)
    caller.say("what is the capital of france")
    assert caller.engine.path[-1] == "bot" and caller.questions[-1].question == "what is the capital of france"


def test_a_menu_option_nearly_heard_is_taken_before_the_bot() -> None:
    from hotline.ivr.intents import nearly_heard

    options = ("tracking", "track", "track my parcel", "where is my parcel")
    assert nearly_heard(options, "Trap my parcel.", "en")  # the recogniser's slip, not a question for the bot
    assert nearly_heard(("redelivery",), "redelivary please", "en")
    assert not nearly_heard(("problem",), "probably not", "en")  # short phrases must be heard exactly
    assert not nearly_heard(("hours", "opening hours", "open"), "i hope so", "en")
    assert not nearly_heard(("track my parcel",), "what will the weather be like", "en")
    assert not nearly_heard(("查询",), "查询", "zh")  # Chinese is matched by substring, exactly
