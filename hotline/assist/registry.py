"""The live knowledge base: every ``*.yaml`` file of a directory, validated together, hot-reloaded.

:meth:`KnowledgeRegistry.scan` re-reads the directory when a file was added, changed or removed.
A valid set of files becomes the new version and gets a freshly built matcher; an invalid one is
rejected with every problem as ``file:line: message`` and the previous version stays in service,
so a typo in one article never takes suggestions away from live calls. Admin edits
(:meth:`put_article`, :meth:`delete_article`) are validated before anything is written and then
go through the same files, so an edit made through the API and one made in an editor are alike.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml

from hotline.assist.kb import Article, KbError, KnowledgeBase, parse_kb, to_plain
from hotline.assist.kb_edit import edit_file_text, file_ids

log = logging.getLogger(__name__)

M = TypeVar("M")
NEW_ARTICLES_FILE = "articles.yaml"


@dataclass(frozen=True)
class KbVersion(Generic[M]):
    """One accepted state of the knowledge base and the matcher built from it."""

    number: int
    kb: KnowledgeBase
    matcher: M
    files: Mapping[str, str]  # article id -> the file it lives in
    loaded_at: float


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    entries = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            st = path.stat()
        except OSError:
            continue
        entries.append((path.name, st.st_mtime_ns, st.st_size))
    return tuple(entries)


def load_directory(directory: Path, replace: tuple[str, str] | None = None) -> tuple[KnowledgeBase, dict[str, str]]:
    """All articles of ``directory/*.yaml`` in file-name order; ids must be unique across files.

    ``replace=(name, text)`` checks the directory as it would be with that file's text instead
    ("" for the file removed), without writing anything."""
    texts: dict[Path, str | OSError] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            texts[path] = path.read_text(encoding="utf-8")
        except OSError as exc:
            texts[path] = exc
    if replace is not None:
        name, text = replace
        texts[directory / name] = text
        texts = {p: t for p, t in sorted(texts.items()) if t != ""}
    if not texts:
        raise KbError(f"{directory}:0: no knowledge files (*.yaml)")
    articles: list[Article] = []
    files: dict[str, str] = {}
    errors: list[str] = []
    first_seen: dict[str, str] = {}
    for path, content in texts.items():
        if isinstance(content, OSError):
            errors.append(f"{path}:0: cannot read: {content.strerror or content}")
            continue
        try:
            kb = parse_kb(content, str(path))
        except KbError as exc:
            errors.extend(str(exc).splitlines())
            continue
        for article in kb:
            if article.id in first_seen:
                errors.append(f"{path}:{article.line}: duplicate id {article.id!r} (first in {first_seen[article.id]})")
                continue
            first_seen[article.id] = f"{path.name}:{article.line}"
            files[article.id] = path.name
            articles.append(article)
    if errors:
        raise KbError("\n".join(errors))
    return KnowledgeBase(tuple(articles), source=str(directory)), files


class KnowledgeRegistry(Generic[M]):
    """The knowledge directory's current version, its matcher, and the errors of a rejected edit."""

    def __init__(self, directory: Path, build: Callable[[KnowledgeBase], M]) -> None:
        self.directory = directory
        self._build = build
        self._fingerprint: tuple[tuple[str, int, int], ...] | None = None
        self._lock = threading.Lock()  # scans run off the event loop; edits and scans never interleave
        self.current: KbVersion[M] | None = None
        self.errors: list[str] = []

    def scan(self) -> bool:
        """Reload if the directory changed; True when a new version went into service."""
        with self._lock:
            return self._scan_locked()

    def _scan_locked(self) -> bool:
        fingerprint = _fingerprint(self.directory) if self.directory.is_dir() else ()
        if fingerprint == self._fingerprint:
            return False
        self._fingerprint = fingerprint
        try:
            kb, files = load_directory(self.directory)
        except KbError as exc:
            self.errors = str(exc).splitlines()
            log.warning("knowledge base rejected, previous version stays",
                        extra={"dir": str(self.directory), "errors": len(self.errors)})
            return False
        started = time.monotonic()
        matcher = self._build(kb)
        number = self.current.number + 1 if self.current else 1
        self.current = KbVersion(number, kb, matcher, files, time.time())
        self.errors = []
        log.info("knowledge base loaded", extra={"dir": str(self.directory), "version": number,
                                                 "articles": len(kb),
                                                 "build_ms": round((time.monotonic() - started) * 1000, 1)})
        return True

    def status(self) -> dict[str, Any]:
        current = self.current
        return {"directory": str(self.directory), "version": current.number if current else 0,
                "articles": len(current.kb) if current else 0, "loaded_at": current.loaded_at if current else None,
                "ok": not self.errors, "errors": list(self.errors),
                "files": sorted(set(current.files.values())) if current else []}

    def put_article(self, data: Mapping[str, Any], file: str | None = None) -> bool:
        """Create or replace one article (plain data in the file layout); True when it is new.

        The article is validated on its own, then its file is edited and the whole directory is
        validated again; on any error nothing is written and :class:`KbError` says why. The edit
        keeps the file's comments and layout: a replaced article changes only the fields whose
        value changed, a new one is appended to the file.
        """
        text = yaml.safe_dump([dict(data)], allow_unicode=True, sort_keys=False)
        try:
            (article,) = parse_kb(text, "body").articles
        except KbError as exc:  # lines of our own re-serialisation mean nothing to the caller
            raise KbError("\n".join(re.sub(r"^body:\d+: ", "", line) for line in str(exc).splitlines())) from exc
        with self._lock:
            current = self.current
            existing = current.files.get(article.id) if current else None
            target = existing or _safe_name(file or NEW_ARTICLES_FILE)
            path = self.directory / target
            self._write(target, edit_file_text(_read(path), str(path), article.id, to_plain(article)))
            return existing is None

    def delete_article(self, article_id: str) -> None:
        with self._lock:
            current = self.current
            target = current.files.get(article_id) if current else None
            if target is None:
                raise KeyError(article_id)
            path = self.directory / target
            text = _read(path)
            if text is None or article_id not in file_ids(text, str(path)):
                self._scan_locked()  # the file changed since the last scan
                raise KeyError(article_id)
            self._write(target, edit_file_text(text, str(path), article_id, None))

    def _write(self, name: str, text: str) -> None:
        """Write one file atomically after checking the directory as it would then be ("" removes it)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / name
        if text or any(p.name != name for p in self.directory.glob("*.yaml")):
            load_directory(self.directory, replace=(name, text))  # the directory as it would be
        if not text:
            path.unlink(missing_ok=True)
        else:
            fd, partial = tempfile.mkstemp(dir=self.directory, suffix=".yaml.tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(text)
                os.replace(partial, path)
            except BaseException:
                Path(partial).unlink(missing_ok=True)
                raise
        self._scan_locked()


def _safe_name(name: str) -> str:
    base = Path(name).name
    if not base.endswith(".yaml") or base != name or base.startswith("."):
        raise KbError(f"{name}:0: a knowledge file is a plain *.yaml name in the knowledge directory")
    return base


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
