"""What the node types that ask a question and listen for the answer (menu, gather, ask) share:
timeouts, retries with an apology, and giving up (`on_failure`, or goodbye)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from hotline.ivr.actions import IvrAction, Listen
from hotline.ivr.model import NO_PROMPT, Node, Prompt, Run
from hotline.ivr.nodes.fields import Fields
from hotline.ivr.yaml_marks import Located

ASKING_KEYS = frozenset({"timeout", "retries", "no_input", "no_match", "on_failure"})
OTHER_SPEECH = "on_other_speech"  # menu and ask: words that fit no option go there (e.g. the voice bot)


def load_asking(r: Fields, raw: Located, kw: dict[str, Any], ctx: str) -> None:
    kw["timeout_ms"] = int(r.number(raw, "timeout", ctx, 6.0, minimum=0.5) * 1000)
    kw["retries"] = int(r.number(raw, "retries", ctx, 2, integer=True))
    kw["no_input"] = r.prompt(raw, "no_input", ctx)
    kw["no_match"] = r.prompt(raw, "no_match", ctx)
    kw["on_failure"] = r.target(raw, "on_failure", kw["id"])


def load_other_speech(r: Fields, raw: Located, kw: dict[str, Any]) -> None:
    kw["on_other_speech"] = r.target(raw, OTHER_SPEECH, kw["id"])
    if kw["on_other_speech"] is not None and kw.get("sensitive"):
        r.err(raw, OTHER_SPEECH, f"node '{kw['id']}': a sensitive node keeps the caller's words to itself: "
                                 f"no '{OTHER_SPEECH}'")


@dataclass(frozen=True, kw_only=True)
class AskingNode(Node):
    waits: ClassVar[bool] = True
    timeout_ms: int = 6000
    retries: int = 2
    no_match: Prompt = NO_PROMPT
    no_input: Prompt = NO_PROMPT
    on_failure: str | None = None
    on_other_speech: str | None = None  # menu, ask: where words that fit no choice go

    def exits(self) -> tuple[tuple[str, str | None], ...]:
        return (("next", self.next), ("failure", self.on_failure), ("other speech", self.on_other_speech))

    def other_speech(self, run: Run, text: str) -> list[IvrAction] | None:
        """Words that fit no choice, where the node sends them elsewhere (`on_other_speech`, e.g. the
        voice bot's `answer` node, which reads them from `utterance`: `question: "{utterance}"`);
        they are kept in `<node>.utterance` and `utterance` (as a choice is in `choice`). None: the
        node has no `on_other_speech`."""
        if self.on_other_speech is None:
            return None
        run.variables[f"{self.id}.utterance"] = text
        run.variables["utterance"] = text
        return [*run.interrupt(self), *run.enter(self.on_other_speech)]

    def on_enter(self, run: Run, actions: list[IvrAction]) -> str | None:
        if run.speak(self, actions, "input"):
            run.replay_typeahead(actions)  # keys pressed ahead go to whichever node is current by then
        return None

    def on_prompt_done(self, run: Run) -> list[IvrAction]:
        run.turn.wait = "confirm" if run.turn.pending else "input"
        return [run.arm(self.timeout_ms)]

    def on_caller_speaking(self, run: Run) -> list[IvrAction]:
        actions = run.interrupt(self)
        if actions:  # if the speech turns out to be nothing (a cough), the no-input timer takes over
            actions.append(run.arm(self.timeout_ms))
        return actions

    def on_keypad_only(self, run: Run) -> list[IvrAction]:
        run.cancel_timer()  # tell the caller once and ask again; not a failed attempt
        return [*run.interrupt(self), Listen(None, run.language),
                run.say(self.prompt, self.barge_in, prefix=run.flow.message("speech_unavailable"))]

    def on_digit(self, run: Run, digit: str) -> list[IvrAction]:
        """A key picks one of the node's choices, or a global handler."""
        for choice in self.choices:
            if choice.key == digit:
                return [*run.interrupt(self), *run.choose(self, choice)]
        glob = run.global_choice(self, digit=digit)
        if glob is not None:
            return [*run.interrupt(self), *run.choose(self, glob)]
        return [*run.interrupt(self), *self.retry(run, "no_match")]

    def on_timeout(self, run: Run) -> list[IvrAction]:
        if run.turn.wait == "confirm":
            return self.retry(run, "no_input")
        return self.retry(run, "no_match" if run.turn.spoken else "no_input")

    def retry(self, run: Run, kind: str) -> list[IvrAction]:
        """Ask again after a `kind` failure (no_input, no_match, confirm_retry), or give up."""
        turn = run.turn
        turn.failures += 1
        turn.digits = ""
        turn.spoken = False
        turn.pending = ""
        run.cancel_timer()
        run.variables[f"{self.id}.failures"] = str(turn.failures)
        if turn.failures > self.retries:
            if self.on_failure:
                return run.enter(self.on_failure)
            return run.goodbye("no_input" if kind == "no_input" else "no_match")
        apology = {"no_input": self.no_input, "no_match": self.no_match}.get(kind)
        if apology is None or apology.empty:
            apology = run.flow.message(kind)
        turn.wait = "input"
        return [run.say(self.prompt, self.barge_in, prefix=apology)]
