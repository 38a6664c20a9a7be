"""HTTP routes for agents: handoff summaries, after-contact wrap-ups, reply drafts."""

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from cx_context.context.drafts import draft_events
from cx_context.service.auth import Principal, Role, require_roles
from cx_context.service.compute import on_compute_threads
from cx_context.service.tenants import ServicesDep

router = APIRouter()


# Summaries and drafts are for the people who talk to customers.
AgentDep = Annotated[Principal, Depends(require_roles(Role.AGENT, Role.ADMIN))]


class DraftRequest(BaseModel):
    # A misspelt field would otherwise be dropped without a word.
    model_config = ConfigDict(extra="forbid")

    interaction_id: str = Field(min_length=1, description="The conversation.")
    customer_id: str | None = Field(
        default=None,
        description="The customer; default: the one the interaction is linked to.",
    )
    stream: bool = Field(
        default=False,
        description="Server-sent events: `sentence` events, then one `done` event.",
    )


@router.get(
    "/v1/customers/{customer_id}/handoff",
    summary="Handoff summary across the customer's recent contacts on every channel",
)
def get_handoff(
    customer_id: str, request: Request, services: ServicesDep, _: AgentDep
) -> dict[str, Any]:
    return services.agent_summaries.handoff(
        customer_id, request_id=request.state.request_id
    )


@router.get(
    "/v1/interactions/{interaction_id}/wrapup",
    summary="After-contact wrap-up: reason, resolution, actions, follow-ups, code",
)
def get_wrapup(
    interaction_id: str, request: Request, services: ServicesDep, _: AgentDep
) -> dict[str, Any]:
    return services.agent_summaries.wrapup(
        interaction_id, request_id=request.state.request_id
    )


def _sse(events: Iterator[tuple[str, dict[str, Any]]]) -> Iterator[str]:
    for event, data in events:
        yield f"event: {event}\ndata: {json.dumps(data)}\n\n"


@router.post(
    "/v1/drafts",
    summary="Draft the agent's next message, each sentence citing policy or record",
    responses={200: {"content": {"text/event-stream": {}}}},
)
@on_compute_threads
def post_draft(
    body: DraftRequest, request: Request, services: ServicesDep, _: AgentDep
) -> Any:
    # The draft is made (and checked) before the first byte, so that an error
    # is a problem document rather than a broken stream.
    draft = services.agent_summaries.draft(
        body.interaction_id, body.customer_id, request_id=request.state.request_id
    )
    if body.stream:
        return StreamingResponse(
            _sse(draft_events(draft)), media_type="text/event-stream"
        )
    return draft.to_dict()
