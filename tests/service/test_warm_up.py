"""Services.warm_up runs every model path a request takes, and writes nothing."""

from conftest import DIALOGUES, GUIDELINES
from cx_context.knowledge.adapters import read_interactions, read_knowledge
from cx_context.knowledge.vectorstore import Collection
from cx_context.service.wiring import Services


def stored(services: Services) -> tuple[int, int, int, int]:
    return (
        len(services.question_log.between()),
        len(services.risk_log.list(limit=10_000)),
        services.store.count(Collection.KNOWLEDGE),
        services.store.count(Collection.INTERACTIONS),
    )


def test_warm_up_works_on_an_empty_store(services: Services) -> None:
    services.warm_up()
    assert stored(services) == (0, 0, 0, 0)


def test_warm_up_over_a_loaded_store_writes_nothing(services: Services) -> None:
    services.ingestor.ingest_documents(list(read_knowledge(GUIDELINES))[:3])
    services.ingestor.ingest_interactions(list(read_interactions(DIALOGUES))[:1])
    before = stored(services)
    assert before[2] > 0
    assert before[3] > 0

    services.warm_up()

    assert stored(services) == before
