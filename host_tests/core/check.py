# Helpers for the dual-runtime core tests (CPython pytest and the MicroPython runner): no pytest imports here.


def raises(exc, fn, *args):
    """Call fn(*args) and return the exception it raised; fail if it raised nothing or something else."""
    try:
        fn(*args)
    except exc as e:
        return e
    raise AssertionError("%s not raised by %r%r" % (exc.__name__, fn, args))


def micropython_only():
    """Call first in a test that can only run on MicroPython (heap_lock, the unix port's littlefs): under CPython
    pytest reports it as skipped, not passed. host_tests/mp_runner.py runs it for real."""
    import sys
    if sys.implementation.name != "micropython":
        import pytest
        pytest.skip("MicroPython only: host_tests/test_micropython.py runs it under the unix port")
