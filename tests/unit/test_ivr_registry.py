from __future__ import annotations

import os
from pathlib import Path

import pytest

from hotline.ivr.model import FlowErrors
from hotline.ivr.registry import ActiveFlows, FlowRegistry

MAIN = """start: s
nodes:
  s:
    type: subflow
    flow: ask
    next: bye
  bye:
    type: hangup
    prompt: "{text}"
"""
ASK = "start: r\nnodes:\n  r:\n    type: return\n"


def setup(tmp_path: Path, text: str = "Goodbye.") -> tuple[Path, FlowRegistry]:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "main.yaml").write_text(MAIN.replace("{text}", text))
    (flows / "ask.yaml").write_text(ASK)
    registry = FlowRegistry(flows, tmp_path / "state")
    assert sorted(registry.scan()) == ["ask: v1", "main: v1"]
    return flows, registry


def prompt_of(registry: FlowRegistry | ActiveFlows) -> str:
    flowset = registry.flowset() if isinstance(registry, FlowRegistry) else registry.current()
    return flowset.get("main").nodes["bye"].prompt.variants["en"].text


def test_changes_become_versions_and_bad_edits_keep_the_previous_one(tmp_path: Path) -> None:
    flows, registry = setup(tmp_path)
    assert registry.scan() == []  # nothing changed
    (flows / "main.yaml").write_text(MAIN.replace("{text}", "Bye now."))
    assert registry.scan() == ["main: v2"]
    assert prompt_of(registry) == "Bye now."
    version = registry.set_version

    (flows / "main.yaml").write_text(MAIN.replace("{text}", "Broken").replace("next: bye", "next: by"))
    assert registry.scan() == [f"rejected {flows / 'main.yaml'}"]
    assert prompt_of(registry) == "Bye now."  # still serving v2
    assert registry.set_version == version  # nothing active changed
    status = {s["name"]: s for s in registry.status()}["main"]
    assert status["status"] == "error" and status["active_version"] == 2
    assert status["errors"][0]["line"] == 6 and "unknown node 'by'" in status["errors"][0]["message"]


def test_an_edit_that_breaks_a_subflow_reference_is_rejected(tmp_path: Path) -> None:
    flows, registry = setup(tmp_path)
    (flows / "main.yaml").write_text(MAIN.replace("flow: ask", "flow: asks"))
    assert registry.scan() == [f"rejected {flows / 'main.yaml'}"]
    assert registry.flowset().get("main").nodes["s"].flow == "ask"
    (flows / "ask.yaml").unlink()
    registry.scan()
    assert "ask" in registry.active  # still used by main: kept
    assert "still used by main" in registry.errors[str(flows / "ask.yaml")][0].message


def test_rollback_and_restart_keep_history(tmp_path: Path) -> None:
    flows, registry = setup(tmp_path)
    (flows / "main.yaml").write_text(MAIN.replace("{text}", "Second."))
    registry.scan()
    registry.rollback("main", 1)
    assert prompt_of(registry) == "Goodbye."
    with pytest.raises(KeyError):
        registry.rollback("main", 7)
    restarted = FlowRegistry(flows, tmp_path / "state")
    assert prompt_of(restarted) == "Goodbye."  # the rollback survives a restart
    assert restarted.scan() == [] and prompt_of(restarted) == "Goodbye."  # the file did not change since
    versions = [(v["version"], v["source"]) for v in restarted.status()[1]["versions"]]
    assert (1, "rollback") in versions and (2, "file") in versions


def test_workers_see_new_versions_and_calls_keep_theirs(tmp_path: Path) -> None:
    flows, registry = setup(tmp_path)
    active = ActiveFlows(tmp_path / "state", flows)
    started_on = active.current()
    assert prompt_of(active) == "Goodbye."
    (flows / "main.yaml").write_text(MAIN.replace("{text}", "Hello again."))
    registry.scan()
    state = tmp_path / "state" / "active.json"
    os.utime(state, (state.stat().st_atime, state.stat().st_mtime + 1))  # coarse mtimes on some filesystems
    assert prompt_of(active) == "Hello again."
    assert started_on.get("main").nodes["bye"].prompt.variants["en"].text == "Goodbye."
    assert active.current().version > started_on.version


def test_rollback_to_a_version_that_no_longer_fits_is_refused(tmp_path: Path) -> None:
    flows, registry = setup(tmp_path)
    (flows / "main.yaml").write_text(MAIN.replace("flow: ask", "flow: other"))
    (flows / "other.yaml").write_text(ASK)
    registry.scan()
    assert registry.active["main"].nodes["s"].flow == "other"
    (flows / "ask.yaml").unlink()
    registry.scan()
    assert "ask" not in registry.active
    with pytest.raises(FlowErrors, match="unknown flow 'ask'"):
        registry.rollback("main", 1)
