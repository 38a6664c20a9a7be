"""What a guardrail decided to do with a piece of text."""

from enum import StrEnum


class Decision(StrEnum):
    ALLOW = "allow"
    REDACT = "redact"  # let it out with some spans replaced
    ABSTAIN = "abstain"  # say that there is no grounded answer
    ESCALATE = "escalate"  # hold it for a person to review
    BLOCK = "block"  # never let it out
    REFUSE = "refuse"  # a question that is not answered at all
    QUARANTINE = "quarantine"  # knowledge kept, but out of every context


# Output decisions from the mildest to the most severe: the checker takes the
# most severe decision that any finding calls for.
OUTPUT_SEVERITY = (
    Decision.ALLOW,
    Decision.REDACT,
    Decision.ESCALATE,
    Decision.ABSTAIN,
    Decision.BLOCK,
)
