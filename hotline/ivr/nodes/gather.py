"""`gather`: digits into `var`, keyed or spoken; spoken ones are read back for a yes/no when the
node has a `confirm` prompt (keyed digits are exact)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from hotline.ivr.actions import IvrAction, Listen
from hotline.ivr.model import NO_PROMPT, Prompt, Run
from hotline.ivr.nodes.asking import ASKING_KEYS, AskingNode, load_asking
from hotline.ivr.nodes.fields import Fields
from hotline.ivr.nodes.spec import NodeSpec
from hotline.ivr.numbers import DIGIT_WORDS, spoken_digits, yes_no
from hotline.ivr.yaml_marks import Located

_CONFIRM_YES_NO = {"en": ("yes", "no"), "zh": ("是", "不是", "对", "不对")}


@dataclass(frozen=True, kw_only=True)
class GatherNode(AskingNode):
    type: ClassVar[str] = "gather"
    var: str = ""
    min_digits: int = 1
    max_digits: int = 20
    terminator: str = "#"
    inter_digit_ms: int = 4000
    pattern: str = ""
    speech: bool = True  # a gather also takes spoken digits
    confirm: Prompt = NO_PROMPT

    def listen(self, run: Run) -> Listen:
        if self.speech:
            return Listen(DIGIT_WORDS.get(run.language), run.language, answer="short")
        return Listen(None, run.language)

    def on_prompt_done(self, run: Run) -> list[IvrAction]:
        if run.turn.digits:
            return [run.arm(self.inter_digit_ms)]
        return super().on_prompt_done(run)

    def on_digit(self, run: Run, digit: str) -> list[IvrAction]:
        turn = run.turn
        if turn.pending:
            if digit == "1":
                return [*run.interrupt(self), *self.confirmed(run, True)]
            if digit == "2":
                return [*run.interrupt(self), *self.confirmed(run, False)]
            return []
        actions = run.interrupt(self)
        if self.terminator and digit == self.terminator:
            if len(turn.digits) >= self.min_digits:
                return [*actions, *self.gathered(run, turn.digits)]
            return [*actions, *self.retry(run, "no_match")]
        if not digit.isdigit():
            glob = run.global_choice(self, digit=digit)
            return [*actions, *(run.choose(self, glob) if glob else self.retry(run, "no_match"))]
        turn.digits += digit
        if len(turn.digits) >= self.max_digits:
            return [*actions, *self.gathered(run, turn.digits)]
        if turn.playing is None:
            actions.append(run.arm(self.inter_digit_ms))
        return actions

    def on_speech(self, run: Run, text: str) -> list[IvrAction]:
        turn, lang = run.turn, run.language
        if turn.pending:
            answer = yes_no(text, lang)
            if answer is None:
                return []
            return [*run.interrupt(self), *self.confirmed(run, answer)]
        glob = run.global_choice(self, text=text)
        if glob is not None:
            return [*run.interrupt(self), *run.choose(self, glob)]
        if not self.speech:
            return []
        heard = spoken_digits(text, lang)
        digits = turn.digits + heard if turn.spoken else heard
        if self.min_digits <= len(digits) <= self.max_digits:
            return [*run.interrupt(self), *self.gathered(run, digits, spoken=True)]
        if 0 < len(digits) < self.min_digits:
            # a pause between groups of digits ended the utterance (short answers end at short
            # pauses): keep them and wait for the rest, as for keys
            turn.digits, turn.spoken = digits, True
            return [*run.interrupt(self), run.arm(self.inter_digit_ms)]
        return [*run.interrupt(self), *self.retry(run, "no_match")]

    def on_timeout(self, run: Run) -> list[IvrAction]:
        if run.turn.wait != "confirm" and len(run.turn.digits) >= self.min_digits:
            return self.gathered(run, run.turn.digits)
        return super().on_timeout(run)

    def gathered(self, run: Run, value: str, spoken: bool = False) -> list[IvrAction]:
        if self.pattern and not re.search(self.pattern, value):
            return self.retry(run, "no_match")
        if spoken and not self.confirm.empty:  # keyed digits are exact; spoken ones are read back
            run.turn.pending = value
            run.turn.digits = ""
            run.cancel_timer()
            run.variables[self.var] = value  # so the confirmation prompt can read it back
            run.turn.wait = "prompt"
            return [Listen(_CONFIRM_YES_NO.get(run.language), run.language, answer="short"),
                    run.say(self.confirm, True)]
        run.variables[self.var] = value
        assert self.next is not None
        return run.enter(self.next)

    def confirmed(self, run: Run, yes: bool) -> list[IvrAction]:
        value, run.turn.pending = run.turn.pending, ""
        if yes:
            run.variables[self.var] = value
            assert self.next is not None
            return run.enter(self.next)
        run.variables.pop(self.var, None)
        return [run.listen(self), *self.retry(run, "confirm_retry")]


def load(r: Fields, raw: Located, kw: dict[str, Any], ctx: str) -> None:
    load_asking(r, raw, kw, ctx)
    kw["var"] = r.text(raw, "var", ctx)
    if not kw["var"]:
        r.err(raw, None, f"{ctx}: a gather node needs 'var' to store the digits in")
    kw["min_digits"] = int(r.number(raw, "min_digits", ctx, 1, integer=True, minimum=1))
    kw["max_digits"] = int(r.number(raw, "max_digits", ctx, 20, integer=True, minimum=1))
    if kw["min_digits"] > kw["max_digits"]:
        r.err(raw, "min_digits", f"{ctx}: min_digits is larger than max_digits")
    kw["terminator"] = r.text(raw, "terminator", ctx) if "terminator" in raw else "#"
    if kw["terminator"] and kw["terminator"] not in ("#", "*"):
        r.err(raw, "terminator", f"{ctx}: terminator must be '#' or '*' (or empty for none)")
    kw["inter_digit_ms"] = int(r.number(raw, "inter_digit_timeout", ctx, 4.0, minimum=0.5) * 1000)
    kw["pattern"] = r.text(raw, "pattern", ctx)
    if kw["pattern"]:
        try:
            re.compile(kw["pattern"])
        except re.error as exc:
            r.err(raw, "pattern", f"{ctx}: bad regular expression {kw['pattern']!r}: {exc}")
    kw["speech"] = r.flag(raw, "speech", ctx, True)
    kw["confirm"] = r.prompt(raw, "confirm", ctx)


SPEC = NodeSpec(GatherNode, ASKING_KEYS | {"var", "min_digits", "max_digits", "terminator", "inter_digit_timeout",
                                           "pattern", "speech", "confirm"}, load, needs_next=True, needs_prompt=True)
