# The firmware side of the simulator: the real board app (fake INA226 -> driver -> core -> VE.Direct) on a
# simulated clock, fed by the battery model over stdin. Runs under CPython and the MicroPython unix port.
# Usage: <python|micropython> tools/fw_sim.py [--state DIR] [--log FILE] [--set NAME=VALUE]... [--seed N]
#        [--text-every N]  (a text cycle every N simulated seconds; 0: none, HEX replies still go out)
#        [--console-port P --secret HEX]  (CPython: the console on 127.0.0.1:P with authentication, as over BLE;
#        0 picks a free port; "console on 127.0.0.1:<port>" is printed on stderr)
#        [--live --hold-ms N]  (a live port, tools/simulate.py --out pty/serial: the clock comes from W lines sent
#        on the wall clock; the port is polled at each W, as the board's port task polls every 20 ms, so text
#        follows the clock without catch-up bursts; every write is flushed at once; N = the text hold after HEX
#        in simulated ms, 1000 x speed so that it lasts 1 s of wall time)
# stdin lines: T <t_ms> <v_mv> <i_ma> | W <t_ms> | N <noise_uv_rms> <offset_uv> | C <console line> | X <hex bytes>
#        | Q | A <value>: the true aux input (mV at the second INA226's VBUS source, or 0.01 degC at the DS18B20)
# stdout: the raw VE.Direct byte stream. stderr: console replies and diagnostics.
import sys

import hostpath  # noqa: F401  (firmware/ on sys.path, and the const stand-in under CPython)

from app import App                                   # noqa: E402
from fakes.fake_ina226 import FakeI2C, FakeINA226    # noqa: E402
from fakes.fake_uart import FakeUART                 # noqa: E402
from fakes.fake_onewire import FakeDS18B20, FakeOneWire, FakeDS18X20   # noqa: E402
from drivers.aux_input import AuxReader, AuxVoltage, AuxTemperature    # noqa: E402
from fakes.mem_store import MemStore                 # noqa: E402
from proto.console import Console                     # noqa: E402
from shunt.monitor import STATE_FIELDS, STATE_MIGRATIONS    # noqa: E402
from shunt.record import Codec                        # noqa: E402
from drivers.store import Store                       # noqa: E402
from fw_log import SecondLog                          # noqa: E402

SIM_TIMING = 2          # drivers.ina226.CONFIGS[2]: one result every ≈ 942 ms


class Noise:
    """Deterministic shunt noise: a 32-bit LCG summed 4 times (roughly Gaussian), integer nV."""

    def __init__(self, seed):
        self.x = seed & 0xFFFFFFFF
        self.rms_nv = 0

    def next(self):
        s = 0
        for _ in range(4):
            self.x = (self.x * 1664525 + 1013904223) & 0xFFFFFFFF
            s += (self.x >> 8) - (1 << 23)
        # sum of 4 uniforms on ±2^23 has σ = 2^23·2/√3 ≈ 9 686 330; scale to rms_nv
        return s * self.rms_nv // 9686330


def _args(argv):
    a = {"state": None, "log": None, "set": [], "seed": 1, "text-every": 1, "console-port": None, "secret": "",
         "live": False, "hold-ms": None}
    i = 1
    while i < len(argv):
        k = argv[i]
        if k == "--live":
            a["live"] = True
            i += 1
        elif k in ("--state", "--log", "--seed", "--text-every", "--console-port", "--secret", "--hold-ms") \
                and i + 1 < len(argv):
            a[k[2:]] = argv[i + 1] if k in ("--state", "--log", "--secret") else int(argv[i + 1])
            i += 2
        elif k == "--set" and i + 1 < len(argv):
            a["set"].append(argv[i + 1])
            i += 2
        else:
            sys.stderr.write("fw_sim: unknown argument %s\n" % k)
            sys.exit(2)
    return a


def main():
    a = _args(sys.argv)
    out = sys.stdout.buffer
    err = sys.stderr
    chip = FakeINA226()
    aux_chip = FakeINA226(address=0x41)      # the aux input's hardware (issue 18), as on the board
    ds = FakeDS18B20(temp_cc=2000)
    ow = FakeOneWire(ds)
    i2c = FakeI2C(chip, aux_chip)
    live = a["live"]
    if live:
        def emit(data):
            # a live line: each write (a whole text cycle or the pending HEX replies) leaves at once
            out.write(data)
            out.flush()
        uart = FakeUART(emit)
    else:
        uart = FakeUART(out.write)
    store = Store(a["state"], Codec(STATE_FIELDS, migrations=STATE_MIGRATIONS)) if a["state"] else MemStore()
    app = App(i2c, uart, store=store, ina_timing=SIM_TIMING, log=lambda s: err.write(s + "\n"),
              aux=AuxReader(AuxVoltage(i2c), AuxTemperature(FakeDS18X20(ow))))
    for kv in a["set"]:
        name, value = (kv.split("=", 1) + [""])[:2]
        try:
            app.device.set_setting(name, value)
        except (ValueError, OSError) as e:
            err.write("fw_sim: --set %s\n" % e)
            sys.exit(2)
    console = Console(app.device, None)
    console.authenticated = True       # the simulator's local console is the owner's USB console
    log = open(a["log"], "w") if a["log"] else None
    app.on_second = SecondLog(app, log)

    now = 0
    noise = Noise(a["seed"])
    chip.set_time_ms(0)
    app.start(0)
    true_v = 0
    true_i = 0
    offset_nv = 0
    next_port = 0
    rating = app.settings.values

    text_every = a["text-every"]
    text_ms = 1000 * text_every if text_every > 0 else 1 << 62
    app.port.schedule.period_ms = text_ms if text_every > 0 else 1 << 40
    if a["hold-ms"] is not None:
        app.port.schedule.hold_ms = a["hold-ms"]
    if live:
        next_port = 1 << 62          # the port is polled on W lines only

    def advance(t_ms):
        # Event-driven: jump to each conversion and each text cycle up to t_ms. The noise (rms of one averaged
        # result) is drawn once per conversion.
        nonlocal now, next_port
        base = true_i * rating["shunt_rating_mv"] * 1000 // rating["shunt_rating_a"] + offset_nv
        while True:
            nc = chip._next_us
            nc = (nc + 999) // 1000 if nc is not None else t_ms + 1
            nxt = nc if nc < next_port else next_port
            if nxt > t_ms:
                break
            chip.shunt_nv = base + noise.next() if noise.rms_nv else base
            chip.set_time_ms(nxt)
            aux_chip.set_time_ms(nxt)
            ow.advance(nxt - ow.now_ms)
            now = nxt
            app.poll_sensor(now)
            if now >= next_port:
                app.poll_port(now)
                next_port += text_ms
        chip.set_time_ms(t_ms)
        aux_chip.set_time_ms(t_ms)
        ow.advance(t_ms - ow.now_ms)
        now = t_ms

    lines = _stdin_lines() if a["console-port"] is None else _tcp_lines(app, a, err)
    for line in lines:
        line = line.strip()
        if not line:
            continue
        kind = line[0]
        if kind == "W":
            t_ms = int(line[1:])
            if t_ms > now:
                advance(t_ms)
            app.poll_port(now)
        elif kind == "T":
            f = line.split()
            t_ms = int(f[1])
            if t_ms > now:
                advance(t_ms)
            true_v = int(f[2])
            true_i = int(f[3])
            chip.set_battery_mv(true_v, rating["voltage_divider"])
        elif kind == "A":
            x = int(line.split()[1])
            aux_chip.set_battery_mv(x if x > 0 else 0, rating["aux_voltage_divider"])
            ds.temp_cc = x
        elif kind == "N":
            f = line.split()
            noise.rms_nv = int(f[1]) * 1000
            offset_nv = int(f[2]) * 1000
        elif kind == "C":
            cmd = line[1:].strip()
            if cmd == "zero_current":
                app.device.zero_current_start()
                err.write("OK zero_current started (10 s)\n")
            else:
                err.write(console.handle_line(cmd))
            if app.restart_requested:
                break
        elif kind == "X":
            uart.feed(_unhex(line[1:].strip()))
            app.poll_port(now)
        elif kind == "Q":
            break
    if log:
        log.close()
    out.flush()


def _stdin_lines():
    for line in sys.stdin:
        yield line


_CLIENT_OUT_MAX = 65536     # replies waiting for a console client; above this its input is not read until it reads


def _tcp_lines(app, a, err):
    """stdin lines, while serving console clients on 127.0.0.1 between them (CPython only: select, socket).

    Clients are non-blocking with their own output buffer: a client that does not read only stops its own
    console (its requests wait once its pending replies pass _CLIENT_OUT_MAX); the firmware and every other
    client carry on (issue 15: one stuck client used to freeze op_time for everyone)."""
    import hashlib
    import os
    import select
    import socket
    import time
    from proto.auth import Auth
    from drivers.console_uart import LineAssembler
    app.auth = Auth(hashlib.sha256, os.urandom, a["secret"])
    if app.device.urandom is None:
        app.device.urandom = os.urandom    # instant_readout_rekey draws its key here
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", a["console-port"]))
    srv.listen(2)
    err.write("console on 127.0.0.1:%d\n" % srv.getsockname()[1])
    err.flush()
    clients = {}                # socket -> (Console, LineAssembler, pending output bytearray)
    buf = b""
    last_ms = time.monotonic_ns() // 1000000

    def drop(s):
        clients.pop(s)[0].disconnect()
        s.close()

    while True:
        readable = [srv] + [c for c, v in clients.items() if len(v[2]) < _CLIENT_OUT_MAX]
        writable = [c for c, v in clients.items() if v[2]]
        r, w, _ = select.select([sys.stdin.fileno()] + readable, writable, [], None)
        # issue 14: a person is on the other end of the TCP console, so its lockout runs on wall time (on the
        # simulated clock a 30 s lockout lasted 1.8 s)
        now_ms = time.monotonic_ns() // 1000000
        app.auth.elapse(now_ms - last_ms)
        last_ms = now_ms
        for s in w:
            out = clients[s][2]
            try:
                n = s.send(out)
            except BlockingIOError:
                continue
            except OSError:
                drop(s)
                continue
            del out[:n]
        for s in r:
            if s == sys.stdin.fileno():
                data = os.read(s, 65536)
                if not data:
                    for c in list(clients):
                        drop(c)
                    srv.close()
                    if buf:
                        yield buf.decode()
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    yield line.decode()
            elif s is srv:
                c, _ = srv.accept()
                c.setblocking(False)
                clients[c] = (Console(app.device, app.auth), LineAssembler(), bytearray())
            elif s in clients:
                con, asm, out = clients[s]
                try:
                    data = s.recv(512)      # small reads keep one client's burst of replies bounded
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    drop(s)
                    continue
                for item in asm.feed(data):
                    reply = con.reply(item)
                    out += reply.encode()


def _unhex(s):
    s = s.replace(" ", "")
    return bytes(int(s[i:i + 2], 16) for i in range(0, len(s) - 1, 2))


if __name__ == "__main__":
    main()
