"""Personal data written so that a plain pattern misses it: other Unicode forms,
invisible characters, private domains, "at" and "dot", numbers from abroad."""

import pytest

from cx_context.guardrails import CONTENT_POLICY, PseudonymMap
from cx_context.guardrails.email_recognizers import plausible_domain, written_out
from cx_context.guardrails.pseudonyms import DetectedSpan
from cx_context.guardrails.text_folding import fold

ZWSP = "\u200b"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "my email is ｑｕｉｎｔｏｎ＠ｅｘａｍｐｌｅ．ｃｏｍ",
            "my email is <EMAIL_ADDRESS_1>",
            id="fullwidth-email",
        ),
        pytest.param(
            f"my email is zel{ZWSP}da.fitz@example.com, thanks",
            "my email is <EMAIL_ADDRESS_1>, thanks",
            id="zero-width-space-in-local-part",
        ),
        pytest.param(
            f"write to zelda@exam{ZWSP}ple.com",
            "write to <EMAIL_ADDRESS_1>",
            id="zero-width-space-in-domain",
        ),
        pytest.param(
            "my email is wanda.wobblesworth@acme.internal",
            "my email is <EMAIL_ADDRESS_1>",
            id="private-top-level-domain",
        ),
        pytest.param(
            "it's margot.flufferton@corp.internal or bob@acme.example",
            "it's <EMAIL_ADDRESS_1> or <EMAIL_ADDRESS_2>",
            id="reserved-top-level-domains",
        ),
        pytest.param(
            "quinton [at] example [dot] com",
            "<EMAIL_ADDRESS_1>",
            id="bracketed-at-and-dot",
        ),
        pytest.param(
            "email me: quinton(AT)example(DOT)co(DOT)uk",
            "email me: <EMAIL_ADDRESS_1>",
            id="parenthesised-capitals",
        ),
        pytest.param(
            "my email is john dot smith at gmail dot com",
            "my email is <EMAIL_ADDRESS_1>",
            id="spoken-with-dotted-local-part",
        ),
        pytest.param(
            "刘德华 here, phone 13812345678",
            "刘德华 here, phone <PHONE_NUMBER_1>",
            id="chinese-mobile-after-a-phone-cue",
        ),
        pytest.param(
            "name: 李娜, order 4432",
            "name: <PERSON_1>, order 4432",
            id="chinese-name-after-a-label",
        ),
        pytest.param(
            "my name is 王小明 and I need help",
            "my name is <PERSON_1> and I need help",
            id="chinese-name-in-an-introduction",
        ),
        pytest.param(
            "Ｍｙ ｐｈｏｎｅ ｉｓ ０４１２ ５５５ ０１９",
            "Ｍｙ ｐｈｏｎｅ ｉｓ <PHONE_NUMBER_1>",
            id="fullwidth-phone",
        ),
    ],
)
def test_when_pii_is_disguised_then_the_whole_value_is_replaced(
    redactor, text, expected
):
    assert redactor.redact(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("I bought it at amazon dot com", id="shop-named-by-voice"),
        pytest.param("I shopped at target dot com last week", id="inflected-verb"),
        pytest.param("you can reach us at help dot com", id="pronoun-before-at"),
        pytest.param("meet at 5 dot 30", id="time"),
        pytest.param("see logo@2x.png for the artwork", id="file-name"),
        pytest.param("batch 13812345678 shipped today", id="foreign-digits-no-cue"),
    ],
)
def test_when_words_only_look_like_an_address_or_number_then_they_stay(redactor, text):
    assert redactor.redact(text).text == text


def test_when_authored_content_names_a_private_domain_address_then_it_goes(
    redactor,
):
    text = "Write to support@shop.example for a refund."

    redacted = redactor.redact(text, CONTENT_POLICY).text

    assert redacted == "Write to <EMAIL_ADDRESS_1> for a refund."


def test_when_a_disguised_value_is_replaced_then_the_original_is_kept_exactly(
    redactor,
):
    value = f"ｑｕｉｎ{ZWSP}ｔｏｎ＠ｅｘａｍｐｌｅ．ｃｏｍ"

    redaction = redactor.redact(f"mail {value} now")

    assert redaction.text == "mail <EMAIL_ADDRESS_1> now"
    [replacement] = redaction.replacements
    assert replacement.original == value
    assert redaction.text[replacement.start : replacement.end] == "<EMAIL_ADDRESS_1>"


def test_when_one_address_is_written_three_ways_then_it_keeps_one_placeholder(
    redactor,
):
    texts = [
        "my email is quinton@example.com",
        "again: ｑｕｉｎｔｏｎ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        "or quinton [at] example [dot] com",
    ]

    redacted = redactor.redact_many(texts, pseudonyms=PseudonymMap())

    assert [r.text for r in redacted] == [
        "my email is <EMAIL_ADDRESS_1>",
        "again: <EMAIL_ADDRESS_1>",
        "or <EMAIL_ADDRESS_1>",
    ]


def test_when_text_is_folded_then_spans_map_back_over_the_original_characters():
    text = f"ﬁ{ZWSP}x ＠y"

    folded = fold(text)

    assert folded.text == "fix @y"
    # "fi" came from one ligature; "x" sits after the invisible space.
    assert folded.original_span(0, 1) == (0, 1)
    assert folded.original_span(0, 3) == (0, 3)
    assert folded.original_spans([DetectedSpan(1, 6, "X")]) == [DetectedSpan(0, 6, "X")]


def test_when_text_needs_no_folding_then_it_is_read_as_is():
    text = "plain text, café"

    folded = fold(text)

    assert folded.text == text
    assert folded.original_span(3, 7) == (3, 7)


@pytest.mark.parametrize(
    ("domain", "plausible"),
    [
        ("example.com", True),
        ("acme.internal", True),
        ("shop.example", True),
        ("files.zip", True),
        ("2x.png", False),
        ("host.123", False),
    ],
)
def test_when_a_domain_is_checked_then_private_names_pass_and_file_names_do_not(
    domain, plausible
):
    assert plausible_domain(domain) is plausible


def test_when_an_address_is_spelled_out_then_it_is_read_as_typed():
    assert written_out("jo [dot] k (at) mail dot co dot uk") == "jo.k@mail.co.uk"
