"""Runs every dual-runtime core test module under the MicroPython unix port, one pytest test per module."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "host_tests" / "core"
MICROPYTHON = Path(sys.executable).parent / "micropython"
MODULES = sorted(p.stem for p in CORE.glob("test_*.py"))


@pytest.mark.parametrize("module", MODULES)
def test_core_module_under_micropython(module):
    assert MICROPYTHON.exists(), "the micropython binary is missing: run the README's set-up command"
    env = dict(os.environ, MICROPYPATH=".frozen")
    r = subprocess.run([str(MICROPYTHON), "-X", "heapsize=4M", str(ROOT / "host_tests" / "mp_runner.py"), module],
                       capture_output=True, text=True, timeout=600, env=env)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert " 0 failed" in out and "micropython: 0 passed" not in out, out
