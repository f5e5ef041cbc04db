from __future__ import annotations

import pytest

from hotline.ivr.numbers import spoken_digits, spoken_number, yes_no


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("one two three four five six", "123456"),
        ("One, two, three, four, five, six.", "123456"),
        ("1 2 3 4 5 6.", "123456"),
        ("123-456", "123456"),
        ("1, 2, 3", "123"),
        ("zero seven seven", "077"),
        ("nought one", "01"),
        ("oh one two", "012"),
        ("one oh one", "101"),
        ("O 7 7", "077"),
        ("double five", "55"),
        ("triple 7", "777"),
        ("double oh seven", "007"),
        ("five double two nine", "5229"),
        ("twenty three", "23"),
        ("forty-two", "42"),
        ("one hundred and five", "105"),
        ("one hundred twenty three", "123"),
        ("nineteen", "19"),
        ("Nine for one, seven.", "9417"),  # Moonshine's spelling of "nine four one seven"
        ("one to three", "123"),
        ("my card is for one one one", "4111"),
        ("My card number is for 1111111111111111", "41111111111111111"),
        ("nineteen eighty four", "1984"),
        ("twenty twenty", "2020"),
        ("two thousand and twenty six", "2026"),
        ("AB 12 three", "123"),
        ("um my number is four four seven", "447"),
        ("It's 0 7 7 0 0, 9 0 0, 1 2 3.", "07700900123"),
        ("My account number is 5 5 5 1 2 3 4.", "5551234"),
        ("\uff11\uff12\uff13", "123"),  # full-width digits
    ],
)
def test_spoken_digits_english(text: str, digits: str) -> None:
    assert spoken_digits(text) == digits


@pytest.mark.parametrize("text", ["", "hello", "oh", "oh, I see", "I don't know", "um, sorry?", "o",
                                  "I want to go for it", "it's too late"])
def test_spoken_digits_none(text: str) -> None:
    assert spoken_digits(text) == ""


def test_oh_is_zero_only_next_to_digits() -> None:
    assert spoken_digits("oh sorry it's five five") == "55"
    assert spoken_digits("oh five five") == "055"


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("一二三四五六", "123456"),
        ("零一二", "012"),
        ("〇七", "07"),
        ("幺三八", "138"),
        ("两两", "22"),
        ("二十三", "23"),
        ("十五", "15"),
        ("一百零五", "105"),
        ("三百二十一", "321"),
        ("一千零二十", "1020"),
        ("我的号码是138 1234 5678", "13812345678"),
        ("号码是一三八，1234", "1381234"),
        ("帮我查一下，单号是五六七", "567"),  # 一下 is not a digit
        ("十分感谢", ""),
        ("你好", ""),
    ],
)
def test_spoken_digits_chinese(text: str, digits: str) -> None:
    assert spoken_digits(text, "zh") == digits


def test_chinese_language_codes() -> None:
    assert spoken_digits("二十三", "zh-CN") == "23"
    assert spoken_digits("二十三", "zh_TW") == "23"
    assert spoken_digits("二十三", "en") == ""  # an English reading ignores Chinese numerals


@pytest.mark.parametrize(
    ("text", "language", "number"),
    [
        ("twenty three", "en", 23),
        ("3", "en", 3),
        ("I have three parcels", "en", 3),
        ("one hundred and five", "en", 105),
        ("a hundred", "en", 100),
        ("twelve thousand five hundred", "en", 12500),
        ("1,000", "en", 1000),
        ("zero", "en", 0),
        ("三", "zh", 3),
        ("二十三", "zh", 23),
        ("两千三", "zh", 2300),
        ("一百五", "zh", 150),
        ("三万五千", "zh", 35000),
        ("5个", "zh", 5),
    ],
)
def test_spoken_number(text: str, language: str, number: int) -> None:
    assert spoken_number(text, language) == number


@pytest.mark.parametrize(
    ("text", "language"), [("", "en"), ("none of them", "en"), ("no", "en"), ("不知道", "zh")]
)
def test_spoken_number_none(text: str, language: str) -> None:
    assert spoken_number(text, language) is None


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "Yes.",
        "yeah",
        "Yep!",
        "yup",
        "correct",
        "right",
        "That's right.",
        "that’s right",
        "sure",
        "OK",
        "okay",
        "affirmative",
        "true",
        "That is correct.",
        "yes please",
        "uh huh",
        "no problem",
        "I'm not sure, but yes",
        "that's not wrong",
    ],
)
def test_yes_english(text: str) -> None:
    assert yes_no(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "no",
        "No.",
        "nope",
        "nah",
        "wrong",
        "incorrect",
        "not right",
        "that's wrong",
        "negative",
        "not correct",
        "That's not correct.",
        "no that's not right",
        "No, that's right",  # a negation wins over a yes
        "that isn't right",
        "I don't think that's right",
        "yes no",
    ],
)
def test_no_english(text: str) -> None:
    assert yes_no(text) is False


@pytest.mark.parametrize("text", ["", "hello", "I'm not sure", "what?", "repeat that please", "um"])
def test_neither_english(text: str) -> None:
    assert yes_no(text) is None


@pytest.mark.parametrize("text", ["是", "是的", "对", "对的", "没错", "好", "好的", "正确", "嗯，对", "OK"])
def test_yes_chinese(text: str) -> None:
    assert yes_no(text, "zh") is True


@pytest.mark.parametrize(
    "text", ["不是", "不对", "不", "错", "错了", "不正确", "不是的", "对，不对", "不，没错"]
)
def test_no_chinese(text: str) -> None:
    assert yes_no(text, "zh") is False


@pytest.mark.parametrize("text", ["", "你好", "不知道", "我不确定", "什么？"])
def test_neither_chinese(text: str) -> None:
    assert yes_no(text, "zh-CN") is None
