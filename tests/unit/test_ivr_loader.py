from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hotline.ivr.loader import load_directory, load_flow, parse_flow_text
from hotline.ivr.model import FlowErrors, render

REPO = Path(__file__).resolve().parents[2]
BROKEN = REPO / "tests" / "data" / "broken_flows"


def errors_of(text: str, file: str = "f.yaml") -> list[str]:
    with pytest.raises(FlowErrors) as exc:
        parse_flow_text(text, file, REPO)
    return [str(e) for e in exc.value.errors]


def test_demo_flows_load_with_both_languages() -> None:
    flows, errors = load_directory(REPO / "flows")
    assert errors == []
    main = flows["main"]
    assert main.languages == ("en", "zh") and main.voice("zh") == "cmn"
    assert {"tracking", "agent", "hours"} <= set(main.vocabulary("en"))
    assert "人工" in main.vocabulary("zh")
    assert main.nodes["main_menu"].line > main.nodes["welcome"].line
    assert flows["parcel_number"].nodes["ask_number"].pattern == "^[0-9]{8,12}$"


def test_unknown_target_reports_file_line_column() -> None:
    text = "start: a\nnodes:\n  a:\n    type: say\n    prompt: hi\n    next: nowhere\n"
    assert errors_of(text) == ["f.yaml:6:5: unknown node 'nowhere'"]


def test_all_problems_are_reported_not_just_the_first() -> None:
    text = ("start: a\nnodes:\n  a:\n    type: menu\n    prompt: p\n    options:\n      - key: '12'\n        next: b\n"
            "      - key: '1'\n        next: zz\n  b:\n    type: gather\n    prompt: p\n    next: a\n")
    found = errors_of(text)
    assert "f.yaml:7:9: node 'a' option 1: key must be one of 0-9 * #" in found
    assert "f.yaml:10:9: unknown node 'zz'" in found
    assert "f.yaml:12:5: node 'b': a gather node needs 'var' to store the digits in" in found


def test_unknown_keys_and_types_are_named() -> None:
    assert errors_of("start: a\nnodes:\n  a:\n    type: dance\n") == [
        "f.yaml:4:5: node 'a': type must be one of " + ", ".join(
            ("say", "menu", "gather", "ask", "answer", "set", "branch", "goto", "subflow", "return", "lookup",
             "hours", "transfer", "voicemail", "ticket", "hangup"))]
    found = errors_of("start: a\nnodes:\n  a:\n    type: hangup\n    promt: bye\n")
    assert found == ["f.yaml:5:5: node 'a': unknown key 'promt' for a hangup node"]


def test_bad_conditions_and_unknown_functions_point_into_the_expression() -> None:
    text = ("start: b\nnodes:\n  b:\n    type: branch\n    cases:\n      - if: \"x == \"\n        next: e\n"
            "      - if: \"__import__('os')\"\n        next: e\n    else: e\n  e:\n    type: hangup\n")
    found = errors_of(text)
    assert any(f.startswith("f.yaml:6:") and "bad condition" in f for f in found)
    assert any(f.startswith("f.yaml:8:") and "unknown function" in f for f in found)


def test_hours_errors_name_the_schedule_entry() -> None:
    text = ("start: h\nhours:\n  office:\n    timezone: Mars/Olympus\n    weekly: {mon: '09:00-17:00'}\n"
            "nodes:\n  h:\n    type: hours\n    schedule: office\n    open: e\n    closed: e\n  e:\n    type: hangup\n")
    found = errors_of(text)
    assert len(found) == 1 and found[0].startswith("f.yaml:4:") and "Mars/Olympus" in found[0]


def test_plain_text_prompt_in_a_two_language_flow_is_an_error() -> None:
    text = "languages: [en, zh]\nstart: a\nnodes:\n  a:\n    type: hangup\n    prompt: Goodbye\n"
    assert errors_of(text) == ["f.yaml:6:5: node 'a': 'prompt' needs a variant for each language (en, zh), "
                               "e.g. {en: ..., zh: ...}"]


def test_recorded_prompt_must_exist(tmp_path: Path) -> None:
    (tmp_path / "hello.wav").write_bytes(b"RIFF")
    ok = "start: a\nnodes:\n  a:\n    type: hangup\n    prompt: {file: hello.wav, text: Hello}\n"
    flow = parse_flow_text(ok, str(tmp_path / "f.yaml"), tmp_path)
    assert flow.nodes["a"].prompt.variants["en"].file == str(tmp_path / "hello.wav")
    bad = ok.replace("hello.wav", "missing.wav")
    with pytest.raises(FlowErrors, match="recorded prompt 'missing.wav' not found"):
        parse_flow_text(bad, str(tmp_path / "f.yaml"), tmp_path)


def test_subflow_references_are_checked_between_files(tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text("start: s\nnodes:\n  s:\n    type: subflow\n    flow: ask_numbr\n"
                                        "    next: e\n  e:\n    type: hangup\n")
    (tmp_path / "ask_number.yaml").write_text("start: r\nnodes:\n  r:\n    type: return\n")
    flows, errors = load_directory(tmp_path)
    assert set(flows) == {"main", "ask_number"}
    assert [str(e) for e in errors] == [f"{tmp_path / 'main.yaml'}:3:3: node 's': unknown flow 'ask_numbr' "
                                        "(did you mean 'ask_number'?)"]


def test_bad_yaml_reports_where_the_broken_construct_starts() -> None:
    with pytest.raises(FlowErrors) as exc:
        load_flow(BROKEN / "bad_yaml.yaml")
    error = exc.value.errors[0]
    assert (error.line, error.column) == (6, 13) and "invalid YAML" in error.message


def test_check_command_reports_every_broken_flow_with_its_location() -> None:
    proc = subprocess.run([sys.executable, "-m", "hotline.center.cli", "flows", "check", str(BROKEN)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    expected = {
        "bad_regex.yaml:8:5: node 'ask': bad regular expression",
        "bad_yaml.yaml:6:13: invalid YAML",
        "missing_language.yaml:7:5: node 'hi': 'prompt' has no 'zh' variant",
        "silent_loop.yaml:4:3: loop that never waits for the caller: a -> b -> a",
        "unknown_target.yaml:7:5: unknown node 'main_menu' (did you mean 'main'?)",
        "unreachable.yaml:7:3: node 'orphan' is unreachable from 'welcome'",
    }
    for want in expected:
        assert any(line.startswith(f"{BROKEN}/{want}") for line in lines), (want, lines)
    assert lines[-1] == "6 error(s) in 6 file(s)"


def test_check_command_passes_on_the_demo_flows() -> None:
    proc = subprocess.run([sys.executable, "-m", "hotline.center.cli", "flows", "check", "flows"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "flows/main.yaml: ok" in proc.stdout


def test_render() -> None:
    assert render("You entered {n:digits}.", {"n": "427"}) == "You entered 4 2 7."
    assert render("{parcel.status} {missing}.", {"parcel.status": "delivered"}) == "delivered ."
