#!/usr/bin/env python3
"""shuntctl: the host client of the shunt console, over BLE (Nordic UART, bleak), a serial port (pyserial) or
TCP (the simulator, tools/console_server.py).

    shuntctl --tcp 127.0.0.1:7878 status
    shuntctl --ble Shunt-1A2B list
    SHUNT_SECRET=<64 hex> shuntctl --serial /dev/ttyUSB0 set capacity 280
    shuntctl --tcp 127.0.0.1:7878 --json sync-status

Changing anything authenticates first: the device sends a nonce, shuntctl answers HMAC-SHA256(secret, nonce).
The secret (64 hex characters; or the one-time setup code a fresh device prints on USB) comes from --secret or
$SHUNT_SECRET and never crosses the link.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hostpath  # noqa: E402,F401  (firmware/ on sys.path)
from proto.console import COMMANDS, ORDER, needs_auth  # noqa: E402  (the console's own table: arity, auth, usage)

NUS_RX = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"   # central -> device (write)
NUS_TX = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"   # device -> central (notify)
TIMEOUT_S = 15.0      # zero_current alone takes 10 s on the device


class ShuntError(Exception):
    """A failure for the user: one line on stderr, non-zero exit."""

    def __init__(self, msg: str, status: int = 2):
        super().__init__(msg)
        self.status = status


class DeviceError(ShuntError):
    """The device answered ERR CODE message."""

    def __init__(self, code: str, msg: str):
        super().__init__("ERR %s %s" % (code, msg), 1)
        self.code = code


def _is_final(line: str) -> bool:
    return line == "OK" or line.startswith("OK ") or line.startswith("ERR ")


class Transport:
    """Sends one line, returns the whole reply (data lines and the final OK/ERR line)."""

    def __init__(self) -> None:
        self._buf = ""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def _write(self, data: bytes) -> None:
        raise NotImplementedError

    async def _read(self) -> str:
        raise NotImplementedError

    async def request(self, line: str) -> str:
        await self._write((line + "\n").encode())
        out: list[str] = []
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            while "\n" in self._buf:
                ln, self._buf = self._buf.split("\n", 1)
                out.append(ln)
                if _is_final(ln):
                    return "\n".join(out) + "\n"
            left = deadline - time.monotonic()
            if left <= 0:
                raise ShuntError("no reply from the device within %d s" % TIMEOUT_S)
            try:
                chunk = await asyncio.wait_for(self._read(), left)
            except asyncio.TimeoutError:
                raise ShuntError("no reply from the device within %d s" % TIMEOUT_S) from None
            if chunk == "":
                raise ShuntError("the device closed the connection")
            self._buf += chunk


class TcpTransport(Transport):
    def __init__(self, target: str) -> None:
        super().__init__()
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            raise ShuntError("--tcp %s: must be HOST:PORT" % target)
        self.host, self.port = host, int(port)

    async def open(self) -> None:
        try:
            self.r, self.w = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 5)
        except (OSError, asyncio.TimeoutError) as e:
            raise ShuntError("cannot connect to %s:%d: %s" % (self.host, self.port, e or "timeout")) from None

    async def close(self) -> None:
        self.w.close()

    async def _write(self, data: bytes) -> None:
        self.w.write(data)
        await self.w.drain()

    async def _read(self) -> str:
        return (await self.r.read(4096)).decode(errors="replace")


class SerialTransport(Transport):
    def __init__(self, port: str, baud: int) -> None:
        super().__init__()
        self.port, self.baud = port, baud

    async def open(self) -> None:
        import serial  # pyserial
        try:
            self.s = serial.Serial(self.port, self.baud, timeout=0.2)
        except (serial.SerialException, OSError) as e:
            raise ShuntError("cannot open %s: %s" % (self.port, e)) from None
        self.s.reset_input_buffer()

    async def close(self) -> None:
        self.s.close()

    async def _write(self, data: bytes) -> None:
        await asyncio.to_thread(self.s.write, data)

    async def _read(self) -> str:
        while True:
            b = await asyncio.to_thread(self.s.read, 256)
            if b:
                return b.decode(errors="replace")


class BleTransport(Transport):
    """NUS over bleak: writes of at most MTU - 3 bytes to RX, notifications from TX reassembled (PL §3.2-3.3)."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target
        self.q: asyncio.Queue[str] = asyncio.Queue()

    async def open(self) -> None:
        from bleak import BleakClient, BleakScanner
        dev = await BleakScanner.find_device_by_filter(
            lambda d, ad: (d.name or ad.local_name or "") == self.target or d.address.lower() == self.target.lower(),
            timeout=10.0)
        if dev is None:
            raise ShuntError("no BLE device named or at %s found" % self.target)
        self.c = BleakClient(dev)
        try:
            await self.c.connect()
            await self.c.start_notify(NUS_TX, lambda _h, data: self.q.put_nowait(bytes(data).decode(errors="replace")))
        except Exception as e:  # bleak raises several types, all meaning "could not connect"
            raise ShuntError("cannot connect to %s: %s" % (self.target, e)) from None

    async def close(self) -> None:
        await self.c.disconnect()

    async def _write(self, data: bytes) -> None:
        n = max(20, (self.c.mtu_size or 23) - 3)
        for i in range(0, len(data), n):
            await self.c.write_gatt_char(NUS_RX, data[i:i + n], response=False)

    async def _read(self) -> str:
        return await self.q.get()


# --- protocol ---------------------------------------------------------------------------------------------
def parse_reply(reply: str) -> tuple[list[str], str]:
    """(data lines, final line); DeviceError for ERR."""
    lines = reply.rstrip("\n").split("\n")
    final = lines[-1]
    if final.startswith("ERR "):
        parts = final.split(" ", 2)
        raise DeviceError(parts[1] if len(parts) > 1 else "?", parts[2] if len(parts) > 2 else "")
    return lines[:-1], final[3:] if final.startswith("OK ") else ""


def key_of(secret: str) -> bytes:
    """The HMAC key: a 64-hex secret, else the text itself (the one-time setup code)."""
    s = secret.strip()
    if len(s) == 64:
        try:
            return bytes.fromhex(s)
        except ValueError:
            pass
    return s.encode()


class Client:
    def __init__(self, transport: Transport, secret: str | None) -> None:
        self.t = transport
        self.secret = secret
        self.pad: bytes | None = None

    async def cmd(self, line: str) -> tuple[list[str], str]:
        return parse_reply(await self.t.request(line))

    async def login(self) -> None:
        if not self.secret:
            raise ShuntError("this command changes the device: give the secret with --secret or $SHUNT_SECRET")
        _, fin = await self.cmd("auth")
        if not fin.startswith("nonce="):
            raise ShuntError("unexpected reply to auth: %s" % fin)
        nonce = bytes.fromhex(fin[6:].strip())
        key = key_of(self.secret)
        await self.cmd("auth " + hmac.new(key, nonce, hashlib.sha256).hexdigest())
        self.pad = hmac.new(key, b"passwd" + nonce, hashlib.sha256).digest()


def kv(lines: list[str]) -> dict[str, str]:
    out = {}
    for ln in lines:
        k, sep, v = ln.partition("=")
        if sep:
            out[k] = v
    return out


def table(rows: list[tuple[str, ...]]) -> str:
    if not rows:
        return ""
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in rows)


def print_kv(lines: list[str], as_json: bool, final: str = "") -> None:
    d = kv(lines)
    if as_json:
        print(json.dumps(d, indent=2))
    else:
        if d:
            print(table([(k, v) for k, v in d.items()]))
        elif final:
            print(final)


# --- subcommands ------------------------------------------------------------------------------------------
# shuntctl's subcommand names are the console's with "-" for "_"; these are shortened.
ALIASES = {"rekey": "instant_readout_rekey"}
# Console commands without arguments that shuntctl runs as they are (print the final line): every one in the
# console's table except the reading ones it formats itself, so a new console command appears here by itself.
_FORMATTED = ("help", "list", "status", "sync_status", "warnings", "history", "auth", "logout")
PLAIN = {("rekey" if c == "instant_readout_rekey" else c.replace("_", "-")): c for c in ORDER
         if COMMANDS[c][0] == 0 and COMMANDS[c][1] == 0 and c not in _FORMATTED}


def console_command(args: argparse.Namespace) -> str:
    """The console command a shuntctl invocation sends first (for `raw`, the line's first word)."""
    if args.cmd == "raw":
        return args.line[0].lower()
    return ALIASES.get(args.cmd, args.cmd.replace("-", "_"))


async def run(args: argparse.Namespace) -> int:
    if args.tcp:
        t: Transport = TcpTransport(args.tcp)
    elif args.serial:
        t = SerialTransport(args.serial, args.baud)
    else:
        t = BleTransport(args.ble)
    await t.open()
    c = Client(t, args.secret or os.environ.get("SHUNT_SECRET"))
    try:
        if needs_auth(console_command(args)) or (args.cmd == "get" and args.name.lower() == "instant_readout_key"):
            await c.login()
        return await dispatch(c, args)
    finally:
        await t.close()


async def dispatch(c: Client, a: argparse.Namespace) -> int:
    j = a.json
    if a.cmd in ("status", "sync-status", "warnings", "history"):
        lines, fin = await c.cmd(a.cmd.replace("-", "_"))
        if a.cmd == "warnings" and not j:
            print("\n".join(lines) if lines else "no warnings")
        else:
            print_kv(lines, j, fin)
    elif a.cmd == "list":
        lines, _ = await c.cmd("list")
        rows = []
        for ln in lines:
            name, _, rest = ln.partition("=")
            value, _, rest = rest.partition("; range ")
            rng, _, default = rest.rpartition("; default ")
            rows.append({"name": name, "value": value, "range": rng, "default": default})
        if j:
            print(json.dumps(rows, indent=2))
        else:
            print(table([("NAME", "VALUE", "RANGE", "DEFAULT")] +
                        [(r["name"], r["value"], r["range"], r["default"]) for r in rows]))
    elif a.cmd == "get":
        _, fin = await c.cmd("get " + a.name)
        name, _, value = fin.partition("=")
        print(json.dumps({"name": name, "value": value}) if j else value)
    elif a.cmd == "set":
        _, fin = await c.cmd("set %s %s" % (a.name, " ".join(a.value)))
        name, _, value = fin.partition("=")
        print(json.dumps({"name": name, "value": value}) if j else fin)
    elif a.cmd == "set-soc":
        _, fin = await c.cmd("set_soc " + a.soc)
        print(json.dumps({"ok": True, "message": fin}) if j else fin)
    elif a.cmd == "apply-battery-type":
        # the device lists every change; without --yes it makes none
        line = " ".join(["apply_battery_type"] + ([a.type] if a.type else []) + (["yes"] if a.yes else []))
        lines, fin = await c.cmd(line)
        if j:
            print(json.dumps({"changes": lines, "made": bool(a.yes and lines), "message": fin}))
        else:
            print("\n".join(lines + [fin]))
    elif a.cmd == "relay":
        _, fin = await c.cmd("relay " + a.state)
        print(json.dumps({"ok": True, "message": fin}) if j else fin)
    elif a.cmd in PLAIN:
        _, fin = await c.cmd(PLAIN[a.cmd])
        print(json.dumps({"ok": True, "message": fin}) if j else fin)
    elif a.cmd == "passwd":
        new = a.new_secret or secrets.token_hex(32)
        raw = key_of(new)
        if len(raw) != 32:
            raise ShuntError("--new-secret: must be 64 hex characters")
        assert c.pad is not None
        masked = bytes(x ^ y for x, y in zip(raw, c.pad))
        _, fin = await c.cmd("passwd " + masked.hex())
        if a.new_secret:
            print(json.dumps({"ok": True}) if j else fin)
        else:
            # A generated secret is shown once, here, so that the user can keep it.
            print(json.dumps({"ok": True, "secret": new}) if j else "%s\nnew secret: %s" % (fin, new))
    elif a.cmd == "watch":
        await watch(c, a)
    elif a.cmd == "help":
        lines, fin = await c.cmd("help " + a.topic if a.topic else "help")
        if j:
            print(json.dumps({"topic": a.topic or "", "lines": lines, "message": fin}, indent=2))
        else:
            print("\n".join(([fin] if fin else []) + lines))
    elif a.cmd == "raw":
        reply = await c.t.request(" ".join(a.line))
        print(reply, end="")
        parse_reply(reply)
    return 0


async def watch(c: Client, a: argparse.Namespace) -> None:
    """The status every --interval s: updated in place on a terminal (rich), one table per update otherwise
    (a pipe or a file; --json: one JSON object per line)."""
    live = None
    if not a.json and sys.stdout.isatty():
        from rich.live import Live
        live = Live(auto_refresh=False, transient=False)
        live.start()
    n = 0
    try:
        while a.count == 0 or n < a.count:
            lines, _ = await c.cmd("status")
            d = kv(lines)
            stamp = time.strftime("%H:%M:%S")
            if a.json:
                print(json.dumps(d), flush=True)
            elif live is not None:
                live.update(_rich_table(d, stamp), refresh=True)
            else:
                print(stamp)
                print(table(list(d.items())), flush=True)
            n += 1
            if a.count == 0 or n < a.count:
                await asyncio.sleep(a.interval)
    finally:
        if live is not None:
            live.stop()


def _rich_table(d: dict[str, str], stamp: str):
    from rich.table import Table
    t = Table(title="shunt status  " + stamp, show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    for k, v in d.items():
        t.add_row(k, v)
    return t


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shuntctl", description="Configure and read the shunt over BLE, serial or TCP.")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--tcp", metavar="HOST:PORT", help="the simulator's console (tools/console_server.py)")
    g.add_argument("--serial", metavar="PORT", help="USB serial port, e.g. /dev/ttyUSB0")
    g.add_argument("--ble", metavar="NAME_OR_ADDRESS", help="BLE name (Shunt-XXXX or device_name) or address")
    p.add_argument("--baud", type=int, default=115200, help="serial baud rate (default 115200)")
    p.add_argument("--secret", help="console secret (64 hex) or setup code; default $SHUNT_SECRET")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    sub.add_parser("status", help="measurements, SOC, alarms, relay, warnings")
    sub.add_parser("sync-status", help="every term of the sync condition")
    sub.add_parser("warnings", help="active warnings")
    sub.add_parser("history", help="H1..H18")
    sub.add_parser("list", help="every setting with value, range and default")
    s = sub.add_parser("get", help="read one setting")
    s.add_argument("name")
    s = sub.add_parser("set", help="change one setting")
    s.add_argument("name")
    s.add_argument("value", nargs="+")
    for name, c in PLAIN.items():
        sub.add_parser(name, help=COMMANDS[c][3].split(": ", 1)[-1].replace("%", "%%"))
    s = sub.add_parser("set-soc", help="set the state of charge (0.00..100.00 %%)")
    s.add_argument("soc")
    s = sub.add_parser("apply-battery-type", help="the values a chemistry recommends (charged voltage, tail, "
                       "Peukert, CEF, sync mode): shown; with --yes set and saved")
    s.add_argument("type", nargs="?", choices=("lead_acid", "lfp"), help="chemistry (default: battery_type)")
    s.add_argument("--yes", action="store_true", help="make the changes (without it they are only shown)")
    s = sub.add_parser("relay", help="remote relay command (relay_mode remote)")
    s.add_argument("state", choices=("on", "off"))
    s = sub.add_parser("passwd", help="set a new console secret (generated and shown once if not given)")
    s.add_argument("--new-secret", help="64 hex characters")
    s = sub.add_parser("watch", help="live status view")
    s.add_argument("--interval", type=float, default=1.0, help="seconds between updates")
    s.add_argument("--count", type=int, default=0, help="stop after N updates (0: run until Ctrl-C)")
    s = sub.add_parser("help", help="the console's help: every command, or what a setting does (help peukert_exponent)")
    s.add_argument("topic", nargs="?", help="a setting or command name")
    s = sub.add_parser("raw", help="send one console line as typed and print the reply (authenticates first when "
                                   "the console's table says the command needs it)")
    s.add_argument("line", nargs="+")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(run(args))
    except ShuntError as e:
        print("shuntctl: %s" % e, file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `shuntctl watch | head`: the reader left. Point stdout at /dev/null so that the interpreter's final
        # flush cannot raise again, and exit as a process killed by SIGPIPE would.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
