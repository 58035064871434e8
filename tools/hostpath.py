# Host sys.path set-up for every tool and test that imports the firmware, under CPython or the MicroPython unix
# port: firmware/ (the board's import root) and, under CPython only, tools/cpython/ (the `micropython.const`
# stand-in). MicroPython's built-in `micropython` module would win anyway; the stand-in is not added there.
# Usage, from a script in tools/:  import hostpath  # noqa: F401   (before any firmware import)
import sys

TOOLS = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
ROOT = TOOLS + "/.."
FIRMWARE = ROOT + "/firmware"
MICROPYTHON = sys.implementation.name == "micropython"


def _add(p):
    if p not in sys.path:
        sys.path.insert(0, p)


if not MICROPYTHON:
    _add(TOOLS + "/cpython")
_add(FIRMWARE)
