"""Admin edits of knowledge files keep the files' comments and layout: only what changed changes."""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

import pytest

from hotline.assist.kb import KbError, load_kb, to_plain
from hotline.assist.registry import KnowledgeRegistry

REPO = Path(__file__).resolve().parents[2]

COMMENTED = """\
# Parcel desk knowledge, kept by hand.
# 中文注释：请保持格式。

- id: lost  # the most asked-for article
  title: "Parcel lost"
  title_zh: "包裹丢失"
  # tags are matched against the caller's words
  tags: ["lost", "missing"]  # keep short
  script: "I'm sorry your parcel is missing. Let me open a search."
  script_zh: "很抱歉您的包裹丢失了。我来为您发起查找。"
  steps:
    # first make sure it is really lost
    - "Check the last scan"
    - "Open a search ticket"  # within 24 hours

# Address changes need the sender's consent.
- id: address
  title: 'Change the address'
  title_zh: '修改地址'
  script: >-
    I can change the address while the parcel is still at the depot.
  steps:
    - "Confirm the caller is the recipient"
    - "Enter the new address"

# -- refunds ------------------------------------------------------------
- id: refund
  title: Refund
  # the Chinese script was reviewed by the support team
  script: We refund within five working days.
  script_zh: 我们会在五个工作日内退款。
"""


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stamp = path.stat().st_mtime_ns + 1_000_000  # a different mtime even within one clock tick
    os.utime(path, ns=(stamp, stamp))


def registry(tmp_path: Path, text: str = COMMENTED) -> tuple[KnowledgeRegistry[int], Path]:
    path = tmp_path / "desk.yaml"
    write(path, text)
    reg: KnowledgeRegistry[int] = KnowledgeRegistry(tmp_path, lambda kb: len(kb))
    assert reg.scan() and reg.current is not None
    return reg, path


def comment_lines(text: str) -> list[str]:
    """Whole-line comments as they stand, and the comment part of lines that end with one."""
    return [line if line.lstrip().startswith("#") else line[line.index(" #") + 1:]
            for line in text.splitlines() if "#" in line]


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    return [d[2:] for d in diff if d.startswith("- ")], [d[2:] for d in diff if d.startswith("+ ")]


def plain(reg: KnowledgeRegistry[int], article_id: str) -> dict[str, object]:
    assert reg.current is not None
    return to_plain(reg.current.kb[article_id])


def test_editing_one_article_changes_only_its_changed_values(tmp_path: Path) -> None:
    reg, path = registry(tmp_path)
    data = plain(reg, "lost") | {"script": "Let me look for your parcel right away.", "script_zh": "我马上为您查找包裹。"}
    assert reg.put_article(data) is False
    after = path.read_text(encoding="utf-8")
    assert comment_lines(after) == comment_lines(COMMENTED)  # every comment, unchanged and in place
    assert changed_lines(COMMENTED, after) == (
        ['  script: "I\'m sorry your parcel is missing. Let me open a search."',
         '  script_zh: "很抱歉您的包裹丢失了。我来为您发起查找。"'],
        ['  script: "Let me look for your parcel right away."', '  script_zh: "我马上为您查找包裹。"'])
    assert "\\u" not in after  # Chinese stays readable
    assert reg.current is not None and reg.current.number == 2
    assert reg.current.kb["lost"].script("zh") == "我马上为您查找包裹。"
    assert to_plain(load_kb(path)["lost"]) == data


def test_fields_are_updated_key_by_key_keeping_comments_of_the_others(tmp_path: Path) -> None:
    reg, path = registry(tmp_path)
    data = plain(reg, "lost")
    data["tags"] = ["lost", "missing", "gone"]
    data["steps"] = ["Check the last scan", "Call the depot", "Open a search ticket"]
    data["title_fr"] = "Colis perdu"
    del data["title_zh"]
    reg.put_article(data)
    after = path.read_text(encoding="utf-8")
    assert comment_lines(after) == comment_lines(COMMENTED)  # incl. those on and inside changed lists
    assert changed_lines(COMMENTED, after) == (
        ['  title_zh: "包裹丢失"', '  tags: ["lost", "missing"]  # keep short'],
        ['  title_fr: "Colis perdu"', '  tags: ["lost", "missing", "gone"]  # keep short', '    - "Call the depot"'])
    assert to_plain(load_kb(path)["lost"]) == data


def test_a_long_value_is_not_rewrapped_and_styles_are_kept(tmp_path: Path) -> None:
    reg, path = registry(tmp_path)
    long_text = " ".join(["Please keep the receipt and the box."] * 12)
    reg.put_article(plain(reg, "address") | {"script": long_text, "title_zh": "更改收件地址"})
    after = path.read_text(encoding="utf-8")
    assert "  title_zh: '更改收件地址'\n" in after  # single quotes as before
    assert f"  script: >-\n    {long_text}\n" in after  # still folded, on one line
    assert comment_lines(after) == comment_lines(COMMENTED)
    assert to_plain(load_kb(path)["address"])["script"] == long_text


def test_a_new_article_is_appended_and_the_file_before_it_is_untouched(tmp_path: Path) -> None:
    reg, path = registry(tmp_path)
    data = {"id": "customs", "title": "Customs fees", "title_zh": "关税",
            "tags": ["customs", "duty"], "script": "Customs fees are paid on delivery.", "steps": ["Give the amount"]}
    assert reg.put_article(data, file="desk.yaml") is True
    after = path.read_text(encoding="utf-8")
    assert after.startswith(COMMENTED)
    assert after[len(COMMENTED):] == (
        '\n- id: customs\n  title: "Customs fees"\n  title_zh: "关税"\n  tags: ["customs", "duty"]\n'
        '  script: "Customs fees are paid on delivery."\n  steps:\n    - "Give the amount"\n')
    assert reg.current is not None and [a.id for a in reg.current.kb] == ["lost", "address", "refund", "customs"]
    assert to_plain(reg.current.kb["customs"]) == to_plain(load_kb(path)["customs"])


def test_deleting_an_article_keeps_the_others_and_their_comments(tmp_path: Path) -> None:
    reg, path = registry(tmp_path)
    reg.delete_article("address")
    after = path.read_text(encoding="utf-8")
    deleted = COMMENTED[COMMENTED.index("# Address changes"):COMMENTED.index("# -- refunds")]
    assert after == COMMENTED.replace(deleted, "")  # the article and the comment that introduced it
    assert [c for c in comment_lines(COMMENTED) if c not in comment_lines(after)] == [
        "# Address changes need the sender's consent."]
    assert reg.current is not None and "address" not in reg.current.kb.by_id
    assert [a.id for a in load_kb(path)] == ["lost", "refund"]
    reg.delete_article("refund")  # the last one: no dangling blank lines
    after = path.read_text(encoding="utf-8")
    assert after == COMMENTED[:COMMENTED.index("\n\n# Address")] + "\n"
    assert [a.id for a in load_kb(path)] == ["lost"]


def test_edits_that_fail_validation_leave_the_file_byte_identical(tmp_path: Path) -> None:
    reg, path = registry(tmp_path)
    before = path.read_bytes()
    with pytest.raises(KbError, match="missing script"):
        reg.put_article({"id": "lost", "title": "No script"})
    with pytest.raises(KbError, match="must be a string"):
        reg.put_article({"id": "lost", "title": ["a", "list"], "script": "s"})
    write(tmp_path / "other.yaml", "- id: broken\n  title: [not, a, string]\n  script: x\n")
    with pytest.raises(KbError, match="other.yaml:2: title must be a string"):  # the directory as it would be
        reg.put_article(plain(reg, "lost") | {"script": "Changed."})
    with pytest.raises(KbError, match="other.yaml:2"):
        reg.delete_article("refund")
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.tmp"))


def test_the_demo_knowledge_base_is_edited_in_place(tmp_path: Path) -> None:
    for source in sorted((REPO / "config" / "knowledge").glob("*.yaml")):
        shutil.copy(source, tmp_path / source.name)
    reg: KnowledgeRegistry[int] = KnowledgeRegistry(tmp_path, lambda kb: len(kb))
    assert reg.scan() and reg.current is not None
    first = reg.current.kb.articles[1]
    path = tmp_path / reg.current.files[first.id]
    original = path.read_text(encoding="utf-8")
    data = to_plain(first) | {"script_zh": "这是新的中文脚本。"}
    reg.put_article(data)
    after = path.read_text(encoding="utf-8")
    removed, added = changed_lines(original, after)
    assert len(removed) == 1 and removed[0].lstrip().startswith("script_zh:")
    assert added == [removed[0].split(":")[0] + ': "这是新的中文脚本。"']
    assert comment_lines(after) == comment_lines(original)
    assert to_plain(load_kb(path)[first.id]) == data


def test_an_articles_mapping_file_keeps_its_layout(tmp_path: Path) -> None:
    text = ("# with an articles key\narticles:\n  # first\n  - id: a\n    title: A\n    script: S\n"
            "    steps:\n    - one  # first step\n    - two\n\n  # second\n  - id: b\n    title: B\n    script: S\n")
    reg, path = registry(tmp_path, text)
    reg.put_article({"id": "a", "title": "A", "script": "S", "steps": ["one", "two", "three"]})
    assert path.read_text(encoding="utf-8") == text.replace("    - two\n", "    - two\n    - three\n")
    reg.put_article({"id": "c", "title": "C", "script": "S"}, file="desk.yaml")
    assert path.read_text(encoding="utf-8").endswith("  - id: b\n    title: B\n    script: S\n\n  - id: c\n"
                                                     "    title: C\n    script: S\n")
    reg.delete_article("b")
    assert [a.id for a in load_kb(path)] == ["a", "c"] and "# second" not in path.read_text(encoding="utf-8")
