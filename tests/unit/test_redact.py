from __future__ import annotations

import pytest

from hotline.qa.redact import CallRedactor, Redacted, RedactionConfig, Redactor

VISA = "4111111111111111"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"


@pytest.fixture
def redactor() -> Redactor:
    return Redactor()


# --- cards ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # typed / written
        ("my card is 4111 1111 1111 1111 and it expires in May", "my card is [card] and it expires in May"),
        (f"card number {VISA}.", "card number [card]."),
        ("5555-5555-5555-4444", "[card]"),
        ("It's 5555 5555 5555 4444, thanks.", "It's [card], thanks."),
        (AMEX, "[card]"),
        ("amex 3782 822463 10005 please", "amex [card] please"),
        ("4,111,111,111,111,111", "[card]"),  # Whisper's thousands separators
        ("４１１１ １１１１ １１１１ １１１１", "[card]"),  # full-width digits
        # spoken
        ("four one one one one one one one one one one one one one one one", "[card]"),
        ("Four, one, one, one. One, one, one, one. One, one, one, one. One, one, one, one.", "[card]."),
        ("it's four triple one, one one one one, one one one one, one one one one ok", "it's [card] ok"),
        ("four triple one, double one double one, double one double one, double one double one", "[card]"),
        ("five five five five five five five five five five five five four four four four", "[card]"),
        ("three seven eight two eight two two four six three one oh oh oh five", "[card]"),
        # mixed words and digits
        ("4 1 1 1 one one one one 1111 one one one one", "[card]"),
        ("my card is 4111 one one one one 1111 1111 yes", "my card is [card] yes"),
        # fillers and punctuation between groups
        ("4111 uh 1111 um 1111 er 1111", "[card]"),
        (
            "um my card is four one one one, uh, one one one one... one one one one, hmm, one one one one.",
            "um my card is [card].",
        ),
        ("4111-1111 - 1111-1111", "[card]"),
        # a leading "oh" that is not part of the number
        ("Oh, 4111 1111 1111 1111", "Oh, [card]"),
        # card and security code in one utterance
        ("card 4111 1111 1111 1111 code 737", "card [card] code [security code]"),
        ("5555555555554444 and the code is 1234", "[card] and the code is [security code]"),
        # two cards
        (f"{VISA} or {MASTERCARD}", "[card] or [card]"),
    ],
)
def test_cards(redactor: Redactor, text: str, expected: str) -> None:
    assert redactor.redact(text).text == expected


def test_card_kinds_in_order(redactor: Redactor) -> None:
    result = redactor.redact("mail me at a@b.com, card 4111 1111 1111 1111, code 123, phone 020 7946 0958")
    assert result == Redacted(
        "mail me at [email], card [card], code [security code], phone [phone]",
        ("email", "card", "security_code", "phone"),
    )


@pytest.mark.parametrize(
    "text",
    [
        "0000 0000 0000 0000",  # Luhn-valid but starts with 0: no card number
        "9999 8888 7777 6666",  # not Luhn-valid, no issuer prefix: an account number
        "order number 1234 5678 9012 3456",
    ],
)
def test_not_cards(redactor: Redactor, text: str) -> None:
    assert redactor.redact(text) == Redacted(text, ())


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # a card number with one digit misheard: not Luhn-valid, still a card's
        "4111111111111112",
        "four one one one one one one one one one one one one one one two",
        "4111111111111111111",  # a digit too many three times over (heard in a real Whisper run)
        "411111111111111",  # one digit dropped (also heard)
        "41111111111111",  # two dropped (also heard)
        "for one one one one one one one one one one one one one one one",  # Moonshine's "four"
        "four one one one, won one one one, one one one one, one one one one",
    ],
)
def test_misheard_card_numbers_are_redacted_too(redactor: Redactor, text: str) -> None:
    assert redactor.redact(text) == Redacted("[card]", ("card",))
    digits = text.replace(" ", "")
    if digits.isdigit():  # keyed, or collected by a flow's gather
        keyed = redactor.redact_digits(digits)
        assert "card" in keyed.kinds and not any(ch.isdigit() for ch in keyed.text), keyed


# --- security codes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("it's 123", "it's [security code]"),
        ("the code is seven three seven", "the code is [security code]"),
        ("1 2 3 4", "[security code]"),
        ("uh, one two three.", "uh, [security code]."),
        ("double seven three", "[security code]"),
        ("安全码是一二三", "安全码是[security code]"),
        ("CVV 9 9 9, expires 12/25", "CVV [security code], expires 12/25"),
        # not a code: amounts, times, counts, expiry dates, references
        ("it expires twelve twenty five", "it expires twelve twenty five"),
        ("expiry 1225", "expiry 1225"),
        ("that's 1500 dollars", "that's 1500 dollars"),
        ("I paid 250 yesterday", "I paid 250 yesterday"),
        ("£120", "£120"),
        ("at 10:30", "at 10:30"),
        ("call me at 2 pm", "call me at 2 pm"),
        ("ten days", "ten days"),
        ("I sent 300 parcels", "I sent 300 parcels"),
        ("ticket 123456", "ticket 123456"),
        ("the code is 12", "the code is 12"),
        ("the code is 12345", "the code is 12345"),
        ("一百二十三", "一百二十三"),
    ],
)
def test_security_code_after_card(redactor: Redactor, text: str, expected: str) -> None:
    assert redactor.redact(text, after_card=True).text == expected


@pytest.mark.parametrize("text", ["it's 123", "the code is seven three seven", "1 2 3 4", "安全码是一二三"])
def test_no_security_code_without_card(redactor: Redactor, text: str) -> None:
    assert redactor.redact(text) == Redacted(text, ())


def test_security_code_before_card_in_same_text_is_kept(redactor: Redactor) -> None:
    assert redactor.redact("press 123 then 4111 1111 1111 1111").text == "press 123 then [card]"


# --- phones -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call me on +44 20 7946 0958 please", "call me on [phone] please"),
        ("+44 20 7946 0958", "[phone]"),
        ("(020) 7946-0958", "[phone]"),
        ("my number is (020) 7946-0958.", "my number is [phone]."),
        ("oh two oh seven nine four six oh nine five eight", "[phone]"),
        ("It's 0 7 7 0 0, 9 0 0, 1 2 3.", "It's [phone]."),
        ("07700 900123", "[phone]"),
        ("zero seven seven double oh nine double oh one two three", "[phone]"),
        ("plus four four two oh seven nine four six oh nine five eight", "[phone]"),
        ("0044 20 7946 0958", "[phone]"),
        ("212-555-0147", "[phone]"),
        ("1-212-555-0147", "[phone]"),
        ("555-0147", "[phone]"),
        ("5550147", "[phone]"),  # 7 digits
        ("five five five oh one four seven", "[phone]"),
        ("you can reach me on 2125550147", "you can reach me on [phone]"),
        ("my mobile is two one two five five five oh one four seven", "my mobile is [phone]"),
        ("my number is 2125550147", "my number is [phone]"),
        ("+1 212 555 0147 or 020 7946 0958", "[phone] or [phone]"),
        # Chinese
        ("我的电话是13812345678", "我的电话是[phone]"),
        ("13812345678", "[phone]"),
        ("幺三八一二三四五六七八", "[phone]"),
        ("手机号码是一三八 一二三四 五六七八，谢谢", "手机号码是[phone]，谢谢"),
        ("电话是010-12345678", "电话是[phone]"),
        # two lower-case letters are a word, not a parcel prefix
        ("it's on 0990312", "it's on [phone]"),
    ],
)
def test_phones(redactor: Redactor, text: str, expected: str) -> None:
    result = redactor.redact(text)
    assert result.text == expected
    assert set(result.kinds) == {"phone"}


@pytest.mark.parametrize(
    "text",
    [
        # parcel numbers (letters + digits, or the demo's 8-12 digit numbers) and ticket references
        "parcel PX990312",
        "it's PX 990312",
        "p x nine nine zero three one two",
        "P.X. 99031245",
        "p x one two three four five six seven",
        "the parcel number is PX 0990312",
        "P X 0 9 9 0 3 1 2",
        "p-x-0990312",
        "my parcel is 12345678",
        "12345678",
        "one two three four five six seven eight",
        "7777888899",
        "tracking number 123456789012",
        "my parcel number is 1 2 3 4 5 6 7",
        "ticket 123456",
        "my reference is 654321",
        "your case number is 1 2 3 4 5 6",
        "包裹单号是12345678",
        "工单号123456",
        # dates, times, amounts, counts
        "I paid $1,500 on 2024-03-14 at 10:30, 2 pm, ten days, three parcels",
        "it came on 14/03/2024 at 9.30",
        "March 14, 2024",
        "the 3rd of June 2024",
        "1,250,000 dollars",
        "between 2 and 4 pm on the 23rd",
        "in twenty twenty four",
        "3.14159265",
        "我2024年3月14日下午两点收到了三个包裹",
        "一共花了一百二十五块",
        "20261122",
    ],
)
def test_kept(redactor: Redactor, text: str) -> None:
    assert redactor.redact(text) == Redacted(text, ())


def test_kept_after_card(redactor: Redactor) -> None:
    text = "parcel 12345678 was due on 2024-03-14 at 10:30"
    assert redactor.redact(text, after_card=True) == Redacted(text, ())


# --- e-mail ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("john.smith@example.com", "[email]"),
        ("my email is John.Smith+qa@Example.co.uk.", "my email is [email]."),
        ("it's name at example dot com thanks", "it's [email] thanks"),
        ("john dot smith at example dot co dot uk", "[email]"),
        ("j_smith99 at mail.example.com", "[email]"),
        ("john.smith at example.com", "[email]"),
        ("send it to anna underscore lee at example dot org please", "send it to [email] please"),
        ("我的邮箱是john@163.com", "我的邮箱是[email]"),
        ("邮箱是zhang san艾特163点com", "邮箱是zhang [email]"),
        ("a@b.com and c@d.org", "[email] and [email]"),
        ("mail 07700900123@example.com", "mail [email]"),  # not a phone
    ],
)
def test_emails(redactor: Redactor, text: str, expected: str) -> None:
    result = redactor.redact(text)
    assert result.text == expected
    assert set(result.kinds) == {"email"}


@pytest.mark.parametrize(
    "text",
    [
        "look at example dot com",
        "I'm at home",
        "I'm at example dot com",
        "meet at the station dot",
        "we are at example dot invalid",
    ],
)
def test_not_emails(redactor: Redactor, text: str) -> None:
    assert redactor.redact(text) == Redacted(text, ())


# --- Chinese ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我的卡号是四一一一一一一一一一一一一一一一", "我的卡号是[card]"),
        ("卡号四幺幺幺，幺幺幺幺，幺幺幺幺，幺幺幺幺。", "卡号[card]。"),
        ("卡号是4111 1111 1111 1111，安全码是123", "卡号是[card]，安全码是[security code]"),
        ("嗯，五五五五 五五五五 嗯 五五五五 四四四四", "嗯，[card]"),
        ("卡号三七八二八二二四六三一零零零五", "卡号[card]"),
        ("我查一下，包裹12345678", "我查一下，包裹12345678"),
        ("十分感谢，三天后再打", "十分感谢，三天后再打"),
    ],
)
def test_chinese(redactor: Redactor, text: str, expected: str) -> None:
    assert redactor.redact(text, "zh").text == expected


# --- DTMF -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "after_card", "expected"),
    [
        ("4111111111111111#", False, "[card]#"),
        (f"{AMEX}#", False, "[card]#"),
        (MASTERCARD, False, "[card]"),
        ("4111111111111112#", False, "[card]#"),  # mistyped: still a card number
        ("123#", True, "[security code]#"),
        ("1234", True, "[security code]"),
        ("123#", False, "123#"),
        ("12345#", True, "12345#"),
        ("12345678#", False, "12345678#"),  # a parcel number
        ("07700900123#", False, "07700900123#"),
        ("1", True, "1"),
        ("4111111111111111*123#", False, "[card]*[security code]#"),
        ("4111111111111111123#", False, "[card][security code]#"),
        ("04111111111111111#", False, "0[card]#"),
        ("", False, ""),
    ],
)
def test_dtmf(redactor: Redactor, digits: str, after_card: bool, expected: str) -> None:
    assert redactor.redact_digits(digits, after_card).text == expected


def test_dtmf_kinds(redactor: Redactor) -> None:
    assert redactor.redact_digits("4111111111111111#").kinds == ("card",)


# --- configuration ----------------------------------------------------------------------------


def test_config_switches_off_kinds() -> None:
    text = "card 4111 1111 1111 1111 code 123, phone 020 7946 0958, mail a@b.com"
    assert Redactor(RedactionConfig(cards=False)).redact(text).text == (
        "card 4111 1111 1111 1111 code [security code], phone [phone], mail [email]"
    )
    assert Redactor(RedactionConfig(security_codes=False)).redact(text).text == (
        "card [card] code 123, phone [phone], mail [email]"
    )
    assert Redactor(RedactionConfig(phones=False)).redact(text).text == (
        "card [card] code [security code], phone 020 7946 0958, mail [email]"
    )
    assert Redactor(RedactionConfig(emails=False)).redact(text).text == (
        "card [card] code [security code], phone [phone], mail a@b.com"
    )
    off = Redactor(RedactionConfig(False, False, False, False))
    assert off.redact(text) == Redacted(text, ())
    assert off.redact_digits("4111111111111111#") == Redacted("4111111111111111#", ())


def test_config_off_card_still_not_a_phone() -> None:
    redactor = Redactor(RedactionConfig(cards=False))
    assert redactor.redact(AMEX).text == AMEX


def test_emails_off_digits_in_address_are_no_phone() -> None:
    text = "07700900123@example.com"
    assert Redactor(RedactionConfig(emails=False)).redact(text) == Redacted(text, ())


# --- per call ---------------------------------------------------------------------------------


def test_call_card_split_across_utterances(redactor: Redactor) -> None:
    call = CallRedactor(redactor)
    first, previous = call.redact("my card number is 4111 1111")
    assert previous is None
    assert first.text == "my card number is [phone]"  # 8 digits after "number": a phone, until corrected
    current, previous = call.redact("1111 1111 and the code is 737")
    assert current == Redacted("[card] and the code is [security code]", ("card", "security_code"))
    assert previous == Redacted("my card number is [card]", ("card",))


def test_call_card_split_spoken_with_fillers(redactor: Redactor) -> None:
    call = CallRedactor(redactor)
    first, _ = call.redact("it's four one one one, one one one one, um")
    assert first.text == "it's four one one one, one one one one, um"  # 8 digits: could be a parcel number
    current, previous = call.redact("uh, one one one one, one one one one.")
    assert current.text == "uh, [card]."
    assert previous is not None and previous.text == "it's [card], um"


def test_call_card_split_amex_uneven(redactor: Redactor) -> None:
    call = CallRedactor(redactor)
    call.redact("3782 822463")
    current, previous = call.redact("and 10005")
    assert current.text == "and [card]"
    assert previous == Redacted("[card]", ("card",))


def test_call_card_split_chinese(redactor: Redactor) -> None:
    call = CallRedactor(redactor, "zh")
    call.redact("卡号是四一一一一一一一")
    current, previous = call.redact("一一一一一一一一")
    assert current.text == "[card]"
    assert previous is not None and previous.text == "卡号是[card]"


def test_call_no_split_without_luhn(redactor: Redactor) -> None:
    call = CallRedactor(redactor)
    call.redact("my parcel is 12345678")
    current, previous = call.redact("12345678 too")
    assert previous is None
    assert current.text == "12345678 too"


def test_call_no_split_when_words_come_first(redactor: Redactor) -> None:
    call = CallRedactor(redactor)
    call.redact("the first part is 4111 1111")
    current, previous = call.redact("sorry, 1111 1111")
    assert previous is None
    assert current.text == "sorry, 1111 1111"


def test_call_no_split_when_words_come_last(redactor: Redactor) -> None:
    call = CallRedactor(redactor)
    call.redact("4111 1111 is the start")
    _, previous = call.redact("1111 1111")
    assert previous is None


def test_call_split_previous_with_other_findings(redactor: Redactor) -> None:
    call = CallRedactor(redactor)
    call.redact("mail a@b.com and the card is 4111 1111")
    current, previous = call.redact("1111 1111")
    assert current.text == "[card]"
    assert previous == Redacted("mail [email] and the card is [card]", ("email", "card"))


def test_call_security_code_in_next_two_utterances(redactor: Redactor) -> None:
    call = CallRedactor(redactor)
    assert call.redact("card 4111 1111 1111 1111")[0].text == "card [card]"
    assert call.redact("hold on")[0].text == "hold on"
    assert call.redact("it's 123")[0].text == "it's [security code]"
    assert call.redact("and 456")[0].text == "and 456"  # too late


def test_call_security_code_only_after_card(redactor: Redactor) -> None:
    call = CallRedactor(redactor)
    assert call.redact("it's 123")[0].text == "it's 123"


def test_call_card_prompt(redactor: Redactor) -> None:
    call = CallRedactor(redactor)
    call.card_prompt()
    assert call.redact("seven three seven")[0].text == "[security code]"
    call.card_prompt()
    assert call.redact_digits("123#").text == "[security code]#"


def test_call_dtmf_card_then_spoken_code(redactor: Redactor) -> None:
    call = CallRedactor(redactor)
    assert call.redact_digits("4111111111111111#").text == "[card]#"
    assert call.redact("the code is 123")[0].text == "the code is [security code]"


def test_call_spoken_card_then_dtmf_code(redactor: Redactor) -> None:
    call = CallRedactor(redactor)
    call.redact(f"it's {VISA}")
    assert call.redact_digits("737#").text == "[security code]#"


def test_call_after_split_card_code_follows(redactor: Redactor) -> None:
    call = CallRedactor(redactor)
    call.redact("5555 5555")
    call.redact("5555 4444")
    assert call.redact("code 321")[0].text == "code [security code]"


# --- a long mixed utterance ----------------------------------------------------------------


def test_long_mixed_utterance(redactor: Redactor) -> None:
    text = (
        "um my card is four one one one, uh, one one one one, one one one one, one one one one, it expires "
        "in May, call me on +44 20 7946 0958 or mail john dot smith at example dot com about parcel 12345678"
    )
    result = redactor.redact(text)
    assert result.text == ("um my card is [card], it expires in May, call me on [phone] or mail [email] "
                           "about parcel 12345678")
    assert result.kinds == ("card", "phone", "email")
