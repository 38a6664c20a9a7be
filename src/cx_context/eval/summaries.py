"""Summary quality: ROUGE on TweetSumm beside Lead and LexRank, and cited-turn support.

Every system reads the same text: the chat's turns redacted as ingestion
redacts them (CONVERSATION_POLICY, one pseudonym scope per chat) and stripped
of channel noise (handles, links, staff initials). Each summary is two lines
with their speakers, "Customer: ... Agent: ...", as TweetSumm's human
summaries name the customer's issue and the agent's response:

- cx-context: the brief of our extractive summarizer (the customer's need,
  the staff's main response);
- lead: the opening customer sentence and the opening agent sentence;
- lexrank: the two most central sentences by LexRank (sumy), in order.

ROUGE-1, ROUGE-2 and ROUGE-L F1 come from the `rouge-score` package (Porter
stemming), against the best reference and as the mean over references. The
brief's weights were chosen on the chats whose conversation id hashes to 0
mod 3 (the tuning third); the figures reported are of the other two thirds.

On ABCD dialogues, every line of our full summary is put to the output
guardrail's support test against the turn it cites; as a control, the same
lines are tested against the turn after the one they cite, which should
mostly fail if the test tells a cited fact from a nearby one.
"""

import hashlib
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rouge_score import rouge_scorer
from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
from sumy.nlp.stemmers import Stemmer
from sumy.summarizers.lex_rank import LexRankSummarizer
from sumy.utils import get_stop_words

from cx_context.context.summaries import summarize_interaction
from cx_context.context.text import sentences, without_channel_noise
from cx_context.guardrails.output_checks import OutputChecker, SourcePassage
from cx_context.guardrails.pii import CONVERSATION_POLICY, PiiRedactor
from cx_context.guardrails.pseudonyms import PseudonymMap
from cx_context.knowledge.adapters.abcd import read_dialogues
from cx_context.knowledge.catalog import StoredInteraction, StoredTurn

DEFAULT_DATA = Path("../shared/data/tweetsumm/tweetsumm_dev600.jsonl")
DEFAULT_ABCD = Path("../shared/data/abcd/abcd_dialogstudio_5examples.json")
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")

Progress = Callable[[str, int, int], None]


class SummaryDataError(ValueError):
    """A file that is not in the TweetSumm layout; names the line and the field."""


@dataclass(frozen=True)
class Dialogue:
    id: str
    turns: list[tuple[str, str]]  # (speaker, text)
    references: list[str]


def is_tuning(conversation_id: str) -> bool:
    """The third of the chats the brief's weights were chosen on."""
    return int(hashlib.sha256(conversation_id.encode()).hexdigest(), 16) % 3 == 0


def load_dialogues(path: Path) -> list[Dialogue]:
    """Chats with their human summaries, in the layout of tweetsumm_dev600.jsonl."""
    dialogues = []
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            dialogues.append(_dialogue(raw, f"{path.name}: line {number}"))
    if not dialogues:
        raise SummaryDataError(f"{path.name}: no dialogues in the file")
    return dialogues


def _dialogue(raw: str, where: str) -> Dialogue:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SummaryDataError(f"{where}: not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise SummaryDataError(f"{where}: expected an object")
    turns = data.get("turns")
    summaries = data.get("abstractive_summaries")
    if not isinstance(data.get("conversation_id"), str):
        raise SummaryDataError(f"{where}: conversation_id must be a string")
    if not isinstance(turns, list) or not turns:
        raise SummaryDataError(f"{where}: turns must be a non-empty list")
    if not isinstance(summaries, list) or not summaries:
        raise SummaryDataError(f"{where}: abstractive_summaries must be a list")
    parsed = []
    for index, turn in enumerate(turns):
        if not (
            isinstance(turn, dict)
            and turn.get("speaker") in {"customer", "agent"}
            and isinstance(turn.get("text"), str)
        ):
            raise SummaryDataError(
                f"{where}: turns.{index} needs speaker customer or agent and text"
            )
        parsed.append((str(turn["speaker"]), str(turn["text"])))
    references = [
        " ".join(str(s) for s in summary) if isinstance(summary, list) else str(summary)
        for summary in summaries
    ]
    return Dialogue(data["conversation_id"], parsed, references)


def redacted_interaction(
    dialogue: Dialogue, redactor: PiiRedactor
) -> StoredInteraction:
    """The chat as the catalog would hold it after ingestion: redacted turns."""
    texts = [text if text.strip() else "." for _, text in dialogue.turns]
    redacted = redactor.redact_many(texts, CONVERSATION_POLICY, PseudonymMap())
    return StoredInteraction(
        id=dialogue.id,
        channel="social",
        source_system="twitter",
        started_at=None,
        ended_at=None,
        intent=None,
        outcome=None,
        turns=[
            StoredTurn(number, speaker, r.text)
            for number, ((speaker, _), r) in enumerate(
                zip(dialogue.turns, redacted, strict=True), start=1
            )
        ],
        pii_counts={},
        content_hash="",
    )


# The systems ---------------------------------------------------------------


def _labelled(pairs: Sequence[tuple[str, str]]) -> str:
    return " ".join(f"{speaker.capitalize()}: {text}" for speaker, text in pairs)


def _cleaned(interaction: StoredInteraction) -> list[tuple[str, str]]:
    """Each sentence with its speaker, after the channel noise is gone."""
    return [
        (turn.speaker, sentence)
        for turn in interaction.turns
        for sentence in sentences(without_channel_noise(turn.text))
    ]


def ours(interaction: StoredInteraction) -> str:
    summary = summarize_interaction(interaction)
    return _labelled([(line.speaker, line.text) for line in summary.brief])


def lead(interaction: StoredInteraction) -> str:
    said = _cleaned(interaction)
    picked = [
        next((pair for pair in said if pair[0] == speaker), None)
        for speaker in ("customer", "agent")
    ]
    return _labelled([pair for pair in picked if pair is not None])


class _Words:
    """Tokenizer for sumy that needs no NLTK data download."""

    language = "english"

    @staticmethod
    def to_words(text: str) -> list[str]:
        return re.findall(r"[\w']+", text)

    @staticmethod
    def to_sentences(text: str) -> list[str]:
        return [text]


class LexRank:
    """LexRank (Erkan and Radev 2004) from sumy: the most central sentences."""

    def __init__(self, count: int = 2) -> None:
        self._count = count
        self._summarizer = LexRankSummarizer(Stemmer("english"))
        self._summarizer.stop_words = get_stop_words("english")
        self._tokenizer = _Words()

    def __call__(self, interaction: StoredInteraction) -> str:
        said = _cleaned(interaction)
        if not said:
            return ""
        document = ObjectDocumentModel(
            [Paragraph([Sentence(text, self._tokenizer) for _, text in said])]
        )
        chosen = {str(s) for s in self._summarizer(document, self._count)}
        return _labelled([pair for pair in said if pair[1] in chosen][: self._count])


# Scoring -------------------------------------------------------------------


def score(
    predictions: Sequence[str], references: Sequence[list[str]]
) -> dict[str, Any]:
    """Mean ROUGE F1: best reference per chat, and ROUGE-L mean over references."""
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    totals = dict.fromkeys([*ROUGE_TYPES, "rougeL_mean"], 0.0)
    for prediction, refs in zip(predictions, references, strict=True):
        scores = [scorer.score(ref, prediction) for ref in refs]
        for kind in ROUGE_TYPES:
            totals[kind] += max(s[kind].fmeasure for s in scores)
        totals["rougeL_mean"] += sum(s["rougeL"].fmeasure for s in scores) / len(scores)
    n = max(len(predictions), 1)
    return {name: round(total / n, 4) for name, total in totals.items()}


def run_rouge(
    path: Path, redactor: PiiRedactor, progress: Progress | None = None
) -> dict[str, Any]:
    started = time.perf_counter()
    dialogues = load_dialogues(path)
    reported = [d for d in dialogues if not is_tuning(d.id)]
    interactions = []
    for done, dialogue in enumerate(reported, start=1):
        interactions.append(redacted_interaction(dialogue, redactor))
        if progress:
            progress("redacting", done, len(reported))
    systems: dict[str, Callable[[StoredInteraction], str]] = {
        "cx-context": ours,
        "lead": lead,
        "lexrank": LexRank(2),
    }
    references = [d.references for d in reported]
    results = {}
    for name, system in systems.items():
        predictions = []
        for done, interaction in enumerate(interactions, start=1):
            predictions.append(system(interaction))
            if progress:
                progress(name, done, len(interactions))
        results[name] = score(predictions, references)
    return {
        "eval": "summaries",
        "dataset": "tweetsumm",
        "data": str(path),
        "n": len(reported),
        "systems": results,
        "settings": {
            "split": "reported: chats whose sha256(conversation_id) mod 3 is not 0; "
            f"the {len(dialogues) - len(reported)} others tuned the brief",
            "n_tuning": len(dialogues) - len(reported),
            "summary_lines": 2,
            "rouge": "rouge-score, use_stemmer=True, F1",
            "input": "redacted turns without handles, links and staff initials",
        },
        "runtime_s": round(time.perf_counter() - started, 1),
    }


def run_support(
    path: Path, redactor: PiiRedactor, checker: OutputChecker
) -> dict[str, Any]:
    """Share of summary lines the support test finds in the turn they cite."""
    tested = {"cx-context": [0, 0], "control: next turn cited": [0, 0]}
    dialogues = 0
    for parsed in read_dialogues(path):
        if parsed.record is None:
            raise SummaryDataError(
                f"{path.name}: {parsed.unit} {parsed.position}: {parsed.problem}"
            )
        record = parsed.record
        dialogues += 1
        redacted = redactor.redact_many(
            [turn.text for turn in record.turns], CONVERSATION_POLICY, PseudonymMap()
        )
        turns = [
            StoredTurn(n, turn.speaker.value, r.text)
            for n, (turn, r) in enumerate(zip(record.turns, redacted, strict=True), 1)
        ]
        interaction = StoredInteraction(
            record.id, "chat", "abcd", None, None, record.intent, None, turns, {}, ""
        )
        by_number = {turn.number: turn.text for turn in turns}
        for line in summarize_interaction(interaction).lines:
            if not line.turns:
                continue
            cited = line.turns[0]
            for name, number in (
                ("cx-context", cited),
                ("control: next turn cited", cited + 1),
            ):
                if number not in by_number:
                    continue
                check = checker.check(
                    f"{line.text} [1]", [SourcePassage(1, by_number[number])]
                )
                tested[name][0] += all(s.supported for s in check.sentences)
                tested[name][1] += 1
    return {
        "eval": "summary-support",
        "dataset": "abcd",
        "data": str(path),
        "n": tested["cx-context"][1],
        "systems": {
            name: {
                "supported_share": round(ok / total, 4) if total else None,
                "lines": total,
            }
            for name, (ok, total) in tested.items()
        },
        "settings": {"dialogues": dialogues, "test": "OutputChecker sentence support"},
    }
