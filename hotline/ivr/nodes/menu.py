"""`menu`: options chosen by key or by saying one of their phrases (a closed grammar)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from hotline.ivr.actions import IvrAction, Listen
from hotline.ivr.intents import heard, nearly_heard
from hotline.ivr.model import Choice, Run
from hotline.ivr.nodes.asking import ASKING_KEYS, OTHER_SPEECH, AskingNode, load_asking, load_other_speech
from hotline.ivr.nodes.fields import Fields
from hotline.ivr.nodes.spec import NodeSpec
from hotline.ivr.yaml_marks import Located


@dataclass(frozen=True, kw_only=True)
class MenuNode(AskingNode):
    type: ClassVar[str] = "menu"
    phrases_are_hints: ClassVar[bool] = True
    choices: tuple[Choice, ...] = ()
    grammar: bool = True  # a menu recognises only its phrases (Vosk grammar mode)

    def listen(self, run: Run) -> Listen:
        lang = run.language
        phrases: list[str] = []
        if self.grammar:
            phrases = [p for c in self.choices for p in c.phrases_for(lang)]
            if self.use_global:
                phrases += [p for c in run.flow.global_choices for p in c.phrases_for(lang)]
        if self.on_other_speech is not None:  # a question in the caller's words is welcome too
            return Listen(tuple(dict.fromkeys(phrases)) or None, lang, strict=False, answer="open")
        return Listen(tuple(dict.fromkeys(phrases)) or None, lang, answer="short")

    def on_speech(self, run: Run, text: str) -> list[IvrAction]:
        lang = run.language
        for choice in self.choices:
            if heard(choice.phrases_for(lang), text, lang):
                return [*run.interrupt(self), *run.choose(self, choice)]
        glob = run.global_choice(self, text=text)
        if glob is not None:
            return [*run.interrupt(self), *run.choose(self, glob)]
        for choice in self.choices:  # a word of an option nearly heard ("trap" for "track")
            if nearly_heard(choice.phrases_for(lang), text, lang):
                return [*run.interrupt(self), *run.choose(self, choice)]
        other = self.other_speech(run, text)
        if other is not None:
            return other
        return [*run.interrupt(self), *self.retry(run, "no_match")]


def load(r: Fields, raw: Located, kw: dict[str, Any], ctx: str) -> None:
    load_asking(r, raw, kw, ctx)
    load_other_speech(r, raw, kw)
    options = raw.get("options")
    if not isinstance(options, list) or not options:
        r.err(raw, "options" if "options" in raw else None, f"{ctx}: a menu needs a non-empty 'options' list")
        return
    choices = [r.choice(o, raw, f"{ctx} option {i + 1}", kw["id"]) for i, o in enumerate(options)]
    seen: set[str] = set()
    for c, o in zip(choices, options, strict=True):
        if c is not None and c.key is not None:
            if c.key in seen:
                r.err(o, "key", f"{ctx}: key '{c.key}' is used by two options")
            seen.add(c.key)
    kw["choices"] = tuple(c for c in choices if c is not None)
    kw["grammar"] = r.flag(raw, "grammar", ctx, True)


SPEC = NodeSpec(MenuNode, ASKING_KEYS | {"options", "grammar", OTHER_SPEECH}, load, needs_prompt=True)
