"""Runs every dual-runtime core test module under the MicroPython unix port, one pytest test per module; and a
second time under the 32-bit build named by the environment variable MICROPY32 when it is set (.ci/run sets it):
there small ints are 31-bit as on the ESP32, so a value outside ±2^30 allocates and heap_lock() catches it."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "host_tests" / "core"
MICROPYTHON = Path(sys.executable).parent / "micropython"
MICROPY32 = os.environ.get("MICROPY32", "")
MODULES = sorted(p.stem for p in CORE.glob("test_*.py"))
RUNTIMES = [("unix64", str(MICROPYTHON))] + ([("unix32", MICROPY32)] if MICROPY32 else [])


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("runtime,binary", RUNTIMES, ids=[r[0] for r in RUNTIMES])
def test_core_module_under_micropython(runtime, binary, module):
    assert Path(binary).exists(), "%s: the micropython binary %s is missing (run the README's set-up command; " \
        "MICROPY32 must name an existing file)" % (runtime, binary)
    env = dict(os.environ, MICROPYPATH=".frozen")
    r = subprocess.run([binary, "-X", "heapsize=4M", str(ROOT / "host_tests" / "mp_runner.py"), module],
                       capture_output=True, text=True, timeout=600, env=env)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert " 0 failed" in out and "micropython: 0 passed" not in out, out


def test_micropy32_is_a_32_bit_build():
    # The second pass proves nothing unless its small ints really are 31-bit (sys.maxsize 2^31 - 1).
    if not MICROPY32:
        pytest.skip("MICROPY32 is not set: the 32-bit pass does not run (.ci/run sets it when the binary exists)")
    r = subprocess.run([MICROPY32, "-c", "import sys; print(sys.maxsize)"], capture_output=True, text=True,
                       timeout=60)
    assert r.stdout.strip() == str(2 ** 31 - 1), r.stdout + r.stderr
