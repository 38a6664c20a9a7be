"""How the API process takes memory from the C allocator, so that it stays flat.

Each request that embeds or redacts allocates and frees tensors of a few
hundred kilobytes to a few megabytes (activations of a batch of passages). By
default glibc serves such blocks from its heaps once the first one has been
freed (its mmap threshold rises to the size of the largest block freed), and
keeps a heap's free space instead of returning it, so that whichever request
threads happen to allocate at the same time leave the heap at their combined
peak. Intel MKL, under torch's matrix products, also keeps buffers per thread
for reuse. Together they made resident memory grow by 5 to 8% over the first
hundred requests, by an amount that depended on how requests overlapped.

`tune_allocator` fixes the mmap threshold (blocks from 256 KiB up come from
their own mappings and go back to the system when freed), caps the number of
malloc arenas, and asks MKL not to keep its per-thread buffers. Measured with
bench/footprint.py; it runs once, before the models load, in `cx-context
serve` and in the ASGI factory. It does nothing where the C library is not
glibc.
"""

import ctypes
import ctypes.util
import logging
import os
import platform

logger = logging.getLogger(__name__)

# mallopt parameters, from glibc's malloc.h.
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

MMAP_THRESHOLD = 256 * 1024
ARENAS = 2


def tune_allocator(mmap_threshold: int = MMAP_THRESHOLD, arenas: int = ARENAS) -> bool:
    """Set the allocator up for a long-running service; whether glibc took it.

    MKL reads `MKL_DISABLE_FAST_MM` when it first allocates, so this must run
    before the first embedding (an explicit setting in the environment wins).
    """
    os.environ.setdefault("MKL_DISABLE_FAST_MM", "1")
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        logger.info("allocator left as it is: the C library is not glibc")
        return False
    path = ctypes.util.find_library("c")
    if path is None:
        return False
    libc = ctypes.CDLL(path)
    took = bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
        libc.mallopt(_M_ARENA_MAX, arenas)
    )
    if took:
        logger.info(
            "allocator: mmap threshold %d bytes, %d arenas", mmap_threshold, arenas
        )
    else:
        logger.warning("glibc refused the allocator settings; memory may grow")
    return took
