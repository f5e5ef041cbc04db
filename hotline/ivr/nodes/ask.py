"""`ask`: an open question; the answer, in the caller's words, is matched to an intent by its
example sentences (`hotline.ivr.intents`); the intent's name goes into `var`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from hotline.ivr.actions import IvrAction, Listen
from hotline.ivr.intents import IntentMatcher
from hotline.ivr.model import Choice, Run
from hotline.ivr.nodes.asking import ASKING_KEYS, OTHER_SPEECH, AskingNode, load_asking, load_other_speech
from hotline.ivr.nodes.fields import Fields
from hotline.ivr.nodes.spec import NodeSpec
from hotline.ivr.yaml_marks import Located


@dataclass(frozen=True, kw_only=True)
class AskNode(AskingNode):
    type: ClassVar[str] = "ask"
    choices: tuple[Choice, ...] = ()  # the intents
    var: str = ""
    threshold: float = 0.5

    def listen(self, run: Run) -> Listen:  # open answers: the examples only bias Whisper
        lang = run.language
        examples = tuple(dict.fromkeys(p for c in self.choices for p in c.phrases_for(lang)))
        return Listen(examples or None, lang, strict=False, answer="open")

    def on_speech(self, run: Run, text: str) -> list[IvrAction]:
        glob = run.global_choice(self, text=text)
        if glob is not None:
            return [*run.interrupt(self), *run.choose(self, glob)]
        match = self.matcher(run, run.language).match(text)
        run.variables[f"{self.id}.score"] = f"{match.score:.2f}"
        for choice in self.choices:
            if choice.label == match.intent:
                return [*run.interrupt(self), *run.choose(self, choice)]
        other = self.other_speech(run, text)
        if other is not None:
            return other
        return [*run.interrupt(self), *self.retry(run, "no_match")]

    def on_choice(self, run: Run, choice: Choice) -> None:
        if choice in self.choices:
            run.variables[self.var] = choice.label

    def matcher(self, run: Run, lang: str) -> IntentMatcher:
        key = (run.flow.name, self.id, lang)
        if key not in run.matchers:
            intents = {c.label: list(c.phrases_for(lang)) for c in self.choices if c.phrases_for(lang)}
            run.matchers[key] = IntentMatcher(intents, lang, self.threshold)
        return run.matchers[key]


def load(r: Fields, raw: Located, kw: dict[str, Any], ctx: str) -> None:
    load_asking(r, raw, kw, ctx)
    load_other_speech(r, raw, kw)
    kw["var"] = r.text(raw, "var", ctx) or f"{kw['id']}.intent"
    kw["threshold"] = r.number(raw, "threshold", ctx, 0.5)
    intents = raw.get("intents")
    if not isinstance(intents, Located) or not intents:
        r.err(raw, "intents" if "intents" in raw else None,
              f"{ctx}: an ask node needs 'intents' (name: {{examples: [...], next: node}})")
        return
    choices = [r.choice(item, intents, f"{ctx} intent '{name}'", kw["id"], phrase_key="examples",
                        label=str(name), default_next=kw["next"]) for name, item in intents.items()]
    kw["choices"] = tuple(c for c in choices if c is not None)


SPEC = NodeSpec(AskNode, ASKING_KEYS | {"var", "intents", "threshold", OTHER_SPEECH}, load, needs_next=True, needs_prompt=True)
