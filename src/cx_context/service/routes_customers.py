"""HTTP routes of the unified customer record: customers, timeline, context, events."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cx_context.context.bundle import AssemblyPurpose
from cx_context.context.events import outcome_counts
from cx_context.context.identity.model import Claims
from cx_context.context.records import CustomerIn, CustomerView
from cx_context.knowledge.adapters.base import validate
from cx_context.service.auth import Principal, Role, check_purpose, require_roles
from cx_context.service.compute import on_bulk_compute_threads, on_compute_threads
from cx_context.service.problems import batch_response, problem
from cx_context.service.tenants import ServicesDep

router = APIRouter()


# Who may do what with the customer record: agents work with customers, bots
# only assemble their own context and identify callers, integrations (admin
# keys) load records and events, and only risk and admin re-identify.
AgentDep = Annotated[Principal, Depends(require_roles(Role.AGENT, Role.ADMIN))]
AdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
ContextDep = Annotated[
    Principal, Depends(require_roles(Role.AGENT, Role.BOT, Role.ADMIN))
]
ReidentifyDep = Annotated[Principal, Depends(require_roles(Role.RISK, Role.ADMIN))]


class _Request(BaseModel):
    """A request body: a field not named here is refused, never ignored."""

    model_config = ConfigDict(extra="forbid")


class CustomerBatch(_Request):
    """Customers, each checked and stored on its own: one bad record stops none."""

    customers: list[dict[str, Any]] = Field(
        min_length=1, description="Customer records (see the README for the fields)."
    )


class CustomerProblem(BaseModel):
    position: int = Field(description="1-based position of the record in the batch.")
    id: str | None
    error: str


class CustomerUpsertResponse(BaseModel):
    stored: list[str]
    rejected: list[CustomerProblem]


class ContextRequest(_Request):
    customer_id: str = Field(min_length=1)
    purpose: AssemblyPurpose = AssemblyPurpose.AGENT_ASSIST
    question: str | None = Field(default=None, description="Retrieve knowledge for.")
    interaction_id: str | None = Field(
        default=None, description="The current contact; its turns ask if no question."
    )
    token_budget: int = Field(default=2000, gt=0, le=200_000)


class MergeRequest(_Request):
    survivor_id: str = Field(min_length=1)
    merged_id: str = Field(min_length=1)
    decided_by: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=2000)
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)


class ReidentifyRequest(_Request):
    reason: str = Field(
        min_length=1, max_length=2000, description="Why; logged as a hash."
    )


class UndoRequest(_Request):
    undone_by: str = Field(min_length=1, max_length=200)


Spoken = str | list[str] | list[list[str]]


class IdentifierClaim(_Request):
    kind: str = Field(description="email, phone, account_number, username, ...")
    value: str = Field(min_length=1, max_length=320)


class ResolveRequest(_Request):
    """What a contact offered: identifiers, and spoken or typed name, postcode, DOB.

    Fields not named here are refused (a `phone` at the top level belongs in
    `identifiers`), and so is a request that offers nothing.

    Each of name, postcode and dob is a string (one attempt), a list of
    strings (several attempts) or a list of lists (attempts, each with its
    speech-recognition alternatives, best first).
    """

    identifiers: list[IdentifierClaim] = Field(default_factory=list, max_length=20)
    name: Spoken = Field(default_factory=list)
    postcode: Spoken = Field(default_factory=list)
    dob: Spoken = Field(default_factory=list)
    interaction_id: str | None = Field(
        default=None, description="Link this interaction when a match is accepted."
    )

    @model_validator(mode="after")
    def _offers_something(self) -> "ResolveRequest":
        if not (self.identifiers or self.name or self.postcode or self.dob):
            raise ValueError("give at least one of identifiers, name, postcode or dob")
        return self


@router.post(
    "/v1/customers",
    response_model=CustomerUpsertResponse,
    responses={207: {"description": "Some customers were rejected."}},
    summary="Add or update customers: parties, accounts, identifiers, state",
)
@on_bulk_compute_threads
def post_customers(
    request: Request, batch: CustomerBatch, services: ServicesDep, _: AdminDep
) -> Response:
    limit = services.settings.max_batch_records
    if len(batch.customers) > limit:
        return problem(
            request,
            413,
            "Batch too large",
            f"the batch has {len(batch.customers)} records, the limit is {limit}",
        )
    report = services.customers.upsert_parsed(
        [
            validate(CustomerIn, item, "request", position)
            for position, item in enumerate(batch.customers, start=1)
        ]
    )
    rejected = [
        CustomerProblem(position=p["position"], id=p["id"], error=p["error"])
        for p in report.problems
    ]
    body = CustomerUpsertResponse(stored=report.stored, rejected=rejected)
    errors = [
        {"field": f"customers.{r.position - 1}", "message": r.error} for r in rejected
    ]
    return batch_response(
        request,
        body.model_dump(),
        errors,
        len(batch.customers),
        "No customer was accepted",
    )


@router.get(
    "/v1/customers/{customer_id}",
    response_model=CustomerView,
    summary="A customer's record, identifiers masked",
)
def get_customer(customer_id: str, services: ServicesDep, _: AgentDep) -> CustomerView:
    return services.customers.get(customer_id)


@router.get(
    "/v1/customers/{customer_id}/timeline",
    summary="Contacts across channels in time order, handoffs, repeats, open cases",
)
def get_timeline(
    customer_id: str, services: ServicesDep, _: AgentDep
) -> dict[str, Any]:
    return services.assembler.timeline(customer_id).as_dict()


@router.post(
    "/v1/context",
    summary="Assemble grounded, consent-filtered context for an agent or a bot",
)
@on_compute_threads
def post_context(
    body: ContextRequest, services: ServicesDep, principal: ContextDep
) -> dict[str, Any]:
    check_purpose(principal, body.purpose)
    bundle = services.assembler.assemble(
        body.customer_id,
        body.purpose,
        body.question,
        body.interaction_id,
        body.token_budget,
    )
    return bundle.as_dict()


@router.post(
    "/v1/identity/resolve",
    summary="Who a contact is: a match with confidence and reasons, or candidates",
)
def post_resolve(
    body: ResolveRequest, services: ServicesDep, _: ContextDep
) -> dict[str, Any]:
    claims = Claims.of(
        identifiers=[(i.kind, i.value) for i in body.identifiers],
        name=body.name,
        postcode=body.postcode,
        dob=body.dob,
    )
    resolution = services.resolve_identity(claims, body.interaction_id)
    return {
        **resolution.to_dict(),
        "linked_interaction": body.interaction_id if resolution.accepted else None,
    }


@router.post(
    "/v1/interactions/{interaction_id}/reidentify",
    summary="The interaction as it was said (admin and risk only; logged)",
)
def post_reidentify(
    request: Request,
    interaction_id: str,
    body: ReidentifyRequest,
    services: ServicesDep,
    principal: ReidentifyDep,
) -> dict[str, Any]:
    restored = services.reidentifier.restore(
        interaction_id, principal.role.value, body.reason, request.state.request_id
    )
    return restored.to_dict()


@router.post("/v1/merges", summary="Record that two customers are one")
def post_merge(
    body: MergeRequest, services: ServicesDep, _: AgentDep
) -> dict[str, Any]:
    merge_id = services.customers.merge(
        body.survivor_id, body.merged_id, body.decided_by, body.confidence, body.reason
    )
    return {"merge_id": merge_id, "survivor_id": body.survivor_id}


@router.post("/v1/merges/{merge_id}/undo", summary="Undo a merge")
def undo_merge(
    merge_id: int, body: UndoRequest, services: ServicesDep, _: AgentDep
) -> dict[str, Any]:
    services.customers.unmerge(merge_id, body.undone_by)
    return {"merge_id": merge_id, "undone": True}


@router.post(
    "/v1/events",
    summary="Apply CloudEvents (one, or a batch as a JSON array), once each by id",
    openapi_extra={
        "requestBody": {
            "content": {
                media: {"schema": {"type": ["object", "array"]}}
                for media in (
                    "application/cloudevents+json",
                    "application/cloudevents-batch+json",
                    "application/json",
                )
            },
            "required": True,
        }
    },
)
async def post_events(request: Request, services: ServicesDep, _: AdminDep) -> Response:
    try:
        raw = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        message = f"the body is not JSON: {exc}"
        return problem(
            request,
            422,
            "Invalid request",
            message,
            errors=[{"field": "body", "message": message}],
        )
    events = raw if isinstance(raw, list) else [raw]
    limit = services.settings.max_batch_records
    if len(events) > limit:
        return problem(
            request,
            413,
            "Batch too large",
            f"the batch has {len(events)} events, the limit is {limit}",
        )
    # Applying an event may redact and embed (an interaction that ended); a
    # batch of events is bulk work, within the pool's bulk share.
    outcomes = await services.compute.run_bulk(services.events.apply_many, events)
    rows = [o.to_dict() for o in outcomes]
    counts = outcome_counts(outcomes)
    errors = [
        {"field": f"events.{o.position}", "message": o.reason or "rejected"}
        for o in outcomes
        if o.status == "rejected"
    ]
    body = {"counts": counts, "events": rows}
    return batch_response(request, body, errors, len(events), "No event was applied")
