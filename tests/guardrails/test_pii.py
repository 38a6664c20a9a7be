"""PII redaction on the real Presidio analyzer and the small spaCy model."""

import re

import pytest

from cx_context.guardrails import (
    CONTENT_POLICY,
    KnownValue,
    PseudonymMap,
    RedactionError,
    RedactionPolicy,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "JORDAN KELLY here, calling about my bill",
            "<PERSON_1> here, calling about my bill",
            id="name-in-capitals",
        ),
        pytest.param(
            "call me back on 0412 555 019 or (02) 9555 0123",
            "call me back on <PHONE_NUMBER_1> or <PHONE_NUMBER_2>",
            id="two-australian-phones",
        ),
        pytest.param(
            "order 3184920 arrived broken",
            "order <ORDER_ID_1> arrived broken",
            id="order-number",
        ),
        pytest.param(
            "send it to 12 Harbour St, Pyrmont NSW 2009",
            "send it to <STREET_ADDRESS_1>",
            id="street-address-with-town-and-postcode",
        ),
        pytest.param(
            "my email is jane.doe@example.com and my phone is 212-555-0187",
            "my email is <EMAIL_ADDRESS_1> and my phone is <PHONE_NUMBER_1>",
            id="email-and-phone",
        ),
    ],
)
def test_when_text_holds_pii_then_each_value_becomes_a_typed_placeholder(
    redactor, text, expected
):
    assert redactor.redact(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "the rate is 39.99 for items 5 lbs or less",
        "I have 2 items on the way",
    ],
)
def test_when_text_holds_no_pii_then_it_comes_back_unchanged(redactor, text):
    redaction = redactor.redact(text)

    assert redaction.text == text
    assert redaction.entity_counts == {}
    assert redaction.entity_types == []


def test_placeholders_are_numbered_in_reading_order_and_repeat_for_the_same_value(
    redactor,
):
    text = "write to a@example.com, then b@example.org, then a@example.com again"

    redaction = redactor.redact(text)

    assert redaction.text == (
        "write to <EMAIL_ADDRESS_1>, then <EMAIL_ADDRESS_2>, "
        "then <EMAIL_ADDRESS_1> again"
    )


def test_when_texts_share_a_scope_then_a_value_keeps_its_placeholder_across_them(
    redactor,
):
    texts = [
        "first b@example.org, and call 212-555-0187",
        "then a@example.com and b@example.org",
        "again: 212 555 0187",
    ]

    redactions = redactor.redact_many(texts)

    assert [r.text for r in redactions] == [
        "first <EMAIL_ADDRESS_1>, and call <PHONE_NUMBER_1>",
        "then <EMAIL_ADDRESS_2> and <EMAIL_ADDRESS_1>",
        "again: <PHONE_NUMBER_1>",
    ]


def test_when_a_pseudonym_map_is_passed_again_then_numbering_continues_in_it(
    redactor,
):
    scope = PseudonymMap()

    first = redactor.redact("write to a@example.com", pseudonyms=scope)
    second = redactor.redact("b@example.com, not a@example.com", pseudonyms=scope)
    unscoped = redactor.redact("b@example.com")

    assert first.text == "write to <EMAIL_ADDRESS_1>"
    assert second.text == "<EMAIL_ADDRESS_2>, not <EMAIL_ADDRESS_1>"
    assert unscoped.text == "<EMAIL_ADDRESS_1>"


def test_entity_counts_report_each_type_and_how_many_values_it_lost(redactor):
    redaction = redactor.redact(
        "email a@example.com, phone 212-555-0187, or c@example.org"
    )

    assert redaction.entity_counts == {"EMAIL_ADDRESS": 2, "PHONE_NUMBER": 1}
    assert redaction.entity_types == ["EMAIL_ADDRESS", "PHONE_NUMBER"]


@pytest.mark.parametrize(
    ("text", "known", "expected"),
    [
        pytest.param(
            "ok thanks crystal minh",
            KnownValue("PERSON", "Crystal Minh"),
            "ok thanks <PERSON_1>",
            id="lower-case-name",
        ),
        pytest.param(
            "it's cminh730",
            KnownValue("USERNAME", "cminh730"),
            "it's <USERNAME_1>",
            id="username-without-context-words",
        ),
    ],
)
def test_when_a_value_is_known_then_it_is_redacted_even_where_the_model_misses_it(
    redactor, text, known, expected
):
    # Without the known value the analyzer leaves these texts alone.
    assert redactor.redact(text).text == text

    assert redactor.redact(text, known=[known]).text == expected


def test_when_a_phone_number_is_known_then_it_matches_whatever_the_separators(
    redactor,
):
    texts = ["call 977-625-2661", "or 9776252661", "it's (977) 625-2661"]
    known = [KnownValue("PHONE_NUMBER", "(977) 625-2661")]

    redactions = redactor.redact_many(texts, known=known)

    assert [r.text for r in redactions] == [
        "call <PHONE_NUMBER_1>",
        "or <PHONE_NUMBER_1>",
        "it's <PHONE_NUMBER_1>",
    ]


@pytest.mark.parametrize(
    "later",
    [
        "thanks Crystal",
        "ok crystal, what is the reason?",
        "is that minh with an h?",
        "thanks crystal minh",
    ],
)
def test_when_a_name_is_found_once_in_a_scope_then_later_texts_lose_it_too(
    redactor, later
):
    first = "Account has been pulled up for Crystal Minh."

    redactions = redactor.redact_many([first, later])

    found = re.fullmatch(
        r"Account has been pulled up for <([A-Z_]+)_1>\.", redactions[0].text
    )
    assert found, redactions[0].text
    assert "crystal" not in redactions[1].text.casefold()
    assert "minh" not in redactions[1].text.casefold()
    assert re.search(rf"<{found[1]}_\d+>", redactions[1].text)


def test_when_an_email_is_found_then_its_local_part_is_redacted_as_a_username(
    redactor,
):
    later = "it's cminh730"
    assert redactor.redact(later).text == later

    redactions = redactor.redact_many(["my email is cminh730@email.com", later])

    assert [r.text for r in redactions] == [
        "my email is <EMAIL_ADDRESS_1>",
        "it's <USERNAME_1>",
    ]


def test_when_content_policy_is_used_then_headings_stay_and_emails_still_go(
    redactor,
):
    texts = [
        "Email Address",
        "Record Reason",
        "Email Address: enter the customer's email, e.g. joe.bloggs@example.com",
        "Record Reason: note why the customer called",
    ]

    redactions = redactor.redact_many(texts, CONTENT_POLICY)

    assert [r.text for r in redactions] == [
        "Email Address",
        "Record Reason",
        "Email Address: enter the customer's email, e.g. <EMAIL_ADDRESS_1>",
        "Record Reason: note why the customer called",
    ]


def test_when_analysis_fails_then_redaction_fails_closed(redactor):
    policy = RedactionPolicy(name="bad", entities=frozenset({"NO_SUCH_ENTITY"}))

    with pytest.raises(RedactionError, match="nothing from it was kept"):
        redactor.redact_many(["x"], policy)


def test_replacements_locate_each_placeholder_and_restore_the_original(redactor):
    text = "I'm Crystal Minh, cminh730@email.com. Thanks, Crystal!"
    redaction = redactor.redact(text)
    restored = redaction.text
    for item in reversed(redaction.replacements):
        assert restored[item.start : item.end] == item.placeholder
        restored = restored[: item.start] + item.original + restored[item.end :]
    assert restored == text
    assert "Crystal" not in repr(redaction.replacements)
