"""The knowledge directory: merged files, ids unique across files, hot reload that keeps the last
good version on a bad edit, and API-style edits validated before anything is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hotline.assist.kb import KbError
from hotline.assist.registry import KnowledgeRegistry, load_directory
from hotline.assist.report import usage_report

DAMAGED = """- id: damaged
  title: Parcel arrived damaged
  title_zh: 包裹破损
  tags: [broken, crushed]
  script: Sorry it arrived damaged.
  script_zh: 很抱歉包裹破损。
  steps: [Ask for photos]
"""
HOURS = """- id: hours
  title: Opening hours
  script: We are open from 8 to 6.
"""


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stamp = path.stat().st_mtime_ns + 1_000_000  # a different mtime even within one clock tick
    os.utime(path, ns=(stamp, stamp))


def registry(tmp_path: Path) -> KnowledgeRegistry[int]:
    return KnowledgeRegistry(tmp_path, lambda kb: len(kb))  # the "matcher" is the article count


def test_files_are_merged_and_ids_must_be_unique_across_files(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", DAMAGED)
    write(tmp_path / "b.yaml", HOURS)
    kb, files = load_directory(tmp_path)
    assert [a.id for a in kb] == ["damaged", "hours"] and files == {"damaged": "a.yaml", "hours": "b.yaml"}
    write(tmp_path / "c.yaml", "\n\n" + HOURS)
    with pytest.raises(KbError) as err:
        load_directory(tmp_path)
    assert str(err.value) == f"{tmp_path / 'c.yaml'}:3: duplicate id 'hours' (first in b.yaml:1)"


def test_a_bad_edit_is_rejected_with_its_line_and_the_last_good_version_stays(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", DAMAGED)
    reg = registry(tmp_path)
    assert reg.scan() and reg.current is not None and reg.current.number == 1 and reg.current.matcher == 1
    assert not reg.scan()  # nothing changed
    write(tmp_path / "a.yaml", DAMAGED + "- id: broken\n  title: [not, a, string]\n  script: x\n")
    assert not reg.scan()
    assert reg.current.number == 1 and reg.current.matcher == 1
    assert reg.errors == [f"{tmp_path / 'a.yaml'}:9: title must be a string"]
    assert reg.status()["ok"] is False
    write(tmp_path / "a.yaml", DAMAGED + HOURS)
    assert reg.scan() and reg.current.number == 2 and reg.current.matcher == 2 and reg.errors == []


def test_api_edits_are_validated_before_writing(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", DAMAGED)
    reg = registry(tmp_path)
    reg.scan()
    created = reg.put_article({"id": "hours", "title": "Opening hours", "script": "8 to 6", "tags": ["open"]})
    assert created and reg.current is not None and reg.current.files["hours"] == "articles.yaml"
    assert reg.current.kb["hours"].tags["en"] == ("open",)
    assert not reg.put_article({"id": "damaged", "title": "Damaged parcel", "script": "Sorry."})
    assert reg.current.kb["damaged"].title("en") == "Damaged parcel"
    assert "title_zh" not in (tmp_path / "a.yaml").read_text(encoding="utf-8")  # replaced whole
    before = (tmp_path / "a.yaml").read_text(encoding="utf-8")
    with pytest.raises(KbError, match="missing script"):
        reg.put_article({"id": "damaged", "title": "No script"})
    with pytest.raises(KbError, match="plain"):
        reg.put_article({"id": "x", "title": "t", "script": "s"}, file="../escape.yaml")
    assert (tmp_path / "a.yaml").read_text(encoding="utf-8") == before
    reg.delete_article("hours")
    assert "hours" not in reg.current.kb.by_id and not (tmp_path / "articles.yaml").exists()
    with pytest.raises(KeyError):
        reg.delete_article("hours")


def test_usage_report_counts_suggestions_and_verdicts(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", DAMAGED + HOURS)
    kb, _ = load_directory(tmp_path)
    records = [
        {"id": "c1", "assist": {"utterances": 4, "suggestions": [
            {"n": 0, "article": "damaged", "feedback": "used"},
            {"n": 1, "article": "gone", "title": "Removed since", "feedback": "not_relevant"}]}},
        {"id": "c2", "assist": {"utterances": 2, "suggestions": [{"n": 0, "article": "damaged", "feedback": None}]}},
        {"id": "c3"},  # no agent: not counted
    ]
    report = usage_report(records, kb)
    assert (report["calls"], report["utterances"], report["suggested"], report["used"], report["not_relevant"]) \
        == (2, 6, 3, 1, 1)
    assert report["match_rate"] == 0.5 and report["used_rate"] == 0.5
    assert report["articles"][0] == {"id": "damaged", "title": "Parcel arrived damaged", "in_kb": True,
                                     "suggested": 2, "used": 1, "not_relevant": 0, "no_feedback": 1,
                                     "used_rate": 1.0, "searched": 0, "search_used": 0,
                                     "bot": {"offered": 0, "resolved": 0, "not_helped": 0, "transferred": 0,
                                             "voicemail": 0, "self_served": 0, "self_service_rate": None}}
    assert report["articles"][1]["in_kb"] is False and report["articles"][1]["title"] == "Removed since"
    assert report["never_suggested"] == ["hours"]


def test_cli_check_reports_every_problem_with_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hotline.center.cli import main

    write(tmp_path / "a.yaml", DAMAGED)
    assert main(["assist", "check", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == f"{tmp_path}: ok, 1 articles in 1 files"
    write(tmp_path / "b.yaml", "- id: damaged\n  titel: typo\n  script: x\n  title: y\n")
    assert main(["assist", "check", str(tmp_path)]) == 1
    assert capsys.readouterr().err.splitlines() == [f"{tmp_path / 'b.yaml'}:2: unknown field 'titel'"]
    assert main(["assist", "check", str(REPO / "config" / "knowledge")]) == 0  # the demo knowledge base


REPO = Path(__file__).resolve().parents[2]
