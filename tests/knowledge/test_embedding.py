"""The embedder: unit vectors, and one core for a query of a few texts."""

from typing import Any

import numpy as np
import pytest
import torch

from cx_context.knowledge import embedding
from cx_context.knowledge.embedding import Embedder


def test_vectors_are_unit_length_and_alike_for_alike_texts(embedder: Embedder) -> None:
    vectors = embedder.embed(
        ["How do I get a refund?", "I want my money back", "The hotel has parking"]
    )
    assert vectors.shape == (3, embedder.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_a_few_texts_run_on_one_thread_and_the_count_comes_back(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    if torch.get_num_threads() < 2:
        pytest.skip("this machine gives PyTorch one thread already")
    seen: list[int] = []
    encode = embedder._model.encode

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(torch.get_num_threads())
        return encode(*args, **kwargs)

    monkeypatch.setattr(embedder._model, "encode", spy)
    before = torch.get_num_threads()
    embedder.embed(["one question"])
    embedder.embed([f"text {i}" for i in range(embedding._FEW + 1)])
    assert seen == [1, before]
    assert torch.get_num_threads() == before
