"""The API process sets up its allocator so that resident memory stays flat.

What the settings do to memory is measured by bench/footprint.py; these tests
check that they are applied, and where.
"""

import os
import platform
import subprocess
import sys

import pytest

from cx_context.service.memory import tune_allocator

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_glibc_takes_the_allocator_settings() -> None:
    assert tune_allocator() is True
    assert tune_allocator() is True  # idempotent


def test_mkl_keeps_no_per_thread_buffers_unless_asked_to() -> None:
    def mkl_setting(env: dict[str, str]) -> str:
        script = (
            "import os, cx_context, torch; "
            "print(os.environ.get('MKL_DISABLE_FAST_MM', 'unset'))"
        )
        return subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    clean = {k: v for k, v in os.environ.items() if k != "MKL_DISABLE_FAST_MM"}
    # Set on import of the package, before torch loads MKL.
    assert mkl_setting(clean) == "1"
    # An explicit setting wins.
    assert mkl_setting({**clean, "MKL_DISABLE_FAST_MM": "0"}) == "0"


def test_the_service_entry_points_tune_the_allocator() -> None:
    # `cx-context serve` and the ASGI factory both call it before the models
    # load; a refactoring that dropped the call would go unnoticed otherwise.
    import inspect

    from cx_context.service import asgi, cli

    assert "tune_allocator()" in inspect.getsource(asgi.create)
    assert "tune_allocator()" in inspect.getsource(cli.serve)
