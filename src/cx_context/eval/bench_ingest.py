"""Ingest throughput beside the throughput of embedding alone, on the same chunks.

Both figures come from one run on one machine: first the full pipeline
(read, validate, redact, chunk, embed, store) into an empty data directory,
then the embedding model alone over exactly the chunk texts that the
pipeline wrote. Model loading is excluded from both.
"""

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cx_context.knowledge.adapters import read_interactions, read_knowledge
from cx_context.knowledge.vectorstore import Collection
from cx_context.service.settings import Settings
from cx_context.service.wiring import Services

logger = logging.getLogger(__name__)

DEFAULT_KNOWLEDGE = [Path("samples/abcd/guidelines.json")]
DEFAULT_INTERACTIONS = [Path("samples/abcd/dialogues.json")]


@dataclass(frozen=True)
class IngestBenchmark:
    knowledge: list[Path]
    interactions: list[Path]
    repeats: int = 3

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="cx-bench-") as tmp:
            services = Services(Settings(data_dir=Path(tmp)))
            services.warm_up()

            t0 = time.perf_counter()
            chunks = 0
            records = 0
            for path in self.knowledge:
                report = services.ingestor.ingest_documents(
                    list(read_knowledge(path)), path.name
                )
                chunks += report.chunks_written
                records += len(report.records)
            for path in self.interactions:
                report = services.ingestor.ingest_interactions(
                    list(read_interactions(path)), path.name
                )
                chunks += report.chunks_written
                records += len(report.records)
            ingest_s = time.perf_counter() - t0

            texts = [
                hit.text for kind in Collection for hit in services.store.all(kind)
            ]
            # The best of a few runs: the embedder is the floor the pipeline
            # cannot beat, so give it every chance.
            embed_s = min(
                self._time_embedding(services, texts) for _ in range(self.repeats)
            )

        ingest_rate = chunks / ingest_s if ingest_s else 0.0
        embed_rate = len(texts) / embed_s if embed_s else 0.0
        return {
            "eval": "ingest",
            "dataset": "+".join(p.name for p in [*self.knowledge, *self.interactions]),
            "data": [str(p) for p in [*self.knowledge, *self.interactions]],
            "n": chunks,
            "systems": {
                "cx-context": {
                    "chunks_per_s": round(ingest_rate, 1),
                    "records_per_s": round(records / ingest_s, 2) if ingest_s else 0.0,
                    "seconds": round(ingest_s, 2),
                    "ratio_to_baseline": round(ingest_rate / embed_rate, 3)
                    if embed_rate
                    else None,
                },
                "embedding-only": {
                    "chunks_per_s": round(embed_rate, 1),
                    "seconds": round(embed_s, 2),
                    "ratio_to_baseline": 1.0,
                },
            },
            "settings": {
                "embedding_batch_size": services.settings.embedding_batch_size,
                "ingest_batch_size": services.settings.ingest_batch_size,
                "embedding_repeats": self.repeats,
            },
            "runtime_s": round(time.perf_counter() - started, 1),
        }

    @staticmethod
    def _time_embedding(services: Services, texts: list[str]) -> float:
        t0 = time.perf_counter()
        services.embedder.embed(texts)
        return time.perf_counter() - t0
