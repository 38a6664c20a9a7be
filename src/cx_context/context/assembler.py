"""The context assembler: one grounded, consent-filtered bundle for an agent or a bot.

`assemble()` gathers identity, open service state, the cross-channel timeline,
knowledge passages, similar past interactions, consent and risk facts; admits
only what the purpose and the customer's consent allow; ranks what is left and
cuts it to a token budget. Everything left out is counted with its reason, and
every item says where it came from.
"""

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from cx_context.context.bundle import (
    ALLOWED,
    KINDS,
    TRANSCRIPT_KINDS,
    AssemblyPurpose,
    ContextBundle,
    ContextItem,
    Provenance,
    estimate_tokens,
)
from cx_context.context.customers import CustomerStore
from cx_context.context.errors import (
    InvalidQuestionError,
    NotFoundError,
    QuestionRefusedError,
)
from cx_context.context.records import CustomerView, Purpose
from cx_context.context.summaries import FIELD_TITLES, Field, Summarizer
from cx_context.context.timeline import Timeline, build_timeline
from cx_context.guardrails.injection import InjectionScreen
from cx_context.guardrails.risk_events import refused_question
from cx_context.guardrails.risklog import RiskLog
from cx_context.guardrails.riskrecords import Actor, Versions
from cx_context.knowledge.catalog import Catalog, StoredInteraction
from cx_context.knowledge.chunking import record_of
from cx_context.knowledge.fused_search import fuse_scored, read_passages
from cx_context.knowledge.retrieval import Passage, Retriever
from cx_context.knowledge.vectorstore import Collection, Scored, VectorStore

logger = logging.getLogger(__name__)


# Interaction chunks fetched for "similar past interactions", and how many of
# those of other contacts are kept.
_SIMILAR_POOL = 8
_SIMILAR_KEPT = 3


class _Collector:
    """Admits items by purpose and consent, counting what it refuses and why."""

    def __init__(
        self,
        bundle: ContextBundle,
        view: CustomerView,
        interactions: list[StoredInteraction],
    ) -> None:
        self.view = view
        self.interactions = interactions
        self._bundle = bundle
        self._allowed = ALLOWED[bundle.purpose]
        self.transcripts_ok = view.allows(Purpose.AI_ASSISTANCE)
        self.items: list[ContextItem] = []

    def admits(self, kind: str) -> bool:
        return kind in self._allowed and (
            kind not in TRANSCRIPT_KINDS or self.transcripts_ok
        )

    def exclude(self, kind: str, reason: str, count: int = 1) -> None:
        self._bundle.excluded[f"{kind}: {reason}"] += count

    def add(self, kind: str, text: str, provenance: Provenance, rank: float) -> None:
        if kind not in self._allowed:
            self.exclude(kind, f"not for purpose {self._bundle.purpose}")
        elif kind in TRANSCRIPT_KINDS and not self.transcripts_ok:
            self.exclude(kind, "AI-assistance consent withdrawn")
        else:
            self.items.append(
                ContextItem(kind, text, provenance, rank, estimate_tokens(text))
            )


class ContextAssembler:
    def __init__(
        self,
        customers: CustomerStore,
        catalog: Catalog,
        retriever: Retriever,
        store: VectorStore,
        redact_question: Callable[[str], str],
        repeat_window: timedelta = timedelta(days=7),
        k: int = 5,
        max_question_chars: int = 2_000,
        summarizer: Summarizer | None = None,
        screen: InjectionScreen | None = None,
        risk_log: RiskLog | None = None,
    ) -> None:
        self._screen = screen
        self._risk_log = risk_log
        self._customers = customers
        self._summarizer = summarizer
        self._catalog = catalog
        self._retriever = retriever
        self._store = store
        self._redact = redact_question
        self._repeat_window = repeat_window
        self._k = k
        self._max_question_chars = max_question_chars
        # Threads for vector queries that run side by side. Only native code
        # runs there: Python work in two threads would wait on each other for
        # the GIL; the record's reads beside the question's redaction made both
        # slower.
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="assemble")

    def timeline(self, customer_id: str) -> Timeline:
        """A customer's contacts across channels, with handoffs and repeats."""
        view = self._customers.get(customer_id)
        return build_timeline(
            view.id, self._interactions(view), view.open_cases, self._repeat_window
        )

    def assemble(
        self,
        customer_id: str,
        purpose: AssemblyPurpose | str,
        question: str | None = None,
        interaction_id: str | None = None,
        token_budget: int = 2_000,
        identity_confidence: float | None = None,
    ) -> ContextBundle:
        purpose = AssemblyPurpose(purpose)
        if token_budget <= 0:
            raise InvalidQuestionError(f"token_budget must be > 0, got {token_budget}")
        if question is not None and len(question) > self._max_question_chars:
            raise InvalidQuestionError(
                f"question is {len(question)} characters; the limit is "
                f"{self._max_question_chars}"
            )
        bundle = ContextBundle(
            customer_id, purpose, None, identity_confidence, token_budget
        )
        timer = _Timer(bundle.timings_ms)
        found: _Found | None = None
        if question and question.strip():
            # A stated question needs nothing from the record: its vector
            # queries (native code, no GIL held) run while the record is read.
            with timer("query"):
                query = self._redact(question.strip())
                self._refuse_if_flagged(question.strip(), query, purpose)
            pending = self._start_search(query, timer)
            try:
                collector = self._gather_record(
                    bundle, timer, customer_id, interaction_id, identity_confidence
                )
            finally:
                found = pending.result()
        else:
            collector = self._gather_record(
                bundle, timer, customer_id, interaction_id, identity_confidence
            )
            asked = self._query_from(
                interaction_id, collector.interactions, collector.transcripts_ok
            )
            if asked:
                found = self._start_search(asked, timer).result()
        if found is not None:
            bundle.query = found.query
            if collector.admits("passage"):
                for passage in found.passages:
                    collector.add(
                        "passage",
                        f"{passage.title} › {passage.section}: {passage.body}",
                        Provenance(
                            str(passage.metadata.get("source", "knowledge")),
                            passage.document_id,
                            score=round(passage.score, 4),
                            chunk_id=passage.chunk_id,
                        ),
                        rank=passage.score,
                    )
            self._similar(collector, found.similar, collector.view)
        with timer("budget"):
            self._fit(bundle, collector.items)
        return bundle

    def _gather_record(
        self,
        bundle: ContextBundle,
        timer: "_Timer",
        customer_id: str,
        interaction_id: str | None,
        identity_confidence: float | None,
    ) -> _Collector:
        with timer("record"):
            view = self._customers.get(customer_id)
            if (
                interaction_id is not None
                and interaction_id not in view.interaction_ids
            ):
                raise NotFoundError(
                    f"interaction {interaction_id!r} is not linked to customer "
                    f"{customer_id!r}"
                )
            interactions = self._interactions(view)
            collector = _Collector(bundle, view, interactions)
            self._record_items(collector, view, identity_confidence)
            timeline = build_timeline(
                view.id, interactions, view.open_cases, self._repeat_window
            )
            self._timeline_items(collector, timeline, interactions, interaction_id)
        return collector

    def _refuse_if_flagged(
        self, question: str, redacted: str, purpose: AssemblyPurpose
    ) -> None:
        """A question that tries to steer the model goes no further, logged."""
        if self._screen is None:
            return
        # The screen reads the question as typed, in memory; only the hash of
        # its redacted form reaches the risk log.
        screened = self._screen.screen(question)
        if not screened.flagged:
            return
        if self._risk_log is not None:
            self._risk_log.append(
                refused_question(
                    screened,
                    redacted,
                    {},
                    Versions(index="chroma:knowledge"),
                    Actor("assembler", purpose.value),
                )
            )
        raise QuestionRefusedError(
            "the question was refused by the prompt-injection screen "
            f"({', '.join(screened.fired)}; score {screened.score:.2f}, threshold "
            f"{screened.threshold:.2f}); no context was assembled for it"
        )

    def _start_search(self, query: str, timer: "_Timer") -> "_PendingSearch":
        """Embed a redacted query and start its three vector queries.

        Passages and similar contacts are searched side by side, for ids and
        scores only; texts are read for what is kept. What of the similar
        contacts may be used is decided later, against the record.
        """
        started = time.perf_counter()
        vector = self._retriever.embed_query(query)
        size = self._retriever.pool_size(self._k)
        # No task here waits on another, so a busy pool only queues them.
        nearest = self._store.nearest
        futures = (
            self._pool.submit(nearest, Collection.KNOWLEDGE, vector, size),
            self._pool.submit(nearest, Collection.KNOWLEDGE, vector, size, None, True),
            self._pool.submit(nearest, Collection.INTERACTIONS, vector, _SIMILAR_POOL),
        )
        return _PendingSearch(
            query,
            futures,
            timer,
            started,
            self._store,
            self._retriever.section_weight,
            self._k,
        )

    # Gathering -------------------------------------------------------------

    def _interactions(self, view: CustomerView) -> list[StoredInteraction]:
        found = []
        for interaction_id in view.interaction_ids:
            stored = self._catalog.interaction(interaction_id)
            if stored is not None:
                found.append(stored)
        return found

    @staticmethod
    def _record_items(
        collector: _Collector, view: CustomerView, confidence: float | None
    ) -> None:
        facts = [f"customer {view.id} ({view.kind})"]
        if view.segment:
            facts.append(f"segment {view.segment}")
        if confidence is not None:
            facts.append(f"identity match confidence {confidence:.2f}")
        kinds = sorted({identifier.kind for identifier in view.identifiers})
        if kinds:
            facts.append("known by " + ", ".join(kinds))
        collector.add(
            "identity", "; ".join(facts), Provenance(view.source_system, view.id), 1.0
        )
        for case in view.open_cases:
            text = f"open case {case.id}: {case.intent or 'no intent'}, {case.status}"
            if case.subject:
                text += f"; {case.subject}"
            if case.next_action:
                text += f"; next action: {case.next_action}"
            collector.add(
                "case",
                text,
                Provenance(case.source_system, case.id, case.updated_at),
                1.0,
            )
        for consent in view.consents:
            collector.add(
                "consent",
                f"consent for {consent.purpose}: {consent.status}"
                + ("" if consent.in_force else " (not in force)"),
                Provenance(consent.source_system, view.id, consent.decided_at),
                1.0,
            )
        for flag in view.risk_flags:
            collector.add(
                "risk_flag",
                f"risk flag {flag.kind} ({flag.severity})"
                + (f": {flag.note}" if flag.note else ""),
                Provenance(view.source_system, flag.id, flag.raised_at),
                1.0,
            )

    def _timeline_items(
        self,
        collector: _Collector,
        timeline: Timeline,
        interactions: Sequence[StoredInteraction],
        current: str | None,
    ) -> None:
        count = len(timeline.entries)
        for position, entry in enumerate(reversed(timeline.entries)):
            text = (
                f"{entry.channel} contact {entry.interaction_id}"
                + (f" on {entry.started_at:%Y-%m-%d}" if entry.started_at else "")
                + (f", intent {entry.intent}" if entry.intent else "")
                + (f", outcome {entry.outcome}" if entry.outcome else "")
                + (f", repeat of {entry.repeat_of}" if entry.repeat_of else "")
            )
            collector.add(
                "timeline",
                text,
                Provenance(entry.source_system, entry.interaction_id, entry.started_at),
                rank=1.0 - position / max(count, 1),
            )
        for handoff in timeline.handoffs:
            collector.add(
                "timeline",
                f"handoff ({handoff.kind}): {handoff.detail}",
                Provenance("cx-context", handoff.to_interaction, handoff.at),
                rank=0.9,
            )
        # Transcript turns of the current contact, or else of the latest one,
        # after its extractive summary: the opening turns say why the customer
        # came, the latest ones where the conversation stands.
        chosen = current or (timeline.entries[-1].interaction_id if count else None)
        for interaction in interactions:
            if interaction.id != chosen:
                continue
            self._summary_items(collector, interaction)
            turns = interaction.turns[-12:]
            for offset, turn in enumerate(turns):
                collector.add(
                    "transcript",
                    f"{turn.speaker} (turn {turn.number}): {turn.text}",
                    Provenance(
                        interaction.source_system,
                        f"{interaction.id}#turn-{turn.number}",
                        interaction.started_at,
                    ),
                    rank=(offset + 1) / len(turns),
                )

    def _summary_items(
        self, collector: _Collector, interaction: StoredInteraction
    ) -> None:
        if self._summarizer is None:
            return
        if not collector.admits("summary"):
            collector.add("summary", "", Provenance("", ""), 0.0)  # counted once
            return
        summary = self._summarizer.summarize_stored(interaction)
        fields = list(Field)
        for position, name in enumerate(fields):
            for line in summary.field_lines(name):
                turns = ",".join(str(turn) for turn in line.turns)
                collector.add(
                    "summary",
                    f"{FIELD_TITLES[name]}: {line.speaker}: {line.text}",
                    Provenance(
                        interaction.source_system,
                        f"{interaction.id}#turn-{turns}" if turns else interaction.id,
                        interaction.started_at,
                    ),
                    rank=1.0 - position / len(fields),
                )

    @staticmethod
    def _query_from(
        interaction_id: str | None,
        interactions: Sequence[StoredInteraction],
        transcripts_ok: bool,
    ) -> str | None:
        """What the current contact asks, from its turns and intent.

        Stored turns are already redacted. The customer states the need in
        their first substantial turns (the last ones are mostly thanks and
        goodbyes), and the contact's intent names it. A customer who withdrew
        AI-assistance consent is searched for by the intent alone: the query
        is shown in the bundle and sent to a model, so no turn may enter it.
        """
        for interaction in interactions:
            if interaction.id == interaction_id:
                said = (
                    [
                        t.text
                        for t in interaction.turns
                        if t.speaker == "customer" and len(t.text.split()) >= 4
                    ]
                    if transcripts_ok
                    else []
                )
                intent = (interaction.intent or "").replace("_", " ")
                parts = [intent.replace("/", ": ")] if intent else []
                return " ".join(parts + said[:3]) or None
        return None

    def _similar(
        self, collector: _Collector, found: Sequence[Scored], view: CustomerView
    ) -> None:
        if not collector.admits("similar_interaction"):
            # Counted once, as a kind of item the bundle could have held.
            collector.add("similar_interaction", "", Provenance("", ""), 0.0)
            return
        own = set(view.interaction_ids)
        kept = [f for f in found if record_of(f.chunk_id) not in own][:_SIMILAR_KEPT]
        allowed = self._customers.interactions_allowing_ai(
            [record_of(f.chunk_id) for f in kept]
        )
        readable = [f for f in kept if record_of(f.chunk_id) in allowed]
        if len(readable) < len(kept):
            collector.exclude(
                "similar_interaction",
                "its customer withdrew AI-assistance consent",
                len(kept) - len(readable),
            )
        score = {f.chunk_id: f.score for f in readable}
        hits = self._store.get(Collection.INTERACTIONS, list(score)) if score else []
        for hit in hits:
            collector.add(
                "similar_interaction",
                hit.text,
                Provenance(
                    str(hit.metadata.get("source_system", "")),
                    record_of(hit.chunk_id),
                    score=round(score[hit.chunk_id], 4),
                    chunk_id=hit.chunk_id,
                ),
                rank=score[hit.chunk_id],
            )

    # Budget ----------------------------------------------------------------

    @staticmethod
    def _fit(bundle: ContextBundle, items: list[ContextItem]) -> None:
        order = {kind: index for index, kind in enumerate(KINDS)}
        ranked = sorted(items, key=lambda i: (order[i.kind], -i.rank))
        used = 0
        kept = []
        for item in ranked:
            if used + item.tokens > bundle.token_budget:
                bundle.excluded[f"{item.kind}: over the token budget"] += 1
                continue
            kept.append(item)
            used += item.tokens
        # The budget keeps the latest turns first; they read in the order said.
        bundle.items.extend(
            sorted(
                kept,
                key=lambda i: (
                    order[i.kind],
                    i.rank if i.kind == "transcript" else -i.rank,
                ),
            )
        )


@dataclass(frozen=True)
class _Found:
    query: str
    passages: list[Passage]
    similar: list[Scored]


@dataclass
class _PendingSearch:
    """Vector queries under way: sections, documents, similar interactions."""

    query: str
    futures: tuple["Future[list[Scored]]", ...]
    timer: "_Timer"
    started: float
    store: VectorStore
    section_weight: float
    k: int

    def result(self) -> _Found:
        sections, documents, similar = (f.result() for f in self.futures)
        candidates = fuse_scored(sections, documents, self.section_weight)
        passages = read_passages(self.store, candidates, self.k)
        self.timer.add("retrieval", (time.perf_counter() - self.started) * 1000)
        return _Found(self.query, passages, similar)


class _Timer:
    def __init__(self, timings: dict[str, float]) -> None:
        self._timings = timings

    @contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(step, (time.perf_counter() - start) * 1000)

    def add(self, step: str, elapsed_ms: float) -> None:
        self._timings[step] = round(self._timings.get(step, 0.0) + elapsed_ms, 2)
