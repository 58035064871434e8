# CPython stand-in for MicroPython's built-in `micropython` module, for the host only: never deployed, never
# frozen, never compiled by mpy-cross. MicroPython's compiler folds `const(x)` into the bytecode; here it is x.
# Only tools/hostpath.py and host_tests/conftest.py put this directory on sys.path, and only under CPython.


def const(x):
    return x
