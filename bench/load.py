"""Load: concurrent clients against /v1/context and /v1/answers on a loaded store.

Starts `cx-context serve` on a free loopback port over the bundled ABCD sample
(as bench/footprint.py does), runs --clients concurrent clients for --seconds
(bounded also by --max-requests), and prints one JSON object: throughput,
p50 / p95 / p99 latency and the error count. Loopback only.

    .venv/bin/python bench/load.py [--clients 50] [--seconds 60]
"""

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time

import httpx
from footprint import CLI, free_port, prepare

QUESTIONS = [
    "how do I get a refund for an item I returned?",
    "can I change my shipping address after ordering?",
    "my promo code does not work",
    "what will the weather be like in Paris tomorrow?",
]


async def client_loop(
    client: httpx.AsyncClient,
    number: int,
    stop_at: float,
    budget: list[int],
    latencies: list[float],
    errors: list[str],
) -> None:
    i = number
    while time.monotonic() < stop_at and budget[0] > 0:
        budget[0] -= 1
        question = QUESTIONS[i % len(QUESTIONS)]
        if i % 2:
            path, body = "/v1/answers", {"question": question}
        else:
            path = "/v1/context"
            body = {"customer_id": "abcd-customer-3592", "question": question}
        started = time.perf_counter()
        try:
            response = await client.post(path, json=body)
            if response.status_code >= 400:
                errors.append(f"{path} {response.status_code}")
        except httpx.HTTPError as exc:
            errors.append(f"{path} {type(exc).__name__}")
        latencies.append((time.perf_counter() - started) * 1000)
        i += 1


async def run(
    base: str, key: str, clients: int, seconds: float, cap: int
) -> dict[str, object]:
    latencies: list[float] = []
    errors: list[str] = []
    budget = [cap]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
        limits=limits,
    ) as client:
        begun = time.perf_counter()
        stop_at = time.monotonic() + seconds
        await asyncio.gather(
            *(
                client_loop(client, n, stop_at, budget, latencies, errors)
                for n in range(clients)
            )
        )
        elapsed = time.perf_counter() - begun
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)

    return {
        "eval": "load",
        "clients": clients,
        "seconds": round(elapsed, 1),
        "n": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 2),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(ordered), 1) if ordered else None,
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:10],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--max-requests", type=int, default=20_000)
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
        for _ in range(600):
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError("the server did not become ready in 120 s")
        print(f"{args.clients} clients for {args.seconds} s ...", file=sys.stderr)
        report = asyncio.run(
            run(base, key, args.clients, args.seconds, args.max_requests)
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
