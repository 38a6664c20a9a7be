"""What agents get at a handoff and after a contact: summaries, wrap-ups, drafts.

One place that reads the record and the catalog, keeps per-interaction
outputs in the summary store (recomputed when the interaction changes), and,
with a language model configured, adds prose that passed the output check.
"""

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from cx_context.context.checked_prose import Prose, numbered, text_id, write_checked
from cx_context.context.customers import CustomerStore
from cx_context.context.drafts import Draft, Drafter
from cx_context.context.errors import NotFoundError
from cx_context.context.generation import Generator, load_prompt
from cx_context.context.handoff import HandoffSummary, Section, build_handoff
from cx_context.context.records import CaseView, CustomerView
from cx_context.context.summaries import GENERATOR as SUMMARY_GENERATOR
from cx_context.context.summaries import Summarizer, Summary
from cx_context.context.summary_store import SummaryStore
from cx_context.context.wrapup import DEFAULT_DISPOSITIONS, WrapUp, wrap_up
from cx_context.guardrails.output_checks import OutputChecker, SourcePassage
from cx_context.guardrails.risklog import RiskLog
from cx_context.guardrails.riskrecords import Actor
from cx_context.knowledge.catalog import Catalog, StoredInteraction

HANDOFF_ACTOR = Actor("agent_assist", "handoff_summary")
WRAPUP_ACTOR = Actor("agent_assist", "wrapup")


class AgentSummaries:
    def __init__(
        self,
        customers: CustomerStore,
        catalog: Catalog,
        summarizer: Summarizer,
        store: SummaryStore,
        drafter: Drafter,
        checker: OutputChecker,
        generator: Generator | None = None,
        risk_log: RiskLog | None = None,
        dispositions: Mapping[str, Sequence[str]] = DEFAULT_DISPOSITIONS,
        max_interactions: int = 5,
        window: timedelta = timedelta(days=30),
    ) -> None:
        self._customers = customers
        self._catalog = catalog
        self._summarizer = summarizer
        self._store = store
        self._drafter = drafter
        self._checker = checker
        self._generator = generator
        self._risk_log = risk_log
        self._dispositions = dispositions
        self._max = max_interactions
        self._window = window

    @property
    def _llm(self) -> Generator | None:
        generator = self._generator
        return generator if generator is not None and generator.available else None

    def _interaction(self, interaction_id: str) -> StoredInteraction:
        found = self._catalog.interaction(interaction_id)
        if found is None:
            raise NotFoundError(f"no interaction with id {interaction_id!r}")
        return found

    def summary(self, interaction: StoredInteraction) -> Summary:
        """The interaction's checked summary, from the store while it is current."""
        body, _ = self._store.get_or_make(
            interaction,
            "summary",
            SUMMARY_GENERATOR,
            "none",
            lambda: self._summarizer.checked(
                self._summarizer.summarize_stored(interaction), interaction
            ).to_dict(),
        )
        return Summary.from_dict(body)

    # Handoff ------------------------------------------------------------

    def handoff(
        self, customer_id: str, request_id: str | None = None
    ) -> dict[str, Any]:
        view = self._customers.get(customer_id)
        interactions = [
            found
            for interaction_id in view.interaction_ids
            if (found := self._catalog.interaction(interaction_id)) is not None
        ]
        summaries = {i.id: self.summary(i) for i in interactions}
        result = build_handoff(view, interactions, summaries, self._max, self._window)
        if self._llm is not None and result.lines:
            prose = self._prose_from_lines(result, request_id)
            result.prose = prose.to_dict()
        return result.to_dict()

    def _prose_from_lines(
        self, result: HandoffSummary, request_id: str | None
    ) -> Prose:
        assert self._llm is not None
        # Numbered as the summary shows them: section by section.
        ordered = [line for name in Section for line in result.section(name)]
        passages = [
            SourcePassage(n, line.text, line.source)
            for n, line in enumerate(ordered, start=1)
        ]
        return write_checked(
            self._llm,
            load_prompt("handoff"),
            {"facts": numbered(passages)},
            passages,
            self._checker,
            self._risk_log,
            text_id("handoff", result.customer_id),
            HANDOFF_ACTOR,
            request_id=request_id,
        )

    # Wrap-up ------------------------------------------------------------

    def wrapup(
        self, interaction_id: str, request_id: str | None = None
    ) -> dict[str, Any]:
        """The interaction's wrap-up, kept with it and recomputed when it changes."""
        interaction = self._interaction(interaction_id)
        self._summarizer.require_consent(interaction_id, "wrap-up")
        owner = self._customers.customer_of(interaction_id)
        cases = self._customers.get(owner).open_cases if owner else []
        llm = self._llm
        body, made = self._store.get_or_make(
            interaction,
            "wrapup",
            llm.model_name if llm else SUMMARY_GENERATOR,
            load_prompt("wrapup").label if llm else "none",
            lambda: self._make_wrapup(interaction, cases, request_id).to_dict(),
        )
        return {**body, "stored": {"recomputed": made}}

    def _make_wrapup(
        self,
        interaction: StoredInteraction,
        cases: Sequence[CaseView],
        request_id: str | None,
    ) -> WrapUp:
        result = wrap_up(
            interaction, self.summary(interaction), self._dispositions, cases
        )
        if self._llm is None or result.empty_reason:
            return result
        turns = {turn.number: turn.text for turn in interaction.turns}
        lines = [*result.reason, *result.resolution, *result.actions]
        passages = [
            SourcePassage(
                n, turns[line.turns[0]], f"{interaction.id}#turn-{line.turns[0]}"
            )
            for n, line in enumerate([x for x in lines if x.turns], start=1)
        ]
        if not passages:
            return result
        prose = write_checked(
            self._llm,
            load_prompt("wrapup"),
            {"facts": numbered(passages)},
            passages,
            self._checker,
            self._risk_log,
            text_id("wrapup", interaction.id),
            WRAPUP_ACTOR,
            request_id=request_id,
        )
        return replace(
            result,
            prose=prose.to_dict(),
            generator=prose.model if prose.text else result.generator,
            prompt=prose.prompt,
        )

    # Drafts -------------------------------------------------------------

    def _draft_inputs(
        self, interaction_id: str, customer_id: str | None
    ) -> tuple[StoredInteraction, CustomerView | None]:
        interaction = self._interaction(interaction_id)
        owner = self._customers.customer_of(interaction_id)
        if customer_id is not None and owner is not None and owner != customer_id:
            raise NotFoundError(
                f"interaction {interaction_id!r} is not linked to customer "
                f"{customer_id!r}"
            )
        chosen = customer_id or owner
        return interaction, self._customers.get(chosen) if chosen else None

    def draft(
        self,
        interaction_id: str,
        customer_id: str | None = None,
        request_id: str | None = None,
    ) -> Draft:
        interaction, view = self._draft_inputs(interaction_id, customer_id)
        return self._drafter.draft(interaction, view, request_id)
