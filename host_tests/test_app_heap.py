"""The whole board app (fake INA226 -> driver -> core -> VE.Direct, console, saves) runs one simulated hour on
the MicroPython unix port in a small heap without MemoryError (issue 3).

The ESP32 runs this code frozen in flash; the unix port must load it into its heap, so the heap given is the
measured size of the loaded code plus the app's budget. The unix port's 8-byte words make every object about twice
its ESP32 size, so the live-data bound below is conservative for the board."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
APP_BUDGET = 66 * 1024            # 64 KiB before the aux input; 72 KiB with it (issue 18) until the state saves
                                  # stopped allocating dicts (drivers.persist, shunt.saver): 64 KiB then passed, and
                                  # after issue 17's sync count 65 KiB does; 66 KiB keeps 1 KiB for this port's
                                  # fragmentation of the loaded code, to which the result is sensitive
LIVE_MAX = 32 * 1024              # live app data after gc, unchanged by the aux input (28.8 KB measured)
HOST_FRAGMENTATION = 16 * 1024     # the unix port loads .mpy code into the heap between its own buffers


def _mpy_tree(dst):
    for src in (ROOT / "firmware").rglob("*.py"):
        rel = src.relative_to(ROOT / "firmware")
        if rel.name == "main.py":
            continue
        out = dst / rel.with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(BIN / "mpy-cross"), "-o", str(out), str(src)], check=True)


def test_board_app_runs_one_hour_in_a_small_heap(tmp_path):
    _mpy_tree(tmp_path)
    tool = str(ROOT / "tools" / "app_hour.py")
    mp = str(BIN / "micropython")
    code = int(subprocess.run([mp, "-X", "heapsize=2M", tool, str(tmp_path), "imports"], capture_output=True,
                              text=True, check=True).stdout)
    heap = code + APP_BUDGET + HOST_FRAGMENTATION
    r = subprocess.run([mp, "-X", "heapsize=%d" % heap, tool, str(tmp_path), "run", "3600"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0 and "MemoryError" not in r.stderr, r.stderr
    ok, in_use, peak, samples, text_bytes, saves = r.stdout.split()
    assert ok == "ok"
    assert 25000 <= int(samples) <= 26000              # every 141 ms conversion of the hour was counted
    assert int(text_bytes) > 3500 * 250                # a text cycle every second
    assert int(saves) >= 6                             # the 600 s periodic rule at least
    assert int(peak) - code <= LIVE_MAX                # live app data after gc: well inside the budget
