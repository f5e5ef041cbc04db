"""The knowledge page's "Try a sentence": what the matcher would show and why (the score against
the thresholds, and the words each ranked article shares with the sentence), on the demo articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.assist.kb import load_kb
from hotline.assist.matcher import Matcher
from hotline.web.knowledge_api import explain_match

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_kb(REPO / "config" / "knowledge" / "parcels.yaml"))


def test_a_shown_card_is_explained(matcher: Matcher) -> None:
    out = explain_match(matcher, "my parcel arrived broken", "en")
    assert out["suggestion"] == "damaged-item" and out["confidence"] > 0.5
    best, second = out["ranked"][0], out["ranked"][1]
    assert best["article"] == "damaged-item" and best["title"] == "Parcel arrived damaged"
    assert out["lead"] == pytest.approx(best["score"] - second["score"], abs=1e-3)
    assert out["lead"] >= out["thresholds"]["needed_lead"] > 0
    assert out["reason"].startswith(f"shown: score {best['score']:.3f}")
    assert "broken" in best["matched"]["tags"]  # the tag the caller's word hit, as said
    assert "~damage" in best["matched"]["title"]  # "broken" means what the title's "damaged" means
    assert "~parcel" not in best["matched"]["title"]  # "parcel" is listed as a word already


def test_a_withheld_card_says_which_rule_withheld_it(matcher: Matcher) -> None:
    nothing = explain_match(matcher, "hello there", "en")
    assert nothing["suggestion"] is None and nothing["reason"].startswith("nothing shown")
    assert all(a["matched"] == {} for a in nothing["ranked"])
    french = explain_match(matcher, "mon colis", "fr")
    assert french["suggestion"] is None and french["reason"] == "no article has text in 'fr'"


def test_chinese_sentences_share_character_pairs(matcher: Matcher) -> None:
    out = explain_match(matcher, "我的包裹坏了", "zh")
    assert out["suggestion"] == "damaged-item" and out["ranked"][0]["title"] == "包裹破损"
    assert "包裹" in out["ranked"][0]["matched"]["title"]
