"""The engine's newer node types on small inline flows: lookups, tickets, voicemail, transfers,
sub-flows, branches, global handlers and confirmation."""

from __future__ import annotations

from datetime import UTC, datetime

from hotline.ivr.actions import (
    CallerHungUp,
    CreateTicket,
    DigitPressed,
    Hangup,
    Lookup,
    LookupDone,
    Play,
    PromptDone,
    RecordingDone,
    SpeechHeard,
    StartRecording,
    StopPlayback,
    StopRecording,
    TicketDone,
    Transfer,
    TransferDone,
)
from hotline.ivr.engine import IvrEngine
from hotline.ivr.loader import parse_flow_text
from hotline.ivr.model import Flow, FlowSet
from hotline.ivr.nodes.lookup import flatten as _flatten


def flow(text: str, name: str = "main") -> Flow:
    return parse_flow_text(f"flow: {name}\n{text}", f"{name}.yaml")


def plays(actions: list[object]) -> list[Play]:
    return [a for a in actions if isinstance(a, Play)]


def finish_prompts(engine: IvrEngine, actions: list[object]) -> list[object]:
    """Let every prompt play to its end; returns all actions seen."""
    seen = list(actions)
    todo = plays(actions)
    while todo:
        more = engine.handle(PromptDone(todo.pop(0).prompt_id))
        seen += more
        todo += plays(more)
    return seen


LOOKUP = """start: find
nodes:
  find:
    type: lookup
    source: parcels
    operation: track
    params: {number: "{n}"}
    result: parcel
    next: ok
    on_error: sorry
  ok:
    type: hangup
    prompt: "Status {parcel.status}, first item {parcel.items.1.name}."
  sorry:
    type: hangup
    prompt: "Sorry ({parcel.error})."
"""


def test_lookup_results_become_variables_and_failures_take_the_error_path() -> None:
    engine = IvrEngine(flow(LOOKUP), variables={"n": "42"})
    lookup = engine.start()[0]
    assert isinstance(lookup, Lookup) and lookup.params == {"number": "42"} and engine.waiting_for == "lookup"
    assert engine.handle(DigitPressed("5")) == []  # kept as type-ahead while the lookup runs
    said = plays(engine.handle(LookupDone(lookup.token, {"status": "delivered", "items": [{"name": "book"}]})))
    assert said[0].text == "Status delivered, first item book."

    failing = IvrEngine(flow(LOOKUP))
    token = failing.start()[0].token  # type: ignore[union-attr]
    assert failing.handle(LookupDone(token + 1, {"status": "stale"})) == []  # a stale result is ignored
    assert plays(failing.handle(LookupDone(token, None, "timeout")))[0].text == "Sorry (timeout)."


def test_flatten_nested_results() -> None:
    assert _flatten({"a": {"b": 1, "c": True}, "l": ["x", None]}) == {"a.b": "1", "a.c": "yes", "l.1": "x", "l.2": ""}


VOICEMAIL = """start: vm
nodes:
  vm:
    type: voicemail
    prompt: "Leave a message."
    max_seconds: 30
    ticket: {type: callback, description: "for {who}"}
    next: thanks
    on_error: oops
  thanks:
    type: hangup
    prompt: "Saved as {ticket.ref}."
  oops:
    type: hangup
    prompt: "Not saved."
"""


def test_voicemail_records_then_creates_a_callback_ticket() -> None:
    engine = IvrEngine(flow(VOICEMAIL), variables={"who": "Sam"})
    actions = finish_prompts(engine, engine.start())
    record = next(a for a in actions if isinstance(a, StartRecording))
    assert record.max_ms == 30000 and engine.waiting_for == "recording"
    stop = engine.handle(DigitPressed("#"))
    assert stop == [StopRecording(record.token)]
    ticket = engine.handle(RecordingDone(record.token, "voicemail/x.wav", 4200))[0]
    assert isinstance(ticket, CreateTicket)
    assert ticket.fields["type"] == "callback" and ticket.fields["recording"] == "voicemail/x.wav"
    assert ticket.fields["description"] == "for Sam" and engine.variables["voicemail.seconds"] == "4"
    assert plays(engine.handle(TicketDone(ticket.token, "100007")))[0].text == "Saved as 100007."


def test_a_caller_who_hangs_up_mid_message_still_gets_a_ticket() -> None:
    engine = IvrEngine(flow(VOICEMAIL))
    record = next(a for a in finish_prompts(engine, engine.start()) if isinstance(a, StartRecording))
    assert engine.handle(CallerHungUp()) == [StopRecording(record.token)]
    assert engine.finished and engine.end_reason == "caller_hangup"
    follow = engine.finish_voicemail(RecordingDone(record.token, "voicemail/y.wav", 9000))
    assert isinstance(follow[0], CreateTicket) and follow[0].fields["recording"] == "voicemail/y.wav"


TRANSFER = """start: t
global:
  - {key: "0", say: [agent], next: t}
nodes:
  t:
    type: transfer
    prompt: "Connecting."
    queue: billing
    skill: invoices
    priority: 3
    on_unavailable: nobody
  nobody:
    type: hangup
    prompt: "Nobody is there ({transfer.reason})."
"""


def test_transfer_carries_queue_skill_priority_and_context() -> None:
    engine = IvrEngine(flow(TRANSFER), variables={"parcel_number": "123"})
    transfer = next(a for a in finish_prompts(engine, engine.start()) if isinstance(a, Transfer))
    assert (transfer.queue, transfer.skill, transfer.priority) == ("billing", "invoices", 3)
    assert transfer.context["parcel_number"] == "123"
    assert engine.handle(TransferDone(transfer.token, True)) == [Hangup("transferred")]

    nobody = IvrEngine(flow(TRANSFER))
    transfer = next(a for a in finish_prompts(nobody, nobody.start()) if isinstance(a, Transfer))
    assert plays(nobody.handle(TransferDone(transfer.token, False, "no_agents")))[0].text == \
        "Nobody is there (no_agents)."


SUB = """start: a
global:
  - {key: "0", say: [agent, operator], next: human}
nodes:
  a:
    type: say
    prompt: "Hello."
    next: call
  call:
    type: subflow
    flow: ask_pin
    next: check
  check:
    type: branch
    cases:
      - if: "matches(pin, '^9') and len(pin) == 4"
        next: nine
    else: other
  nine:
    type: hangup
    prompt: "Nine {pin:digits}."
  other:
    type: hangup
    prompt: "Other."
  human:
    type: hangup
    prompt: "Human."
"""
ASK_PIN = """start: pin
nodes:
  pin:
    type: gather
    prompt: "Your PIN?"
    var: pin
    min_digits: 4
    max_digits: 4
    confirm: "I heard {pin:digits}. Press 1 if right, 2 if not."
    next: back
  back:
    type: return
"""


def two_flows() -> FlowSet:
    return FlowSet({"main": flow(SUB), "ask_pin": flow(ASK_PIN, "ask_pin")})


def test_subflow_returns_and_the_branch_sees_its_variables() -> None:
    engine = IvrEngine(two_flows(), "main")
    finish_prompts(engine, engine.start())
    done = finish_prompts(engine, [a for d in "9123" for a in engine.handle(DigitPressed(d))])
    assert plays(done)[0].text == "Nine 9 1 2 3."
    assert engine.path == ["a", "call", "ask_pin.pin", "ask_pin.back", "check", "nine"]


def test_spoken_digits_are_read_back_and_a_no_asks_again() -> None:
    engine = IvrEngine(two_flows(), "main")
    finish_prompts(engine, engine.start())
    confirm = plays(engine.handle(SpeechHeard("nine one two three")))
    assert confirm[0].text == "I heard 9 1 2 3. Press 1 if right, 2 if not."
    again = plays(engine.handle(SpeechHeard("no, that's wrong")))
    assert again[0].text == "Let's try again. Your PIN?" and "pin" not in engine.variables
    engine.handle(SpeechHeard("one two three four"))
    assert plays(engine.handle(DigitPressed("1")))[0].text == "Other."


def test_global_phrase_during_an_announcement_and_keys_in_a_gather() -> None:
    engine = IvrEngine(two_flows(), "main")
    engine.start()
    actions = engine.handle(SpeechHeard("can I get an operator"))
    assert actions[0] == StopPlayback() and plays(actions)[0].text == "Human."
    gather = IvrEngine(two_flows(), "main")
    finish_prompts(gather, gather.start())
    gather.handle(DigitPressed("0"))  # inside a PIN, 0 is a digit, not "agent"
    assert gather.path[-1] == "ask_pin.pin"


HOURS = """start: h
hours:
  office:
    timezone: Asia/Shanghai
    weekly: {mon-fri: "09:00-18:00"}
    holidays: [{date: "2026-10-01", name: National Day}]
nodes:
  h:
    type: hours
    schedule: office
    open: o
    closed: c
  o:
    type: hangup
    prompt: "Open."
  c:
    type: hangup
    prompt: "Closed: {hours.reason}."
"""


def test_hours_use_the_schedules_time_zone_and_holidays() -> None:
    def said(when: datetime) -> str:
        engine = IvrEngine(flow(HOURS), now=lambda: when)
        return plays(engine.start())[0].text

    assert said(datetime(2026, 11, 23, 2, 0, tzinfo=UTC)) == "Open."  # 10:00 in Shanghai, a Monday
    assert said(datetime(2026, 11, 23, 12, 0, tzinfo=UTC)).startswith("Closed: after closing")
    assert said(datetime(2026, 10, 1, 3, 0, tzinfo=UTC)) == "Closed: holiday: National Day."
