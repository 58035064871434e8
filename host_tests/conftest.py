# pytest set-up: the firmware and the dual-runtime test helpers are importable the way the board imports them;
# tools/hostpath.py adds firmware/ and the CPython `micropython.const` stand-in (tools/cpython/).
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT / "host_tests" / "core", ROOT / "tools"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))
import hostpath  # noqa: E402,F401


def pytest_configure(config):
    # Wall-clock tests (a live device on a pty at 10x speed): the README's test command runs them in a second,
    # serial pass, so that no CPU-heavy test on the other xdist worker delays their blocks (a 100 ms period
    # leaves no room for a busy neighbour on a 2-core machine).
    config.addinivalue_line("markers", "realtime: measures wall-clock timing; run alone, after the parallel pass")
