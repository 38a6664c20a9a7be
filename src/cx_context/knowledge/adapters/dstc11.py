"""DSTC11 track 5 knowledge: FAQs (and optionally review sentences) per entity."""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cx_context.knowledge.adapters.base import Parsed, load_json, reject, validate
from cx_context.knowledge.errors import SourceError
from cx_context.knowledge.records import KnowledgeDocument


def looks_like_dstc11(data: Any) -> bool:
    if not isinstance(data, Mapping) or not data:
        return False
    for entities in data.values():
        if not isinstance(entities, Mapping):
            return False
        for entity in entities.values():
            return isinstance(entity, Mapping) and "faqs" in entity
    return False


def read_knowledge(
    path: Path, include_reviews: bool = False
) -> Iterator[Parsed[KnowledgeDocument]]:
    data = load_json(path)
    if not looks_like_dstc11(data):
        raise SourceError(
            f"{path}: not a DSTC11 knowledge file "
            '(expected {"domain": {"entity_id": {"name": ..., "faqs": {...}}}})'
        )
    position = 0
    for domain, entities in data.items():
        for entity_id, entity in entities.items():
            position += 1
            doc_id = f"dstc11-{domain}-{entity_id}"
            if not isinstance(entity, Mapping):
                yield reject(path.name, position, "entity is not a JSON object", doc_id)
                continue
            sections = [
                {
                    "heading": str(faq.get("question", "")),
                    "text": str(faq.get("answer", "")),
                }
                for faq in (entity.get("faqs") or {}).values()
                if isinstance(faq, Mapping)
            ]
            if include_reviews:
                for review_id, review in (entity.get("reviews") or {}).items():
                    sentences = (review or {}).get("sentences") or {}
                    text = " ".join(str(s) for s in sentences.values())
                    if text:
                        sections.append(
                            {"heading": f"Review {review_id}", "text": text}
                        )
            document = {
                "id": doc_id,
                "title": str(entity.get("name", doc_id)),
                "body": sections,
                "source": "dstc11-track5",
                "audience": "customer",
                "tags": [domain],
            }
            yield validate(KnowledgeDocument, document, path.name, position)
