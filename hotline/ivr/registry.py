"""Hot reload with history: the flows directory, watched, validated and versioned.

The supervisor owns a `FlowRegistry`: `scan()` (every second) notices changed files, validates
them together with the flows they call, and on success stores the text as a new version and
makes it active. An invalid edit is rejected: the previous version keeps serving and the error
(file:line:column) is kept for the log and `GET /api/flows`. `rollback()` re-activates an earlier
version; `adopt()` activates a version another node of the cluster published
(hotline.center.cluster_versions). What is active is written atomically to `<state>/active.json`;
workers read it through `ActiveFlows` and start new calls on the newest set, while calls in
progress keep theirs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline.ivr.loader import check_references, flow_files, parse_flow_text
from hotline.ivr.model import Flow, FlowError, FlowErrors, FlowSet

log = logging.getLogger(__name__)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


@dataclass
class _Entry:
    name: str
    file: str
    version: int
    sha: str
    versions: list[dict[str, Any]] = field(default_factory=list)  # {version, sha, saved_at, source}


class FlowRegistry:
    def __init__(self, flows_dir: Path, state_dir: Path) -> None:
        self.flows_dir = flows_dir
        self.state_dir = state_dir
        self.active: dict[str, Flow] = {}
        self.entries: dict[str, _Entry] = {}
        self.errors: dict[str, list[FlowError]] = {}  # file -> problems of its latest edit
        self.set_version = 0
        self._seen: dict[str, str] = {}  # file -> sha of the text last looked at
        self._load_state()

    # --- persistence -----------------------------------------------------------------------

    @property
    def _active_file(self) -> Path:
        return self.state_dir / "active.json"

    def _history(self, name: str, version: int) -> Path:
        return self.state_dir / "history" / name / f"{version}.yaml"

    def _load_state(self) -> None:
        try:
            state = json.loads(self._active_file.read_text())
        except (OSError, ValueError):
            return
        self.set_version = int(state.get("set_version", 0))
        # files as last looked at: an unchanged file does not undo a rollback after a restart
        self._seen = {str(k): str(v) for k, v in state.get("seen", {}).items()}
        for name, info in state.get("flows", {}).items():
            entry = _Entry(name, info["file"], int(info["version"]), info["sha"], list(info.get("versions", [])))
            try:
                text = self._history(name, entry.version).read_text(encoding="utf-8")
                self.active[name] = parse_flow_text(text, entry.file, self.flows_dir)
            except (OSError, FlowErrors):
                continue
            self.entries[name] = entry

    def _save_state(self, changed: bool = True) -> None:
        if changed:  # calls record the set version they ran on: only a change of what is active bumps it
            self.set_version += 1
        state = {
            "set_version": self.set_version,
            "flows": {name: {"file": e.file, "version": e.version, "sha": e.sha, "versions": e.versions}
                      for name, e in self.entries.items() if name in self.active},
            "errors": {file: [e.to_dict() for e in errs] for file, errs in self.errors.items()},
            "seen": self._seen,
            "saved_at": time.time(),
        }
        _write_atomic(self._active_file, json.dumps(state, ensure_ascii=False, indent=1))

    # --- watching --------------------------------------------------------------------------

    def flowset(self) -> FlowSet:
        return FlowSet(dict(self.active), self.set_version)

    def scan(self) -> list[str]:
        """Look at the directory once; returns what changed, e.g. ['main: v3', 'rejected flows/x.yaml']."""
        texts: dict[str, str] = {}
        for path in flow_files(self.flows_dir):
            try:
                texts[str(path)] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                texts[str(path)] = f"\0unreadable: {exc}"
        changed = {f: t for f, t in texts.items() if self._seen.get(f) != _sha(t)}
        removed = [f for f in self._seen if f not in texts]
        if not changed and not removed:
            return []
        for file, text in texts.items():
            self._seen[file] = _sha(text)
        for file in removed:
            del self._seen[file]
        report: list[str] = []
        before = dict(self.active)
        candidates: dict[str, Flow] = {}
        for file, text in sorted(changed.items()):
            self.errors.pop(file, None)
            try:
                if text.startswith("\0"):
                    raise FlowErrors([FlowError(file, 1, 1, text[1:])])
                flow = parse_flow_text(text, file, self.flows_dir)
            except FlowErrors as exc:
                self._reject(file, exc.errors, report)
                continue
            same = self.entries.get(flow.name)
            if same is not None and same.file != file:
                self._reject(file, [FlowError(file, 1, 1, f"flow name '{flow.name}' is already used by {same.file}")],
                             report)
                continue
            if same is not None and same.sha == _sha(text) and flow.name in self.active:
                continue  # unchanged (e.g. first scan after a restart)
            candidates[flow.name] = flow
        for file in removed:
            for name, entry in list(self.entries.items()):
                if entry.file == file and name in self.active:
                    users = [f.name for f in self.active.values() if any(
                        n.type == "subflow" and n.flow == name for n in f.nodes.values())]
                    if users:
                        self._reject(file, [FlowError(file, 1, 1, f"deleted, but still used by {', '.join(users)}: "
                                                                  "the last version stays active")], report)
                    else:
                        del self.active[name]
                        report.append(f"removed {name}")
        if candidates:
            proposed = {**self.active, **candidates}
            problems = check_references(proposed)
            bad_files = {p.file for p in problems}
            for name, flow in list(candidates.items()):
                if flow.file in bad_files:
                    self._reject(flow.file, [p for p in problems if p.file == flow.file], report)
                    del candidates[name]
            for flow in candidates.values():
                self._activate(flow, report)
        if report or removed:
            self._save_state(changed=self.active != before)
        return report

    def _reject(self, file: str, errors: list[FlowError], report: list[str]) -> None:
        self.errors[file] = errors
        report.append(f"rejected {file}")
        for error in errors:
            log.error("flow edit rejected, previous version keeps serving",
                      extra={"file": error.file, "line": error.line, "column": error.column, "error": error.message})

    def _activate(self, flow: Flow, report: list[str], source: str = "file") -> None:
        entry = self.entries.get(flow.name)
        sha = _sha(flow.source_text)
        if entry is None:
            entry = self.entries[flow.name] = _Entry(flow.name, flow.file, 0, sha)
        entry.version = max((v["version"] for v in entry.versions), default=0) + 1
        entry.sha, entry.file = sha, flow.file
        _write_atomic(self._history(flow.name, entry.version), flow.source_text)
        entry.versions.append({"version": entry.version, "sha": sha, "saved_at": time.time(), "source": source})
        self.active[flow.name] = flow
        report.append(f"{flow.name}: v{entry.version}")
        log.info("flow activated", extra={"flow": flow.name, "version": entry.version, "file": flow.file})

    # --- admin -----------------------------------------------------------------------------

    def version_text(self, name: str, version: int) -> str:
        entry = self.entries.get(name)
        if entry is None or not any(v["version"] == version for v in entry.versions):
            raise KeyError(f"flow {name!r} has no version {version}")
        return self._history(name, version).read_text(encoding="utf-8")

    def rollback(self, name: str, version: int) -> Flow:
        """Make an earlier version active again (validated against the flows it calls)."""
        text = self.version_text(name, version)
        entry = self.entries[name]
        flow = parse_flow_text(text, entry.file, self.flows_dir)
        problems = [p for p in check_references({**self.active, name: flow}) if p.file == entry.file]
        if problems:
            raise FlowErrors(problems)
        self.active[name] = flow
        entry.version, entry.sha = version, _sha(text)
        entry.versions.append({"version": version, "sha": entry.sha, "saved_at": time.time(), "source": "rollback"})
        self._save_state()
        log.warning("flow rolled back", extra={"flow": name, "version": version})
        return flow

    def adopt(self, name: str, file: str, text: str, source: str) -> str | None:
        """Make a flow another node activated the active one here (`file`: a plain ``*.yaml`` name of
        the flows directory; `source`: e.g. "cluster:node-b"). Validated like a scan's edit (raises
        FlowErrors, nothing changes); then the file is written, remembered as looked at (the next scan
        does not take it for an edit) and the text activated as a new version recording `source`.
        Returns the report line, or None when that text is already active."""
        if Path(file).name != file or not file.endswith(".yaml") or file.startswith("."):
            raise FlowErrors([FlowError(file, 1, 1, "not a plain *.yaml file name of the flows directory")])
        path = self.flows_dir / file
        flow = parse_flow_text(text, str(path), self.flows_dir)
        if flow.name != name:
            raise FlowErrors([FlowError(flow.file, 1, 1, f"the file holds flow '{flow.name}', not '{name}'")])
        for other in self.entries.values():
            if (other.name == name) != (other.file == flow.file) and other.name in self.active:
                raise FlowErrors([FlowError(flow.file, 1, 1, f"flow '{other.name}' is in {other.file} here")])
        problems = [p for p in check_references({**self.active, name: flow}) if p.file == flow.file]
        if problems:
            raise FlowErrors(problems)
        _write_atomic(path, text)
        self._seen[flow.file] = _sha(text)
        self.errors.pop(flow.file, None)
        entry = self.entries.get(name)
        if entry is not None and entry.sha == _sha(text) and name in self.active:
            self._save_state(changed=False)
            return None
        report: list[str] = []
        self._activate(flow, report, source)
        self._save_state()
        return report[0]

    def status(self) -> list[dict[str, Any]]:
        out = []
        files = {e.file for e in self.entries.values()} | set(self.errors)
        for file in sorted(files):
            entry = next((e for e in self.entries.values() if e.file == file and e.name in self.active), None)
            errors = [e.to_dict() for e in self.errors.get(file, [])]
            out.append({
                "name": entry.name if entry else Path(file).stem,
                "file": file,
                "status": "error" if errors else "ok",
                "active_version": entry.version if entry else None,
                "errors": errors,
                "versions": list(reversed(entry.versions)) if entry else [],
                "nodes": len(self.active[entry.name].nodes) if entry else 0,
                "languages": list(self.active[entry.name].languages) if entry else [],
            })
        return out


class ActiveFlows:
    """A worker's view of the active flow set: re-read when the supervisor changes it."""

    def __init__(self, state_dir: Path, flows_dir: Path) -> None:
        self.state_dir = state_dir
        self.flows_dir = flows_dir
        self._mtime = -1.0
        self._set = FlowSet({})

    def current(self) -> FlowSet:
        path = self.state_dir / "active.json"
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return self._set
        if mtime != self._mtime:
            self._mtime = mtime
            self._set = self._read(path)
        return self._set

    def _read(self, path: Path) -> FlowSet:
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            return self._set
        flows = dict(self._set.flows)
        for name, info in state.get("flows", {}).items():
            old = flows.get(name)
            history = self.state_dir / "history" / name / f"{info['version']}.yaml"
            try:
                text = history.read_text(encoding="utf-8")
                if old is not None and old.source_text == text:
                    continue
                flows[name] = parse_flow_text(text, info["file"], self.flows_dir)
            except (OSError, FlowErrors):
                log.exception("active flow version unreadable", extra={"flow": name})
        for name in set(flows) - set(state.get("flows", {})):
            del flows[name]
        return FlowSet(flows, int(state.get("set_version", 0)))
