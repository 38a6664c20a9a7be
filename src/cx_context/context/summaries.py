"""Structured, extractive summaries of one interaction, each line citing its turns.

No language model is involved: sentences are taken from the redacted turns and
sorted into the questions an agent asks at a handoff (why did they contact us,
what is wrong, what was done, how did it end, what is still open) by the
speaker who said them, where they fall in the conversation and the cue words
they carry. Every line quotes its sentence and names the turn it came from, so
nothing in a summary can say more than the transcript did.
"""

import logging
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol

from cx_context.context.errors import ConflictError, NotFoundError
from cx_context.context.text import sentences, without_channel_noise, word_count
from cx_context.guardrails.decisions import Decision
from cx_context.guardrails.output_checks import OutputChecker, SourcePassage
from cx_context.knowledge.catalog import Catalog, StoredInteraction

logger = logging.getLogger(__name__)


GENERATOR = "extractive-v2"


class ConsentWithdrawnError(ConflictError):
    """AI output asked for from a conversation whose customer withdrew consent."""


class ConsentLookup(Protocol):
    """What the customer record says about using a conversation for AI output."""

    def interaction_allows_ai(self, interaction_id: str) -> bool: ...

    def customer_of(self, interaction_id: str) -> str | None: ...


class Field(StrEnum):
    REASON = "reason"
    PROBLEM = "problem"
    ACTIONS = "actions"
    OUTCOME = "outcome"
    OPEN = "open"


FIELD_TITLES = {
    Field.REASON: "Why the customer made contact",
    Field.PROBLEM: "What the customer said was wrong",
    Field.ACTIONS: "What was done",
    Field.OUTCOME: "How it ended",
    Field.OPEN: "What is still open",
}


def _cues(*words: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(words) + r")", re.IGNORECASE)


_PLEASANTRY = re.compile(
    r"^(?:hi|hello|hey|good (?:morning|afternoon|evening|night)|"
    r"thanks?(?: you)?(?: so much)?|"
    r"thank you(?: so much)?|ok(?:ay)?|sure|yes|yeah|no|great|perfect|cool|bye|goodbye|"
    r"have a (?:great|nice|good) (?:day|night|one|weekend)|you'?re welcome|no worries|"
    r"no problem|one moment(?: please)?|please|welcome|"
    r"a pleasure(?: to help you)?)\b[\s!.,]*",
    re.IGNORECASE,
)
_REQUEST = _cues(
    r"need",
    r"want",
    r"would like",
    r"wanted",
    r"trying",
    r"help",
    r"can you",
    r"could you",
    r"how",
    r"why",
    r"when",
    r"is there",
    r"wondering",
    r"know",
)
_TOPIC = _cues(
    r"order",
    r"refund",
    r"return",
    r"account",
    r"ship",
    r"deliver",
    r"payment",
    r"pay",
    r"bill",
    r"charge",
    r"card",
    r"subscription",
    r"password",
    r"username",
    r"address",
    r"promo",
    r"price",
    r"cost",
    r"fee",
    r"cancel",
    r"item",
    r"product",
    r"service",
    r"balance",
    r"transfer",
    r"booking",
    r"reservation",
)
_PROBLEM = _cues(
    r"wrong",
    r"broke",
    r"damage",
    r"defect",
    r"missing",
    r"never (?:arrived|came|received|got)",
    r"late",
    r"delay",
    r"charged",
    r"overcharg",
    r"error",
    r"issue",
    r"problem",
    r"fail",
    r"stuck",
    r"lost",
    r"cannot",
    r"can't",
    r"unable",
    r"stain",
    r"complain",
    r"ruin",
    r"disappoint",
    r"frustrat",
    r"slow",
    r"expired",
    r"declined",
    r"rejected",
    r"not (?:working|work|arrived|received|showing|updating|loading)",
    r"(?:doesn|didn|won|isn|hasn|haven)'?t "
    r"(?:work|arrive|come|show|load|update|receive|get)",
    r"too (?:big|small|tight|loose|much|long|expensive)",
)
_ACTION = _cues(
    r"i have",
    r"i've",
    r"we have",
    r"we've",
    r"has been",
    r"have been",
    r"processed",
    r"updated",
    r"escalat",
    r"notif",
    r"refunded",
    r"sent",
    r"created",
    r"cancell?ed",
    r"changed",
    r"reset",
    r"issued",
    r"credited",
    r"applied",
    r"removed",
    r"added",
    r"scheduled",
    r"transferred",
    r"forwarded",
    r"checked",
    r"verified",
    r"confirmed",
)
_RESOLUTION = _cues(
    r"all set",
    r"taken care",
    r"done",
    r"resolved",
    r"processed",
    r"complete",
    r"success",
    r"updated",
    r"has been",
    r"unfortunately",
    r"cannot",
    r"can't",
    r"unable",
    r"not possible",
    r"in progress",
    r"fixed",
    r"should (?:now|be)",
    r"refunded",
    r"cancell?ed",
    r"not eligible",
    r"expire",
    r"is currently",
    r"escalated",
    r"notified",
    r"let my manager",
)
_APOLOGY = _cues(r"sorry", r"apologi")
_PROMISE = _cues(
    r"will (?:\w+ )?(?:call|contact|email|send|get back|follow|update|notify|"
    r"let you know|"
    r"receive|arrive|be refunded|be processed|be credited|reach out|give you a call)",
    r"(?:'ll|will) (?:be in touch|hear)",
    r"within \d+",
    r"follow[ -]?up",
    r"get back to you",
    r"expect",
    r"pending",
    r"in progress",
    r"less than a (?:week|day|month)",
    r"(?:in|within) (?:the next )?\d+(?:-\d+)? "
    r"(?:business |working )?(?:days?|hours?|weeks?)",
)
_SYSTEM_NOISE = re.compile(r"in progress \.\.\.$|^searching the faq", re.IGNORECASE)


@dataclass(frozen=True)
class SummaryLine:
    field: Field
    speaker: str
    text: str
    turns: list[int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field.value,
            "speaker": self.speaker,
            "text": self.text,
            "turns": self.turns,
        }


@dataclass(frozen=True)
class Summary:
    interaction_id: str
    channel: str
    source_system: str
    intent: str | None
    turn_count: int
    lines: list[SummaryLine] = field(default_factory=list)
    # In two lines: what the customer needed, and the staff's main response.
    brief: list[SummaryLine] = field(default_factory=list)
    generator: str = GENERATOR
    # The guardrail output check: its decision and reasons, when one ran.
    output_check: dict[str, Any] | None = None

    def field_lines(self, name: Field) -> list[SummaryLine]:
        return [line for line in self.lines if line.field is name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "interaction_id": self.interaction_id,
            "channel": self.channel,
            "source_system": self.source_system,
            "intent": self.intent,
            "turn_count": self.turn_count,
            "generator": self.generator,
            "brief": [line.to_dict() for line in self.brief],
            "fields": {
                name.value: [line.to_dict() for line in self.field_lines(name)]
                for name in Field
            },
            "output_check": self.output_check,
        }

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> "Summary":
        """A summary as `to_dict` stored it."""

        def line(item: dict[str, Any]) -> SummaryLine:
            return SummaryLine(
                Field(item["field"]), item["speaker"], item["text"], list(item["turns"])
            )

        return cls(
            interaction_id=body["interaction_id"],
            channel=body["channel"],
            source_system=body["source_system"],
            intent=body.get("intent"),
            turn_count=body["turn_count"],
            lines=[line(item) for name in Field for item in body["fields"][name.value]],
            brief=[line(item) for item in body.get("brief", [])],
            generator=body.get("generator", GENERATOR),
            output_check=body.get("output_check"),
        )


@dataclass(frozen=True)
class _Sentence:
    turn: int
    speaker: str
    text: str
    position: float  # where the turn falls, 0 (start) to 1 (end)


class Summarizer:
    def __init__(
        self,
        catalog: Catalog,
        max_actions: int = 4,
        max_problems: int = 2,
        checker: OutputChecker | None = None,
        consent: ConsentLookup | None = None,
    ) -> None:
        """`consent`, the customer record, refuses a summary of a conversation
        whose customer withdrew AI-assistance consent; without it, none is."""
        self._catalog = catalog
        self._consent = consent
        self._checker = checker
        self._max_actions = max_actions
        self._max_problems = max_problems

    def summarize(self, interaction_id: str) -> Summary:
        interaction = self._catalog.interaction(interaction_id)
        if interaction is None:
            raise NotFoundError(f"no interaction with id {interaction_id!r}")
        self.require_consent(interaction_id, "summary")
        summary = self.summarize_stored(interaction)
        return self.checked(summary, interaction) if self._checker else summary

    def require_consent(self, interaction_id: str, output: str) -> None:
        """Refuse `output` (a summary, a wrap-up) of a conversation whose
        customer withdrew AI-assistance consent, as drafts are refused."""
        if self._consent is None or self._consent.interaction_allows_ai(interaction_id):
            return
        customer = self._consent.customer_of(interaction_id)
        raise ConsentWithdrawnError(
            f"customer {customer} has withdrawn AI-assistance consent; no "
            f"{output} is made of their conversation {interaction_id!r}"
        )

    def checked(self, summary: Summary, interaction: StoredInteraction) -> Summary:
        """The summary after the output check; withheld whole unless it passes.

        Each line must be supported by the turn it cites and bring no personal
        data that the transcript did not hold. An extractive summary passes by
        construction; a generated one (from an LLM) must earn it.
        """
        if self._checker is None:
            return summary
        turns = {turn.number: turn.text for turn in interaction.turns}
        cited = sorted(
            {
                n
                for line in [*summary.lines, *summary.brief]
                for n in line.turns
                if n in turns
            }
        )
        text = " ".join(
            f"{line.text.rstrip('.!?')}. [{line.turns[0]}]"
            for line in [*summary.lines, *summary.brief]
            if line.turns
        )
        if not text:
            return replace(summary, output_check={"decision": "allow", "reasons": []})
        check = self._checker.check(
            text,
            [SourcePassage(n, turns[n], f"{interaction.id}#turn-{n}") for n in cited],
        )
        verdict = {"decision": check.decision.value, "reasons": check.reasons}
        if check.decision is Decision.ALLOW:
            return replace(summary, output_check=verdict)
        logger.warning(
            "summary of %s withheld by the output check: %s",
            interaction.id,
            check.decision.value,
        )
        return replace(summary, lines=[], brief=[], output_check=verdict)

    def summarize_stored(self, interaction: StoredInteraction) -> Summary:
        """The summary of an interaction already read from the catalog."""
        return summarize_interaction(interaction, self._max_actions, self._max_problems)


def _split(interaction: StoredInteraction) -> list[_Sentence]:
    last = max(len(interaction.turns) - 1, 1)
    out = []
    for index, turn in enumerate(interaction.turns):
        for sentence in sentences(without_channel_noise(turn.text)):
            out.append(_Sentence(turn.number, turn.speaker, sentence, index / last))
    return out


def _strip_pleasantries(text: str) -> str:
    previous = None
    while previous != text:
        previous, text = text, _PLEASANTRY.sub("", text).strip()
    return text


def _substantive(sentence: _Sentence) -> bool:
    return word_count(_strip_pleasantries(sentence.text)) >= 3


def _is_question(sentence: _Sentence) -> bool:
    return sentence.text.rstrip().endswith("?")


def summarize_interaction(
    interaction: StoredInteraction, max_actions: int = 4, max_problems: int = 2
) -> Summary:
    items = _split(interaction)
    customer = [s for s in items if s.speaker == "customer" and _substantive(s)]
    staff = [s for s in items if s.speaker in {"agent", "bot"} and _substantive(s)]
    system = [
        s for s in items if s.speaker == "system" and not _SYSTEM_NOISE.search(s.text)
    ]
    chosen: dict[Field, list[_Sentence]] = {name: [] for name in Field}
    used: set[tuple[int, str]] = set()

    def take(name: Field, sentence: _Sentence) -> None:
        used.add((sentence.turn, sentence.text))
        chosen[name].append(sentence)

    def free(sentence: _Sentence) -> bool:
        return (sentence.turn, sentence.text) not in used

    # Why: the customer's early sentence that most looks like a request about
    # something the business handles; questions count double.
    early = [s for s in customer if s.position <= 0.5] or customer[:2]
    if early:
        reason = max(early, key=lambda s: (_request_strength(s), -s.turn))
        # "Do you know how much that costs?" needs the sentence before it.
        before = [s for s in customer if s.turn <= reason.turn and s is not reason]
        if before and _REFERS_BACK.search(reason.text) and word_count(reason.text) < 10:
            previous = before[-1]
            if reason.turn - previous.turn <= 1 and _request_strength(previous) > 0:
                take(Field.REASON, previous)
        take(Field.REASON, reason)

    # What was wrong: the customer's sentences that name a problem, early on.
    problems = [
        s for s in customer if free(s) and s.position <= 0.7 and _PROBLEM.search(s.text)
    ]
    problems.sort(key=lambda s: (-len(_PROBLEM.findall(s.text)), s.turn))
    for sentence in sorted(problems[:max_problems], key=lambda s: s.turn):
        take(Field.PROBLEM, sentence)

    # Still open: explicit promises of future work in the second half.
    for sentence in [s for s in staff if s.position >= 0.5 and _PROMISE.search(s.text)][
        -2:
    ]:
        take(Field.OPEN, sentence)

    # How it ended: the late staff sentence with the strongest sign of a result
    # (done, refused, escalated); failing that, the most informative one.
    late = [s for s in staff if s.position >= 0.5 and free(s) and not _is_question(s)]
    if late:
        ending = max(
            late,
            key=lambda s: (
                _resolution_strength(s.text),
                len(re.findall(r"\d", s.text)) + word_count(s.text) / 10,
                s.turn,
            ),
        )
        take(Field.OUTCOME, ending)

    # What was done: system events, and staff sentences that report an action.
    done = system + [s for s in staff if _ACTION.search(s.text) and not _is_question(s)]
    seen_text: set[str] = set()
    actions = []
    for sentence in sorted(done, key=lambda s: s.turn):
        key = sentence.text.casefold()
        if free(sentence) and key not in seen_text:
            seen_text.add(key)
            actions.append(sentence)
    for sentence in _spread(actions, max_actions):
        take(Field.ACTIONS, sentence)

    # A customer question at the very end that no one answered is open too.
    last_staff_turn = max((s.turn for s in staff), default=0)
    for sentence in customer:
        if sentence.turn > last_staff_turn and _is_question(sentence):
            take(Field.OPEN, sentence)

    lines = [
        SummaryLine(name, s.speaker, s.text, [s.turn])
        for name in Field
        for s in sorted(chosen[name], key=lambda s: s.turn)
    ]
    if interaction.outcome:
        lines.append(
            SummaryLine(
                Field.OUTCOME, "system", f"Recorded outcome: {interaction.outcome}", []
            )
        )
    return Summary(
        interaction_id=interaction.id,
        channel=interaction.channel,
        source_system=interaction.source_system,
        intent=interaction.intent,
        turn_count=len(interaction.turns),
        lines=lines,
        brief=_brief(customer, staff),
    )


def _brief(customer: list[_Sentence], staff: list[_Sentence]) -> list[SummaryLine]:
    """The customer's need and the staff's main response, a line each.

    The need is the early customer sentence richest in requests, topics and
    problems; the response the staff statement richest in results, actions and
    directions, later ones first. Longer sentences say more and win ties. (The
    weights were chosen on a third of the TweetSumm dev chats; see the README.)
    """
    lines = []
    early = [s for s in customer if s.position <= 0.5] or customer[:2]
    if early:
        need = max(
            early,
            key=lambda s: (
                _request_strength(s)
                + len(_PROBLEM.findall(s.text))
                + word_count(s.text) / 10
            ),
        )
        lines.append(SummaryLine(Field.REASON, need.speaker, need.text, [need.turn]))
    statements = [s for s in staff if not _is_question(s)] or staff
    if statements:
        response = max(
            statements,
            key=lambda s: (
                _resolution_strength(s.text)
                + len(_ACTION.findall(s.text))
                + len(_DIRECTION.findall(s.text))
                + word_count(s.text) / 10
                + s.position
            ),
        )
        field_name = Field.OUTCOME if response.position >= 0.5 else Field.ACTIONS
        lines.append(
            SummaryLine(field_name, response.speaker, response.text, [response.turn])
        )
    return lines


_DIRECTION = _cues(
    r"please",
    r"dm",
    r"direct message",
    r"send us",
    r"reach out",
    r"contact",
    r"follow",
    r"you can",
    r"try",
    r"visit",
    r"check",
)
_PLACEHOLDER = re.compile(r"<[A-Z_]+_\d+>")
_REFERS_BACK = _cues(r"that\b", r"it\b", r"this\b", r"them\b")


def _request_strength(sentence: _Sentence) -> float:
    text = _PLACEHOLDER.sub(" ", sentence.text)
    return (
        len(_REQUEST.findall(text))
        + 2 * len(_TOPIC.findall(text))
        + 2 * _is_question(sentence)
        - 3 * sentence.position
    )


def _resolution_strength(text: str) -> int:
    return 2 * len(_RESOLUTION.findall(text)) + len(_APOLOGY.findall(text))


def _spread(items: list[_Sentence], n: int) -> list[_Sentence]:
    """Keep n items spread over the conversation rather than the first n."""
    if len(items) <= n:
        return items
    step = (len(items) - 1) / (n - 1) if n > 1 else 0
    return [items[round(i * step)] for i in range(n)]
