from __future__ import annotations

from pathlib import Path

import pytest

from hotline.assist.kb import KbError, load_kb, parse_kb

GOOD = """- id: a
  title: "Alpha"
  title_zh: "甲"
  tags: ["x", "y"]
  script: "Say alpha."
  steps: ["one", "two"]
"""


def errors(text: str) -> str:
    with pytest.raises(KbError) as exc:
        parse_kb(text, "kb.yaml")
    return str(exc.value)


def test_loads_articles_per_language(tmp_path: Path) -> None:
    path = tmp_path / "kb.yaml"
    path.write_text(GOOD, encoding="utf-8")
    kb = load_kb(path)
    article = kb["a"]
    assert len(kb) == 1 and kb.by_id["a"] is article
    assert article.titles == {"en": "Alpha", "zh": "甲"} and article.title("zh") == "甲"
    assert article.title("de") == "Alpha" and article.script("zh") == "Say alpha."
    assert article.tags["en"] == ("x", "y") and article.steps["en"] == ("one", "two")
    assert article.line == 1


def test_missing_id_reports_line() -> None:
    assert "kb.yaml:7: article has no id" in errors(GOOD + "- title: B\n  script: S\n")


def test_duplicate_id_reports_line() -> None:
    message = errors(GOOD + "- id: a\n  title: B\n  script: S\n")
    assert "kb.yaml:7: duplicate id 'a' (first at line 1)" in message


def test_missing_title_and_script() -> None:
    message = errors("- id: a\n  tags: [x]\n")
    assert "kb.yaml:1: a: missing title" in message and "kb.yaml:1: a: missing script" in message


def test_wrong_types_report_their_own_line() -> None:
    message = errors("- id: a\n  title: T\n  script: S\n  tags: nope\n  steps:\n    - [1]\n")
    assert "kb.yaml:4: tags must be a list of strings" in message
    assert "kb.yaml:6: steps item must be a string" in message


def test_unknown_field_and_non_list_root() -> None:
    assert "kb.yaml:3: unknown field 'colour'" in errors("- id: a\n  title: T\n  colour: red\n  script: S\n")
    assert "kb.yaml:1: knowledge base must be a list of articles" in errors("just text\n")


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    assert errors("- id: a\n  title: [unclosed\n").startswith("kb.yaml:")
    with pytest.raises(KbError, match="missing.yaml:0: cannot read"):
        load_kb(tmp_path / "missing.yaml")
