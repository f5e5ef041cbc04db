"""Knowledge base of agent-assist articles, loaded from YAML with line-precise validation.

The file is a YAML list of mappings. Each article has an ``id`` and, per language, a title,
tags, an agent script, steps and, optionally, a short spoken answer for the voice bot (``answer``:
written for the ear, read to callers by the IVR's ``answer`` node). English fields have no suffix
(``title``, ``tags``, ``script``, ``steps``, ``answer``); other languages add ``_<code>``
(``title_zh``, ``tags_zh``, ``answer_zh``...).
An article needs an id, and a title and a script in at least one language.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from hotline.system.errors import HotlineError

FIELDS = ("title", "tags", "script", "steps", "answer")
T = TypeVar("T")
DEFAULT_LANGUAGE = "en"


class KbError(HotlineError, ValueError):
    """A knowledge-base file that cannot be used; the message starts with ``file:line:``."""


@dataclass(frozen=True)
class Article:
    """One knowledge article with its text per language code (``"en"``, ``"zh"``...)."""

    id: str
    titles: Mapping[str, str]
    tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    scripts: Mapping[str, str] = field(default_factory=dict)
    steps: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    line: int = 0
    # short answers for callers, read by the voice bot; per language, no fallback to another one
    answers: Mapping[str, str] = field(default_factory=dict)

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages for which the article has a title."""
        return tuple(sorted(self.titles))

    def title(self, language: str) -> str:
        """The title in ``language``, else in English, else in any language."""
        return _pick(self.titles, language) or ""

    def script(self, language: str) -> str:
        """The agent script in ``language``, else in English, else in any language."""
        return _pick(self.scripts, language) or ""

    def steps_in(self, language: str) -> tuple[str, ...]:
        """The steps in ``language``, else in English, else in any language."""
        return _pick(self.steps, language) or ()

    def tags_in(self, language: str) -> tuple[str, ...]:
        return _pick(self.tags, language) or ()

    def spoken_answer(self, language: str) -> str | None:
        """The answer the voice bot reads in ``language``; None where the article has none in it
        (a caller is never read an answer in another language)."""
        return self.answers.get(language) or None


def _pick(values: Mapping[str, T], language: str) -> T | None:
    for lang in (language, DEFAULT_LANGUAGE, *sorted(values)):
        if lang in values:
            return values[lang]
    return None


@dataclass(frozen=True)
class KnowledgeBase:
    """Articles in file order, with look-up by id."""

    articles: tuple[Article, ...]
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {a.id: a for a in self.articles})

    @property
    def by_id(self) -> Mapping[str, Article]:
        """Articles keyed by id."""
        by_id: dict[str, Article] = object.__getattribute__(self, "_by_id")
        return by_id

    def __len__(self) -> int:
        return len(self.articles)

    def __iter__(self) -> Iterator[Article]:
        return iter(self.articles)

    def __getitem__(self, article_id: str) -> Article:
        return self.by_id[article_id]


def _split_key(key: str) -> tuple[str, str] | None:
    """``"title_zh"`` -> ``("title", "zh")``; ``"steps"`` -> ``("steps", "en")``; unknown -> None."""
    name, _, lang = key.partition("_")
    if name not in FIELDS:
        return None
    if not lang:
        return name, DEFAULT_LANGUAGE
    if not lang.isalpha() or not 2 <= len(lang) <= 8:
        return None
    return name, lang.lower()


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class _Builder:
    """Turns the composed YAML node tree into articles, collecting located errors."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[str] = []

    def error(self, node: yaml.Node, message: str) -> None:
        self.errors.append(f"{self.file}:{_line(node)}: {message}")

    def scalar_text(self, node: yaml.Node, what: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:str":
            if isinstance(node, yaml.ScalarNode) and node.tag in ("tag:yaml.org,2002:int",):
                return str(node.value)
            self.error(node, f"{what} must be a string")
            return None
        text = str(node.value).strip()
        if not text:
            self.error(node, f"{what} must not be empty")
            return None
        return text

    def text_list(self, node: yaml.Node, what: str) -> tuple[str, ...] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, f"{what} must be a list of strings")
            return None
        items = [self.scalar_text(item, f"{what} item") for item in node.value]
        if any(item is None for item in items):
            return None
        return tuple(item for item in items if item is not None)

    def article(self, node: yaml.Node, seen: dict[str, int]) -> Article | None:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, "article must be a mapping")
            return None
        before = len(self.errors)
        article_id: str | None = None
        texts: dict[str, dict[str, str]] = {"title": {}, "script": {}, "answer": {}}
        lists: dict[str, dict[str, tuple[str, ...]]] = {"tags": {}, "steps": {}}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key == "id":
                article_id = self.scalar_text(value_node, "id")
                continue
            parsed = _split_key(key)
            if parsed is None:
                self.error(key_node, f"unknown field {key!r}")
                continue
            name, lang = parsed
            if name in texts:
                text = self.scalar_text(value_node, key)
                if text is not None:
                    texts[name][lang] = text
            else:
                items = self.text_list(value_node, key)
                if items is not None:
                    lists[name][lang] = items
        if article_id is None and not any("id" == str(k.value) for k, _ in node.value):
            self.error(node, "article has no id")
        if article_id is not None:
            if article_id in seen:
                self.error(node, f"duplicate id {article_id!r} (first at line {seen[article_id]})")
            else:
                seen[article_id] = _line(node)
        for name in ("title", "script"):
            if not texts[name] and not any(
                (p := _split_key(str(k.value))) is not None and p[0] == name for k, _ in node.value
            ):
                label = article_id or "article"
                self.error(node, f"{label}: missing {name}")
        if len(self.errors) > before or article_id is None:
            return None
        return Article(
            id=article_id,
            titles=texts["title"],
            tags=lists["tags"],
            scripts=texts["script"],
            steps=lists["steps"],
            line=_line(node),
            answers=texts["answer"],
        )


def parse_kb(text: str, file: str = "<kb>") -> KnowledgeBase:
    """Parse knowledge-base YAML text; raise :class:`KbError` listing every problem as ``file:line: ...``."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise KbError(f"{file}:{line}: invalid YAML: {exc.problem or exc}") from exc
    if root is None:
        raise KbError(f"{file}:1: knowledge base is empty")
    if isinstance(root, yaml.MappingNode):
        # also accept {articles: [...]}
        for key_node, value_node in root.value:
            if str(key_node.value) == "articles":
                root = value_node
                break
    builder = _Builder(file)
    if not isinstance(root, yaml.SequenceNode):
        builder.error(root, "knowledge base must be a list of articles")
        raise KbError("\n".join(builder.errors))
    seen: dict[str, int] = {}
    articles = [builder.article(node, seen) for node in root.value]
    if builder.errors:
        raise KbError("\n".join(builder.errors))
    if not articles:
        raise KbError(f"{file}:{_line(root)}: knowledge base has no articles")
    return KnowledgeBase(tuple(a for a in articles if a is not None), source=file)


def load_kb(path: str | Path) -> KnowledgeBase:
    """Load and validate a knowledge-base YAML file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise KbError(f"{p}:0: cannot read: {exc.strerror or exc}") from exc
    return parse_kb(text, str(p))


def article_fields(article: Article, language: str) -> dict[str, str]:
    """The article's searchable text per field for one language (empty strings where absent)."""
    out: dict[str, str] = {}
    out["title"] = article.titles.get(language, "")
    out["tags"] = " ; ".join(article.tags.get(language, ()))
    out["script"] = article.scripts.get(language, "")
    out["steps"] = " ; ".join(article.steps.get(language, ()))
    return out


def to_plain(article: Article) -> dict[str, Any]:
    """The article as plain data in the file's own field layout."""
    data: dict[str, Any] = {"id": article.id}
    for name, values in (("title", article.titles), ("tags", article.tags),
                         ("script", article.scripts), ("steps", article.steps), ("answer", article.answers)):
        for lang, value in sorted(values.items()):
            key = name if lang == DEFAULT_LANGUAGE else f"{name}_{lang}"
            data[key] = list(value) if isinstance(value, tuple) else value
    return data
