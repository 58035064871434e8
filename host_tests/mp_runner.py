# Runs the dual-runtime core tests (host_tests/core/test_*.py) under the MicroPython unix port.
# Usage: micropython host_tests/mp_runner.py [module ...]   (default: every test_*.py in host_tests/core)
import os
import sys

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
_ROOT = _HERE + "/.."
sys.path.insert(0, _ROOT + "/firmware")
sys.path.insert(0, _HERE + "/core")


def _modules(argv):
    if argv:
        return [m[:-3] if m.endswith(".py") else m for m in argv]
    return sorted(n[:-3] for n in os.listdir(_HERE + "/core") if n.startswith("test_") and n.endswith(".py"))


def main():
    passed = failed = 0
    for name in _modules(sys.argv[1:]):
        try:
            mod = __import__(name)
        except Exception as e:
            print("ERROR importing", name)
            sys.print_exception(e)
            failed += 1
            continue
        for attr in sorted(dir(mod)):
            if not attr.startswith("test_"):
                continue
            fn = getattr(mod, attr)
            if not callable(fn):
                continue
            try:
                fn()
            except Exception as e:
                failed += 1
                print("FAIL %s.%s" % (name, attr))
                sys.print_exception(e)
            else:
                passed += 1
    print("micropython: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)


main()
