"""`answer`: the voice bot. It asks for a question (its prompt), or takes the words a caller said
just before it (`question: "{main_menu.utterance}"`: a menu's or an ask's `on_other_speech`),
has them matched against the knowledge base (the `FindAnswer` action), reads the article's spoken
answer in the caller's language and asks whether that answered it (`confirm`): yes or 1 goes to
`resolved`, no or 2 (or no reply) to `unresolved`. When nothing fits, or no answer came, it says
`no_answer` and goes to `on_no_match`.

Every question is kept in the call's `bot` list (the call record's) with the article, the
caller's yes/no and the outcome, and in the variables `bot.question`, `bot.article`, `bot.title`,
`bot.score`, `bot.resolved` (which a transfer hands to the agent desk)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from hotline.ivr.actions import AnswerFound, FindAnswer, IvrAction, Listen, ServiceResult
from hotline.ivr.model import NO_PROMPT, Prompt, PromptVariant, Run, render, template_vars
from hotline.ivr.nodes.asking import ASKING_KEYS, AskingNode, load_asking
from hotline.ivr.nodes.fields import Fields
from hotline.ivr.nodes.spec import NodeSpec
from hotline.ivr.numbers import yes_no
from hotline.ivr.yaml_marks import Located

_YES_NO = {"en": ("yes", "no", "yes it did", "no it did not"), "zh": ("是", "不是", "对", "不对", "解决了", "没有")}
BOT_VARIABLES = ("bot.question", "bot.article", "bot.title", "bot.score", "bot.resolved", "bot.answer")


@dataclass(frozen=True, kw_only=True)
class AnswerNode(AskingNode):
    type: ClassVar[str] = "answer"
    question: str = ""  # a template of words said before this node; empty (or empty when rendered): ask
    confirm: Prompt = NO_PROMPT  # "Did that answer your question?"
    no_answer: Prompt = NO_PROMPT  # "Sorry, I have no answer to that."
    resolved: str | None = None
    unresolved: str | None = None
    on_no_match: str | None = None

    def summary(self, language: str) -> str:
        return f"bot: {self.question}" if self.question else f"bot: {super().summary(language)}"

    def exits(self) -> tuple[tuple[str, str | None], ...]:
        return (("resolved", self.resolved), ("unresolved", self.unresolved), ("no match", self.on_no_match),
                ("failure", self.on_failure))

    def listen(self, run: Run) -> Listen:
        if run.turn.pending:  # the answer was read: yes or no
            return Listen(_YES_NO.get(run.language), run.language, answer="short")
        return Listen(None, run.language, strict=False, answer="open")

    # --- the question -------------------------------------------------------------------------

    def on_enter(self, run: Run, actions: list[IvrAction]) -> str | None:
        if run.bot and run.bot[-1]["outcome"] is None:  # back here without a yes or no
            run.bot[-1]["outcome"] = "menu"
        question = self.taken_question(run)
        if question:
            actions.append(run.listen(self))
            actions.extend(self.find(run, question))
            return None
        if run.keypad_only:  # no speech: nobody to ask
            return self.on_no_match
        return super().on_enter(run, actions)

    def taken_question(self, run: Run) -> str:
        """The words said before this node, used once: the variables they came from are cleared,
        so that coming back here later asks afresh."""
        if not self.question:
            return ""
        text = render(self.question, run.variables).strip()
        for name in template_vars(self.question):
            run.variables.pop(name, None)
        return text

    def find(self, run: Run, question: str) -> list[IvrAction]:
        run.cancel_timer()
        run.turn.wait = "answer"
        for name in BOT_VARIABLES:
            run.variables[name] = ""
        run.variables["bot.question"] = question
        return [FindAnswer(run.next_op(), question, run.language, self.id)]

    def on_speech(self, run: Run, text: str) -> list[IvrAction]:
        if run.turn.wait in ("answer", "sorry"):
            return []
        glob = run.global_choice(self, text=text)
        if run.turn.pending:
            reply = yes_no(text, run.language)
            if reply is not None:
                return [*run.interrupt(self), *self.replied(run, reply)]
            if glob is not None:
                return [*run.interrupt(self), *run.choose(self, glob)]
            return [*run.interrupt(self), *self.ask_again(run, "no_match")]
        if glob is not None:
            return [*run.interrupt(self), *run.choose(self, glob)]
        return [*run.interrupt(self), *self.find(run, text)]

    def on_digit(self, run: Run, digit: str) -> list[IvrAction]:
        if run.turn.wait in ("answer", "sorry"):  # kept for the next question
            run.typeahead.append(digit)
            return []
        if not run.turn.pending:
            return super().on_digit(run, digit)  # a global key, or ask again: a question is spoken
        if digit in ("1", "2"):
            return [*run.interrupt(self), *self.replied(run, digit == "1")]
        glob = run.global_choice(self, digit=digit)
        if glob is not None:
            return [*run.interrupt(self), *run.choose(self, glob)]
        return [*run.interrupt(self), *self.ask_again(run, "no_match")]

    def on_keypad_only(self, run: Run) -> list[IvrAction]:
        if run.turn.pending or run.turn.wait in ("answer", "sorry"):
            return []  # the yes or no can be keyed; an answer under way goes on
        run.cancel_timer()
        assert self.on_no_match is not None
        return [*run.interrupt(self), *run.enter(self.on_no_match)]

    # --- the answer ---------------------------------------------------------------------------

    def on_result(self, run: Run, event: ServiceResult) -> list[IvrAction]:
        if not isinstance(event, AnswerFound) or run.turn.wait != "answer":
            return []
        turn, lang = run.turn, run.language
        turn.failures = 0
        found = bool(event.article and event.answer)
        run.bot.append({"node": self.id, "language": lang, "question": run.variables.get("bot.question", ""),
                        "article": event.article if found else None,
                        "score": round(event.score, 4) if found else None, "resolved": None,
                        "outcome": None if found else "no_match", "at": round(run.now().timestamp(), 3)})
        if not found:
            turn.wait = "sorry"
            if self.no_answer.empty:
                return self.nothing_fits(run)
            return [run.say(self.no_answer, self.barge_in)]
        run.variables.update({"bot.article": event.article, "bot.title": event.title,
                              "bot.score": f"{event.score:.2f}", "bot.answer": event.answer})
        turn.pending = event.article
        turn.wait = "prompt"
        answer = Prompt({lang: PromptVariant("{bot.answer}")})  # the variable: the answer's text is not a template
        return [run.listen(self), run.say(self.confirm, self.barge_in, prefix=answer)]

    def on_prompt_done(self, run: Run) -> list[IvrAction]:
        if run.turn.wait == "sorry":
            return self.nothing_fits(run)
        return super().on_prompt_done(run)

    def nothing_fits(self, run: Run) -> list[IvrAction]:
        run.turn.wait = ""
        assert self.on_no_match is not None
        return run.enter(self.on_no_match)

    def on_timeout(self, run: Run) -> list[IvrAction]:
        if run.turn.pending:
            return self.ask_again(run, "no_input")
        return super().on_timeout(run)

    def ask_again(self, run: Run, kind: str) -> list[IvrAction]:
        """Did that answer it? Asked again after a reply that was neither yes nor no, or none; once
        the retries are spent the caller goes on as unresolved (a person can help)."""
        turn = run.turn
        turn.failures += 1
        run.cancel_timer()
        if turn.failures > self.retries:
            turn.pending = ""
            assert self.unresolved is not None
            return run.enter(self.unresolved)
        apology = {"no_input": self.no_input, "no_match": self.no_match}.get(kind, NO_PROMPT)
        if apology.empty:
            apology = run.flow.message(kind)
        turn.wait = "prompt"
        return [run.say(self.confirm, self.barge_in, prefix=apology)]

    def replied(self, run: Run, yes: bool) -> list[IvrAction]:
        run.turn.pending = ""
        run.cancel_timer()
        run.variables["bot.resolved"] = "yes" if yes else "no"
        if run.bot:
            run.bot[-1]["resolved"] = "yes" if yes else "no"
            if yes:
                run.bot[-1]["outcome"] = "resolved"
        target = self.resolved if yes else self.unresolved
        assert target is not None
        return run.enter(target)


def load(r: Fields, raw: Located, kw: dict[str, Any], ctx: str) -> None:
    load_asking(r, raw, kw, ctx)
    kw["question"] = r.text(raw, "question", ctx)
    if kw["question"] and not template_vars(kw["question"]):
        r.err(raw, "question", f"{ctx}: 'question' names the words said before this node, "
                               "e.g. \"{main_menu.utterance}\"")
    kw["confirm"] = r.prompt(raw, "confirm", ctx)
    if kw["confirm"].empty and "confirm" not in raw:
        r.err(raw, None, f"{ctx}: an answer node needs 'confirm' (e.g. \"Did that answer your question?\")")
    kw["no_answer"] = r.prompt(raw, "no_answer", ctx)
    kw["resolved"] = r.target(raw, "resolved", kw["id"]) or kw["next"]
    kw["unresolved"] = r.target(raw, "unresolved", kw["id"])
    kw["on_no_match"] = r.target(raw, "on_no_match", kw["id"])
    missing = [key for key in ("resolved", "unresolved", "on_no_match") if kw[key] is None]
    if missing:
        r.err(raw, None, f"{ctx}: an answer node needs {', '.join(repr(m) for m in missing)}")


SPEC = NodeSpec(AnswerNode, ASKING_KEYS | {"question", "confirm", "no_answer", "resolved", "unresolved",
                                           "on_no_match"}, load, needs_prompt=True)
