"""How many malloc arenas the API process's threads share.

glibc gives threads that allocate at the same time heaps of their own, up to
eight per core, and keeps what is freed in each: request threads that embed
then each hold a heap at their own peak. Capping the arenas at two makes
requests reuse the heap the warm-up grew (with glibc's default, resident
memory grew 8% over the first 150 requests, with two under 1%, in one run of
bench/footprint.py). The cap used to be an environment variable in the
Dockerfile (`MALLOC_ARENA_MAX`); set here, it holds however the service is
started. `cx-context serve` and the ASGI factory call `tune_allocator` before
the models load. Where the C library is not glibc, nothing is changed.

Measured and not adopted (in-process, four threads embedding batches one
after another): each new thread still grows the heap by about 27 MB whether
or not MKL keeps per-thread buffers (`MKL_DISABLE_FAST_MM`); a fixed mmap
threshold of 256 KiB removed that growth but made single-question embeddings
20 to 50% slower; trimming the heap every few seconds (`malloc_trim`) made
resident memory swing by one request's working memory, about 60 MB.
"""

import ctypes
import ctypes.util
import logging
import platform
from typing import Any

logger = logging.getLogger(__name__)

_M_ARENA_MAX = -8  # mallopt parameter, from glibc's malloc.h
ARENAS = 2


def _glibc() -> Any | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    path = ctypes.util.find_library("c")
    return ctypes.CDLL(path) if path else None


def tune_allocator(arenas: int = ARENAS) -> bool:
    """Cap the number of malloc arenas; whether glibc took the setting."""
    libc = _glibc()
    if libc is None:
        logger.info("allocator left as it is: the C library is not glibc")
        return False
    took = bool(libc.mallopt(_M_ARENA_MAX, arenas))
    if not took:
        logger.warning("glibc refused the arena setting; memory may grow")
    return took
