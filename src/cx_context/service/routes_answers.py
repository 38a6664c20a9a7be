"""HTTP route for bots: a grounded, cited answer to a question or a dialogue."""

import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from cx_context.context.answers import (
    MAX_DIALOGUE_TURNS,
    Answer,
    check_question_or_dialogue,
    too_many_turns,
)
from cx_context.context.errors import InvalidQuestionError
from cx_context.guardrails.output_checks import claims
from cx_context.knowledge.conversation import Turn
from cx_context.knowledge.errors import InvalidDialogueError
from cx_context.knowledge.questions import UnknownQuestionError
from cx_context.knowledge.records import Channel
from cx_context.service.auth import Principal, Role, require_roles
from cx_context.service.compute import on_compute_threads
from cx_context.service.problems import problem
from cx_context.service.tenants import ServicesDep

router = APIRouter()


AnswerDep = Annotated[
    Principal,
    Depends(require_roles(Role.BOT, Role.AGENT, Role.KNOWLEDGE_OWNER, Role.ADMIN)),
]


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speaker: Literal["user", "customer", "agent", "bot", "system"] = Field(
        description="Who spoke: the customer (user, customer) or the service side."
    )
    text: str = Field(max_length=20_000)


class AnswerRequest(BaseModel):
    # A misspelt field would otherwise be dropped and the request answered
    # as if it had not been given.
    model_config = ConfigDict(extra="forbid")

    question: str | None = Field(
        default=None,
        min_length=1,
        max_length=20_000,
        description="The customer's question (or give dialogue).",
    )
    dialogue: list[TurnIn] | None = Field(
        default=None,
        description=(
            "The conversation so far, oldest first, at most "
            f"{MAX_DIALOGUE_TURNS} turns; its last user turn is answered, "
            "earlier turns say what it refers to. Instead of question."
        ),
    )
    filters: dict[str, str | list[str]] | None = Field(
        default=None,
        description="Restrict passages: source, audience, owner, document_id, tag, "
        "entity.",
        examples=[{"audience": "customer"}],
    )
    k: int | None = Field(default=None, ge=1, le=50, description="Passages to use.")
    channel: Channel | None = Field(
        default=None,
        description="Where the question came from; knowledge owners see it per gap.",
    )
    stream: bool = Field(
        default=False,
        description="Server-sent events: `sentence` events, then one `done` event "
        "with the citations.",
    )

    @field_validator("dialogue", mode="before")
    @classmethod
    def _few_enough_turns(cls, value: Any) -> Any:
        # Counted before the turns are read, with the answerer's own limit
        # and words, so that a long dialogue costs no more than its parsing.
        if isinstance(value, list) and len(value) > MAX_DIALOGUE_TURNS:
            raise PydanticCustomError("too_long", too_many_turns(len(value)))
        return value


class CitationOut(BaseModel):
    number: int
    title: str
    section: str
    document_id: str
    chunk_id: str
    score: float


class AnswerResponse(BaseModel):
    question_id: int
    question: str = Field(description="The question as redacted and stored.")
    answer: str
    abstained: bool
    refused: bool = Field(
        default=False, description="The question was refused by the injection screen."
    )
    reason: str | None
    best_score: float | None
    threshold: float
    confidence: float | None = Field(
        default=None, description="The can-answer score of the retrieved passages."
    )
    generator: str = Field(description='"extractive", or the model that wrote it.')
    prompt: str | None = Field(description="Prompt name and version, if a model.")
    fallback: str | None = Field(
        description="Why a model's answer was not used (timeout, model_error, "
        "output_rejected), if it was not."
    )
    citations: list[CitationOut]


@router.post(
    "/v1/answers",
    response_model=AnswerResponse,
    summary="Answer a question, or a dialogue's last user turn, with citations",
    responses={200: {"content": {"text/event-stream": {}}}},
)
@on_compute_threads
def post_answer(
    body: AnswerRequest, request: Request, services: ServicesDep, _: AnswerDep
) -> Any:
    # The answer is made (and checked) before the first byte, so that an
    # error is a problem document rather than a broken stream.
    check_question_or_dialogue(body.question is not None, body.dialogue is not None)
    if body.question is not None and not body.question.strip():
        raise InvalidQuestionError("question is empty")
    dialogue = (
        None
        if body.dialogue is None
        else [Turn(turn.speaker, turn.text) for turn in body.dialogue]
    )
    try:
        answer = services.answerer.answer(
            body.question,
            body.filters,
            body.k,
            dialogue=dialogue,
            request_id=request.state.request_id,
            channel=body.channel,
        )
    except InvalidDialogueError as exc:
        return problem(
            request,
            422,
            "Invalid dialogue",
            str(exc),
            errors=[{"field": "dialogue", "message": str(exc)}],
        )
    if body.stream:
        return StreamingResponse(
            _sse(answer_events(answer)), media_type="text/event-stream"
        )
    return answer.to_dict()


EscalationDep = Annotated[
    Principal, Depends(require_roles(Role.BOT, Role.AGENT, Role.ADMIN))
]


class EscalationResponse(BaseModel):
    question_id: int
    escalated_at: str = Field(description="When it was first marked (ISO 8601).")
    already_escalated: bool = Field(
        description="It had been marked before; the first mark is kept."
    )


@router.post(
    "/v1/answers/{question_id}/escalation",
    response_model=EscalationResponse,
    summary="Mark that the customer was handed to a person after this question",
)
def post_escalation(
    question_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    services: ServicesDep,
    caller: EscalationDep,
) -> Any:
    try:
        mark = services.question_log.mark_escalated(question_id, by=caller.key_id)
    except UnknownQuestionError as exc:
        return problem(
            request,
            404,
            "Not found",
            str(exc),
            errors=[{"field": "question_id", "message": str(exc)}],
        )
    return {
        "question_id": mark.question_id,
        "escalated_at": mark.escalated_at.isoformat(),
        "already_escalated": mark.already,
    }


def answer_events(answer: Answer) -> Iterator[tuple[str, dict[str, Any]]]:
    """A sentence at a time, then everything else, citations included.

    The answer is whole and checked before the first event: a model's tokens
    are not passed on as they come, since unchecked text must not leave, so a
    bot sees the first sentence only once the model has finished.
    """
    for index, claim in enumerate(claims(answer.text), start=1):
        yield (
            "sentence",
            {
                "index": index,
                "text": claim.text,
                "citations": list(claim.citations),
            },
        )
    body = answer.to_dict()
    body.pop("answer")
    yield "done", body


def _sse(events: Iterator[tuple[str, dict[str, Any]]]) -> Iterator[str]:
    for name, data in events:
        yield f"event: {name}\ndata: {json.dumps(data)}\n\n"
