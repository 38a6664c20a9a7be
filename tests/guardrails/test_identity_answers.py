"""A caller's reply to an identity question is redacted as what was asked."""

import pytest

from cx_context.guardrails.identity_answers import answer_spans, asked_types
from cx_context.guardrails.pii import CONTENT_POLICY, CONVERSATION_POLICY
from cx_context.guardrails.pii_config import InvalidTextError

ENTITIES = CONVERSATION_POLICY.entities


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Please tell me your postcode.", {"POSTCODE"}),
        ("And what is your date of birth?", {"DATE_OF_BIRTH"}),
        ("Could I take your first and last name?", {"PERSON"}),
        ("Can I have your full name or account ID please?", {"PERSON", "ACCOUNT_ID"}),
        ("What's the email on the account?", {"EMAIL_ADDRESS"}),
        ("Which number should we call you on? Your mobile number?", {"PHONE_NUMBER"}),
        # Telling is not asking, and an email address is not a street address.
        ("I have updated your address, anything else?", set()),
        ("Could you confirm your email address?", {"EMAIL_ADDRESS"}),
    ],
)
def test_a_turn_asks_for_the_identifiers_it_requests(prompt, expected):  # type: ignore[no-untyped-def]
    assert asked_types(prompt, ENTITIES) == expected


def test_only_types_of_the_policy_are_asked_for():  # type: ignore[no-untyped-def]
    assert asked_types("What is your postcode?", CONTENT_POLICY.entities) == set()


@pytest.mark.parametrize(
    ("prompt", "reply", "value", "entity_type"),
    [
        (
            "Please tell me your postcode.",
            "whiskey 2 0 alpha bravo",
            "whiskey 2 0 alpha bravo",
            "POSTCODE",
        ),
        (
            "Please tell me your postcode.",
            "yes it's T Q 6 R 4 S",
            "T Q 6 R 4 S",
            "POSTCODE",
        ),
        (
            "What is your date of birth?",
            "27th of the 9th 1979",
            "27th of the 9th 1979",
            "DATE_OF_BIRTH",
        ),
        ("What is your full name?", "m a x s a v a g e", "m a x s a v a g e", "PERSON"),
        ("What is your full name?", "Amber Waters thanks", "Amber Waters", "PERSON"),
        (
            "May I have your name please?",
            "sure it's Crystal Minh and I'm calling about my refund",
            "Crystal Minh",
            "PERSON",
        ),
        (
            "What's your email?",
            "crystal dot minh at gmail dot com",
            "crystal dot minh at gmail dot com",
            "EMAIL_ADDRESS",
        ),
    ],
)
def test_the_reply_after_the_question_is_the_value_asked_for(  # type: ignore[no-untyped-def]
    prompt, reply, value, entity_type
):
    [[], [span]] = answer_spans(["bot", "customer"], [prompt, reply], ENTITIES)

    assert reply[span.start : span.end] == value
    assert span.entity_type == entity_type


@pytest.mark.parametrize(
    ("prompt", "reply"),
    [
        ("Please tell me your postcode.", "my postcode"),
        ("What is your full name?", "Done."),
        ("Could you confirm your date of birth?", "I don't have that with me"),
        ("Can you DM us your email address?", "@SpotifyCares Sent!"),
        ("I have updated your address.", "12 Main Street"),
    ],
)
def test_a_reply_without_the_shape_of_a_value_is_left_alone(prompt, reply):  # type: ignore[no-untyped-def]
    assert answer_spans(["agent", "customer"], [prompt, reply], ENTITIES) == [[], []]


def test_only_the_first_reply_answers_and_the_agents_own_words_are_not_answers():  # type: ignore[no-untyped-def]
    speakers = ["bot", "customer", "customer", "agent"]
    texts = [
        "What is your postcode?",
        "W2 0AB",
        "and my order is late, 12 days now",
        "What's your postcode?",
    ]

    spans = answer_spans(speakers, texts, ENTITIES)

    assert [len(s) for s in spans] == [0, 1, 0, 0]


def test_spoken_identifiers_in_a_voice_transcript_are_redacted(redactor):  # type: ignore[no-untyped-def]
    turns = [
        ("bot", "Welcome. Please tell me your postcode."),
        ("customer", "whiskey 2 0 alpha bravo"),
        ("bot", "Thanks. And what is your date of birth?"),
        ("customer", "the 27th of the 9th 1979"),
        ("bot", "Who am I speaking with?"),
        ("customer", "Katie Marshall"),
        ("agent", "Thanks Katie, how can I help?"),
        ("customer", "my parcel from the 3rd of May has not arrived"),
    ]

    redacted = redactor.redact_many(
        [t for _, t in turns], speakers=[s for s, _ in turns]
    )
    texts = [r.text for r in redacted]

    assert texts[1] == "<POSTCODE_1>"
    assert texts[3] == "the <DATE_OF_BIRTH_1>"
    assert texts[5] == "<PERSON_1>"
    assert "Katie" not in texts[6]
    # A date that answers no identity question is service detail and stays.
    assert "3rd of May" in texts[7]
    # Without the speakers each turn stands alone and the spoken values stay.
    alone = [r.text for r in redactor.redact_many([t for _, t in turns])]
    assert alone[1] == "whiskey 2 0 alpha bravo"


def test_speakers_must_match_the_texts_one_to_one(redactor):  # type: ignore[no-untyped-def]
    with pytest.raises(
        InvalidTextError, match="one speaker per text: got 1 speakers for 2 texts"
    ):
        redactor.redact_many(["What is your postcode?", "W2 0AB"], speakers=["bot"])
