"""Knowledge owners' reports: content gaps and content health, over a period."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from cx_context.knowledge.gaps import GapReport
from cx_context.knowledge.health import HealthReport
from cx_context.service.auth import Principal, Role, require_roles
from cx_context.service.compute import on_compute_threads
from cx_context.service.problems import problem
from cx_context.service.tenants import ServicesDep
from cx_context.service.wiring import Services

router = APIRouter()

KNOWLEDGE_ROLES = (Role.KNOWLEDGE_OWNER, Role.ADMIN)


OwnerDep = Annotated[Principal, Depends(require_roles(*KNOWLEDGE_ROLES))]
SinceQuery = Annotated[
    datetime | None,
    Query(description="Start of the period (ISO 8601); default: all questions."),
]
UntilQuery = Annotated[
    datetime | None, Query(description="End of the period, exclusive (ISO 8601).")
]


# A hundred years: beyond it a review date cannot be compared with today.
MAX_STALE_AFTER_DAYS = 36_500


class PeriodError(ValueError):
    """A period that cannot be read, with the parameter at fault."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


def period(
    since: datetime | None, until: datetime | None, days: int | None = None
) -> tuple[datetime | None, datetime | None]:
    """The period asked for, in UTC; `days` means the last N days to `until`."""

    def utc(moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

    since, until = utc(since), utc(until)
    if days is not None:
        if since is not None:
            raise PeriodError("days", "give either since or days, not both")
        end = until or datetime.now(UTC)
        try:
            since = end - timedelta(days=days)
        except OverflowError:
            raise PeriodError(
                "days",
                f"days={days} before {end.isoformat()} falls before year 1",
            ) from None
    if since is not None and until is not None and since >= until:
        raise PeriodError(
            "since",
            f"since ({since.isoformat()}) must be before until ({until.isoformat()})",
        )
    return since, until


def gap_report(
    services: Services,
    since: datetime | None,
    until: datetime | None,
    min_questions: int | None = None,
) -> GapReport:
    finder = services.gap_finder
    config = None
    if min_questions is not None:
        config = replace(finder.config, min_questions=min_questions)
    return finder.find(since, until, config=config)


def health_report(
    services: Services,
    since: datetime | None,
    until: datetime | None,
    stale_after_days: int | None = None,
) -> HealthReport:
    health = services.content_health
    config = None
    if stale_after_days is not None:
        config = replace(health.config, stale_after=timedelta(days=stale_after_days))
    return health.report(since, until, config=config)


def _period_problem(request: Request, exc: PeriodError) -> JSONResponse:
    return problem(
        request,
        422,
        "Invalid period",
        str(exc),
        errors=[{"field": f"query.{exc.parameter}", "message": str(exc)}],
    )


@router.get(
    "/v1/knowledge/gaps",
    summary="Content gaps: questions our content did not answer, grouped and ranked",
)
@on_compute_threads
def get_gaps(
    request: Request,
    services: ServicesDep,
    _caller: OwnerDep,
    since: SinceQuery = None,
    until: UntilQuery = None,
    days: Annotated[int | None, Query(gt=0, description="The last N days.")] = None,
    min_questions: Annotated[
        int | None, Query(ge=2, description="Fewest questions a gap holds.")
    ] = None,
) -> Any:
    try:
        start, end = period(since, until, days)
    except PeriodError as exc:
        return _period_problem(request, exc)
    return gap_report(services, start, end, min_questions).to_dict()


@router.get(
    "/v1/knowledge/health",
    summary="Content health: stale, duplicate, conflicting, unused, quarantined, "
    "coverage by intent",
)
@on_compute_threads
def get_health(
    request: Request,
    services: ServicesDep,
    _caller: OwnerDep,
    since: SinceQuery = None,
    until: UntilQuery = None,
    days: Annotated[int | None, Query(gt=0, description="The last N days.")] = None,
    stale_after_days: Annotated[
        int | None,
        Query(
            gt=0, le=MAX_STALE_AFTER_DAYS, description="Reviewed longer ago is stale."
        ),
    ] = None,
) -> Any:
    try:
        start, end = period(since, until, days)
    except PeriodError as exc:
        return _period_problem(request, exc)
    return health_report(services, start, end, stale_after_days).to_dict()
