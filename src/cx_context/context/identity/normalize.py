"""Canonical forms of identifiers, names, postcodes and dates of birth.

Two records can only be compared once they spell a value the same way, so
every value is normalized before it is indexed or matched. Errors name the
kind of value and the rule it broke; the value itself appears only masked.
"""

import datetime as dt
import re
import string
import unicodedata

import phonenumbers

from cx_context.context.identity.errors import InvalidIdentifierError

IDENTIFIER_KINDS = (
    "email",
    "phone",
    "account_number",
    "username",
    "crm_id",
    "external_id",
)
DEFAULT_REGION = "AU"
EARLIEST_DOB = dt.date(1900, 1, 1)

_TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "sir",
        "dame",
        "lady",
        "lord",
        "rev",
        "fr",
    ]
)
_PUNCTUATION = str.maketrans({c: " " for c in string.punctuation if c != "'"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_UK_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_AU_POSTCODE = re.compile(r"^[0-9]{4}$")
_US_ZIP = re.compile(r"^([0-9]{5})([0-9]{4})?$")
_MONTHS = {
    name: number
    for number in range(1, 13)
    for name in (
        dt.date(2000, number, 1).strftime("%B").lower(),
        dt.date(2000, number, 1).strftime("%b").lower(),
    )
}
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_WORDY_DATE = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\s+(\d{4})$")


def mask(value: str) -> str:
    """A form of `value` safe for an error message: its ends, never its middle."""
    text = value.strip()
    if len(text) <= 4:
        return "*" * len(text)
    return f"{text[0]}***{text[-2:]}"


def normalize_identifier(kind: str, value: str, region: str = DEFAULT_REGION) -> str:
    """The canonical form of an identifier of `kind`, or InvalidIdentifierError."""
    if kind not in IDENTIFIER_KINDS:
        raise InvalidIdentifierError(
            f"identifier kind must be one of {', '.join(IDENTIFIER_KINDS)}; "
            f"got {kind!r}"
        )
    text = value.strip()
    if not text:
        raise InvalidIdentifierError(f"{kind} must not be empty")
    if kind == "email":
        return normalize_email(text)
    if kind == "phone":
        return normalize_phone(text, region)
    if kind == "account_number":
        return re.sub(r"[\s\-]", "", text).upper()
    if kind == "username":
        return text.casefold()
    return text


def normalize_email(value: str) -> str:
    """An email address trimmed and case-folded; it must look like local@domain.tld."""
    text = value.strip().casefold()
    if not _EMAIL.match(text):
        raise InvalidIdentifierError(
            f"email must look like name@domain.tld; got {mask(text)!r}"
        )
    return text


def normalize_phone(value: str, region: str = DEFAULT_REGION) -> str:
    """A phone number in E.164 form, national numbers read in `region`."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentifierError(
            f"phone number could not be parsed (default region {region}): "
            f"{mask(value)!r}: {exc._msg}"
        ) from None
    # Possible, not valid: validity follows each country's allocated ranges,
    # which change, and a CRM's number is still the customer's number.
    if not phonenumbers.is_possible_number(number):
        raise InvalidIdentifierError(
            f"phone number has the wrong length for its country "
            f"(default region {region}): {mask(value)!r}"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def fold(text: str) -> str:
    """Case and accents folded: 'Zoë' and 'ZOE' both become 'zoe'."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.casefold()


def normalize_name(value: str) -> str:
    """A personal name folded for matching: no titles, accents or punctuation.

    Apostrophes join ("O'Brien" -> "obrien"); hyphens and other punctuation
    separate ("Smith-Jones" -> "smith jones"), as callers say them apart.
    """
    text = fold(value).replace("'", "").replace("’", "")
    words = text.translate(_PUNCTUATION).split()
    while words and words[0] in _TITLES:
        words = words[1:]
    return " ".join(words)


def normalize_postcode(value: str) -> str:
    """A UK, Australian or US postcode in its canonical written form.

    UK: 'sw1a1aa' -> 'SW1A 1AA'; AU: '2000'; US: '12345' or '12345-6789'.
    """
    compact = re.sub(r"[\s\-]", "", value).upper()
    if uk := _UK_POSTCODE.match(compact):
        return f"{uk.group(1)} {uk.group(2)}"
    if _AU_POSTCODE.match(compact):
        return compact
    if us := _US_ZIP.match(compact):
        return f"{us.group(1)}-{us.group(2)}" if us.group(2) else us.group(1)
    raise InvalidIdentifierError(
        "postcode must be a UK (e.g. SW1A 1AA), Australian (4 digits) or US "
        f"(5 or 9 digits) postcode; got {mask(value)!r}"
    )


def normalize_dob(value: str | dt.date, today: dt.date | None = None) -> dt.date:
    """A date of birth as a date: ISO, day/month/year or '3 March 1980' forms.

    A date after `today` (default: the local date) or before 1900 is refused.
    """
    parsed = value if isinstance(value, dt.date) else _parse_date(value)
    today = today or dt.date.today()
    if parsed > today:
        raise InvalidIdentifierError(
            f"date of birth must not be in the future (after {today.isoformat()}); "
            f"got a date in {parsed.year}"
        )
    if parsed < EARLIEST_DOB:
        raise InvalidIdentifierError(
            f"date of birth must be on or after {EARLIEST_DOB.isoformat()}; "
            f"got a date in {parsed.year}"
        )
    return parsed


def _parse_date(value: str) -> dt.date:
    text = " ".join(fold(value).replace(",", " ").split())
    try:
        if re.match(r"^\d{4}-\d{2}-\d{2}$", text):
            return dt.date.fromisoformat(text)
        if numeric := _DAY_MONTH_YEAR.match(text):
            day, month, year = (int(g) for g in numeric.groups())
            return dt.date(year, month, day)
        if wordy := _WORDY_DATE.match(text):
            named = _MONTHS.get(wordy.group(2))
            if named is not None:
                return dt.date(int(wordy.group(3)), named, int(wordy.group(1)))
    except ValueError:
        pass
    raise InvalidIdentifierError(
        "date of birth must be YYYY-MM-DD, DD/MM/YYYY or '3 March 1980'; "
        f"got {mask(value)!r}"
    )
