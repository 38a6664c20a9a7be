"""Errors of the context layer."""


class ContextError(Exception):
    """Base class for errors of the context layer."""


class NotFoundError(ContextError):
    """A record that was asked for does not exist."""


class InvalidQuestionError(ContextError):
    """A question that cannot be answered as asked (empty, too long)."""


class RecordError(ContextError):
    """A customer record, case, consent or event that breaks a rule of the store."""


class ConflictError(ContextError):
    """A change that contradicts what the store already holds (a conflicting merge)."""


class QuestionRefusedError(ContextError):
    """A question the prompt-injection screen flagged; it is not passed on."""


class GenerationError(ContextError):
    """A language model that timed out, failed, or returned nothing usable."""
