"""LLM prose for summaries and drafts, released only when the output check passes.

The model writes from numbered sources and cites them as [n]; the guardrail
output check tests every sentence against the sources it cites. Anything but
an "allow" (an unsupported sentence, an unknown citation, new personal data),
or a model that fails or times out, means the caller's extractive result is
used instead, and the event is written to the risk log.
"""

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cx_context.context.errors import GenerationError
from cx_context.context.generation import Generator, Prompt
from cx_context.guardrails.decisions import Decision
from cx_context.guardrails.nist import RiskCategory
from cx_context.guardrails.output_checks import OutputChecker, SourcePassage
from cx_context.guardrails.risk_events import output_findings
from cx_context.guardrails.risklog import RiskLog
from cx_context.guardrails.riskrecords import (
    Actor,
    Evidence,
    RiskEvent,
    Versions,
    text_hash,
)

logger = logging.getLogger(__name__)

# Errors of the model itself are recorded as a failure of a component the
# service depends on, tracked as a near-miss.
_FAILURE_ACTIONS = ("MG-4.3-002",)


@dataclass(frozen=True)
class Prose:
    """What the model wrote and the check made of it; text is None when withheld."""

    text: str | None
    model: str
    prompt: str
    check: dict[str, Any] | None
    fallback_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "model": self.model,
            "prompt": self.prompt,
            "output_check": self.check,
            "fallback_reason": self.fallback_reason,
        }


def numbered(passages: Sequence[SourcePassage]) -> str:
    """The sources as the prompt shows them: "[n] (source) text" lines."""
    return "\n".join(f"[{p.number}] ({p.source_id}) {p.text}" for p in passages)


def write_checked(
    generator: Generator,
    prompt: Prompt,
    variables: Mapping[str, str],
    passages: Sequence[SourcePassage],
    checker: OutputChecker,
    risk_log: RiskLog | None,
    output_id: str,
    actor: Actor,
    allowed_context: Sequence[str] = (),
    request_id: str | None = None,
) -> Prose:
    """The model's text when it passes the output check, else None with the reason."""
    versions = Versions(model=generator.model_name, prompt_template=prompt.label)
    # Evidence ids carry no whitespace ("doc#Step 3" becomes "doc#Step_3").
    source_ids = tuple(
        re.sub(r"\s+", "_", p.source_id)[:300] for p in passages if p.source_id
    )[:20]
    try:
        text = generator.generate(prompt, variables)
    except GenerationError as exc:
        if risk_log is not None:
            risk_log.append(
                RiskEvent(
                    category=RiskCategory.VALUE_CHAIN_COMPONENT_INTEGRATION,
                    actions=_FAILURE_ACTIONS,
                    detector="generation_error",
                    decision=Decision.ABSTAIN,
                    actor=actor,
                    evidence=Evidence(ids=(output_id, *source_ids)),
                    versions=versions,
                    request_id=request_id,
                )
            )
        return Prose(None, generator.model_name, prompt.label, None, str(exc))
    check = checker.check(text, passages, allowed_context)
    verdict = check.to_dict()
    if check.decision is Decision.ALLOW:
        return Prose(text, generator.model_name, prompt.label, verdict, None)
    logger.warning(
        "generated %s withheld by the output check: %s",
        output_id,
        check.decision.value,
    )
    if risk_log is not None:
        for event in output_findings(
            check, output_id, text, source_ids, versions, actor, request_id
        ):
            risk_log.append(event)
    return Prose(
        None,
        generator.model_name,
        prompt.label,
        verdict,
        f"the output check decided {check.decision.value}: " + "; ".join(check.reasons),
    )


def text_id(kind: str, text: str) -> str:
    """A short id for an output that has none of its own, from its text's hash."""
    return f"{kind}:{text_hash(text)[:16]}"
