"""Request and response bodies of the HTTP API."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cx_context.knowledge.ingest import IngestReport


class _Request(BaseModel):
    """A request body: a field not named here is refused, never ignored."""

    model_config = ConfigDict(extra="forbid")


class DocumentBatch(_Request):
    """Knowledge documents; each is checked on its own, so one bad one stops none."""

    documents: list[dict[str, Any]] = Field(
        min_length=1,
        description="KnowledgeDocument objects (see the README for the fields).",
    )


class InteractionBatch(_Request):
    """Interactions, each checked on its own so one bad record never stops the rest."""

    interactions: list[dict[str, Any]] = Field(
        min_length=1, description="Interaction objects (see the README for the fields)."
    )


class RecordResult(BaseModel):
    position: int = Field(description="1-based position of the record in the batch.")
    id: str | None
    outcome: str = Field(description="added, unchanged, replaced or rejected.")
    chunks: int
    problem: str | None = Field(
        description="Why the record was rejected: field path and rule."
    )


class IngestResponse(BaseModel):
    counts: dict[str, int]
    chunks_written: int
    chunks_removed: int
    quarantined: list[str] = Field(
        default_factory=list,
        description="Chunks the injection screen flagged; they are never retrieved.",
    )
    results: list[RecordResult]
    links: dict[str, int] | None = Field(
        default=None,
        description="Interactions only: stored contacts linked to the one "
        "customer a strong identifier of theirs names, and those left unlinked "
        "(for identity resolution); none are linked without a vault key.",
    )

    @classmethod
    def from_report(
        cls, report: IngestReport, links: dict[str, int] | None = None
    ) -> "IngestResponse":
        return cls(
            links=links,
            counts=report.counts,
            chunks_written=report.chunks_written,
            chunks_removed=report.chunks_removed,
            quarantined=report.quarantined,
            results=[
                RecordResult(
                    position=r.position,
                    id=r.record_id,
                    outcome=r.outcome.value,
                    chunks=r.chunks,
                    problem=r.problem,
                )
                for r in sorted(report.records, key=lambda r: r.position)
            ],
        )


class SummaryLineOut(BaseModel):
    field: str
    speaker: str
    text: str
    turns: list[int]


class SummaryResponse(BaseModel):
    interaction_id: str
    channel: str
    source_system: str
    intent: str | None
    turn_count: int
    generator: str
    brief: list[SummaryLineOut] = Field(
        default_factory=list,
        description="Two lines: what the customer needed, the staff's main response.",
    )
    fields: dict[str, list[SummaryLineOut]]
    output_check: dict[str, Any] | None = Field(
        default=None,
        description="The guardrail output check: decision and reasons.",
    )


class HealthResponse(BaseModel):
    status: str
    database: str
    vector_store: str
    vault: str | None = None
    chunks: dict[str, int] | None = None
