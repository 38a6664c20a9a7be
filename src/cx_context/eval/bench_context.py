"""Context-assembly latency at scale, beside the bare vector query for each question.

The estate is built from public data, once per run, in a temporary folder:

- knowledge: the ABCD manual and the DSTC11 hotel and restaurant FAQs go
  through the real pipeline (redacted, chunked, embedded); the knowledge
  collection is then padded to `chunks` vectors with perturbed copies of those
  real vectors (each copy is its own document), because embedding 100,000
  distinct texts on a 2-core CPU would take half an hour and the latency of an
  HNSW query depends on the number of vectors, not on what they say;
- customers: the 10,000 EVI profiles (name, postcode, date of birth, email),
  each with one open case and, for one in ten, withdrawn AI-assistance consent;
- interactions: TweetSumm support chats through the real pipeline, each
  linked to one of the first customers.

Each question is a real customer turn from the DSTC11 validation logs. For
every question the bare query (embed the question, one Chroma query for k
passages) and the full `assemble()` for an agent (customer record, timeline,
transcript, redacted question, fused knowledge retrieval, similar
interactions, budget) are timed back to back, after a warm-up.
"""

import csv
import json
import logging
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from cx_context.context.bundle import AssemblyPurpose
from cx_context.context.records import CustomerIn
from cx_context.knowledge.adapters import read_interactions, read_knowledge
from cx_context.knowledge.chunking import Chunk
from cx_context.knowledge.vectorstore import Collection
from cx_context.service.settings import Settings
from cx_context.service.wiring import Services

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

INTENTS = (
    "billing/refund",
    "orders/status",
    "account/access",
    "shipping/address",
    "product/defect",
)
PAD_SEED = 7
PAD_NOISE = 0.02  # per-dimension noise on unit vectors; copies keep cosine ~0.9


@dataclass(frozen=True)
class ContextBenchmark:
    data: Path  # the shared data folder: abcd, dstc11-track5, evi-identity, tweetsumm
    chunks: int = 100_000
    customers: int = 10_000
    interactions: int = 200
    questions: int = 200
    warmup: int = 10
    k: int = 5
    vault_key: str = ""
    knowledge: tuple[str, ...] = (
        "abcd/guidelines.json",
        "dstc11-track5/knowledge.json",
    )

    def run(self, progress: Progress, workdir: Path | None = None) -> dict[str, Any]:
        """Build the estate (or reuse the one in `workdir`) and time the questions.

        A `workdir` keeps the estate for the next run with the same sizes and
        vault key, so that a change can be measured without rebuilding it.
        """
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="cx-bench-context-") as tmp:
            folder = workdir or Path(tmp)
            services = Services(
                Settings(data_dir=folder, vault_key=self.vault_key, top_k=self.k)
            )
            services.warm_up()
            marker = folder / "estate.json"
            wanted = [self.chunks, self.customers, self.interactions, self.knowledge]
            if marker.is_file() and json.loads(marker.read_text())["sizes"] == [
                *wanted[:3],
                list(self.knowledge),
            ]:
                estate = json.loads(marker.read_text())
                real_chunks = estate["real_chunks"]
                customer_ids = estate["customers"]
                linked = [tuple(pair) for pair in estate["linked"]]
                progress(f"reusing the estate in {folder}")
            else:
                real_chunks = self._knowledge(services, progress)
                self._pad(services, progress)
                customer_ids = self._customers(services, progress)
                linked = self._interactions(services, customer_ids, progress)
                marker.write_text(
                    json.dumps(
                        {
                            "sizes": [*wanted[:3], list(self.knowledge)],
                            "real_chunks": real_chunks,
                            "customers": customer_ids,
                            "linked": linked,
                        }
                    )
                )
            questions = self._questions()
            progress(f"timing {len(questions)} questions (after {self.warmup})")
            bare, ours, steps = self._time(services, questions, linked)
            counts = {
                "knowledge_chunks": services.store.count(Collection.KNOWLEDGE),
                "real_knowledge_chunks": real_chunks,
                "customers": len(customer_ids),
                "linked_interactions": len(linked),
            }
        return {
            "eval": "context-latency",
            "dataset": "abcd+dstc11-track5+evi-identity+tweetsumm",
            "data": str(self.data),
            "n": len(bare.wall),
            "systems": {
                "cx-context": {
                    **_latency(ours.wall),
                    "ratio_to_baseline": _ratio(ours.wall, bare.wall),
                    **_cpu(ours, bare),
                },
                "bare-vector-query": {
                    **_latency(bare.wall),
                    "ratio_to_baseline": 1.0,
                    **_cpu(bare, bare),
                },
            },
            # Wall time of each step of `assemble()` (the bundle's own timings):
            # the question's redaction and screen, the record (with the vector
            # queries running beside it), retrieval, and the budget.
            "steps": {name: _latency(values) for name, values in steps.items()},
            "settings": {
                "k": self.k,
                "purpose": AssemblyPurpose.AGENT_ASSIST.value,
                "warmup": self.warmup,
                "pad_noise": PAD_NOISE,
                **counts,
            },
            "runtime_s": round(time.perf_counter() - started, 1),
        }

    # Building the estate ---------------------------------------------------

    def _knowledge(self, services: Services, progress: Progress) -> int:
        written = 0
        for path in (self.data / relative for relative in self.knowledge):
            items = list(read_knowledge(path))
            progress(f"ingesting {len(items)} knowledge documents from {path.name}")
            report = services.ingestor.ingest_documents(items, path.name)
            written += report.chunks_written
        return written

    def _pad(self, services: Services, progress: Progress) -> None:
        store = services.store
        real = store.all(Collection.KNOWLEDGE)
        missing = self.chunks - len(real)
        if missing <= 0:
            return
        progress(f"padding the knowledge collection with {missing} perturbed copies")
        vectors = services.embedder.embed([hit.text for hit in real])
        rng = np.random.default_rng(PAD_SEED)
        batch = 5_000
        for start in range(0, missing, batch):
            size = min(batch, missing - start)
            picks = rng.integers(0, len(real), size)
            noisy = vectors[picks] + rng.normal(0, PAD_NOISE, (size, vectors.shape[1]))
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            copies = []
            for offset, pick in enumerate(picks):
                hit = real[int(pick)]
                copy = start + offset
                metadata = {
                    **hit.metadata,
                    "document_id": f"{hit.metadata.get('document_id')}~{copy}",
                    "record_id": f"{hit.metadata.get('record_id')}~{copy}",
                    "synthetic": True,
                }
                copies.append(Chunk(f"{hit.chunk_id}~{copy}", hit.text, metadata))
            store.upsert(Collection.KNOWLEDGE, copies, noisy.astype(np.float32))
            progress(f"  {start + size} of {missing} copies stored")

    def _customers(self, services: Services, progress: Progress) -> list[str]:
        records = list(self._evi_customers())
        progress(f"storing {len(records)} customers")
        stored: list[str] = []
        batch = 1_000
        for start in range(0, len(records), batch):
            report = services.customers.upsert_many(records[start : start + batch])
            stored += report.stored
            progress(f"  {len(stored)} of {len(records)} customers stored")
        return stored

    def _evi_customers(self) -> Iterator[CustomerIn]:
        rng = random.Random(PAD_SEED)  # noqa: S311 (test data, not secrets)
        now = datetime.now(UTC)
        path = self.data / "evi-identity" / "records.en.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            for index, row in enumerate(csv.DictReader(handle)):
                if index >= self.customers:
                    return
                consents = []
                if index % 10 == 9:
                    consents.append(
                        {
                            "purpose": "ai_assistance",
                            "status": "withdrawn",
                            "decided_at": now - timedelta(days=rng.randint(1, 300)),
                        }
                    )
                yield CustomerIn.model_validate(
                    {
                        "id": f"evi-{row['scenario_id']}",
                        "source_system": "evi",
                        "name": row["name"],
                        "postcode": row["postcode"],
                        "date_of_birth": date.fromisoformat(row["dob"]),
                        "identifiers": [{"kind": "email", "value": row["email"]}],
                        "cases": [
                            {
                                "id": f"evi-case-{index}",
                                "status": "open",
                                "intent": rng.choice(INTENTS),
                                "owning_channel": "voice",
                                "opened_at": now - timedelta(days=rng.randint(1, 60)),
                            }
                        ],
                        "consents": consents,
                    }
                )

    def _interactions(
        self, services: Services, customers: list[str], progress: Progress
    ) -> list[tuple[str, str]]:
        path = self.data / "tweetsumm" / "tweetsumm_dev600.jsonl"
        items = list(read_interactions(path))[: self.interactions]
        progress(f"ingesting {len(items)} support chats from {path.name}")
        services.ingestor.ingest_interactions(items, path.name)
        linked = []
        for parsed, customer in zip(items, customers, strict=False):
            if parsed.record is None:
                continue
            services.customers.link_interaction(
                parsed.record.id, customer, 1.0, "benchmark"
            )
            linked.append((customer, parsed.record.id))
        return linked

    def _questions(self) -> list[str]:
        folder = self.data / "dstc11-track5"
        logs = json.loads((folder / "val_logs.json").read_text(encoding="utf-8"))
        labels = json.loads((folder / "val_labels.json").read_text(encoding="utf-8"))
        wanted = self.questions + self.warmup
        questions = [
            log[-1]["text"]
            for log, label in zip(logs, labels, strict=True)
            if label.get("target") and log and log[-1]["speaker"] == "U"
        ]
        return questions[:wanted]

    # Timing ----------------------------------------------------------------

    def _time(
        self,
        services: Services,
        questions: list[str],
        linked: list[tuple[str, str]],
    ) -> tuple["_Timings", "_Timings", dict[str, list[float]]]:
        """Wall and CPU time of the bare query and of `assemble()`, per question.

        CPU time is the process's, over all its threads (the vector queries
        run in threads of their own), so it counts the work each path does
        whatever else the machine is doing.
        """
        bare, ours = _Timings(), _Timings()
        steps: dict[str, list[float]] = {}
        store, embedder, assembler = (
            services.store,
            services.embedder,
            services.assembler,
        )
        for index, question in enumerate(questions):
            customer, interaction = linked[index % len(linked)]

            t0, c0 = time.perf_counter(), time.process_time()
            vector = embedder.embed([question])[0]
            store.query(Collection.KNOWLEDGE, vector, self.k)
            t1, c1 = time.perf_counter(), time.process_time()
            bundle = assembler.assemble(
                customer,
                AssemblyPurpose.AGENT_ASSIST,
                question=question,
                interaction_id=interaction,
            )
            t2, c2 = time.perf_counter(), time.process_time()

            if index >= self.warmup:
                bare.add(t1 - t0, c1 - c0)
                ours.add(t2 - t1, c2 - c1)
                for name, elapsed in bundle.timings_ms.items():
                    steps.setdefault(name, []).append(elapsed)
        return bare, ours, steps


@dataclass
class _Timings:
    """Milliseconds per question: wall-clock and process CPU time."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, wall_s: float, cpu_s: float) -> None:
        self.wall.append(wall_s * 1000)
        self.cpu.append(cpu_s * 1000)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _latency(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values), 2) if values else 0.0,
        "p95_ms": round(_percentile(values, 0.95), 2),
        "p99_ms": round(_percentile(values, 0.99), 2),
    }


def _cpu(ours: _Timings, bare: _Timings) -> dict[str, float | None]:
    """Median CPU time, and its ratio to the bare query's."""
    base = statistics.median(bare.cpu) if bare.cpu else 0.0
    median = statistics.median(ours.cpu) if ours.cpu else 0.0
    return {
        "cpu_p50_ms": round(median, 2),
        "cpu_ratio_to_baseline": round(median / base, 3) if base else None,
    }


def _ratio(ours: list[float], bare: list[float]) -> float | None:
    """p95 of ours over p95 of the bare query: the figure the target is set on."""
    base = _percentile(bare, 0.95)
    return round(_percentile(ours, 0.95) / base, 3) if base else None
