"""Errors of identity resolution: bad identifiers and bad claims."""

from cx_context.context.errors import ContextError


class IdentityError(ContextError):
    """Base class for errors of identity resolution."""


class InvalidIdentifierError(IdentityError, ValueError):
    """An identifier that cannot be normalized (its kind, or its value).

    Messages name the kind and the rule, and show the value only masked: an
    identifier is personal data and must not reach logs in the clear.
    """


class InvalidConfigError(IdentityError, ValueError):
    """A resolver setting outside its allowed range."""
