"""Queries built from a conversation, not from its last line alone.

A customer's last turn is often a follow-up ("does it have parking?", "what
about the one near the station?") whose subject was named turns earlier, by
them or by the agent. `ConversationQuery` keeps the last user turn as the
question and resolves its subject: the knowledge entities it names itself,
or else those named by the latest earlier turn that names any.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cx_context.knowledge.entities import Entity, EntityIndex
from cx_context.knowledge.errors import InvalidDialogueError

USER_SPEAKERS = frozenset({"user", "customer", "u"})
_MAX_ENTITIES = 3
# A question this short says little on its own; the user's previous turn
# usually holds what it is about.
_SHORT_QUESTION_WORDS = 4


@dataclass(frozen=True)
class Turn:
    speaker: str  # "user" (or "customer", "U"); anything else is the service side
    text: str

    @property
    def by_user(self) -> bool:
        return self.speaker.strip().lower() in USER_SPEAKERS


@dataclass(frozen=True)
class ConversationQuery:
    question: str  # the last user turn
    previous: str  # the user's turn before it, "" if none
    entities: tuple[Entity, ...]
    # Where the entities were found: "question", "earlier turn" or "none".
    entity_source: str

    @classmethod
    def from_question(
        cls, question: str, index: EntityIndex | None = None
    ) -> "ConversationQuery":
        return cls.from_turns([Turn("user", question)], index)

    @classmethod
    def from_turns(
        cls, turns: Sequence[Turn], index: EntityIndex | None = None
    ) -> "ConversationQuery":
        if not turns:
            raise InvalidDialogueError("the dialogue has no turns")
        user = [i for i, turn in enumerate(turns) if turn.by_user and turn.text.strip()]
        if not user:
            speakers = sorted({turn.speaker for turn in turns})
            raise InvalidDialogueError(
                "the dialogue has no user turn to answer (speakers: "
                f"{', '.join(speakers)}; a user turn has speaker "
                f"{' or '.join(sorted(USER_SPEAKERS))})"
            )
        last = user[-1]
        question = turns[last].text.strip()
        previous = turns[user[-2]].text.strip() if len(user) > 1 else ""
        entities: tuple[Entity, ...] = ()
        source = "none"
        if index is not None and len(index):
            # The last user turn first, then back through everything before it.
            for position in range(last, -1, -1):
                found = _distinct(
                    m.entity for m in index.mentions(turns[position].text)
                )
                if found:
                    entities = found[:_MAX_ENTITIES]
                    source = "question" if position == last else "earlier turn"
                    break
        return cls(question, previous, entities, source)

    @property
    def is_short(self) -> bool:
        return len(self.question.split()) <= _SHORT_QUESTION_WORDS

    def text(self) -> str:
        """The text to search with: the question, its subject, a short one's context."""
        parts = [
            e.name.title() for e in self.entities if self.entity_source != "question"
        ]
        if self.is_short and self.previous:
            parts.append(self.previous)
        parts.append(self.question)
        return " ".join(parts)

    @property
    def document_ids(self) -> tuple[str, ...]:
        return tuple(d for entity in self.entities for d in entity.document_ids)


def _distinct(entities: Iterable[Entity]) -> tuple[Entity, ...]:
    seen: dict[str, Entity] = {}
    for entity in entities:
        seen.setdefault(entity.name, entity)
    return tuple(seen.values())
