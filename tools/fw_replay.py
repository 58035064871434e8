# The firmware side of the replay tool: trace rows into the real app's counting path, VE.Direct out.
# battery-monitor.md §0.4 (replay column). Runs under CPython (imported by tools/replay.py) and, as a script,
# under the MicroPython unix port:  micropython tools/fw_replay.py TRACE [--state DIR] [--frame-every N]
#                                   [--set NAME=VALUE]...
# The trace and the settings were validated by tools/replay.py before this runs.
import sys

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
if _HERE + "/../firmware" not in sys.path:
    sys.path.insert(0, _HERE + "/../firmware")

from app import App                          # noqa: E402
from shunt.monitor import state_codec         # noqa: E402
from proto.vedirect import TextBuilder       # noqa: E402
from drivers.store import Store              # noqa: E402
from fakes.mem_store import MemStore         # noqa: E402


def replay(trace_path, sets, state_dir, frame_every, out, log):
    """Run the trace; write the byte stream to `out` (a binary stream). `sets` are (name, text) pairs, applied
    after the stored settings, each validated and persisted like a console `set`."""
    store = Store(state_dir, state_codec()) if state_dir else MemStore()
    app = App(None, None, store=store, log=log)
    for name, text in sets:
        if app.settings.set(name, text):
            app.persist_settings()
    builder = TextBuilder()
    mon = app.monitor
    f = open(trace_path)
    cols = f.readline().strip().split(",")      # the header, checked by the caller
    aux_col = len(cols) > 3 and cols[3].strip() == "aux"
    if aux_col and mon.aux.mode == 3:
        log("replay: the trace has an aux column but aux_input is none: the column is ignored")
    prev_t = None
    for line in f:
        line = line.strip()
        if not line:
            continue
        parts = line.split(",")
        t = int(parts[0])
        dt = 0 if prev_t is None else t - prev_t
        if aux_col:
            # what the aux adapter read (issue 18); it takes effect at the next whole second, as on the board
            x = parts[3].strip() if len(parts) > 3 else ""
            mon.aux.reading(None if x in ("", "---") else int(x))
        app.count_sample(int(parts[1]), int(parts[2]), dt)
        # §0.4 / issue 6: after the first row with t_ms >= 1000·s, block A then block B for second s
        s0 = 1 if prev_t is None else prev_t // 1000 + 1
        prev_t = t
        s = s0
        while s <= t // 1000:
            if s % frame_every == 0:
                n = builder.build_cycle_from(mon)
                out.write(builder.mv[:n])
            s += 1
    f.close()
    # The end of the trace is a power cut: no extra save.


def _main(argv):
    path = argv[1]
    sets = []
    state = None
    every = 1
    i = 2
    while i < len(argv):
        k = argv[i]
        v = argv[i + 1]
        if k == "--set":
            kv = v.split("=", 1)
            sets.append((kv[0], kv[1]))
        elif k == "--state":
            state = v
        elif k == "--frame-every":
            every = int(v)
        i += 2
    replay(path, sets, state, every, sys.stdout.buffer, lambda s: sys.stderr.write(s + "\n"))


if __name__ == "__main__":
    _main(sys.argv)
