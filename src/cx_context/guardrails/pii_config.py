"""What the PII detector is configured with, and the errors of bad input to it."""

import re
from dataclasses import dataclass

import phonenumbers

from cx_context.guardrails.errors import GuardrailError, RedactionError

# An entity type is an upper-case name such as "ORDER_ID".
_ENTITY_NAME = re.compile(r"^[A-Z][A-Z0-9_]{1,40}$")

DEFAULT_PHONE_REGIONS = ("AU", "NZ", "GB", "US", "IE", "CA", "IN")


class PiiConfigError(GuardrailError, ValueError):
    """The detector's configuration names something it cannot use."""


class InvalidTextError(RedactionError, ValueError):
    """A text given for redaction is empty, too long, binary or badly encoded."""


@dataclass(frozen=True)
class IdPattern:
    """A shape of identifier the organisation issues (account, order, membership).

    `score` is what a match gets on its own; a context word within a few words
    of it raises the score, so a weak shape (a bare run of digits) is redacted
    only where the conversation says what it is.
    """

    entity_type: str
    name: str
    regex: str
    score: float
    context: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _ENTITY_NAME.match(self.entity_type):
            raise PiiConfigError(
                f"id pattern {self.name!r}: entity_type must be upper-case letters, "
                f"digits and _, got {self.entity_type!r}"
            )
        if not 0.0 < self.score <= 1.0:
            raise PiiConfigError(
                f"id pattern {self.name!r}: score must be in (0, 1], got {self.score}"
            )
        try:
            re.compile(self.regex)
        except re.error as exc:
            raise PiiConfigError(
                f"id pattern {self.name!r}: regex does not compile ({exc}), "
                f"got {self.regex!r}"
            ) from None


# Order numbers are bare digits, which dates and amounts also are: on its own
# the shape stays under the redaction threshold and the word "order" lifts it.
DEFAULT_ID_PATTERNS = (
    IdPattern(
        "ORDER_ID",
        "order number",
        r"\b\d{6,12}\b",
        0.3,
        ("order", "order id", "order number", "purchase", "reference", "ref"),
    ),
    IdPattern(
        "USERNAME",
        "letters then digits",
        r"\b[a-z][a-z._-]{1,30}\d{1,6}\b",
        0.35,
        ("username", "user name", "user", "login", "handle", "user id"),
    ),
    IdPattern(
        "ACCOUNT_ID",
        "mixed alphanumeric id",
        r"\b(?=[a-z0-9]*\d)(?=[a-z0-9]*[a-z])[a-z0-9]{8,12}\b",
        0.3,
        ("account", "account id", "acct", "customer id", "membership"),
    ),
    IdPattern(
        "ACCOUNT_ID",
        "account or membership number",
        r"\b\d{6,12}\b",
        0.2,
        ("account", "account number", "acct", "membership", "member number"),
    ),
)


@dataclass(frozen=True)
class PiiConfig:
    """Settings of the conversation PII detector.

    `phone_regions` are the regions whose national formats are recognised
    (numbers with a leading + are recognised from any region). `max_text_chars`
    bounds one text; longer texts are refused rather than cut.
    """

    phone_regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS
    id_patterns: tuple[IdPattern, ...] = DEFAULT_ID_PATTERNS
    max_text_chars: int = 100_000
    batch_size: int = 64

    def __post_init__(self) -> None:
        supported = phonenumbers.SUPPORTED_REGIONS
        for region in self.phone_regions:
            if region not in supported:
                raise PiiConfigError(
                    "phone_regions must hold ISO 3166 region codes that the "
                    f"phonenumbers library knows (e.g. AU, GB), got {region!r}"
                )
        if not self.phone_regions:
            raise PiiConfigError("phone_regions must name at least one region")
        if self.max_text_chars <= 0:
            raise PiiConfigError(
                f"max_text_chars must be > 0, got {self.max_text_chars}"
            )
        if self.batch_size <= 0:
            raise PiiConfigError(f"batch_size must be > 0, got {self.batch_size}")


# C0 controls other than tab, line feed, vertical tab, form feed and carriage
# return, and DEL: text holding them is binary, not something a person typed.
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# Halves of a surrogate pair never stand alone in well-formed text.
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(text: object, position: int, max_chars: int) -> str:
    """Return the text if it can be analysed; otherwise raise `InvalidTextError`.

    The message names the position in the batch and the rule broken, never the
    text itself.
    """
    where = f"text {position}"
    if isinstance(text, bytes | bytearray):
        raise InvalidTextError(
            f"{where}: text must be str (decode it first), got {type(text).__name__}"
        )
    if not isinstance(text, str):
        raise InvalidTextError(f"{where}: text must be str, got {type(text).__name__}")
    if len(text) > max_chars:
        raise InvalidTextError(
            f"{where}: text must be at most {max_chars} characters, got {len(text)}"
        )
    found = _BINARY.search(text)
    if found:
        raise InvalidTextError(
            f"{where}: text must not hold control characters (binary data?), "
            f"got U+{ord(found.group()):04X} at offset {found.start()}"
        )
    found = _SURROGATE.search(text)
    if found:
        raise InvalidTextError(
            f"{where}: text must be valid Unicode, got a lone surrogate "
            f"U+{ord(found.group()):04X} at offset {found.start()} "
            "(bytes decoded with errors='surrogateescape'?)"
        )
    return text
