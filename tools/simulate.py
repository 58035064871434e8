#!/usr/bin/env python3
"""Battery simulator: a modelled battery, chargers and loads drive the real firmware (fake INA226 -> driver ->
core -> VE.Direct) under CPython or MicroPython, and show what the monitor makes of it.

    .venv/bin/python tools/simulate.py healthy_3day
    .venv/bin/python tools/simulate.py never_syncs --runtime micropython --days 1
    .venv/bin/python tools/simulate.py healthy_3day --out pty        # feed a VE.Direct reader in real time
    .venv/bin/python tools/simulate.py never_syncs --web 8080         # the phone page, live, on 127.0.0.1:8080
"""
from __future__ import annotations

import argparse
import os
import select
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sim import plot as sim_plot                              # noqa: E402
from sim import report, scenario                               # noqa: E402
from sim.runner import FileSink, LineSink, Runner, SimError, Sink   # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class PtySink(LineSink):
    """A pseudo-terminal: a VE.Direct reader (or a GX over socat/ser2net) opens the printed path."""

    def __init__(self):
        import tty
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        super().__init__()

    def _try_write(self, data) -> int:
        try:
            return os.write(self.master, data)
        except (BlockingIOError, OSError):
            return 0

    def _write_some(self, data) -> int:
        # the rest of a unit waits for room (a reader that stalls gets it later, whole), re-checking for close
        _, w, _ = select.select([], [self.master], [], 0.2)
        if not w:
            return 0
        try:
            return os.write(self.master, data)
        except BlockingIOError:
            return 0

    def read(self) -> bytes:
        r, _, _ = select.select([self.master], [], [], 0.2)
        if r:
            try:
                return os.read(self.master, 256)
            except OSError:
                return b""
        return b""

    def close(self) -> None:
        super().close()
        os.close(self.master)
        os.close(self.slave)


class SerialSink(LineSink):
    """A real serial port at 19 200 8N1 (VE.Direct), through pyserial."""

    def __init__(self, port: str):
        import serial
        try:
            # blocking writes in the writer thread: without flow control a UART always drains at 19 200 baud
            self.s = serial.Serial(port, 19200, timeout=0.2, write_timeout=None)
        except (serial.SerialException, ValueError) as e:
            raise SimError("serial port %s: %s" % (port, e)) from None
        self.path = port
        super().__init__()

    def _write_some(self, data) -> int:
        return self.s.write(data) or 0

    def read(self) -> bytes:
        return self.s.read(max(1, self.s.in_waiting))

    def close(self) -> None:
        super().close()
        self.s.close()


class Progress:
    """A progress bar on stderr (tqdm), shown once a run has taken more than 2 s; `frac` runs from 0 to 1."""

    def __init__(self, label: str, enabled: bool, delay_s: float = 2.0, file=None):
        from tqdm import tqdm
        self.bar = tqdm(total=1000, desc=label, disable=not enabled, delay=delay_s, leave=True,
                        file=file if file is not None else sys.stderr,
                        bar_format="{desc} |{bar:30}| {percentage:3.0f} %  {elapsed} (eta {remaining})")

    def __call__(self, frac: float) -> None:
        self.bar.update(max(0, min(1000, int(frac * 1000))) - self.bar.n)
        if frac >= 1.0:
            self.bar.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="scenarios: " + ", ".join(scenario.names()))
    ap.add_argument("scenario", help="a scenario name from tools/scenarios/ or a path to a .toml file")
    ap.add_argument("--runtime", choices=("cpython", "micropython"), default="cpython",
                    help="interpreter that runs the firmware (default cpython)")
    ap.add_argument("--out", default=None, metavar="-|FILE|pty|serial:PORT",
                    help="where the VE.Direct stream goes: stdout (-), a file, a new pseudo-terminal (its path is "
                         "printed) or a serial port; default: nowhere")
    ap.add_argument("--speed", type=float, default=None,
                    help="simulated seconds per real second (default: 1 for pty/serial, as fast as possible else)")
    ap.add_argument("--csv", type=Path, default=None, help="write the merged per-second log (true and firmware)")
    ap.add_argument("--plot", type=Path, default=None, help="PNG path (default out/<scenario>.png)")
    ap.add_argument("--no-plot", action="store_true", help="skip the plot")
    ap.add_argument("--days", type=float, default=None, help="override the scenario's duration")
    ap.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a firmware setting on top of the scenario's (e.g. --set sync_mode=victron); repeatable")
    ap.add_argument("--console-port", type=int, default=None, metavar="PORT",
                    help="serve the firmware's console on 127.0.0.1:PORT (0: a free port, printed; CPython runtime; "
                         "secret from "
                         "$SHUNT_SECRET, 64 hex characters) for tools/shuntctl.py --tcp")
    ap.add_argument("--web", type=int, default=None, metavar="PORT",
                    help="serve the phone page (web/) on http://127.0.0.1:PORT/, its console bridged over a "
                         "WebSocket (CPython runtime; real time unless --speed)")
    a = ap.parse_args(argv)

    sink: Sink | None = None
    try:
        over = {"days": a.days} if a.days is not None else None
        if a.days is not None and a.days <= 0:
            raise SimError("--days %r: must be > 0" % a.days)
        sc = scenario.load(a.scenario, over)
        info = sys.stdout
        hex_source = None
        speed = a.speed or 0.0
        if a.out == "-":
            sink = FileSink(sys.stdout.buffer, close=False)
            info = sys.stderr
        elif a.out == "pty":
            sink = PtySink()
            hex_source = sink.read
            speed = 1.0 if a.speed is None else a.speed
            print("VE.Direct on pseudo-terminal %s" % sink.path, flush=True)
        elif a.out and a.out.startswith("serial:"):
            sink = SerialSink(a.out[len("serial:"):])
            hex_source = sink.read
            speed = 1.0 if a.speed is None else a.speed
            print("VE.Direct on serial port %s" % sink.path, flush=True)
        elif a.out:
            try:
                sink = FileSink(open(a.out, "wb"), close=True)
            except OSError as e:
                raise SimError("--out %s: %s" % (a.out, e.strerror)) from None
        prog = Progress(sc.name, enabled=not a.quiet and sys.stderr.isatty())
        fw_args = []
        if a.web is not None:
            if a.runtime != "cpython" or not 0 <= a.web <= 65535:
                raise SimError("--web needs --runtime cpython and a port 0..65535")
            import web_bridge
            fw_args = web_bridge.for_simulator(a.web, a.console_port, sc.name)[0]
            speed = 1.0 if a.speed is None else a.speed
        elif a.console_port is not None:
            secret = os.environ.get("SHUNT_SECRET", "")
            if a.runtime != "cpython" or not 0 <= a.console_port <= 65535 or len(secret) != 64:
                raise SimError("--console-port needs --runtime cpython, a port 0..65535 (0: any free one) and "
                               "SHUNT_SECRET set to 64 hex characters")
            fw_args = ["--console-port", str(a.console_port), "--secret", secret]
            if a.console_port:
                print("console: tools/shuntctl.py --tcp 127.0.0.1:%d status" % a.console_port, file=sys.stderr)
        for kv in a.set:
            name, eq, value = kv.partition("=")
            if not eq or not name.strip():
                raise SimError("--set %r: must be NAME=VALUE" % kv)
            sc.settings[name.strip()] = value.strip()
        runner = Runner(sc, a.runtime, sink=sink, progress=prog, speed=speed, hex_source=hex_source,
                        fw_args=fw_args)
        runner.log = lambda msg: print(msg, file=sys.stderr, flush=True)
        res = runner.run()
        outputs = {}
        if a.csv:
            report.write_csv(res, a.csv)
            outputs["CSV"] = str(a.csv)
        if not a.no_plot:
            path = a.plot or (ROOT / "out" / (sc.name + ".png"))
            sim_plot.render(res, path)
            outputs["Plot"] = os.path.relpath(path)
        if a.out:
            outputs["VE.Direct"] = {"-": "stdout"}.get(a.out, getattr(sink, "path", a.out))
        if not a.quiet:
            print(report.summary(res, outputs), file=info, flush=True)
        return 0
    except (scenario.ScenarioError, SimError) as e:
        print("simulate: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("simulate: interrupted", file=sys.stderr)
        return 2
    finally:
        if sink is not None:
            sink.close()


if __name__ == "__main__":
    sys.exit(main())
