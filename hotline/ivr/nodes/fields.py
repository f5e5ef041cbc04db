"""Reading the values of a flow file (texts, numbers, prompts, targets, choices), each problem
recorded as file:line:column; shared by the loader and every node type's spec."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hotline.ivr.model import NO_PROMPT, Choice, FlowError, Prompt, PromptVariant
from hotline.ivr.yaml_marks import Located

KEYS = "0123456789*#"


def suggest(target: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(target, [str(n) for n in names], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class Fields:
    """Reads the values of one flow file; `errors` collects every problem found."""

    def __init__(self, file: str, base_dir: Path) -> None:
        self.file = file
        self.base_dir = base_dir
        self.errors: list[FlowError] = []
        self.languages: tuple[str, ...] = ("en",)
        self.edges: list[tuple[str, str, Located, str]] = []  # (source node, target, where, key)
        self.schedules: frozenset[str] = frozenset()  # the names under `hours:`

    def error_at(self, line: int, column: int, message: str) -> None:
        self.errors.append(FlowError(self.file, line, column, message))

    def err(self, obj: Any, key: str | None, message: str) -> None:
        line, col = obj.where(key) if isinstance(obj, Located) else getattr(obj, "mark", (1, 1))
        self.errors.append(FlowError(self.file, line, col, message))

    # --- value helpers -----------------------------------------------------------------------

    def text(self, raw: Located, key: str, ctx: str) -> str:
        value = raw.get(key)
        if value is None:
            return ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.err(raw, key, f"{ctx}: '{key}' must be text")
            return ""
        return str(value)

    def number(self, raw: Located, key: str, ctx: str, default: float, *, integer: bool = False,
               minimum: float = 0) -> float:
        if key not in raw:
            return default
        value = raw[key]
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if not ok or isinstance(value, bool) or value < minimum:
            kind = "an integer" if integer else "a number"
            self.err(raw, key, f"{ctx}: '{key}' must be {kind} >= {minimum:g}")
            return default
        return float(value)

    def flag(self, raw: Located, key: str, ctx: str, default: bool) -> bool:
        if key not in raw:
            return default
        if not isinstance(raw[key], bool):
            self.err(raw, key, f"{ctx}: '{key}' must be true or false")
            return default
        return bool(raw[key])

    def target(self, raw: Located, key: str, source: str) -> str | None:
        if key not in raw or raw[key] is None:
            return None
        value = raw[key]
        if not isinstance(value, str) or not value:
            self.err(raw, key, f"node '{source}': '{key}' must name a node")
            return None
        self.edges.append((source, value, raw, key))
        return value

    def mapping_of_text(self, raw: Located, key: str, ctx: str) -> dict[str, str]:
        value = raw.get(key)
        if value is None:
            return {}
        if not isinstance(value, Located):
            self.err(raw, key, f"{ctx}: '{key}' must be a mapping of names to values")
            return {}
        out = {}
        for name, item in value.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", str(name)):
                self.err(value, str(name), f"{ctx}: '{name}' is not a valid variable name")
            elif isinstance(item, Located | list) or item is None:
                self.err(value, str(name), f"{ctx}: value of '{name}' must be text")
            else:
                out[str(name)] = str(item).lower() if isinstance(item, bool) else str(item)
        return out

    def prompt(self, raw: Located, key: str, ctx: str) -> Prompt:
        value = raw.get(key)
        if value is None:
            return NO_PROMPT
        if isinstance(value, str):
            if len(self.languages) > 1:
                self.err(raw, key, f"{ctx}: '{key}' needs a variant for each language "
                                   f"({', '.join(self.languages)}), e.g. {{en: ..., zh: ...}}")
                return NO_PROMPT
            return Prompt({self.languages[0]: PromptVariant(text=value)})
        if not isinstance(value, Located):
            self.err(raw, key, f"{ctx}: '{key}' must be text or a mapping of languages")
            return NO_PROMPT
        if "file" in value or "text" in value:  # one recording (and/or text) for a single-language flow
            value = Located({self.languages[0]: value}) if len(self.languages) == 1 else value
            if "file" in value or "text" in value:
                self.err(raw, key, f"{ctx}: '{key}' needs a variant per language ({', '.join(self.languages)})")
                return NO_PROMPT
        variants: dict[str, PromptVariant] = {}
        for lang, item in value.items():
            if lang not in self.languages:
                self.err(value, str(lang), f"{ctx}: language '{lang}' is not one of the flow's languages "
                                           f"({', '.join(self.languages)})")
                continue
            if isinstance(item, str):
                variants[str(lang)] = PromptVariant(text=item)
            elif isinstance(item, Located) and ("file" in item or "text" in item):
                file = ""
                if "file" in item:
                    path = (self.base_dir / str(item["file"])).resolve()
                    if not path.is_file():
                        self.err(item, "file", f"{ctx}: recorded prompt '{item['file']}' not found")
                    file = str(path)
                variants[str(lang)] = PromptVariant(text=str(item.get("text", "")), file=file)
            else:
                self.err(value, str(lang), f"{ctx}: '{key}.{lang}' must be text or {{file: ..., text: ...}}")
        for lang in self.languages:
            if lang not in variants and lang not in value:
                self.err(raw, key, f"{ctx}: '{key}' has no '{lang}' variant")
        return Prompt(variants)

    def phrases(self, raw: Located, key: str, ctx: str) -> dict[str, tuple[str, ...]]:
        value = raw.get(key)
        if value is None:
            return {}
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return {self.languages[0]: tuple(str(p).lower().strip() for p in value)}
        if isinstance(value, Located):
            out = {}
            for lang, items in value.items():
                if lang not in self.languages:
                    self.err(value, str(lang), f"{ctx}: language '{lang}' is not one of the flow's languages")
                    continue
                items = [items] if isinstance(items, str) else items
                if not isinstance(items, list):
                    self.err(value, str(lang), f"{ctx}: '{key}.{lang}' must be a list of phrases")
                    continue
                out[str(lang)] = tuple(str(p).lower().strip() for p in items)
            return out
        self.err(raw, key, f"{ctx}: '{key}' must be a list of phrases or a mapping of languages to lists")
        return {}

    def choice(self, raw: Any, parent: Located, ctx: str, source: str, *, phrase_key: str = "say",
               label: str = "", default_next: str | None = None) -> Choice | None:
        if not isinstance(raw, Located):
            self.err(parent, None, f"{ctx}: each entry must be a mapping with 'next'")
            return None
        unknown = set(raw) - {"key", phrase_key, "label", "next", "set"}
        for name in sorted(unknown):
            self.err(raw, name, f"{ctx}: unknown key '{name}'")
        key = raw.get("key")
        if key is not None:
            key = str(key)
            if len(key) != 1 or key not in KEYS:
                self.err(raw, "key", f"{ctx}: key must be one of 0-9 * #")
        target = self.target(raw, "next", source) or default_next
        if target is None:
            self.err(raw, None, f"{ctx}: needs 'next'")
            return None
        phrases = self.phrases(raw, phrase_key, ctx)
        if key is None and not phrases:
            self.err(raw, None, f"{ctx}: needs a 'key' or phrases ('{phrase_key}')")
        return Choice(target, key, phrases, str(raw.get("label", label or target)),
                      self.mapping_of_text(raw, "set", ctx))
