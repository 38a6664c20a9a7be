"""The continuity scorecard: is service getting more continuous for customers?"""

from cx_context.context.scorecard.card import Scorecard, ScorecardQuery
from cx_context.context.scorecard.contacts import ScorecardConfig
from cx_context.context.scorecard.data import Estate, load_estate
from cx_context.context.scorecard.measures import (
    NOT_ENOUGH_DATA,
    Measure,
    Period,
    ScorecardQueryError,
    parse_period,
)

__all__ = [
    "NOT_ENOUGH_DATA",
    "Estate",
    "Measure",
    "Period",
    "Scorecard",
    "ScorecardConfig",
    "ScorecardQuery",
    "ScorecardQueryError",
    "load_estate",
    "parse_period",
]
