"""Identity resolution: spoken forms, strong identifiers, ambiguity, abstention."""

import datetime as dt

import pytest

from cx_context.context.identity.dates import PartialDate, dob_readings
from cx_context.context.identity.errors import (
    InvalidConfigError,
    InvalidIdentifierError,
)
from cx_context.context.identity.model import Claims, Profile
from cx_context.context.identity.resolver import (
    DEFAULT_ACCEPT_THRESHOLD,
    IdentityResolver,
    ResolverConfig,
)
from cx_context.context.identity.spoken import name_forms, postcode_readings

TODAY = dt.date(2024, 6, 1)
FIRST = ["oliver", "amelia", "harry", "isla", "jack", "ava", "george", "mia"]
LAST = ["brown", "green", "white", "black", "wood", "hill", "stone", "field"]


def _crowd() -> list[Profile]:
    """A few hundred unrelated profiles, so that a match has competition."""
    crowd = []
    for i in range(600):
        crowd.append(
            Profile(
                party_id=f"p-{i}",
                name=f"{FIRST[i % 8]} {LAST[(i // 8) % 8]}",
                postcode=f"L{i % 90 + 1} {i % 9}X{chr(65 + i % 26)}",
                dob=dt.date(1930 + i % 70, 1 + i % 12, 1 + i % 28),
            )
        )
    return crowd


PROFILES = [
    *_crowd(),
    Profile(
        "katie",
        "Katie Marshall",
        "W2 0AB",
        dt.date(1979, 9, 27),
        {"email": ("katie.marshall@example.com",), "phone": ("+61 2 9374 4000",)},
    ),
    Profile("max", "Max Savage", "TQ6R 4FL", dt.date(1982, 3, 3)),
    # Twins: one household, one name, two dates of birth.
    Profile("sam-1", "Sam Taylor", "M4 0QG", dt.date(1990, 5, 1)),
    Profile("sam-2", "Sam Taylor", "M4 0QG", dt.date(1990, 5, 2)),
]


@pytest.fixture(scope="module")
def resolver() -> IdentityResolver:
    return IdentityResolver(PROFILES, today=TODAY)


# Spoken forms ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "postcode"),
    [
        ("whiskey 2 0 alpha bravo", "W20AB"),
        ("t for Tommy Q for Queen 6 r for Romeo 4 foxtrot lima", "TQ6R4FL"),
        ("sw1a 1aa", "SW1A1AA"),
        ("SW1A1AA", "SW1A1AA"),
        ("e c one a one bravo bravo", "EC1A1BB"),
        ("b double 5 6 x y", "B556XY"),
        ("my postcode is n 4 w oh d j", "N4W0DJ"),
        ("w20 a b", "W20AB"),
    ],
)
def test_spoken_postcode_is_read_as_its_compact_form(said: str, postcode: str) -> None:
    assert postcode in postcode_readings(said)


@pytest.mark.parametrize(
    ("said", "spelled"),
    [
        ("k a t i e", "katie"),
        ("Mike Oscar Hotel Alpha Mike Mike Echo Delta", "mohammed"),
        ("my name is Katie Marshall", "katiemarshall"),
    ],
)
def test_spelled_names_join_their_letters(said: str, spelled: str) -> None:
    assert name_forms(said)[1] == spelled


@pytest.mark.parametrize(
    ("said", "dob"),
    [
        ("27th of the 9th 1979", dt.date(1979, 9, 27)),
        ("the third of march eighty two", dt.date(1982, 3, 3)),
        ("18 5 1946", dt.date(1946, 5, 18)),
        ("07041 996", dt.date(1996, 4, 7)),
        ("twenty seventh of september nineteen seventy nine", dt.date(1979, 9, 27)),
        ("14th December 1955", dt.date(1955, 12, 14)),
        ("January 2nd 1943", dt.date(1943, 1, 2)),
        ("the 9th of June two thousand and one", dt.date(2001, 6, 9)),
    ],
)
def test_spoken_date_of_birth_is_read_whole(said: str, dob: dt.date) -> None:
    assert any(r.matches(dob) == 3 for r in dob_readings(said, TODAY))


def test_a_partial_date_keeps_the_parts_that_were_said() -> None:
    assert dob_readings("25th December", TODAY) == [PartialDate(25, 12, None)]


@pytest.mark.parametrize(
    "written",
    ["1975-06-15", "1975/06/15", "1975.6.15", "19750615", "1975 6 15"],
)
def test_a_date_of_birth_written_year_first_is_read_year_month_day(
    written: str,
) -> None:
    assert dob_readings(written, TODAY)[0] == PartialDate(15, 6, 1975)


def test_an_iso_date_in_2000_keeps_its_month() -> None:
    assert dob_readings("2000-06-05", TODAY) == [PartialDate(5, 6, 2000)]


# Strong identifiers -------------------------------------------------------------


def test_when_an_email_is_known_then_it_resolves_deterministically(
    resolver: IdentityResolver,
) -> None:
    claims = Claims.of(identifiers=[("email", " Katie.Marshall@EXAMPLE.com ")])

    resolution = resolver.resolve(claims)

    assert resolution.status == "matched"
    assert resolution.method == "identifier"
    assert resolution.party_id == "katie"
    assert resolution.confidence == 1.0
    assert resolution.candidates[0].fields[0].level == "exact"


def test_when_an_identifier_is_unknown_then_weak_claims_decide(
    resolver: IdentityResolver,
) -> None:
    claims = Claims.of(
        identifiers=[("email", "nobody@example.com")],
        name="Max Savage",
        postcode="t for Tommy q for Queen 6 r for Romeo 4 foxtrot lima",
        dob="the third of march eighty two",
    )

    resolution = resolver.resolve(claims)

    assert resolution.method == "probabilistic"
    assert resolution.party_id == "max"


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("passport", "X1234567", "identifier kind must be one of"),
        ("phone", "call me maybe 12", "phone number"),
        ("email", "katie.marshall.example.com", "email must look like"),
    ],
)
def test_when_an_identifier_is_bad_then_the_error_names_it_without_the_value(
    resolver: IdentityResolver, kind: str, value: str, expected: str
) -> None:
    with pytest.raises(InvalidIdentifierError, match=expected) as caught:
        resolver.resolve(Claims.of(identifiers=[(kind, value)]))

    if kind != "passport":
        assert value not in str(caught.value)


# Weak claims --------------------------------------------------------------------


def test_when_spoken_claims_agree_then_the_caller_is_matched_with_reasons(
    resolver: IdentityResolver,
) -> None:
    claims = Claims.of(
        name=[["Katie Marshall", "Katy Marshall"], ["k a t i e"]],
        postcode=[["w20 a b", "w20 a bee"], ["whiskey 2 0 alpha bravo"]],
        dob=["27th of the 9th 1979"],
    )

    resolution = resolver.resolve(claims)

    assert resolution.status == "matched"
    assert resolution.party_id == "katie"
    assert resolution.confidence >= DEFAULT_ACCEPT_THRESHOLD
    levels = {f.field: f.level for f in resolution.candidates[0].fields}
    assert levels == {
        "postcode": "exact",
        "dob": "exact",
        "first_name": "exact",
        "last_name": "exact",
    }
    assert "accepted" in resolution.explanation()
    assert "marshall" not in resolution.explanation().lower()


def test_when_a_field_is_misheard_then_it_matches_fuzzily(
    resolver: IdentityResolver,
) -> None:
    claims = Claims.of(
        name="Katie Marshal",
        postcode="w 2 0 a d",
        dob="27th of September 1979",
    )

    resolution = resolver.resolve(claims)

    assert resolution.party_id == "katie"
    levels = {f.field: f.level for f in resolution.candidates[0].fields}
    assert levels["postcode"] == "fuzzy"
    assert levels["last_name"] in ("fuzzy", "phonetic")


def test_when_two_profiles_fit_equally_then_they_are_ranked_candidates(
    resolver: IdentityResolver,
) -> None:
    claims = Claims.of(name="Sam Taylor", postcode="m 4 0 q g", dob="May 1990")

    resolution = resolver.resolve(claims)

    assert resolution.status == "ambiguous"
    assert resolution.party_id is None
    assert {c.party_id for c in resolution.candidates[:2]} == {"sam-1", "sam-2"}
    first, second = resolution.candidates[:2]
    assert first.confidence >= second.confidence
    assert first.confidence < DEFAULT_ACCEPT_THRESHOLD


def test_when_the_evidence_is_weak_then_nobody_is_accepted(
    resolver: IdentityResolver,
) -> None:
    resolution = resolver.resolve(Claims.of(name="Katie"))

    assert resolution.status != "matched"
    assert resolution.party_id is None


def test_when_nothing_fits_then_there_is_no_match(resolver: IdentityResolver) -> None:
    claims = Claims.of(name="Zebedee Quux", postcode="zulu 9", dob="the 31st")

    resolution = resolver.resolve(claims)

    assert resolution.status == "no_match"
    assert resolution.candidates == ()


def test_an_excluded_party_is_never_returned(resolver: IdentityResolver) -> None:
    claims = Claims.of(
        name="Katie Marshall", postcode="W2 0AB", dob="27th of the 9th 1979"
    )

    resolution = resolver.resolve(claims, exclude={"katie"})

    assert resolution.status != "matched"
    assert all(c.party_id != "katie" for c in resolution.candidates)


def test_a_threshold_above_every_confidence_accepts_nobody() -> None:
    strict = IdentityResolver(
        PROFILES, ResolverConfig(accept_threshold=1.0), today=TODAY
    )
    claims = Claims.of(name="Max Savage", postcode="TQ6R 4FL")

    resolution = strict.resolve(claims)

    assert resolution.status != "matched"
    assert resolution.candidates[0].party_id == "max"


# Corroboration --------------------------------------------------------------------

# A store of ten, where any one stored name is unique.
SMALL = [
    Profile(f"s-{i}", name, f"W{i} 0AB", dt.date(1975 + i, 6, 15))
    for i, name in enumerate(
        [
            "Ottoline Featherstonehaugh",
            "Katie Marshall",
            "Max Savage",
            "Sam Taylor",
            "Ada Lovelace",
            "John Smith",
            "Mary Jones",
            "Peter Parker",
            "Li Wei",
            "Olu Ade",
        ]
    )
]


@pytest.fixture(scope="module")
def small() -> IdentityResolver:
    return IdentityResolver(SMALL, today=TODAY)


def test_when_only_a_name_is_given_on_a_small_store_then_nobody_is_matched(
    small: IdentityResolver,
) -> None:
    resolution = small.resolve(Claims.of(name="ottoline featherstonehaugh"))

    assert resolution.status == "ambiguous"
    assert resolution.party_id is None
    assert resolution.candidates[0].party_id == "s-0"
    # Confident that it is nobody else stored, but a name is no proof.
    assert resolution.confidence >= DEFAULT_ACCEPT_THRESHOLD
    assert resolution.held_back is not None
    assert "needs 2 of name, postcode, dob to agree" in resolution.explanation()
    assert "ottoline" not in resolution.explanation().lower()


@pytest.mark.parametrize("resolver_of", ["small", "resolver"])
def test_when_the_date_of_birth_disagrees_then_nobody_is_matched(
    request: pytest.FixtureRequest, resolver_of: str
) -> None:
    resolver: IdentityResolver = request.getfixturevalue(resolver_of)
    name, party = ("ottoline featherstonehaugh", "s-0")
    postcode = "W0 0AB"
    if resolver_of == "resolver":
        name, party, postcode = ("Katie Marshall", "katie", "W2 0AB")

    resolution = resolver.resolve(
        Claims.of(name=name, postcode=postcode, dob="01/01/1990")
    )

    assert resolution.status == "ambiguous"
    assert resolution.party_id is None
    assert resolution.candidates[0].party_id == party
    assert resolution.candidates[0].disagreeing == ("dob",)
    assert "disagreeing: dob" in (resolution.held_back or "")


def test_a_name_with_a_wrong_date_of_birth_is_held_back_at_any_threshold() -> None:
    lenient = IdentityResolver(SMALL, ResolverConfig(accept_threshold=0.5), today=TODAY)

    resolution = lenient.resolve(
        Claims.of(name="ottoline featherstonehaugh", dob="01/01/1990")
    )

    assert resolution.status == "ambiguous"
    assert resolution.confidence >= 0.5
    assert resolution.held_back is not None
    assert "agreeing: name; disagreeing: dob" in resolution.held_back


@pytest.mark.parametrize(
    "dob",
    ["1975-06-15", "1975/06/15", "19750615", "15/06/1975", "15 June 1975"],
)
def test_a_name_and_a_date_of_birth_in_any_written_order_are_a_match(
    small: IdentityResolver, dob: str
) -> None:
    resolution = small.resolve(Claims.of(name="ottoline featherstonehaugh", dob=dob))

    assert resolution.status == "matched"
    assert resolution.party_id == "s-0"
    assert resolution.candidates[0].agreeing == ("name", "dob")
    assert resolution.held_back is None


def test_when_one_fact_is_required_then_a_name_alone_may_match() -> None:
    lenient = IdentityResolver(SMALL, ResolverConfig(min_agreeing_facts=1), today=TODAY)

    resolution = lenient.resolve(Claims.of(name="ottoline featherstonehaugh"))

    assert resolution.status == "matched"


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("accept_threshold", 1.5, "accept_threshold must be in"),
        ("prior_unknown", 0.0, "prior_unknown must be in"),
        ("max_candidates", 0, "max_candidates must be >= 1"),
        ("min_agreeing_facts", 4, "min_agreeing_facts must be between 1 and 3"),
    ],
)
def test_when_a_setting_is_out_of_range_then_it_is_refused(
    setting: str, value: float, expected: str
) -> None:
    with pytest.raises(InvalidConfigError, match=expected):
        ResolverConfig(**{setting: value})  # type: ignore[arg-type]
