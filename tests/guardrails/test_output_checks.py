"""Output checks: citations, grounding and personal data, with the real models."""

import pytest

from cx_context.guardrails.decisions import Decision
from cx_context.guardrails.output_checks import OutputChecker, SourcePassage, claims

PASSAGES = [
    SourcePassage(
        1,
        "Dollar amount - enter this value into the details form (without the "
        "dollar sign). Then click [Offer Refund]. If the customer does not know, "
        "the default amount is $50.",
        "refund:0001",
    ),
    SourcePassage(
        2,
        "They have already returned their item but have not received their credit.",
        "dispute:0002",
    ),
]
GROUNDED = (
    "Dollar amount - enter this value into the details form (without the dollar "
    "sign). [1] Then click [Offer Refund]. [1] They have already returned their "
    "item but have not received their credit. [2]"
)


@pytest.fixture(scope="module")
def checker(embedder, redactor) -> OutputChecker:  # type: ignore[no-untyped-def]
    return OutputChecker(embedder.embed, redactor)


def test_claims_take_the_citations_that_follow_them() -> None:
    found = claims("One thing. [1] Two things. Three. [2, 3] Four")

    assert [(c.text, c.citations) for c in found] == [
        ("One thing.", (1,)),
        ("Two things.", (2, 3)),
        ("Three.", (2, 3)),
        ("Four", ()),
    ]


def test_when_every_sentence_is_quoted_from_its_passage_then_it_is_allowed(
    checker: OutputChecker,
) -> None:
    check = checker.check(GROUNDED, PASSAGES)

    assert check.decision is Decision.ALLOW
    assert check.text == GROUNDED
    assert all(s.supported for s in check.sentences)


def test_when_a_citation_names_a_passage_not_provided_then_it_is_blocked(
    checker: OutputChecker,
) -> None:
    check = checker.check("The default amount is $50. [3]", PASSAGES)

    assert check.decision is Decision.BLOCK
    assert check.findings[0].rule == "unknown_citation"
    assert "cites [3]" in check.reasons[0]


def test_when_a_number_is_changed_then_the_sentence_is_unsupported(
    checker: OutputChecker,
) -> None:
    check = checker.check(
        GROUNDED + " If the customer does not know, the default amount is $500. [1]",
        PASSAGES,
    )

    assert check.decision is Decision.ESCALATE
    assert [s.supported for s in check.sentences] == [True, True, True, False]
    assert check.sentences[-1].missing_numbers == 1


def test_when_no_sentence_is_supported_then_the_answer_abstains(
    checker: OutputChecker,
) -> None:
    check = checker.check(
        "Refunds are delivered by carrier pigeon within two hours. [1]", PASSAGES
    )

    assert check.decision is Decision.ABSTAIN
    assert check.findings[0].rule == "no_grounded_sentence"


def test_when_personal_data_is_not_in_the_context_then_it_is_redacted(
    checker: OutputChecker,
) -> None:
    text = GROUNDED + " Write to dana.whitfield@example.com about it. [2]"

    check = checker.check(text, PASSAGES)

    assert Decision.REDACT in {f.decision for f in check.findings}
    assert "dana.whitfield@example.com" not in check.text
    assert "<EMAIL_ADDRESS_1>" in check.text
    privacy = next(f for f in check.findings if f.rule == "pii_not_in_context")
    assert privacy.entity_counts == {"EMAIL_ADDRESS": 1}
    # Reasons name types and counts, never the value.
    assert "dana" not in " ".join(check.reasons)


def test_when_personal_data_is_in_the_allowed_context_then_it_stays(
    checker: OutputChecker,
) -> None:
    email = "dana.whitfield@example.com"
    passages = [*PASSAGES, SourcePassage(3, f"Send the form to {email}.", "x:3")]

    check = checker.check(f"Send the form to {email}. [3]", passages)

    assert check.decision is Decision.ALLOW
    assert email in check.text
