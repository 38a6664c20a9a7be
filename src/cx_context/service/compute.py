"""The threads that run the models for requests: a fixed set, warmed before serving.

FastAPI runs a plain `def` route on a thread of AnyIO's pool, which starts a
new thread whenever none is idle and ends one after ten idle seconds. A thread
that runs the models for the first time makes buffers of its own in the
libraries below them (torch and its math libraries, spaCy's): 27 to 40 MB of
heap, kept while the thread lives and only partly given back when it ends
(measured with bench/footprint.py). Left to AnyIO, how many threads have done
so depends on timing, so resident memory after start-up said little about
resident memory an hour later.

Routes that redact, embed or compose (`@on_compute_threads`) run instead on a
`ComputePool`: `threads` long-lived threads, each of which runs the warm-up
before the service reports ready. What a request thread costs is then paid at
start-up, and no more than `threads` requests run the models at once; the
others wait their turn, first come first served, which on a machine with few
cores is also faster than having them all compete for the cores. Routes that
only read the database (health, metrics, keys, lists) stay on AnyIO's threads,
so they still answer while every compute thread is busy.

Bulk routes (ingest, `@on_bulk_compute_threads`) may hold only a share of the
threads, half by default: one large ingest can take minutes, and with every
thread held by them a bot's question would wait behind all of them. A bulk
request over its share waits without holding a thread; the other threads stay
free for questions, drafts and context. With one thread there is nothing to
keep back, and bulk work takes its turn with the rest.
"""

import asyncio
import contextvars
import functools
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class _Gate:
    """At most `limit` holders at once; the others wait in arrival order.

    Waiting holds no thread, and the gate serves any event loop: a process
    shares its pool between tenants, and tests run one loop per client.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held = 0
        self._waiting: deque[Future[None]] = deque()
        self._lock = threading.Lock()

    async def acquire(self) -> None:
        with self._lock:
            if self._held < self.limit:
                self._held += 1
                return
            turn: Future[None] = Future()
            self._waiting.append(turn)
        try:
            await asyncio.wrap_future(turn)
        except asyncio.CancelledError:
            # A client gone while waiting: a turn given meanwhile goes on.
            with self._lock:
                given = turn.done() and not turn.cancelled()
                if not given and turn in self._waiting:
                    self._waiting.remove(turn)
            if given:
                self.release()
            raise

    def release(self) -> None:
        with self._lock:
            while self._waiting:
                turn = self._waiting.popleft()
                if turn.set_running_or_notify_cancel():
                    turn.set_result(None)  # the place passes on, still held
                    return
            self._held -= 1


class ComputePool:
    """A fixed number of long-lived threads for model work."""

    def __init__(self, threads: int, bulk_threads: int | None = None) -> None:
        """`bulk_threads`: the most threads bulk work (`run_bulk`) may hold at
        once; default half of them, at least one."""
        if threads < 1:
            raise ValueError(f"a compute pool needs at least 1 thread, got {threads}")
        bulk = max(1, threads // 2) if bulk_threads is None else bulk_threads
        if not 1 <= bulk <= threads:
            raise ValueError(
                f"bulk_threads must be between 1 and the pool's {threads} threads, "
                f"got {bulk}"
            )
        self.threads = threads
        self.bulk_threads = bulk
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="compute")
        self._bulk = _Gate(bulk)
        self._warmed: set[int] = set()

    def warm(self, task: Callable[[], None], timeout: float = 600) -> int:
        """Run `task` once on every thread of the pool; how many threads ran it.

        The pool starts its threads on demand, so each warm-up task waits at a
        barrier until all are running: that is what puts one on each thread.
        The tasks then run one at a time, so that the heap grows by what each
        thread keeps, not by the working memory of all of them at once.
        """
        barrier = threading.Barrier(self.threads, timeout=timeout)
        one_at_a_time = threading.Lock()

        def on_one_thread() -> int:
            barrier.wait()
            with one_at_a_time:
                task()
            return threading.get_ident()

        futures = [self._executor.submit(on_one_thread) for _ in range(self.threads)]
        idents = {future.result(timeout=timeout) for future in futures}
        self._warmed |= idents
        return len(idents)

    @property
    def warmed_threads(self) -> int:
        """Threads of the pool that have run a warm-up task."""
        return len(self._warmed)

    async def run(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run `fn` on a pool thread, with the caller's context (request id, logs)."""
        context = contextvars.copy_context()
        call = functools.partial(context.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def run_bulk(
        self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """`run`, for bulk work: waits (holding no thread) while bulk work
        holds `bulk_threads` threads."""
        await self._bulk.acquire()
        try:
            return await self.run(fn, *args, **kwargs)
        finally:
            self._bulk.release()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def on_compute_threads(endpoint: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Run a route on the compute pool of its `services` argument.

    The route keeps its signature (FastAPI reads its parameters through
    `functools.wraps`); it must take its `Services` as a keyword named
    `services`, as every route does through `ServicesDep`.
    """
    return _on_pool(endpoint, bulk=False)


def on_bulk_compute_threads(endpoint: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`on_compute_threads` for bulk work (ingest): within the pool's bulk share."""
    return _on_pool(endpoint, bulk=True)


def _on_pool(endpoint: Callable[P, R], bulk: bool) -> Callable[P, Awaitable[R]]:
    @functools.wraps(endpoint)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        services: Any = kwargs.get("services")
        if services is None or not isinstance(
            getattr(services, "compute", None), ComputePool
        ):
            raise TypeError(
                f"{endpoint.__name__} runs on the compute pool, so it must take "
                "`services` (ServicesDep) as a parameter"
            )
        pool: ComputePool = services.compute
        if bulk:
            return await pool.run_bulk(endpoint, *args, **kwargs)
        return await pool.run(endpoint, *args, **kwargs)

    return run
