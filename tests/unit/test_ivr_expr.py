from __future__ import annotations

import pytest

from hotline.ivr.expr import ExprError, evaluate, parse


@pytest.mark.parametrize(("source", "expected"), [
    ("parcel.status == 'delivered'", True),
    ("parcel.status != 'delivered'", False),
    ("attempts > 2", True),  # numbers compare as numbers: "10" > 2
    ("attempts > 20", False),
    ("missing == ''", True),
    ("lang in ('en', 'zh') and not empty(lang)", True),
    ("matches(number, '^[0-9]{8}$')", True),
    ("len(number) == 8 or lang == 'fr'", True),
    ("vip", True),
    ("flag", False),  # "no" is false
])
def test_conditions(source: str, expected: bool) -> None:
    variables = {"parcel.status": "delivered", "attempts": "10", "lang": "en", "number": "12345678",
                 "vip": "yes", "flag": "no"}
    assert evaluate(source, variables) is expected


@pytest.mark.parametrize(("source", "message"), [
    ("__import__('os').system('id')", "unknown function"),
    ("x + 1 > 2", "BinOp is not allowed"),
    ("x ==", "bad condition"),
    ("matches(x, '[')", "bad regular expression"),
    ("matches(x, y)", "quoted regular expression"),
    ("-x", "only 'not'"),
])
def test_unsafe_or_broken_conditions_are_refused(source: str, message: str) -> None:
    with pytest.raises(ExprError, match=message):
        parse(source)
