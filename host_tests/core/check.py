# Helpers for the dual-runtime core tests (CPython pytest and the MicroPython runner): no pytest imports here.


def raises(exc, fn, *args):
    """Call fn(*args) and return the exception it raised; fail if it raised nothing or something else."""
    try:
        fn(*args)
    except exc as e:
        return e
    raise AssertionError("%s not raised by %r%r" % (exc.__name__, fn, args))
