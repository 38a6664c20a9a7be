"""Resident memory of the API process after start-up and after 1,000 mixed requests.

Starts `cx-context serve` on a free loopback port over a fresh data directory
holding the bundled ABCD sample (the service sets up its allocator itself: see
cx_context/service/memory.py) and reads the process's VmRSS from /proc once
the service reports ready: "after start-up" is the first 200 from `/readyz`,
by which time `serve` has loaded the models and run
`Services.warm_up` (a redaction, embeddings of a query and of a batch, an
injection screen, the BM25 index and a query of each vector collection), so
that reading includes what a process pays once. It then sends --requests
mixed requests (answers, contexts, summaries, timelines, identity), one at a
time, and reads VmRSS again. With --rounds 3 it sends three such rounds and
reads after each: growth in the first round only is a one-time cost, growth
in every round a leak.

Prints one JSON object (progress on stderr): both readings, the growth
between them (the first round's), whether each target is met, and the
reading after every round.

    nice .venv/bin/python bench/footprint.py [--requests 1000] [--rounds 1]

Linux only (it reads /proc). Targets: under 1.5 GB resident after the
requests, and growth under 5% between the two readings.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "abcd"
CLI = str(Path(sys.executable).with_name("cx-context"))


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS and its parts: RssAnon (heap, stacks) and RssFile (mapped files)."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            found[name] = int(value.split()[0]) / 1024
    if "VmRSS" not in found:
        raise RuntimeError(f"no VmRSS for process {pid}")
    return found


def rss_mb(pid: int) -> float:
    return memory_mb(pid)["VmRSS"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cx(env: dict[str, str], *args: str) -> None:
    subprocess.run(  # noqa: S603 (our own console script)
        [CLI, *args], env=env, check=True, stdout=subprocess.DEVNULL
    )


def requests_mix(n: int) -> list[tuple[str, str, dict[str, object] | None]]:
    questions = [
        "how do I get a refund for an item I returned?",
        "can I change my shipping address after ordering?",
        "what will the weather be like in Paris tomorrow?",
        "my promo code does not work",
    ]
    mix: list[tuple[str, str, dict[str, object] | None]] = []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            mix.append(("POST", "/v1/answers", {"question": questions[i % 4]}))
        elif kind == 1:
            mix.append(
                (
                    "POST",
                    "/v1/context",
                    {"customer_id": "abcd-customer-3592", "question": questions[i % 4]},
                )
            )
        elif kind == 2:
            mix.append(("GET", "/v1/interactions/abcd-3592/summary", None))
        elif kind == 3:
            mix.append(("GET", "/v1/customers/abcd-customer-3592/timeline", None))
        else:
            mix.append(("POST", "/v1/identity/resolve", {"name": "crystal minh"}))
    return mix


def prepare(rate_limit: str = "") -> dict[str, str]:
    """A fresh data directory with the ABCD sample, and the service's environment.

    `rate_limit` is the server's CX_RATE_LIMIT ('' for none: one client
    sending requests back to back is not what the limiter is for).
    """
    work = Path(tempfile.mkdtemp(prefix="cx-footprint-"))
    key_file = work / "vault.key"
    env = {
        **os.environ,
        "CX_DATA_DIR": str(work / "data"),
        "CX_VAULT_KEY_FILE": str(key_file),
        "CX_RATE_LIMIT": rate_limit,
    }
    print("loading the ABCD sample ...", file=sys.stderr)
    cx(env, "vault", "new-key", "--out", str(key_file))
    cx(env, "ingest", "knowledge", str(SAMPLES / "guidelines.json"))
    cx(env, "customers", "import", str(SAMPLES / "dialogues.json"), "--format", "abcd")
    cx(
        env,
        "ingest",
        "interactions",
        str(SAMPLES / "dialogues.json"),
        "--format",
        "abcd",
    )
    return env


def create_key(env: dict[str, str], role: str) -> str:
    """A new API key of this role in the environment's store."""
    return subprocess.run(  # noqa: S603 (our own console script)
        [CLI, "keys", "create", "--role", role, "--quiet"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def wait_ready(base: str, seconds: float = 300) -> None:
    """Return once the service at `base` answers /readyz with 200."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not become ready in {seconds:.0f} s")


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """`cx-context serve` on a free loopback port, and its base URL."""
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 (our own console script)
        [CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return server, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument(
        "--rounds", type=int, default=1, help="rounds of --requests, read after each"
    )
    args = parser.parse_args()

    env = prepare()
    key = create_key(env, "admin")

    server, base = start_server(env)
    rounds: list[float] = []
    parts: list[dict[str, float]] = []
    errors = 0
    try:
        wait_ready(base)
        start = memory_mb(server.pid)
        started = start["VmRSS"]
        print(f"ready, rss {started:.0f} MB", file=sys.stderr)
        begun = time.perf_counter()
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as client:
            for round_number in range(args.rounds):
                mix = requests_mix(args.requests)
                for i, (method, path, body) in enumerate(mix, 1):
                    response = client.request(method, path, json=body)
                    errors += response.status_code >= 400
                    if i % 100 == 0:
                        print(
                            f"round {round_number + 1}: {i} requests, "
                            f"rss {rss_mb(server.pid):.0f} MB",
                            file=sys.stderr,
                        )
                parts.append(memory_mb(server.pid))
                rounds.append(parts[-1]["VmRSS"])
        seconds = time.perf_counter() - begun
    finally:
        server.terminate()
        server.wait(timeout=30)

    after = rounds[0]
    growth = after / started - 1
    rss_limit_mb, growth_limit = 1536, 0.05
    report = {
        "eval": "footprint",
        "n": args.requests,
        "rss_after_start_mb": round(started, 1),
        "rss_after_requests_mb": round(after, 1),
        "growth": round(growth, 4),
        "rss_after_each_round_mb": [round(r, 1) for r in rounds],
        # The parts: heap and stacks (anonymous) and mapped files (libraries,
        # model weights), which the kernel may drop while they are unused and
        # read back on the next touch.
        "anon_mb": [round(start.get("RssAnon", 0), 1)]
        + [round(p.get("RssAnon", 0), 1) for p in parts],
        "file_mb": [round(start.get("RssFile", 0), 1)]
        + [round(p.get("RssFile", 0), 1) for p in parts],
        "errors": errors,
        "requests_per_s": round(args.requests * args.rounds / seconds, 1),
        "targets": {"rss_mb_below": rss_limit_mb, "growth_below": growth_limit},
        "met": {
            "rss": max(started, *rounds) < rss_limit_mb,
            "growth": growth < growth_limit,
        },
    }
    met = {name: "met" if ok else "NOT met" for name, ok in report["met"].items()}
    print(
        f"after start-up {started:.0f} MB, after {args.requests} requests "
        f"{after:.0f} MB: growth {growth:+.1%} (target < {growth_limit:.0%}: "
        f"{met['growth']}); resident < {rss_limit_mb} MB: {met['rss']}",
        file=sys.stderr,
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
