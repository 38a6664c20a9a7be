"""The risk events our controls write: one constructor per kind of event.

The callers (ingestion, answers) hand over what they decided and the ids
involved; these functions choose the NIST category, the actions served and
the evidence references, so that every row of one kind reads the same.
Texts are referred to by their SHA-256 only.
"""

from collections.abc import Mapping

from cx_context.guardrails.decisions import Decision
from cx_context.guardrails.injection import ScreenResult
from cx_context.guardrails.nist import (
    GENERATION_FALLBACK_ACTIONS,
    INJECTION_CHUNK_ACTIONS,
    INJECTION_QUESTION_ACTIONS,
    RiskCategory,
)
from cx_context.guardrails.output_checks import OutputCheck
from cx_context.guardrails.riskrecords import (
    Actor,
    Evidence,
    RiskEvent,
    Versions,
    text_hash,
)

INGEST_ACTOR = Actor("ingest", "knowledge_ingest")
ANSWER_ACTOR = Actor("bot", "answer")


def quarantined_chunk(
    result: ScreenResult,
    chunk_id: str,
    record_id: str,
    chunk_text: str,
    versions: Versions,
    request_id: str | None = None,
) -> RiskEvent:
    """A knowledge chunk the injection screen flagged and quarantined."""
    top = result.top
    return RiskEvent(
        category=RiskCategory.INFORMATION_SECURITY,
        actions=INJECTION_CHUNK_ACTIONS,
        detector=top.detector if top else "injection_screen",
        decision=Decision.QUARANTINE,
        actor=INGEST_ACTOR,
        evidence=Evidence(
            ids=(chunk_id, record_id),
            content_hashes=(text_hash(chunk_text),),
            detectors=tuple(result.fired),
            counts={"detections": len(result.detections)},
        ),
        versions=versions,
        score=result.score,
        threshold=result.threshold,
        request_id=request_id,
    )


def refused_question(
    result: ScreenResult,
    redacted_question: str,
    entity_counts: Mapping[str, int],
    versions: Versions,
    actor: Actor = ANSWER_ACTOR,
    request_id: str | None = None,
) -> RiskEvent:
    """A question the injection screen flagged, answered with a refusal."""
    top = result.top
    return RiskEvent(
        category=RiskCategory.INFORMATION_SECURITY,
        actions=INJECTION_QUESTION_ACTIONS,
        detector=top.detector if top else "injection_screen",
        decision=Decision.REFUSE,
        actor=actor,
        evidence=Evidence(
            content_hashes=(text_hash(redacted_question),),
            entity_counts=dict(entity_counts),
            detectors=tuple(result.fired),
            counts={"detections": len(result.detections)},
        ),
        versions=versions,
        score=result.score,
        threshold=result.threshold,
        request_id=request_id,
    )


def output_findings(
    check: OutputCheck,
    output_id: str,
    output_text: str,
    source_ids: tuple[str, ...],
    versions: Versions,
    actor: Actor = ANSWER_ACTOR,
    request_id: str | None = None,
) -> list[RiskEvent]:
    """One event per finding of an output check; the decision is the overall one."""
    unsupported = sum(not s.supported for s in check.sentences)
    return [
        RiskEvent(
            category=finding.category,
            actions=finding.actions,
            detector=finding.rule,
            decision=check.decision,
            actor=actor,
            evidence=Evidence(
                ids=(output_id, *source_ids),
                content_hashes=(text_hash(output_text),),
                entity_counts=finding.entity_counts,
                counts={
                    "sentences": len(check.sentences),
                    "unsupported": unsupported,
                },
            ),
            versions=versions,
            score=finding.score,
            threshold=finding.threshold,
            request_id=request_id,
        )
        for finding in check.findings
    ]


def generation_fallback(
    reason: str,
    output_id: str,
    source_ids: tuple[str, ...],
    versions: Versions,
    actor: Actor = ANSWER_ACTOR,
    request_id: str | None = None,
) -> RiskEvent:
    """A language model that failed or was overruled; the offline result went out.

    `reason` is "timeout", "model_error" or "output_rejected" (its text failed
    the output checks and nothing of it could be kept).
    """
    return RiskEvent(
        category=RiskCategory.VALUE_CHAIN_COMPONENT_INTEGRATION,
        actions=GENERATION_FALLBACK_ACTIONS,
        detector="generation_fallback",
        decision=Decision.ESCALATE,
        actor=actor,
        evidence=Evidence(ids=(output_id, *source_ids), detectors=(reason,)),
        versions=versions,
        request_id=request_id,
    )
