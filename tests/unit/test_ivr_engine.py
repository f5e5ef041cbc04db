from __future__ import annotations

from pathlib import Path

from hotline.ivr.actions import (
    DigitPressed,
    Hangup,
    Play,
    PromptDone,
    SpeechHeard,
    StartTimer,
    StopPlayback,
    TimerFired,
)
from hotline.ivr.engine import IvrEngine
from hotline.ivr.loader import load_flow

# the small skeleton flow of the telephony tests: greeting, a menu, a gather, hang-ups
FLOW = Path(__file__).resolve().parents[2] / "tests" / "e2e" / "flows" / "main.yaml"


def play_of(actions: list[object]) -> Play:
    plays = [a for a in actions if isinstance(a, Play)]
    assert plays, actions
    return plays[-1]


def start_menu(engine: IvrEngine) -> Play:
    greeting = play_of(engine.start())
    return play_of(engine.handle(PromptDone(greeting.prompt_id)))


def test_dtmf_path_to_readback_and_hangup() -> None:
    engine = IvrEngine(load_flow(FLOW))
    menu = start_menu(engine)
    assert "press 1" in menu.text
    actions = engine.handle(DigitPressed("1"))
    assert isinstance(actions[0], StopPlayback)  # barge-in stops the menu prompt
    gather = play_of(actions)
    for d in "123":
        engine.handle(DigitPressed(d))
    readback = play_of(engine.handle(DigitPressed("#")))
    assert "1 2 3" in readback.text
    assert engine.handle(PromptDone(readback.prompt_id)) == [Hangup("flow_end")]
    assert engine.path == ["greeting", "main_menu", "tracking_number", "tracking_readback"]
    assert engine.variables["parcel_number"] == "123"
    assert gather.prompt_id != readback.prompt_id


def test_spoken_keyword_selects_option() -> None:
    engine = IvrEngine(load_flow(FLOW))
    start_menu(engine)
    play_of(engine.handle(SpeechHeard("Could I talk to an agent please?")))
    assert engine.path[-1] == "agent"
    assert engine.variables["choice"] == "agent"


def test_words_match_whole_words_only() -> None:
    engine = IvrEngine(load_flow(FLOW))
    start_menu(engine)
    # "reopening" must not match "opening"; nothing matches: retry with an apology
    retry = play_of(engine.handle(SpeechHeard("the reopening")))
    assert retry.text.startswith("Sorry, I did not get that.")
    assert engine.path[-1] == "main_menu"


def test_no_input_retries_then_says_goodbye() -> None:
    engine = IvrEngine(load_flow(FLOW))
    menu = start_menu(engine)
    for _ in range(2):
        timer = [a for a in engine.handle(PromptDone(menu.prompt_id)) if isinstance(a, StartTimer)][0]
        menu = play_of(engine.handle(TimerFired(timer.token)))
        assert menu.text.startswith("Sorry, I did not hear anything.")
    timer = [a for a in engine.handle(PromptDone(menu.prompt_id)) if isinstance(a, StartTimer)][0]
    goodbye = play_of(engine.handle(TimerFired(timer.token)))
    assert goodbye.text == "Thank you for calling. Goodbye."
    assert engine.handle(PromptDone(goodbye.prompt_id)) == [Hangup("no_input")]


def test_stale_timer_and_prompt_events_are_ignored() -> None:
    engine = IvrEngine(load_flow(FLOW))
    menu = start_menu(engine)
    timer = [a for a in engine.handle(PromptDone(menu.prompt_id)) if isinstance(a, StartTimer)][0]
    engine.handle(DigitPressed("1"))  # moved on to the gather node
    assert engine.handle(TimerFired(timer.token)) == []
    assert engine.handle(PromptDone(menu.prompt_id)) == []
    assert engine.path[-1] == "tracking_number"


def test_digits_typed_ahead_during_greeting_reach_the_menu() -> None:
    engine = IvrEngine(load_flow(FLOW))
    greeting = play_of(engine.start())
    assert engine.handle(DigitPressed("2")) == []
    actions = engine.handle(PromptDone(greeting.prompt_id))
    assert engine.path == ["greeting", "main_menu", "hours"]
    assert "opening hours" in play_of(actions).text


def test_gather_inter_digit_timeout_completes() -> None:
    engine = IvrEngine(load_flow(FLOW))
    start_menu(engine)
    gather = play_of(engine.handle(DigitPressed("1")))
    engine.handle(PromptDone(gather.prompt_id))
    actions = engine.handle(DigitPressed("9"))
    timer = [a for a in actions if isinstance(a, StartTimer)][0]
    readback = play_of(engine.handle(TimerFired(timer.token)))
    assert "9" in readback.text and engine.variables["parcel_number"] == "9"


def test_caller_speech_interrupts_menu_prompt_and_arms_no_input() -> None:
    from hotline.ivr.actions import CallerSpeaking

    engine = IvrEngine(load_flow(FLOW))
    greeting = play_of(engine.start())
    assert engine.handle(CallerSpeaking()) == []  # the greeting (a say node) is not interrupted
    start_menu_actions = engine.handle(PromptDone(greeting.prompt_id))
    menu = play_of(start_menu_actions)
    actions = engine.handle(CallerSpeaking())
    assert isinstance(actions[0], StopPlayback) and isinstance(actions[1], StartTimer)
    assert engine.handle(PromptDone(menu.prompt_id, interrupted=True)) == []
    # the speech was a cough: no final text, the no-input timer re-prompts
    retry = play_of(engine.handle(TimerFired(actions[1].token)))  # type: ignore[union-attr]
    assert retry.text.startswith("Sorry, I did not hear anything.")
    assert engine.handle(CallerSpeaking()) != []  # the retry prompt can be interrupted again


def test_menus_switch_grammar_mode_on_and_off() -> None:
    from hotline.ivr.actions import Listen

    engine = IvrEngine(load_flow(FLOW))
    assert Listen(None, "en") in engine.start()  # the greeting listens openly
    menu_actions = engine.handle(PromptDone("p1"))
    listen = [a for a in menu_actions if isinstance(a, Listen)][0]
    assert listen.phrases is not None and {"tracking", "agent", "hours"} <= set(listen.phrases)
    gather = [a for a in engine.handle(DigitPressed("1")) if isinstance(a, Listen)][0]
    assert gather.phrases is not None and "seven" in gather.phrases and "tracking" not in gather.phrases


def test_menu_with_grammar_off_listens_openly(tmp_path: Path) -> None:
    from hotline.ivr.actions import Listen

    flow = tmp_path / "f.yaml"
    flow.write_text("start: m\nnodes:\n  m:\n    type: menu\n    grammar: false\n    prompt: p\n"
                    "    options:\n      - {key: '1', say: [yes], next: m}\n")
    assert Listen(None, "en", answer="short") in IvrEngine(load_flow(flow)).start()  # no grammar, a short answer


def test_overloaded_recognition_falls_back_to_keypad_and_tells_the_caller() -> None:
    from hotline.ivr.actions import Listen, SpeechUnavailable

    engine = IvrEngine(load_flow(FLOW))
    start_menu(engine)
    actions = engine.handle(SpeechUnavailable())
    notice = play_of(actions)
    assert notice.text.startswith("Sorry, I cannot understand speech right now. Please use your telephone keypad.")
    assert "press 1" in notice.text and Listen(None, "en") in actions
    assert engine.keypad_only and engine.variables["speech"] == "unavailable"
    assert engine.handle(SpeechUnavailable()) == []  # told once
    assert engine.handle(SpeechHeard("agent")) == []  # speech no longer drives the menu
    engine.handle(DigitPressed("0"))
    assert engine.path[-1] == "agent"
