"""An answer written by a language model from numbered passages, checked before use.

The model sees the redacted question, the redacted recent turns and the
passages, numbered as they will be cited. What it writes is checked by the
guardrails' `OutputChecker`: a reply that passes goes out (redacted where it
named personal data the sources do not hold); a reply that fails keeps only
its sentences that are supported and cite passages that were given, if that
remainder passes the check in turn; otherwise nothing of it is used. The
caller answers with its offline composition whenever this returns no text.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from cx_context.context.errors import GenerationError
from cx_context.context.generation import Generator, Prompt
from cx_context.guardrails.decisions import Decision
from cx_context.guardrails.output_checks import (
    OutputCheck,
    OutputChecker,
    SourcePassage,
    claims,
)

logger = logging.getLogger(__name__)

NO_ANSWER = "NO_ANSWER"
_RELEASED = (Decision.ALLOW, Decision.REDACT)


@dataclass(frozen=True)
class Written:
    """What came of asking the model: text to release, or why there is none."""

    text: str | None
    checks: tuple[tuple[str, OutputCheck], ...]  # (text checked, its check)
    # None when text was released; else "timeout", "model_error",
    # "no_answer" or "output_rejected".
    failure: str | None = None
    error: str | None = None
    trimmed: bool = False  # unsupported sentences were removed


def write_answer(
    generator: Generator,
    prompt: Prompt,
    checker: OutputChecker,
    passages: Sequence[SourcePassage],
    titles: Sequence[str],
    question: str,
    conversation: str,
) -> Written:
    block = "\n\n".join(
        f"[{p.number}] {title}: {p.text}"
        for p, title in zip(passages, titles, strict=True)
    )
    try:
        reply = generator.generate(
            prompt,
            {"passages": block, "question": question, "conversation": conversation},
        )
    except GenerationError as exc:
        failure = "timeout" if "did not answer within" in str(exc) else "model_error"
        return Written(None, (), failure, str(exc))
    if reply.strip().rstrip(".").upper() == NO_ANSWER:
        return Written(None, (), "no_answer")

    check = checker.check(reply, passages, [question, conversation])
    if check.decision in _RELEASED:
        return Written(check.text, ((reply, check),))

    # Keep the sentences that stand on their own: supported, citing only
    # passages that were given.
    given = {p.number for p in passages}
    kept = [
        f"{claim.text} [{', '.join(map(str, claim.citations))}]"
        for claim, support in zip(claims(reply), check.sentences, strict=False)
        if support.supported and claim.citations and set(claim.citations) <= given
    ]
    if kept:
        remainder = " ".join(kept)
        second = checker.check(remainder, passages, [question, conversation])
        if second.decision in _RELEASED:
            logger.info(
                "model answer trimmed to %d of %d sentences",
                len(kept),
                len(check.sentences),
            )
            return Written(
                second.text, ((reply, check), (remainder, second)), trimmed=True
            )
        return Written(None, ((reply, check), (remainder, second)), "output_rejected")
    return Written(None, ((reply, check),), "output_rejected")
