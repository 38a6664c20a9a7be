"""The API process sets up its allocator so that resident memory stays flat.

What the settings do to memory is measured by bench/footprint.py; these tests
check that they are applied, and where.
"""

import platform

import pytest

from cx_context.service.memory import tune_allocator

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_glibc_takes_the_arena_setting() -> None:
    assert tune_allocator() is True
    assert tune_allocator() is True  # idempotent


def test_the_service_entry_points_tune_the_allocator() -> None:
    # `cx-context serve` and the ASGI factory both set the allocator up before
    # the models load; a refactoring that dropped the call would go unnoticed.
    import inspect

    from cx_context.service import asgi, cli

    for entry in (asgi.create, cli.serve):
        source = inspect.getsource(entry)
        assert "tune_allocator()" in source
