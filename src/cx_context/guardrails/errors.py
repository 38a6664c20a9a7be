"""Errors raised by the guardrail layer."""


class GuardrailError(Exception):
    """Base class for guardrail failures."""


class RedactionError(GuardrailError):
    """Redaction could not be completed; the text must not be used unredacted."""


class VaultKeyError(GuardrailError):
    """The vault key is missing, malformed, or not the one data was sealed with."""
