"""Builds the components from settings. Heavy models load once, on first use."""

import contextlib
import logging
import re
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from cx_context.context.agent_summaries import AgentSummaries
from cx_context.context.answers import AnswerConfig, Answerer
from cx_context.context.assembler import ContextAssembler
from cx_context.context.consent_records import ConsentRecords
from cx_context.context.customers import CustomerStore
from cx_context.context.drafts import Drafter
from cx_context.context.errors import NotFoundError
from cx_context.context.events import EventApplier
from cx_context.context.generation import Generator, build_chat_model
from cx_context.context.identity.model import Claims, Resolution
from cx_context.context.identity.resolver import IdentityResolver, ResolverConfig
from cx_context.context.reidentification import Reidentifier
from cx_context.context.scorecard import Scorecard, ScorecardConfig, load_estate
from cx_context.context.summaries import Summarizer
from cx_context.context.summary_store import SummaryStore
from cx_context.guardrails import CONVERSATION_POLICY, KnownValue, PiiRedactor
from cx_context.guardrails.errors import VaultKeyError
from cx_context.guardrails.injection import InjectionScreen
from cx_context.guardrails.output_checks import OutputChecker
from cx_context.guardrails.pii_config import PiiConfig, PiiConfigError
from cx_context.guardrails.risklog import RiskLog
from cx_context.guardrails.sealing import Sealer
from cx_context.guardrails.vault import PseudonymVault, check_vault_key
from cx_context.knowledge.adapters.base import Parsed
from cx_context.knowledge.catalog import Catalog
from cx_context.knowledge.chunking import Chunker, ChunkingConfig
from cx_context.knowledge.database import make_engine, make_sessions
from cx_context.knowledge.embedding import Embedder
from cx_context.knowledge.gaps import GapConfig, GapFinder
from cx_context.knowledge.health import ContentHealth, HealthConfig
from cx_context.knowledge.hybrid import HybridRetrievers
from cx_context.knowledge.ingest import IngestLimits, Ingestor, IngestReport, Progress
from cx_context.knowledge.questions import QuestionLog
from cx_context.knowledge.records import Interaction
from cx_context.knowledge.retrieval import Retriever
from cx_context.knowledge.vectorstore import Collection, VectorStore
from cx_context.service.compute import ComputePool
from cx_context.service.keys import ApiKeyStore, check_tenant
from cx_context.service.migrate import ensure_schema, migrate, use_schema
from cx_context.service.settings import Settings

logger = logging.getLogger(__name__)


def _quiet_model_loading() -> None:
    # transformers draws a progress bar while loading weights; on a terminal
    # that is noise between our own lines.
    import transformers

    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    transformers.utils.logging.set_verbosity_error()  # type: ignore[no-untyped-call]


# Models are shared by every Services object of a process (CLI commands run
# in-process by tests, several apps in one worker): each loads once.
_models_lock = threading.Lock()


def shared_embedder(batch_size: int) -> Embedder:
    with _models_lock:
        key = ("embedder", batch_size)
        if key not in _MODELS:
            _quiet_model_loading()
            _MODELS[key] = Embedder(batch_size=batch_size)
        model = _MODELS[key]
    assert isinstance(model, Embedder)
    return model


def shared_redactor(spacy_model: str, config: PiiConfig | None = None) -> PiiRedactor:
    config = config or PiiConfig()
    with _models_lock:
        key = ("redactor", (spacy_model, config))
        if key not in _MODELS:
            _MODELS[key] = PiiRedactor.from_spacy_model(spacy_model, config)
        model = _MODELS[key]
    assert isinstance(model, PiiRedactor)
    return model


def shared_compute(threads: int) -> ComputePool:
    """The process's pool of model threads of this size, shared by its tenants."""
    with _models_lock:
        key = ("compute", threads)
        if key not in _MODELS:
            _MODELS[key] = ComputePool(threads)
        pool = _MODELS[key]
    assert isinstance(pool, ComputePool)
    return pool


_MODELS: dict[tuple[str, object], object] = {}

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class Services:
    """The wired application of one tenant, shared by CLI commands and requests.

    Without a tenant it is the default tenant: the data directory, database
    and vector store that settings name, as before tenants existed. A named
    tenant has stores of its own, which nothing of another tenant can reach:
    on SQLite a database file and a Chroma directory under
    `<data_dir>/tenants/<tenant>/`, on PostgreSQL a schema `tenant_<tenant>`
    of the same database, on a Chroma server a Chroma tenant `cx-<tenant>`.
    API keys are control data and stay with the default tenant (`control`).
    """

    tenant: str | None

    def __init__(
        self,
        settings: Settings,
        tenant: str | None = None,
        control: "Services | None" = None,
    ) -> None:
        if tenant is not None:
            check_tenant(tenant)
        if control is not None and control.tenant is not None:
            raise ValueError(
                f"control must be the default tenant, got {control.tenant}"
            )
        self.settings = settings
        self.tenant = tenant
        self._control = control
        self._owns_control = False
        self._resolver: tuple[tuple[Any, ...], IdentityResolver] | None = None
        self._resolver_lock = threading.Lock()

    @property
    def control(self) -> "Services":
        """The default tenant's services, where the API keys live."""
        if self.tenant is None:
            return self
        if self._control is None:
            self._control = Services(self.settings)
            self._owns_control = True
        return self._control

    @property
    def data_dir(self) -> Path:
        """This tenant's folder: the data directory itself for the default tenant."""
        if self.tenant is None:
            return self.settings.data_dir
        return self.settings.data_dir / "tenants" / self.tenant

    @cached_property
    def engine(self) -> Engine:
        url = self.settings.sqlalchemy_url
        if self.tenant is None:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            return make_engine(url)
        backend = make_url(url).get_backend_name()
        if backend == "sqlite":
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return make_engine(f"sqlite:///{self.data_dir / 'cx-context.sqlite3'}")
        if backend != "postgresql":
            raise ValueError(
                f"tenants need SQLite or PostgreSQL as the record store, got {backend}"
            )
        schema = f"tenant_{self.tenant}"
        ensure_schema(self.control.engine, schema)
        engine = make_engine(url)
        use_schema(engine, schema)
        return engine

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        migrate(self.engine)
        return make_sessions(self.engine)

    @cached_property
    def store(self) -> VectorStore:
        if self.settings.chroma_host:
            return VectorStore.http(
                self.settings.chroma_host,
                self.settings.chroma_port,
                tenant=None if self.tenant is None else f"cx-{self.tenant}",
            )
        if self.tenant is None:
            return VectorStore.persistent(self.settings.chroma_path)
        return VectorStore.persistent(self.data_dir / "chroma")

    @cached_property
    def embedder(self) -> Embedder:
        return shared_embedder(self.settings.embedding_batch_size)

    @cached_property
    def compute(self) -> ComputePool:
        """The threads routes that run the models are served on (see `compute`)."""
        return shared_compute(self.settings.compute_threads)

    @cached_property
    def redactor(self) -> PiiRedactor:
        try:
            config = self.settings.pii_config()
        except ValueError as exc:  # PiiConfigError is one too
            raise PiiConfigError(f"invalid PII settings: {exc}") from None
        return shared_redactor(self.settings.spacy_model, config)

    @cached_property
    def chunker(self) -> Chunker:
        s = self.settings
        return Chunker(
            ChunkingConfig(
                s.chunk_size, s.chunk_overlap, s.window_turns, s.overlap_turns
            )
        )

    @cached_property
    def ingestor(self) -> Ingestor:
        return Ingestor(
            redactor=self.redactor,
            embedder=self.embedder,
            store=self.store,
            sessions=self.sessions,
            chunker=self.chunker,
            limits=IngestLimits(self.settings.max_text_chars, self.settings.max_parts),
            batch_size=self.settings.ingest_batch_size,
            screen=self.injection_screen,
            risk_log=self.risk_log,
            vault=self.vault if self.has_vault_key else None,
        )

    @cached_property
    def vault(self) -> PseudonymVault:
        return PseudonymVault(self.sealer)

    @cached_property
    def reidentifier(self) -> Reidentifier:
        return Reidentifier(self.sessions, self.catalog, self.vault, self.risk_log)

    # Guardrails on what goes into a context and what comes out ------------

    @cached_property
    def injection_screen(self) -> InjectionScreen:
        return InjectionScreen(self.embedder.embed)

    @cached_property
    def output_checker(self) -> OutputChecker:
        return OutputChecker(self.embedder.embed, self.redactor)

    @cached_property
    def generator(self) -> Generator:
        """The chat model settings name (none: offline composition only)."""
        s = self.settings
        model = build_chat_model(
            s.generator,
            s.llm_base_url,
            s.llm_model,
            s.llm_api_key,
            s.llm_timeout_s,
            s.llm_temperature,
        )
        return Generator(model, s.llm_timeout_s)

    @cached_property
    def risk_log(self) -> RiskLog:
        return RiskLog(self.sessions)

    @cached_property
    def api_keys(self) -> ApiKeyStore:
        if self.tenant is not None:
            return self.control.api_keys
        pepper = self.settings.api_key_pepper
        return ApiKeyStore(self.sessions, pepper.get_secret_value() if pepper else "")

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.sessions)

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.embedder, self.store)

    @cached_property
    def answerer(self) -> Answerer:
        config = AnswerConfig(
            threshold=self.settings.abstain_threshold,
            k=self.settings.top_k,
            max_question_chars=self.settings.max_question_chars,
            answer_threshold=self.settings.answer_threshold,
        )
        return Answerer(
            self.retriever,
            self.embedder,
            self.redactor,
            self.question_log,
            config,
            screen=self.injection_screen,
            checker=self.output_checker,
            risk_log=self.risk_log,
            hybrid=self.hybrid_retriever,
            generator=self.generator,
        )

    @cached_property
    def hybrid_retriever(self) -> HybridRetrievers:
        """Dense and BM25 over the knowledge passages as they are now."""
        return HybridRetrievers(self.retriever, self.store)

    @cached_property
    def question_log(self) -> QuestionLog:
        return QuestionLog(self.sessions)

    @cached_property
    def gap_finder(self) -> GapFinder:
        config = GapConfig(
            answer_threshold=self.settings.abstain_threshold,
            weak_margin=self.settings.gap_weak_margin,
            cluster_distance=self.settings.gap_cluster_distance,
            min_questions=self.settings.gap_min_questions,
            cluster_all=self.settings.gap_cluster_all,
            min_weakness=self.settings.gap_min_weakness,
            min_unfamiliar=self.settings.gap_min_unfamiliar,
            min_unsupported=self.settings.gap_min_unsupported,
        )
        return GapFinder(
            self.question_log, self.embedder, self.store, self.sessions, config
        )

    @cached_property
    def content_health(self) -> ContentHealth:
        config = HealthConfig(
            stale_after=timedelta(days=self.settings.stale_after_days),
            answer_threshold=self.settings.abstain_threshold,
        )
        return ContentHealth(
            self.sessions,
            self.store,
            self.embedder,
            self.retriever,
            self.risk_log,
            config,
        )

    @cached_property
    def summarizer(self) -> Summarizer:
        # Consent is read without the vault key: summaries work on a deployment
        # without one, and still refuse a customer who withdrew consent.
        return Summarizer(
            self.catalog,
            checker=self.output_checker,
            consent=ConsentRecords(self.sessions),
        )

    @cached_property
    def agent_summaries(self) -> AgentSummaries:
        """Handoff summaries, wrap-ups and reply drafts for agents."""
        s = self.settings
        return AgentSummaries(
            self.customers,
            self.catalog,
            self.summarizer,
            SummaryStore(self.sessions),
            Drafter(self.retriever, self.output_checker, self.generator, self.risk_log),
            self.output_checker,
            self.generator,
            self.risk_log,
            s.disposition_codes,
            s.handoff_max_interactions,
            timedelta(days=s.handoff_window_days),
        )

    # The unified customer record ------------------------------------------

    @cached_property
    def sealer(self) -> Sealer:
        try:
            key = self.settings.vault_key_text()
        except ValueError as exc:
            raise VaultKeyError(str(exc)) from None
        if key is None:
            raise VaultKeyError(
                "neither CX_VAULT_KEY nor CX_VAULT_KEY_FILE is set: customer "
                "identifiers are stored only sealed. Make a key with "
                "`cx-context vault new-key --out FILE`, keep it outside the data "
                "directory and set CX_VAULT_KEY_FILE=FILE"
            )
        sealer = Sealer(key)
        with self.sessions.begin() as session:
            check_vault_key(session, sealer)
        return sealer

    @cached_property
    def customers(self) -> CustomerStore:
        return CustomerStore(
            self.sessions,
            self.sealer,
            self.redact_record_text,
            self.settings.default_region,
        )

    def redact_record_text(self, text: str, own: Sequence[KnownValue] = ()) -> str:
        """Free text from a source system, redacted as conversations are."""
        return self.redactor.redact(text, CONVERSATION_POLICY, known=own).text

    @cached_property
    def events(self) -> EventApplier:
        return EventApplier(self.sessions, self.customers, self.redact_record_text)

    @cached_property
    def assembler(self) -> ContextAssembler:
        return ContextAssembler(
            self.customers,
            self.catalog,
            self.retriever,
            self.store,
            self.redact_record_text,
            repeat_window=timedelta(days=self.settings.repeat_contact_days),
            k=self.settings.top_k,
            max_question_chars=self.settings.max_question_chars,
            summarizer=self.summarizer,
            screen=self.injection_screen,
            risk_log=self.risk_log,
        )

    def scorecard_config(self) -> ScorecardConfig:
        return ScorecardConfig(
            recontact_window=timedelta(days=self.settings.repeat_contact_days),
            latency_bound=timedelta(seconds=self.settings.scorecard_latency_bound_s),
            accept_threshold=self.settings.identity_accept_threshold,
        )

    def scorecard(
        self, config: ScorecardConfig | None = None, now: datetime | None = None
    ) -> Scorecard:
        """A scorecard over the record as it is now (read once, then computed)."""
        return Scorecard(
            load_estate(self.sessions), config or self.scorecard_config(), now
        )

    def identity_resolver(self) -> IdentityResolver:
        """A resolver over the stored profiles, rebuilt only when they change."""
        version = self.customers.profiles_version()
        with self._resolver_lock:
            if self._resolver is None or self._resolver[0] != version:
                config = ResolverConfig(
                    accept_threshold=self.settings.identity_accept_threshold,
                    region=self.settings.default_region,
                )
                resolver = IdentityResolver(self.customers.profiles(), config)
                self._resolver = (version, resolver)
            return self._resolver[1]

    def resolve_identity(
        self, claims: Claims, interaction_id: str | None = None
    ) -> Resolution:
        """Who a contact is; an accepted match links the interaction, if given.

        Below the acceptance threshold nothing is linked: the candidates go
        back to the caller (an agent asks one more question), never a guess.
        """
        if interaction_id is not None and not self.catalog.existing_interactions(
            [interaction_id]
        ):
            raise NotFoundError(f"no interaction with id {interaction_id!r}")
        resolution = self.identity_resolver().resolve(claims)
        if interaction_id is not None and resolution.accepted:
            assert resolution.party_id is not None
            self.customers.link_interaction(
                interaction_id,
                resolution.party_id,
                resolution.confidence,
                f"identity:{resolution.method}",
            )
        return resolution

    @property
    def has_vault_key(self) -> bool:
        """Whether a vault key is configured (an unusable one fails when used)."""
        return (
            self.settings.vault_key is not None
            or self.settings.vault_key_file is not None
        )

    def ingest_interactions(
        self,
        items: Sequence[Parsed[Interaction]],
        source: str = "request",
        progress: Progress | None = None,
    ) -> tuple[IngestReport, dict[str, int]]:
        """Ingest contacts, then link each stored one to its customer.

        The command line and the API both come this way, so a contact sent
        either way joins the timeline of the customer it names.
        """
        report = self.ingestor.ingest_interactions(items, source, progress)
        links = self.link_interactions([p.record for p in items if p.record])
        return report, links

    def link_interactions(self, records: Sequence[Interaction]) -> dict[str, int]:
        """Link stored interactions to the customers their identifiers name.

        Only exact matches of strong identifiers (email, phone, account number,
        username, CRM and external ids) link; a contact naming no customer, or
        more than one, is left unlinked for identity resolution.
        """
        counts = {"linked": 0, "unlinked": 0}
        if not self.has_vault_key or not records:
            return counts
        stored = self.catalog.existing_interactions([r.id for r in records])
        for record in records:
            if record.id not in stored:
                continue
            pairs = [(i.kind.value, i.value) for i in record.customer_identifiers]
            linked = self.customers.link_by_identifiers(record.id, pairs)
            counts["linked" if linked else "unlinked"] += 1
        logger.info(
            "linked %d interactions to customers, %d unlinked",
            counts["linked"],
            counts["unlinked"],
        )
        return counts

    def close(self) -> None:
        """Release connections and clients (the models stay loaded for the process).

        A tenant's vector store client is closed too (each on-disk tenant
        holds files open), so a tenant's Services is not used after close.
        """
        if "engine" in self.__dict__:
            self.engine.dispose()
        if self.tenant is not None and "store" in self.__dict__:
            self.__dict__.pop("store").close()
        if self._owns_control and self._control is not None:
            self._control.close()

    def warm_up(self) -> None:
        """Load the models and run each path a request takes, once, before serving.

        The first call of each allocates what the process then keeps (spaCy's
        and torch's buffers, sized by the batch; the attack phrasings' vectors;
        the BM25 index over the stored passages; Chroma's index of each
        collection, read on its first query), so it is paid here, before
        `/readyz` says ready, and not by the first requests. Nothing is written.
        """
        _ = self.redactor, self.embedder, self.store, self.sessions
        sample = "Warm up for Alex Doe, alex@example.com, order 1234567."
        self.redactor.redact(sample)
        self.redactor.redact_many([sample] * 8)
        self.embedder.embed([sample])
        vectors = self.embedder.embed([sample] * self.settings.embedding_batch_size)
        self.injection_screen.screen(sample)
        self.hybrid_retriever()
        if self.store.count(Collection.KNOWLEDGE):
            self.retriever.search_vector(vectors[0])  # sections and documents
            self._warm_up_batches(vectors[0])
        if self.store.count(Collection.INTERACTIONS):
            self.store.query(Collection.INTERACTIONS, vectors[0], 10)
        if self.has_vault_key:
            # An unusable key is reported by /readyz and refused by the
            # customer routes with a 503; it does not stop the service.
            with contextlib.suppress(VaultKeyError):
                self.identity_resolver()

    def warm_up_compute(self) -> int:
        """Run `warm_up` on every thread of the compute pool; how many ran it.

        Each thread that runs the models makes buffers of its own on its first
        requests (see `cx_context.service.compute`); here they are made before
        the service reports ready. Call `warm_up` first: it loads the models
        on one thread, which is faster than all threads waiting on the load.
        """
        return self.compute.warm(self.warm_up)

    def _warm_up_batches(self, vector: Any) -> None:
        # Requests embed stored passages and their sentences in batches of
        # every size up to a full one (the composer, the output checks, an
        # ingest). The heap grows to its working size on the first few dozen
        # such batches and then stays there (measured with bench/footprint.py):
        # embedding a full batch of stored passages, and their sentences, at
        # each size once reaches that size before the service is ready.
        size = self.settings.embedding_batch_size
        texts = [h.text for h in self.store.query(Collection.KNOWLEDGE, vector, size)]
        sentences = [s for t in texts for s in _SENTENCE_END.split(t) if s.strip()]
        for batch in sorted({2**i for i in range(size.bit_length())} | {size}):
            self.embedder.embed(texts[:batch])
            self.embedder.embed(sentences[:batch])
        self.redactor.redact_many(texts[:8])

    def health(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            logger.warning("database health check failed: %s", type(exc).__name__)
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            self.store.heartbeat()
            checks["vector_store"] = "ok"
            checks["chunks"] = {
                kind.value: self.store.count(kind) for kind in Collection
            }
        except Exception as exc:
            logger.warning("vector store health check failed: %s", type(exc).__name__)
            checks["vector_store"] = f"error: {type(exc).__name__}"
        # The customer record needs the vault key; without one it is off, with
        # an unusable one it is broken.
        if not self.has_vault_key:
            checks["vault"] = "not configured"
        else:
            try:
                _ = self.sealer
                checks["vault"] = "ok"
            except VaultKeyError as exc:
                logger.warning("vault health check failed: %s", exc)
                checks["vault"] = "error: see the service log"
        checks["status"] = (
            "ok"
            if checks["database"] == "ok"
            and checks["vector_store"] == "ok"
            and not checks["vault"].startswith("error")
            else "degraded"
        )
        return checks
