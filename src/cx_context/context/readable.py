"""Whether an interaction holds anything an extractive summary can quote.

Summaries, wrap-ups, handoffs and drafts quote what customers and staff said.
An interaction with no turns, with only system events, or in a language the
summarizer's cue words do not cover gets a clearly marked empty result with
this reason, never an invented one.
"""

import re

from cx_context.knowledge.catalog import StoredInteraction

# Common English function words; ordinary English prose is about a third of them.
_ENGLISH = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "from",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "this",
        "that",
        "i",
        "you",
        "we",
        "my",
        "your",
        "our",
        "me",
        "us",
        "he",
        "she",
        "they",
        "them",
        "his",
        "her",
        "not",
        "no",
        "have",
        "has",
        "had",
        "do",
        "does",
        "did",
        "can",
        "could",
        "will",
        "would",
        "should",
        "please",
        "thanks",
        "thank",
        "hi",
        "hello",
        "yes",
        "ok",
        "okay",
        "if",
        "so",
        "just",
        "what",
        "when",
        "how",
        "why",
        "which",
        "there",
        "here",
        "get",
        "got",
        "am",
        "im",
        "i'm",
        "it's",
        "don't",
        "can't",
    ]
)
_WORD = re.compile(r"[a-z']+")
# Below this share of English function words a text is taken as another language.
ENGLISH_SHARE = 0.12
_MIN_WORDS = 6


def english_share(texts: list[str]) -> float | None:
    """The share of English function words, or None when there are too few words."""
    words = [w for text in texts for w in _WORD.findall(text.casefold())]
    if len(words) < _MIN_WORDS:
        return None
    return sum(w in _ENGLISH for w in words) / len(words)


def why_unreadable(interaction: StoredInteraction) -> str | None:
    """Why nothing can be summarized from this interaction, or None when it can."""
    if not interaction.turns:
        return "the interaction has no turns"
    said = [t.text for t in interaction.turns if t.speaker != "system"]
    if not said:
        return (
            f"the interaction has only system turns ({len(interaction.turns)}): "
            "nothing a customer, agent or bot said"
        )
    share = english_share(said)
    if share is not None and share < ENGLISH_SHARE:
        return (
            "the turns do not read as English (English function words are "
            f"{share:.0%} of the words, under {ENGLISH_SHARE:.0%}); the extractive "
            "summarizer only reads English"
        )
    return None
