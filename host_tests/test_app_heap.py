"""The whole board app (fake INA226 -> driver -> core -> VE.Direct, console, saves) runs one simulated hour on
the MicroPython unix port in a small heap without MemoryError (issue 3).

The ESP32 runs this code frozen in flash; the unix port must load it into its heap, so the heap given is the
measured size of the loaded code plus the app's budget. The unix port's 8-byte words make every object about twice
its ESP32 size, so the live-data bound below is conservative for the board."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from app_heap import BIN, LIVE_MAX, code_bytes, mpy_tree, run_hour  # noqa: E402


def test_board_app_runs_one_hour_in_a_small_heap(tmp_path):
    mpy_tree(tmp_path)
    code = code_bytes(str(BIN / "micropython"), tmp_path)
    r = run_hour(str(BIN / "micropython"), tmp_path, code)
    assert r.returncode == 0 and "MemoryError" not in r.stderr, r.stderr
    ok, in_use, peak, samples, text_bytes, saves = r.stdout.split()
    assert ok == "ok"
    assert 25000 <= int(samples) <= 26000              # every 141 ms conversion of the hour was counted
    assert int(text_bytes) > 3500 * 250                # a text cycle every second
    assert int(saves) >= 6                             # the 600 s periodic rule at least
    assert int(peak) - code <= LIVE_MAX                # live app data after gc: well inside the budget
