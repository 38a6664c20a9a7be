"""Load: concurrent clients against /v1/context and /v1/answers on a loaded store.

Starts `cx-context serve` on a free loopback port over a fresh data directory
holding the bundled ABCD sample (as bench/footprint.py does), waits for
`/readyz`, then runs --clients concurrent clients for --seconds (bounded also
by --max-requests). Half the clients ask `/v1/answers` with a bot key, half
ask `/v1/context` for a customer with an agent key, each sending its next
request as soon as the last one is answered. Loopback only.

The server runs with CX_RATE_LIMIT=60000/minute: the per-key limiter runs on
every request, as in production, but with a limit no test of this size
reaches (each of its two keys is shared by half the clients, which a real
deployment would not do). Any 4xx or 5xx status, and any transport error
(a timeout after --timeout seconds, a refused connection), counts as an
error; requests still in flight at the deadline are waited for and counted.

Prints one JSON object on standard output (progress on standard error):
`requests_per_s`, `p50_ms` / `p95_ms` / `p99_ms`, `errors`, and the same per
path under `paths`.

    nice .venv/bin/python bench/load.py [--clients 50] [--seconds 60]
"""

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass, field

import httpx
from footprint import create_key, prepare, start_server, wait_ready

QUESTIONS = [
    "how do I get a refund for an item I returned?",
    "can I change my shipping address after ordering?",
    "my promo code does not work",
    "what will the weather be like in Paris tomorrow?",
]
CUSTOMER = "abcd-customer-3592"
RATE_LIMIT = "60000/minute"


@dataclass
class Tally:
    """Latencies and errors of one path."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def percentile(ordered: list[float], p: float) -> float | None:
    """The nearest-rank percentile of sorted values (None for none)."""
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)


def summary(tally: Tally, elapsed: float) -> dict[str, object]:
    ordered = sorted(tally.latencies)
    return {
        "n": len(ordered),
        "requests_per_s": round(len(ordered) / elapsed, 2),
        "p50_ms": percentile(ordered, 0.50),
        "p95_ms": percentile(ordered, 0.95),
        "p99_ms": percentile(ordered, 0.99),
        "mean_ms": round(statistics.fmean(ordered), 1) if ordered else None,
        "errors": len(tally.errors),
        "error_kinds": sorted(set(tally.errors))[:10],
    }


async def client_loop(
    client: httpx.AsyncClient,
    number: int,
    keys: dict[str, str],
    stop_at: float,
    budget: list[int],
    tallies: dict[str, Tally],
) -> None:
    i = number
    answers = number % 2 == 1
    while time.monotonic() < stop_at and budget[0] > 0:
        budget[0] -= 1
        question = QUESTIONS[i % len(QUESTIONS)]
        if answers:
            path, key, body = "/v1/answers", keys["bot"], {"question": question}
        else:
            path, key = "/v1/context", keys["agent"]
            body = {"customer_id": CUSTOMER, "question": question}
        tally = tallies[path]
        started = time.perf_counter()
        try:
            response = await client.post(
                path, json=body, headers={"Authorization": f"Bearer {key}"}
            )
            if response.status_code >= 400:
                tally.errors.append(str(response.status_code))
        except httpx.HTTPError as exc:
            tally.errors.append(type(exc).__name__)
        tally.latencies.append((time.perf_counter() - started) * 1000)
        i += 1


async def run(
    base: str,
    keys: dict[str, str],
    clients: int,
    seconds: float,
    cap: int,
    timeout: float,
) -> dict[str, object]:
    tallies = {"/v1/answers": Tally(), "/v1/context": Tally()}
    budget = [cap]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=base, timeout=timeout, limits=limits
    ) as client:
        begun = time.perf_counter()
        stop_at = time.monotonic() + seconds
        await asyncio.gather(
            *(
                client_loop(client, n, keys, stop_at, budget, tallies)
                for n in range(clients)
            )
        )
        elapsed = time.perf_counter() - begun
    total = Tally(
        [x for t in tallies.values() for x in t.latencies],
        [f"{p} {e}" for p, t in tallies.items() for e in t.errors],
    )
    return {
        "eval": "load",
        "clients": clients,
        "seconds": round(elapsed, 1),
        **summary(total, elapsed),
        "paths": {path: summary(t, elapsed) for path, t in tallies.items()},
        "settings": {
            "duration_s": seconds,
            "max_requests": cap,
            "timeout_s": timeout,
            "rate_limit": RATE_LIMIT,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()

    env = prepare(rate_limit=RATE_LIMIT)
    keys = {role: create_key(env, role) for role in ("agent", "bot")}
    server, base = start_server(env)
    try:
        wait_ready(base)
        print(f"{args.clients} clients for {args.seconds} s ...", file=sys.stderr)
        report = asyncio.run(
            run(base, keys, args.clients, args.seconds, args.max_requests, args.timeout)
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
