# pytest set-up: the firmware and the dual-runtime test helpers are importable the way the board imports them;
# tools/hostpath.py adds firmware/ and the CPython `micropython.const` stand-in (tools/cpython/).
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT / "host_tests" / "core", ROOT / "tools"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))
import hostpath  # noqa: E402,F401
