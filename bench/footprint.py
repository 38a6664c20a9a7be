"""Resident memory of the API process after start-up and after 1,000 mixed requests.

Starts `cx-context serve` on a free loopback port over a fresh data directory
holding the bundled ABCD sample, reads the process's VmRSS from /proc, sends
the requests (answers, contexts, summaries, timelines, identity, readiness)
and reads it again. Prints one JSON object; progress goes to stderr.

    .venv/bin/python bench/footprint.py [--requests 1000]

Linux only (it reads /proc). Targets: under 1.5 GB resident, growth under 5%.
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


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


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


def prepare() -> tuple[dict[str, str], str]:
    """A fresh data directory with the ABCD sample; its environment and a key."""
    work = Path(tempfile.mkdtemp(prefix="cx-footprint-"))
    key_file = work / "vault.key"
    env = {
        **os.environ,
        "CX_DATA_DIR": str(work / "data"),
        "CX_VAULT_KEY_FILE": str(key_file),
        "CX_RATE_LIMIT": "",
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
    key = subprocess.run(  # noqa: S603 (our own console script)
        [CLI, "keys", "create", "--role", "admin", "--quiet"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()

    return env, key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()

    env, key = prepare()

    port = free_port()
    server = subprocess.Popen(  # noqa: S603 (our own console script)
        [CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as client:
            for _ in range(600):
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            else:
                raise RuntimeError("the server did not become ready in 120 s")
            started = rss_mb(server.pid)
            errors = 0
            begun = time.perf_counter()
            for i, (method, path, body) in enumerate(requests_mix(args.requests), 1):
                response = client.request(method, path, json=body)
                errors += response.status_code >= 400
                if i % 100 == 0:
                    print(
                        f"{i} requests, rss {rss_mb(server.pid):.0f} MB",
                        file=sys.stderr,
                    )
            seconds = time.perf_counter() - begun
            after = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        json.dumps(
            {
                "eval": "footprint",
                "n": args.requests,
                "rss_after_start_mb": round(started, 1),
                "rss_after_requests_mb": round(after, 1),
                "growth": round(after / started - 1, 4),
                "errors": errors,
                "requests_per_s": round(args.requests / seconds, 1),
                "targets": {"rss_mb_below": 1536, "growth_below": 0.05},
            }
        )
    )


if __name__ == "__main__":
    main()
