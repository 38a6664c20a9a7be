"""A context bundle: what an agent, bot or summarizer may use, and where it came from.

The purposes and the kinds of item each admits live here too, beside the
bundle that reports them, so that readers of a bundle need not import the
assembler that builds it.
"""

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage


class AssemblyPurpose(StrEnum):
    """Who the context is for; each purpose admits different kinds of item."""

    AGENT_ASSIST = "agent_assist"
    BOT_ANSWER = "bot_answer"
    SUMMARY = "summary"


# Kinds of item, in the order they are kept when the budget is short.
KINDS = (
    "identity",
    "risk_flag",
    "consent",
    "case",
    "summary",
    "transcript",
    "timeline",
    "passage",
    "similar_interaction",
)

ALLOWED: dict[AssemblyPurpose, frozenset[str]] = {
    AssemblyPurpose.AGENT_ASSIST: frozenset(KINDS),
    # A bot sees no risk flags and nothing of other customers.
    AssemblyPurpose.BOT_ANSWER: frozenset(KINDS) - {"risk_flag", "similar_interaction"},
    # A summary is of the customer's own contacts: no knowledge, no one else.
    AssemblyPurpose.SUMMARY: frozenset(KINDS) - {"passage", "similar_interaction"},
}

# Kinds that carry what customers said; AI-assistance consent decides them.
TRANSCRIPT_KINDS = frozenset({"summary", "transcript", "similar_interaction"})


def estimate_tokens(text: str) -> int:
    """About four characters a token, as for English with common LLM tokenizers."""
    return max(1, math.ceil(len(text) / 4))


@dataclass(frozen=True)
class Provenance:
    source_system: str
    record_id: str
    timestamp: datetime | None = None
    score: float | None = None
    chunk_id: str | None = None


@dataclass(frozen=True)
class ContextItem:
    kind: str
    text: str
    provenance: Provenance
    rank: float
    tokens: int


@dataclass
class ContextBundle:
    """What an agent, bot or summarizer may use, with where each part came from."""

    customer_id: str
    purpose: AssemblyPurpose
    query: str | None
    identity_confidence: float | None
    token_budget: int
    items: list[ContextItem] = field(default_factory=list)
    excluded: Counter[str] = field(default_factory=Counter)
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        return sum(item.tokens for item in self.items)

    def of_kind(self, kind: str) -> list[ContextItem]:
        return [item for item in self.items if item.kind == kind]

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "purpose": self.purpose.value,
            "query": self.query,
            "identity_confidence": self.identity_confidence,
            "token_budget": self.token_budget,
            "tokens": self.tokens,
            "items": [
                {**asdict(item), "provenance": asdict(item.provenance)}
                for item in self.items
            ],
            "excluded": dict(sorted(self.excluded.items())),
            "timings_ms": self.timings_ms,
        }

    def to_messages(self, instructions: str | None = None) -> list[BaseMessage]:
        """The bundle as LangChain chat messages: the context, then the question."""
        lines = [
            instructions
            or (
                "You help a customer-service "
                + ("bot" if self.purpose == AssemblyPurpose.BOT_ANSWER else "agent")
                + ". Use only the numbered context below and cite it as [n]. "
                "If it does not answer the question, say so."
            ),
            "",
            "Context:",
        ]
        for number, item in enumerate(self.items, start=1):
            source = item.provenance
            lines.append(
                f"[{number}] ({item.kind}; {source.source_system} {source.record_id}) "
                f"{item.text}"
            )
        messages: list[BaseMessage] = [SystemMessage("\n".join(lines))]
        if self.query:
            messages.append(HumanMessage(self.query))
        return messages
