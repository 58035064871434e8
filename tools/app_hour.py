# Runs the real board app (fake INA226 at its standard 141 ms timing -> driver -> core -> VE.Direct, console,
# saves) for a number of simulated seconds on the MicroPython unix port, and prints heap figures.
#   micropython -X heapsize=N tools/app_hour.py MPYDIR imports        -> bytes the loaded code takes (gc'd)
#   micropython -X heapsize=N tools/app_hour.py MPYDIR run SECONDS    -> "ok <in use after gc> <peak> ..."
# MPYDIR holds the firmware compiled by mpy-cross (as the board's frozen build is: no compiler at run time).
# On the ESP32 that code sits in flash; the unix port has to load it into the heap, so the test gives the app
# 64 KiB on top of what `imports` reports (host_tests/test_app_heap.py, tools/bench.py).
# MPYDIR may instead be a ROMFS image (a name ending in .romfs, mpremote's format, built by tools/bench.py): the
# code then runs in place, as frozen code does, and every figure printed leaves out the image itself (read into
# the heap first, as one block). `imports` then also prints the bytes of the qstrs interned by the imports (a
# frozen build keeps them in flash; ROMFS cannot), as "qstr N".
import gc
import sys

_SRC = sys.argv[1]
_BASE = 0
if _SRC.endswith(".romfs"):
    import micropython
    import vfs
    with open(_SRC, "rb") as _f:
        _ROM = _f.read()
    gc.collect()
    _BASE = gc.mem_alloc()
    if sys.argv[2] == "imports":
        micropython.qstr_info()
    vfs.mount(vfs.VfsRom(_ROM), "/rom")
    sys.path.insert(0, "/rom")
else:
    sys.path.insert(0, _SRC)

from app import App                                   # noqa: E402
from fakes.fake_ina226 import FakeI2C, FakeINA226    # noqa: E402
from proto.console import Console                     # noqa: E402
from shunt.monitor import STATE_FIELDS, STATE_MIGRATIONS    # noqa: E402
from shunt.record import Codec                        # noqa: E402
from fakes.fake_uart import FakeUART                  # noqa: E402
from fakes.mem_store import MemStore                  # noqa: E402


def run(seconds):
    gc.collect()                 # as main.py does before building the app: start from a compact heap
    chip = FakeINA226()
    i2c = FakeI2C(chip)
    uart = FakeUART(lambda b: None)
    store = MemStore(Codec(STATE_FIELDS, migrations=STATE_MIGRATIONS))
    app = App(i2c, uart, store=store, log=lambda s: None)
    console = Console(app.device, None)
    console.authenticated = True
    app.start(0)
    peak = 0
    t = 0
    for s in range(seconds):
        # a day in miniature: charge, discharge with a changing load, rest
        phase = (s // 600) % 3
        i_ma = 15000 if phase == 0 else (-20000 - (s % 97) * 50 if phase == 1 else 40)
        chip.set_current_ma(i_ma, 500, 50)
        chip.set_battery_mv(13400 if phase == 0 else 12600)
        end = (s + 1) * 1000
        while t < end:
            t += 20                      # the sampling and port tasks poll every 20 ms
            chip.set_time_ms(t)
            app.poll_sensor(t)
            app.poll_port(t)
        if s % 300 == 0:
            console.handle_line("status")
            console.handle_line("sync_status")
            console.handle_line("set capacity %d" % (200 + s % 7))
        if s % 60 == 0:
            gc.collect()
            used = gc.mem_alloc()
            if used > peak:
                peak = used
    gc.collect()
    print("ok %d %d %d %d %d" % (gc.mem_alloc() - _BASE, peak - _BASE, app.ina.samples, uart.written,
                                 store.records))


def main():
    if sys.argv[2] == "imports":
        gc.collect()
        if _BASE:
            micropython.qstr_info()
        print(gc.mem_alloc() - _BASE)
    else:
        run(int(sys.argv[3]))


main()
