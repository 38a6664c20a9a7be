"""Content gaps: what customers ask that our content does not answer.

The stored questions (redacted) that were not answered, or only weakly, are
clustered by meaning; each cluster is a gap, named from its most typical
questions, with the articles that came nearest and why they did not answer.
A cluster is judged by its scores (how weakly it is answered), by its words
(how many words per question the articles it retrieved never use) and by its
sentence support (how closely the best single sentence of each question's
article matches it).
"""

import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cx_context.knowledge.database import DocumentRow
from cx_context.knowledge.embedding import Embedder, Vectors
from cx_context.knowledge.gap_support import (
    SentenceVectors,
    sentence_support,
    unsupported,
)
from cx_context.knowledge.questions import QuestionLog, StoredQuestion
from cx_context.knowledge.vectorstore import Collection, VectorStore

logger = logging.getLogger(__name__)

# Outcomes that mean the customer did not get an answer from content.
UNANSWERED = frozenset({"abstained", "escalated", "low_confidence", "handoff"})
ESCALATED = frozenset({"escalated", "handoff"})
_PLACEHOLDER = re.compile(r"<[A-Z_]+_\d+>")


@dataclass(frozen=True)
class GapConfig:
    """How weak an answer must be to count, and how gaps are cut.

    `cluster_distance` is the average cosine distance at which two groups of
    questions stop being merged. The defaults (cut 0.25, at least 6
    questions, weakness 0, 1.25 unfamiliar words per question, sentence
    support under the answered questions' median, every question clustered)
    are the setting chosen by F1 on BANKING77 training questions (see
    `cx-context eval gaps`), not on the reported ones; a gap needs 6
    questions, so a log with only a few questions per topic shows no gaps
    until `min_questions` is lowered.
    """

    answer_threshold: float = 0.45
    weak_margin: float = 0.1
    cluster_distance: float = 0.25
    min_questions: int = 6
    max_questions: int = 20_000
    examples: int = 3
    nearest_articles: int = 3
    # With `cluster_all`, every stored question is clustered and a cluster is
    # a gap when most of its questions went unanswered, or when its weakness
    # (see `answer_weakness`) reaches `min_weakness`, the mean number of
    # words per question the articles it retrieved never use (see
    # `unfamiliar_words`) reaches `min_unfamiliar` and its lack of sentence
    # support (see `gap_support.unsupported`) reaches `min_unsupported`;
    # without it, only the weak questions are clustered and every cluster is
    # a gap.
    cluster_all: bool = True
    min_weakness: float = 0.0
    min_unfamiliar: float = 1.25
    min_unsupported: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.answer_threshold <= 1.0:
            raise ValueError(
                f"answer_threshold must be in [0, 1], got {self.answer_threshold}"
            )
        if not 0.0 < self.cluster_distance < 2.0:
            raise ValueError(
                f"cluster_distance must be in (0, 2), got {self.cluster_distance}"
            )
        if self.min_questions < 2:
            raise ValueError(f"min_questions must be >= 2, got {self.min_questions}")
        if not self.min_unfamiliar >= 0.0:
            raise ValueError(f"min_unfamiliar must be >= 0, got {self.min_unfamiliar}")

    @property
    def weak_score(self) -> float:
        return self.answer_threshold + self.weak_margin


@dataclass(frozen=True)
class NearestArticle:
    document_id: str
    title: str
    score: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "title": self.title,
            "score": round(self.score, 4),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Gap:
    """A group of questions that mean the same thing and that content failed."""

    rank: int
    label: str
    typical_question: str
    volume: int
    escalated_share: float
    trend: float  # growth of the second half of the period over the first
    priority: float
    first_asked: datetime
    last_asked: datetime
    mean_best_score: float | None
    examples: list[str]
    outcomes: dict[str, int]
    channels: dict[str, int]
    nearest_articles: list[NearestArticle]
    question_ids: list[int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "label": self.label,
            "typical_question": self.typical_question,
            "volume": self.volume,
            "escalated_share": round(self.escalated_share, 4),
            "trend": round(self.trend, 4),
            "priority": round(self.priority, 4),
            "first_asked": self.first_asked.isoformat(),
            "last_asked": self.last_asked.isoformat(),
            "mean_best_score": None
            if self.mean_best_score is None
            else round(self.mean_best_score, 4),
            "examples": self.examples,
            "outcomes": self.outcomes,
            "channels": self.channels,
            "nearest_articles": [a.to_dict() for a in self.nearest_articles],
            "question_ids": self.question_ids,
        }


@dataclass(frozen=True)
class GapReport:
    since: datetime | None
    until: datetime | None
    n_questions: int
    n_weak: int
    gaps: list[Gap]
    # Weak questions per time bucket, and those of each gap (by rank).
    bucket: str = "day"
    volume_over_time: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": None if self.since is None else self.since.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
            "n_questions": self.n_questions,
            "n_weak": self.n_weak,
            "n_gaps": len(self.gaps),
            "gaps": [gap.to_dict() for gap in self.gaps],
            "bucket": self.bucket,
            "volume_over_time": self.volume_over_time,
            "settings": self.settings,
            "note": self.note,
        }


def is_weak(question: StoredQuestion, config: GapConfig) -> bool:
    """Whether content failed this question: not answered, or only just."""
    if question.outcome in UNANSWERED:
        return True
    return question.best_score is None or question.best_score < config.weak_score


def aware(moment: datetime) -> datetime:
    """SQLite gives back naive times; every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def cluster_questions(vectors: Vectors, config: GapConfig) -> list[list[int]]:
    """Groups of at least `min_questions` row indexes, largest first.

    Average-linkage agglomerative clustering on cosine distance: two groups
    merge while their questions are, on average, closer than the cut.
    """
    if len(vectors) < config.min_questions:
        return []
    labels = AgglomerativeClustering(
        n_clusters=None,
        metric="cosine",
        linkage="average",
        distance_threshold=config.cluster_distance,
    ).fit_predict(vectors)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    kept = [g for g in groups.values() if len(g) >= config.min_questions]
    kept.sort(key=lambda g: (-len(g), g[0]))
    return kept


def answer_weakness(
    questions: Sequence[StoredQuestion], groups: Sequence[Sequence[int]]
) -> list[float]:
    """How badly each group of questions is answered, relative to the log.

    The sum of three parts, each 0 for a group answered like the rest:
    how far its mean best score falls below the median best score of the
    answered questions; how far it falls behind the best-answered group whose
    questions mostly retrieve the same article (an article that answers one
    group well and this one poorly is about something else); and the share of
    its questions whose top article is not the group's most common one. The
    two score parts are in units of the answered scores' interquartile range,
    so the measure does not depend on the embedding model's scale.
    """
    answered = [
        q.best_score
        for q in questions
        if q.outcome not in UNANSWERED and q.best_score is not None
    ]
    scores = answered or [q.best_score or 0.0 for q in questions]
    low, median, high = np.percentile(scores, [25, 50, 75])
    spread = max(float(high - low), 0.05)

    # Each group's article (the one most of its questions retrieved first),
    # its mean best score, and the best mean of any group of that article.
    articles, means, disagreement = [], [], []
    for group in groups:
        tops = Counter(
            questions[i].retrieved[0].document_id if questions[i].retrieved else ""
            for i in group
        )
        article, count = tops.most_common(1)[0]
        articles.append(article)
        means.append(sum(questions[i].best_score or 0.0 for i in group) / len(group))
        disagreement.append(1.0 - count / len(group))
    owner: dict[str, float] = {}
    for article, mean in zip(articles, means, strict=True):
        owner[article] = max(owner.get(article, mean), mean)

    return [
        (float(median) - mean) / spread
        + ((owner[article] - mean) / spread if article else 0.0)
        + disagreed
        for article, mean, disagreed in zip(articles, means, disagreement, strict=True)
    ]


def unanswered_share(
    questions: Sequence[StoredQuestion], groups: Sequence[Sequence[int]]
) -> list[float]:
    """The share of each group's questions that got no answer from content."""
    return [
        sum(questions[i].outcome in UNANSWERED for i in group) / len(group)
        for group in groups
    ]


_WORD = re.compile(r"(?u)\b[a-zA-Z]{3,}\b")
# Endings folded so that "arrive", "arrives" and "arrived" are one word; the
# first that leaves at least three letters is cut.
_ENDINGS = ("ing", "ed", "es", "s", "e")


def content_words(text: str) -> set[str]:
    """The words of a text that carry its topic: no stop words, endings folded."""
    return {folded for folded, _ in _content_tokens(text)}


def _content_tokens(text: str) -> list[tuple[str, str]]:
    """Each content word of a text, folded and as written (lower case)."""
    tokens = []
    for token in _WORD.findall(_PLACEHOLDER.sub(" ", text)):
        word = token.lower()
        if word not in ENGLISH_STOP_WORDS:
            tokens.append((_folded(word), word))
    return tokens


def missing_words(
    questions: Sequence[StoredQuestion], known: set[str], top: int = 3
) -> list[str]:
    """The words at least two of the questions use and an article never does.

    Most used first, each as the questions most often write it.
    """
    used: Counter[str] = Counter()
    written: dict[str, Counter[str]] = {}
    for question in questions:
        tokens = _content_tokens(question.question)
        for folded in {f for f, _ in tokens} - known:
            used[folded] += 1
        for folded, word in tokens:
            written.setdefault(folded, Counter())[word] += 1
    ranked = sorted((w for w, n in used.items() if n >= 2), key=lambda w: (-used[w], w))
    return [written[w].most_common(1)[0][0] for w in ranked[:top]]


def _folded(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def unfamiliar_words(
    questions: Sequence[StoredQuestion],
    groups: Sequence[Sequence[int]],
    vocabularies: dict[str, set[str]],
) -> list[float]:
    """For each group, how many words per question its articles never use.

    Per question, the number of its content words missing from the article it
    retrieved first (a question that retrieved nothing misses them all); per
    group, the mean. Questions about something the content covers use its
    words ("age", "passcode") even when they score only moderately; questions
    about something else bring words of their own ("contactless", "cheque").
    A count, not a share of the question's words: a long question about a
    covered topic with one odd word counts as one, as a short one does, and
    a question that brings two new words counts twice whatever its length.
    """
    counts = []
    for question in questions:
        words = content_words(question.question)
        known = (
            vocabularies.get(question.retrieved[0].document_id, set())
            if question.retrieved
            else set()
        )
        counts.append(len(words - known))
    return [sum(counts[i] for i in group) / len(group) for group in groups]


def is_gap(
    config: GapConfig,
    weakness: float,
    unanswered: float,
    unfamiliar: float,
    unsupported: float,
) -> bool:
    """Whether a cluster of every question is a gap (see `GapConfig`)."""
    # A group most of whose questions went unanswered is a gap whatever its
    # weakness, so that a log where nothing is answered (an empty knowledge
    # base) still shows its gaps.
    if unanswered > 0.5:
        return True
    return (
        weakness >= config.min_weakness
        and unfamiliar >= config.min_unfamiliar
        and unsupported >= config.min_unsupported
    )


@dataclass(frozen=True)
class Candidates:
    """The clusters of a period's questions, and what decides which are gaps.

    `groups` index `questions` (the questions clustered) and `vectors`; the
    four signals are per group, and empty when only weak questions were
    clustered (then every group is a gap).
    """

    asked: list[StoredQuestion]
    weak: list[StoredQuestion]
    questions: list[StoredQuestion]
    vectors: Vectors
    groups: list[list[int]]
    weakness: list[float]
    unanswered: list[float]
    unfamiliar: list[float]
    unsupported: list[float]
    note: str | None = None
    # Each stored article's content words, read once for the signals and the
    # nearest articles' reasons.
    vocabularies: dict[str, set[str]] = field(default_factory=dict)

    def gaps(self, config: GapConfig) -> list[list[int]]:
        """The groups that are gaps under `config`'s thresholds."""
        if not self.weakness:
            return list(self.groups)
        return [
            group
            for group, w, u, x, s in zip(
                self.groups,
                self.weakness,
                self.unanswered,
                self.unfamiliar,
                self.unsupported,
                strict=True,
            )
            if is_gap(config, w, u, x, s)
        ]


def typical_order(vectors: Vectors) -> list[int]:
    """Row indexes from the most typical (nearest the centroid) to the least."""
    centroid = vectors.mean(axis=0)
    return [int(i) for i in np.argsort(-(vectors @ centroid), kind="stable")]


def name_clusters(texts: Sequence[str], groups: Sequence[Sequence[int]]) -> list[str]:
    """A short name per group: the words that set its questions apart.

    Words are weighed by how much more often a group uses them than all the
    weak questions do (class-based TF-IDF); placeholders of redacted values
    are not words.
    """
    if not groups:
        return []
    joined = [" ".join(_PLACEHOLDER.sub(" ", texts[i]) for i in g) for g in groups]
    words_of_three_letters = r"(?u)\b[a-zA-Z]{3,}\b"
    vectorizer = CountVectorizer(
        stop_words=list(ENGLISH_STOP_WORDS), token_pattern=words_of_three_letters
    )
    try:
        counts = vectorizer.fit_transform(joined).toarray().astype(float)
    except ValueError:  # only stop words
        return ["(no distinctive words)"] * len(groups)
    words = vectorizer.get_feature_names_out()
    frequency = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    rarity = np.log(1.0 + counts.sum() / np.maximum(counts.sum(axis=0), 1.0))
    weights = frequency * rarity
    names = []
    for row in weights:
        top = [str(words[i]) for i in np.argsort(-row)[:3] if row[i] > 0]
        names.append(" / ".join(top) or "(no distinctive words)")
    return names


class GapFinder:
    """Finds, names and ranks content gaps from the question log."""

    def __init__(
        self,
        questions: QuestionLog,
        embedder: Embedder,
        store: VectorStore,
        sessions: sessionmaker[Session],
        config: GapConfig | None = None,
    ) -> None:
        self._questions = questions
        self._embedder = embedder
        self._store = store
        self._sessions = sessions
        self.config = config or GapConfig()
        # Stored questions never change: their vectors are kept by id.
        self._vectors: dict[int, Vectors] = {}
        self._last_clusters: tuple[tuple[Any, ...], list[list[int]]] | None = None
        # Each article's content words, with the content hash they were read at.
        self._words: dict[str, tuple[str, set[str]]] = {}
        self._sentences = SentenceVectors(embedder, sessions)
        # The finder serves concurrent requests; its caches change under this.
        self._lock = threading.Lock()

    def _embed(self, questions: Sequence[StoredQuestion]) -> Vectors:
        with self._lock:
            known = {
                q.id: self._vectors[q.id] for q in questions if q.id in self._vectors
            }
        missing = [q for q in questions if q.id not in known]
        if missing:
            fresh = self._embedder.embed([q.question for q in missing])
            known.update(zip((q.id for q in missing), fresh, strict=True))
            with self._lock:
                if len(self._vectors) + len(missing) > 4 * self.config.max_questions:
                    self._vectors.clear()
                self._vectors.update((q.id, known[q.id]) for q in missing)
        return np.stack([known[q.id] for q in questions])

    def _cluster(
        self, questions: Sequence[StoredQuestion], vectors: Vectors, config: GapConfig
    ) -> list[list[int]]:
        # The same questions cut at the same distance cluster the same way;
        # the last clustering is kept for calls that change other settings.
        key = (tuple(q.id for q in questions), config.cluster_distance)
        last = self._last_clusters
        if last is None or last[0] != key:
            everything = replace(config, min_questions=2)
            last = (key, cluster_questions(vectors, everything))
            self._last_clusters = last
        return [g for g in last[1] if len(g) >= config.min_questions]

    def candidates(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        progress: Callable[[str], None] | None = None,
        config: GapConfig | None = None,
    ) -> Candidates:
        """The clusters of a period and their signals, before any threshold.

        `find` keeps those `Candidates.gaps` picks; a caller trying several
        weakness thresholds on one period clusters it once.
        """
        if since is not None and until is not None and since >= until:
            raise ValueError(
                f"since must be before until, got {since.isoformat()} "
                f"and {until.isoformat()}"
            )
        config = config or self.config
        asked = self._questions.between(since, until)
        weak = [q for q in asked if is_weak(q, config)]
        clustered = asked if config.cluster_all and weak else weak
        note = None
        if len(clustered) > config.max_questions:
            note = (
                f"{len(clustered)} questions in the period to cluster; "
                f"the newest {config.max_questions} were clustered"
            )
            clustered = clustered[-config.max_questions :]
        if not clustered:
            note = (
                "no questions stored in this period"
                if not asked
                else "every question in this period was answered"
            )
            empty = np.empty((0, 0), dtype=np.float32)
            return Candidates(asked, [], [], empty, [], [], [], [], [], note)
        if progress:
            progress(f"embedding {len(clustered)} questions")
        vectors = self._embed(clustered)
        if progress:
            progress("clustering")
        groups = self._cluster(clustered, vectors, config)
        vocabularies = self._vocabularies()
        weakness: list[float] = []
        unanswered: list[float] = []
        unfamiliar: list[float] = []
        lacking: list[float] = []
        if config.cluster_all:
            weakness = answer_weakness(clustered, groups)
            unanswered = unanswered_share(clustered, groups)
            unfamiliar = unfamiliar_words(clustered, groups, vocabularies)
            if progress:
                progress("reading the articles' sentences")
            sentences = self._sentences.of(
                {q.retrieved[0].document_id for q in clustered if q.retrieved}
            )
            lacking = unsupported(
                clustered,
                groups,
                sentence_support(clustered, vectors, sentences),
                [q.outcome not in UNANSWERED for q in clustered],
            )
        return Candidates(
            asked,
            weak,
            clustered,
            vectors,
            groups,
            weakness,
            unanswered,
            unfamiliar,
            lacking,
            note,
            vocabularies,
        )

    def find(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        progress: Callable[[str], None] | None = None,
        config: GapConfig | None = None,
    ) -> GapReport:
        """The gaps of a period; `config` overrides the finder's for this call."""
        config = config or self.config
        settings: dict[str, Any] = {
            "answer_threshold": config.answer_threshold,
            "weak_score": round(config.weak_score, 4),
            "cluster_distance": config.cluster_distance,
            "min_questions": config.min_questions,
            "cluster_all": config.cluster_all,
        }
        if config.cluster_all:
            settings["min_weakness"] = config.min_weakness
            settings["min_unfamiliar"] = config.min_unfamiliar
            settings["min_unsupported"] = config.min_unsupported
        found = self.candidates(since, until, progress, config)
        n_asked, n_weak = len(found.asked), len(found.weak)
        if not found.questions:
            return GapReport(
                since, until, n_asked, 0, [], settings=settings, note=found.note
            )
        questions, vectors = found.questions, found.vectors
        groups = found.gaps(config)
        names = name_clusters([q.question for q in questions], groups)
        documents = self._documents()
        vocabularies = found.vocabularies
        gaps = [
            self._gap(
                [questions[i] for i in group],
                vectors[group],
                name,
                documents,
                vocabularies,
                until,
                config,
            )
            for group, name in zip(groups, names, strict=True)
        ]
        gaps.sort(key=lambda g: (-g.priority, -g.volume, g.question_ids[0]))
        gaps = [_ranked(gap, rank) for rank, gap in enumerate(gaps, start=1)]
        bucket, series = _volume_over_time(found.weak, gaps)
        return GapReport(
            since,
            until,
            n_asked,
            n_weak,
            gaps,
            bucket,
            series,
            settings,
            found.note,
        )

    def _vocabularies(self) -> dict[str, set[str]]:
        """The content words of each stored article, kept while it is unchanged."""
        with self._lock, self._sessions() as session:
            versions = dict(
                session.execute(select(DocumentRow.id, DocumentRow.content_hash)).all()
            )
            stale = [
                doc
                for doc, version in versions.items()
                if self._words.get(doc, ("", set()))[0] != version
            ]
            if stale:
                rows = session.execute(
                    select(
                        DocumentRow.id,
                        DocumentRow.content_hash,
                        DocumentRow.title,
                        DocumentRow.summary,
                        DocumentRow.sections,
                    ).where(DocumentRow.id.in_(stale))
                ).all()
                for row in rows:
                    parts = [row.title, row.summary or ""]
                    for section in row.sections:
                        parts += [str(section.get("heading", "")), str(section["text"])]
                    self._words[row.id] = (
                        row.content_hash,
                        content_words(" ".join(parts)),
                    )
            for doc in set(self._words) - set(versions):
                del self._words[doc]
            return {doc: words for doc, (_, words) in self._words.items()}

    def _documents(self) -> dict[str, tuple[str, str]]:
        with self._sessions() as session:
            rows = session.execute(
                select(DocumentRow.id, DocumentRow.title, DocumentRow.audience)
            ).all()
        return {row.id: (row.title, row.audience) for row in rows}

    def _gap(
        self,
        questions: list[StoredQuestion],
        vectors: Vectors,
        label: str,
        documents: dict[str, tuple[str, str]],
        vocabularies: dict[str, set[str]],
        until: datetime | None,
        config: GapConfig,
    ) -> Gap:
        order = typical_order(vectors)
        examples: list[str] = []
        for index in order:
            text = questions[index].question
            if text not in examples:
                examples.append(text)
            if len(examples) == config.examples:
                break
        times = [aware(q.asked_at) for q in questions]
        escalated = sum(q.escalated or q.outcome in ESCALATED for q in questions)
        trend = _growth(times, until)
        scores = [q.best_score for q in questions if q.best_score is not None]
        volume = len(questions)
        share = escalated / volume
        priority = volume * (1.0 + share) * (1.0 + max(trend, 0.0))
        centroid = vectors.mean(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
        return Gap(
            rank=0,
            label=label,
            typical_question=questions[order[0]].question,
            volume=volume,
            escalated_share=share,
            trend=trend,
            priority=priority,
            first_asked=min(times),
            last_asked=max(times),
            mean_best_score=sum(scores) / len(scores) if scores else None,
            examples=examples,
            outcomes=dict(Counter(q.outcome for q in questions).most_common()),
            channels=dict(Counter(_channel(q) for q in questions).most_common()),
            nearest_articles=self._nearest(
                centroid, questions, documents, vocabularies, config
            ),
            question_ids=[q.id for q in questions],
        )

    def _nearest(
        self,
        centroid: Vectors,
        questions: list[StoredQuestion],
        documents: dict[str, tuple[str, str]],
        vocabularies: dict[str, set[str]],
        config: GapConfig,
    ) -> list[NearestArticle]:
        """The articles nearest the gap, and why each did not answer it.

        The store is asked without filters and with quarantined chunks, so an
        article held back by the injection screen or by an audience filter
        still shows as near, with that reason. A low or weak score also names
        the words the questions use that the article never does.
        """
        hits = self._store.query(Collection.KNOWLEDGE, centroid, 20)
        best: dict[str, tuple[float, bool]] = {}
        for hit in hits:
            doc = str(hit.metadata.get("document_id", ""))
            quarantined = hit.metadata.get("quarantined") is True
            if doc not in best:
                best[doc] = (hit.score, quarantined)
            elif quarantined and hit.score >= best[doc][0] - 0.02:
                best[doc] = (best[doc][0], True)
        # What the questions themselves got from the retriever, per article.
        retrieved: dict[str, list[float]] = {}
        for question in questions:
            if question.retrieved:
                top = question.retrieved[0]
                retrieved.setdefault(top.document_id, []).append(top.score)
        audiences = {
            str(value)
            for q in questions
            for value in _as_list(q.filters.get("audience"))
        }
        nearest = []
        ranked = sorted(best.items(), key=lambda item: -item[1][0])
        for doc, (similarity, quarantined) in ranked[: config.nearest_articles]:
            title, audience = documents.get(doc, (doc, "all"))
            scores = retrieved.get(doc)
            score = sum(scores) / len(scores) if scores else similarity
            if quarantined:
                reason = "quarantined: the injection screen held its nearest passage"
            elif audiences and audience not in audiences and audience != "all":
                reason = (
                    f"audience mismatch: written for {audience!r}, asked for "
                    f"{', '.join(sorted(audiences))}"
                )
            else:
                if score < config.answer_threshold:
                    reason = (
                        f"score too low: {score:.2f} is under the answer threshold "
                        f"{config.answer_threshold:.2f}"
                    )
                else:
                    reason = (
                        f"weak match: {score:.2f} is just over the answer "
                        f"threshold {config.answer_threshold:.2f}"
                    )
                missing = missing_words(questions, vocabularies.get(doc, set()))
                if missing:
                    reason += f"; words it never uses: {', '.join(missing)}"
            nearest.append(NearestArticle(doc, title, score, reason))
        return nearest


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _channel(question: StoredQuestion) -> str:
    return question.channel or "unknown"


def _ranked(gap: Gap, rank: int) -> Gap:
    return Gap(**{**gap.__dict__, "rank": rank})


def _growth(times: Sequence[datetime], until: datetime | None) -> float:
    """Questions in the later half of their span over those in the earlier half.

    0 means steady, 1 doubling, -1 gone; a gap seen at one moment has no trend.
    """
    start = min(times)
    end = max(until, *times) if until is not None else max(times)
    if end - start < timedelta(hours=1):
        return 0.0
    middle = start + (end - start) / 2
    later = sum(t >= middle for t in times)
    earlier = len(times) - later
    return (later - earlier) / max(earlier, 1)


def _volume_over_time(
    weak: Sequence[StoredQuestion], gaps: Sequence[Gap], top: int = 5
) -> tuple[str, list[dict[str, Any]]]:
    times = [aware(q.asked_at) for q in weak]
    span = max(times) - min(times)
    bucket = "week" if span > timedelta(days=60) else "day"

    def start_of(moment: datetime) -> str:
        day = moment.date()
        if bucket == "week":
            day -= timedelta(days=day.weekday())
        return day.isoformat()

    of_gap = {qid: gap.rank for gap in gaps[:top] for qid in gap.question_ids}
    rows: dict[str, dict[str, Any]] = {}
    for question, moment in zip(weak, times, strict=True):
        row = rows.setdefault(start_of(moment), {"weak": 0, "gaps": {}})
        row["weak"] += 1
        rank = of_gap.get(question.id)
        if rank is not None:
            row["gaps"][str(rank)] = row["gaps"].get(str(rank), 0) + 1
    return bucket, [
        {"start": key, "weak": value["weak"], "gaps": value["gaps"]}
        for key, value in sorted(rows.items())
    ]


def growth_label(trend: float) -> str:
    """A trend in words, for tables and pages."""
    if math.isclose(trend, 0.0, abs_tol=0.05):
        return "steady"
    return f"{'+' if trend > 0 else ''}{trend * 100:.0f}%"
