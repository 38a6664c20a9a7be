"""Privacy and AI-risk controls; depends on no other package of cx-context."""

from cx_context.guardrails.errors import GuardrailError, RedactionError
from cx_context.guardrails.pii import (
    CONTENT_POLICY,
    CONVERSATION_POLICY,
    PiiRedactor,
    PseudonymMap,
    Redaction,
    RedactionPolicy,
    Replacement,
)
from cx_context.guardrails.recognizers import KnownValue

__all__ = [
    "CONTENT_POLICY",
    "CONVERSATION_POLICY",
    "GuardrailError",
    "KnownValue",
    "PiiRedactor",
    "PseudonymMap",
    "Redaction",
    "RedactionError",
    "RedactionPolicy",
    "Replacement",
]
