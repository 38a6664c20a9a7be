"""The entities the knowledge base knows (products, places, plans) and their mentions.

Every knowledge document is about something, named by its title: a hotel, a
broadband plan, a refund procedure. `EntityIndex` finds those names in free
text, written as people write them: in any case, without "the", with "guest
house" as one word or two, or shortened to the distinctive part ("the Acorn"
for "Acorn Guest House"). A shortened name counts only when it is long
enough and names one entity alone.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

_WORD = re.compile(r"[a-z0-9]+")

# Words that say what kind of thing an entity is, not which one: a name
# shortened to its other words still names it ("the Acorn").
_GENERIC = frozenset(
    {
        "the",
        "a",
        "and",
        "of",
        "hotel",
        "hotels",
        "guest",
        "house",
        "guesthouse",
        "lodge",
        "bed",
        "breakfast",
        "b",
        "restaurant",
        "bar",
        "cafe",
        "grill",
        "bistro",
        "kitchen",
        "centre",
        "center",
        "city",
        "plan",
        "policy",
        "procedure",
        "service",
        "services",
    }
)
# Everyday words that are also (part of) entity names; alone they name nothing.
_COMMON = frozenset(
    {
        "ask",
        "one",
        "place",
        "good",
        "golden",
        "royal",
        "standard",
        "north",
        "south",
        "east",
        "west",
        "river",
        "station",
        "home",
        "express",
        "gardens",
        "garden",
        "green",
        "house",
        "rice",
        "j",
        "eraina",
        "cotto",
        "new",
        "old",
        "street",
        "park",
        "bridge",
        "lucky",
        "star",
    }
)
_SPELLINGS = (("guest house", "guesthouse"), ("b and b", "bed and breakfast"))
_MIN_SHORT_NAME = 4


def normalize(text: str) -> str:
    """Lower case, words only, one way of writing "guest house" and "b and b"."""
    words = " ".join(_WORD.findall(text.lower().replace("&", " and ")))
    for variant, canonical in _SPELLINGS:
        words = re.sub(rf"\b{variant}\b", canonical, words)
    return words


@dataclass(frozen=True)
class Entity:
    name: str
    document_ids: tuple[str, ...]


@dataclass(frozen=True)
class Mention:
    entity: Entity
    start: int  # character offsets in the normalized text
    end: int
    exact: bool  # the whole name, not its distinctive part alone


class EntityIndex:
    """Known entity names, each with the documents about it."""

    def __init__(self, names: Iterable[tuple[str, str]]) -> None:
        """`names` are (entity name, document id) pairs; one name may have many."""
        documents: dict[str, list[str]] = {}
        display: dict[str, str] = {}
        for name, document_id in names:
            key = normalize(name)
            if not key:
                continue
            display.setdefault(key, name)
            if document_id not in documents.setdefault(key, []):
                documents[key].append(document_id)
        self.entities = {
            key: Entity(display[key], tuple(ids)) for key, ids in documents.items()
        }
        aliases: dict[str, set[str]] = {}
        for key in self.entities:
            aliases.setdefault(key, set()).add(key)
            stripped = key.removeprefix("the ")
            aliases.setdefault(stripped, set()).add(key)
            short = " ".join(w for w in key.split() if w not in _GENERIC)
            if len(short) >= _MIN_SHORT_NAME and short not in _COMMON:
                aliases.setdefault(short, set()).add(key)
        # An alias two entities share names neither; a full name always wins.
        self._aliases: dict[str, tuple[str, bool]] = {}
        for alias, keys in aliases.items():
            full = alias if alias in self.entities else None
            full = full or next(
                (k for k in keys if alias == k.removeprefix("the ")), None
            )
            if full is not None:
                self._aliases[alias] = (full, True)
            elif len(keys) == 1:
                self._aliases[alias] = (next(iter(keys)), False)
        ordered = sorted(self._aliases, key=len, reverse=True)
        self._pattern = (
            re.compile(r"\b(?:" + "|".join(map(re.escape, ordered)) + r")\b")
            if ordered
            else None
        )

    def __len__(self) -> int:
        return len(self.entities)

    def mentions(self, text: str) -> list[Mention]:
        """The entities named in `text`, in reading order; longest names first."""
        if self._pattern is None:
            return []
        found = []
        for match in self._pattern.finditer(normalize(text)):
            key, exact = self._aliases[match.group(0)]
            found.append(Mention(self.entities[key], match.start(), match.end(), exact))
        return found
