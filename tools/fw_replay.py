# The firmware side of the replay tool: trace rows into the real app's counting path, VE.Direct out.
# battery-monitor.md §0.4 (replay column). Runs under CPython (imported by tools/replay.py) and, as a script,
# under the MicroPython unix port:  micropython tools/fw_replay.py TRACE [--state DIR] [--frame-every N]
#                                   [--set NAME=VALUE]... [--log FILE] [--events FILE]
#                                   [--start-soc CPCT]
# The trace and the settings were validated by tools/replay.py before this runs.
import sys

import hostpath  # noqa: F401  (firmware/ on sys.path, and the const stand-in under CPython)

from app import App                          # noqa: E402
from shunt.monitor import STATE_FIELDS, STATE_MIGRATIONS    # noqa: E402
from shunt.record import Codec               # noqa: E402
from proto.vedirect import TextBuilder       # noqa: E402
from drivers.store import Store              # noqa: E402
from fakes.mem_store import MemStore         # noqa: E402
from fw_log import SecondLog                 # noqa: E402


_DIGITS_MAX = 15        # more digits than any allowed value has: refused before int() builds a huge number


class TraceError(ValueError):
    pass


def _field(b, what):
    # ASCII digits with an optional '-', spaces or tabs around: read identically by both runtimes (CPython's
    # str.strip and int() accept Unicode spaces and digits, MicroPython's do not).
    s = b.strip(b" \t")
    body = s[1:] if s[:1] == b"-" else s
    if not body or len(body) > _DIGITS_MAX:
        raise TraceError("%s %r is not an integer" % (what, _text(s)))
    for c in body:
        if c < 48 or c > 57:
            raise TraceError("%s %r is not an integer" % (what, _text(s)))
    return int(s.decode())


def _text(b):
    return "".join(chr(c) if 0x20 <= c < 0x7F else "?" for c in b[:24])


def _line(raw):
    """One line as read from the file in binary (its LF included or not): the bytes without the line end. A line
    ends with LF or CR LF; a CR anywhere else (old Mac line ends) is refused, since the runtimes split on LF."""
    if raw[-1:] == b"\n":
        raw = raw[:-1]
    if raw[-1:] == b"\r":
        raw = raw[:-1]
    if b"\r" in raw:
        raise TraceError("a CR inside the line: lines must end with LF or CR LF")
    return raw


def parse_header(raw):
    """Check the header; True if a fourth column `aux` follows (issue 18), whatever columns come after."""
    cols = [c.strip(b" \t") for c in _line(raw).split(b",")]
    if cols[:3] != [b"t_ms", b"voltage_mv", b"current_ma"]:
        raise TraceError("header must start with t_ms,voltage_mv,current_ma (got %r)" % _text(_line(raw)))
    return len(cols) > 3 and cols[3] == b"aux"


def parse_row(raw, aux=False):
    """(t_ms, voltage_mv, current_ma) of one trace line, or None for a blank line; with `aux` (the header has
    the column) a fourth item: the aux reading, None for an empty cell or '---' (no value). TraceError says what
    is wrong. The checker (tools/replay.py) and this runner read every line with this one function."""
    line = _line(raw)
    if not line.strip(b" \t"):
        return None
    parts = line.split(b",")
    if len(parts) < 3:
        raise TraceError("needs 3 columns t_ms,voltage_mv,current_ma")
    row = (_field(parts[0], "t_ms"), _field(parts[1], "voltage_mv"), _field(parts[2], "current_ma"))
    if not aux:
        return row
    x = parts[3].strip(b" \t") if len(parts) > 3 else b""
    return row + ((None if x in (b"", b"---") else _field(x, "aux")),)


def replay(trace_path, sets, state_dir, frame_every, out, log, log_file=None, events_file=None, start_soc=None):
    """Run the trace; write the byte stream to `out` (a binary stream). `sets` are (name, text) pairs, in force
    from the start as if stored before the power-up (after the stored settings), and saved like a console `set`.
    Every diagnostic the board prints at boot goes to `log`. `log_file`: the per-second firmware log
    (tools/fw_log.py) goes there, `events_file` each warning as it is raised. `start_soc` (0.01 %): set_soc
    before the first row, as the console's set_soc would."""
    store = Store(state_dir, Codec(STATE_FIELDS, migrations=STATE_MIGRATIONS)) if state_dir else MemStore()
    app = App(None, None, store=store, log=log, preset=sets)
    if sets:
        try:
            app.persist.save_settings()
        except OSError as e:
            app.diagnostics.append(str(e))
    for d in app.diagnostics:
        log("diag: " + d)
    if start_soc is not None:
        app.monitor.set_soc(start_soc)
    if log_file is not None or events_file is not None:
        app.on_second = SecondLog(app, log_file, events_file)
    builder = TextBuilder()
    mon = app.monitor
    f = open(trace_path, "rb")
    aux_col = parse_header(f.readline())      # checked by the caller
    if aux_col and mon.aux.mode == 3:
        log("replay: the trace has an aux column but aux_input is none: the column is ignored")
    prev_t = None
    for raw in f:
        row = parse_row(raw, aux_col)
        if row is None:
            continue
        t = row[0]
        dt = 0 if prev_t is None else t - prev_t
        if aux_col:
            # what the aux adapter read (issue 18); it takes effect at the next whole second, as on the board
            mon.aux.reading(row[3])
        app.count_sample(row[1], row[2], dt)
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
    log_path = events_path = start_soc = None
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
        elif k == "--log":
            log_path = v
        elif k == "--events":
            events_path = v
        elif k == "--start-soc":
            start_soc = int(v)
        i += 2
    log_file = open(log_path, "w") if log_path else None
    events_file = open(events_path, "w") if events_path else None
    try:
        replay(path, sets, state, every, sys.stdout.buffer, lambda s: sys.stderr.write(s + "\n"), log_file,
               events_file, start_soc)
        sys.stdout.buffer.flush() if hasattr(sys.stdout.buffer, "flush") else None
    except OSError as e:
        # a closed stdout or a full disk: one line, no traceback (issue 14)
        sys.stderr.write("replay: cannot write the output: %s\n" % (e,))
        sys.exit(1)
    finally:
        for f in (log_file, events_file):
            if f is not None:
                f.close()


if __name__ == "__main__":
    _main(sys.argv)
