"""Crash safety: the doctor finds and repairs disagreements, and an ingest killed
with SIGKILL half-way ends, when run again, with every record stored once."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sqlalchemy import update

from cx_context.knowledge.adapters.base import validate
from cx_context.knowledge.chunking import Chunk
from cx_context.knowledge.database import InteractionRow
from cx_context.knowledge.doctor import StoreDoctor
from cx_context.knowledge.records import Interaction
from cx_context.knowledge.vectorstore import Collection
from cx_context.service.wiring import Services

CLI = Path(sys.executable).with_name("cx-context")

PROBLEMS = [
    "my parcel has not arrived",
    "I was charged twice this month",
    "the jacket I ordered is the wrong size",
    "I cannot log in to my account",
    "my refund has not come through",
]


def _interaction(n: int) -> dict[str, object]:
    problem = PROBLEMS[n % len(PROBLEMS)]
    return {
        "id": f"crash-{n:04d}",
        "channel": "chat",
        "source_system": "web-chat",
        "turns": [
            {"speaker": "customer", "text": f"Hello, {problem} (ticket {n})."},
            {"speaker": "agent", "text": f"Sorry about that; I have looked at {n}."},
            {"speaker": "customer", "text": "Thanks, please let me know."},
        ],
    }


def _doctor(services: Services) -> StoreDoctor:
    return StoreDoctor(services.sessions, services.store)


def test_the_doctor_finds_orphan_stale_and_missing_chunks_and_repairs(
    services: Services,
) -> None:
    records = [validate(Interaction, _interaction(n), "test", n) for n in range(1, 4)]
    assert services.ingestor.ingest_interactions(records).ok
    assert _doctor(services).check().consistent

    # An ingest killed after writing chunks but before their row; a chunk of an
    # old version; a record whose chunk was lost.
    vector = np.zeros((1, 384), dtype=np.float32)
    vector[0, 0] = 1.0
    orphan = Chunk("ghost#0", "text", {"record_id": "ghost", "content_hash": "h"})
    stale = Chunk(
        "crash-0001#old", "t", {"record_id": "crash-0001", "content_hash": "x"}
    )
    services.store.upsert(
        Collection.INTERACTIONS, [orphan, stale], np.vstack([vector, vector])
    )
    # Its row names two chunks, and one of them is gone.
    kept = next(
        hit
        for hit in services.store.all(Collection.INTERACTIONS)
        if hit.metadata["record_id"] == "crash-0002"
    )
    with services.sessions.begin() as session:
        session.execute(
            update(InteractionRow)
            .where(InteractionRow.id == "crash-0002")
            .values(chunk_count=2)
        )
    assert kept.metadata["content_hash"]

    found = _doctor(services).check().to_dict()["collections"]["interactions"]
    assert (found["orphan_chunks"], found["stale_chunks"]) == (1, 1)
    assert found["examples"]["incomplete_records"] == ["crash-0002"]

    repaired = _doctor(services).repair()
    assert repaired.repaired == {"chunks_deleted": 2, "records_to_reingest": 1}
    # What is left of the record to ingest again is not reported as stale.
    after = repaired.to_dict()["collections"]["interactions"]
    assert (after["orphan_chunks"], after["stale_chunks"]) == (0, 0)
    assert after["examples"]["incomplete_records"] == ["crash-0002"]
    # The record whose chunk was lost is stored again by the next ingest.
    report = services.ingestor.ingest_interactions(records)
    assert report.counts["replaced"] == 1 and report.counts["unchanged"] == 2
    assert _doctor(services).check().consistent


def _records_stored(database: Path) -> int:
    try:
        with sqlite3.connect(database, timeout=1) as connection:
            return int(
                connection.execute("SELECT count(*) FROM interactions").fetchone()[0]
            )
    except sqlite3.Error:  # not created yet, or locked for a moment
        return 0


def _cx(
    data_dir: Path, *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "CX_INGEST_BATCH_SIZE": "8"},
        check=False,
    )


def test_an_ingest_killed_half_way_resumes_to_every_record_once(tmp_path: Path) -> None:
    total = 160
    source = tmp_path / "chats.jsonl"
    source.write_text("".join(json.dumps(_interaction(n)) + "\n" for n in range(total)))
    data_dir = tmp_path / "data"
    database = data_dir / "cx-context.sqlite3"

    killed = subprocess.Popen(
        [str(CLI), "--data-dir", str(data_dir), "ingest", "interactions", str(source)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CX_INGEST_BATCH_SIZE": "8"},
    )
    deadline = time.monotonic() + 300
    while _records_stored(database) < 16 and time.monotonic() < deadline:
        assert killed.poll() is None, "the ingest ended before it could be killed"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    at_kill = _records_stored(database)
    assert 16 <= at_kill < total, at_kill

    resumed = _cx(data_dir, "ingest", "interactions", str(source), "--json")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    counts = json.loads(resumed.stdout)["counts"]
    assert counts["rejected"] == 0
    assert counts["unchanged"] >= at_kill - 8  # at most the batch being written
    assert counts["added"] + counts["unchanged"] + counts["replaced"] == total

    doctor = _cx(data_dir, "doctor", "--json")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr[-2000:]
    checked = json.loads(doctor.stdout)
    assert checked["consistent"] is True
    assert checked["collections"]["interactions"]["records"] == total
    assert _records_stored(database) == total
