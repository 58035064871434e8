"""End to end: tools/shuntctl.py (a separate process) against tools/console_server.py over TCP on 127.0.0.1,
serving the real app (its Device) without hardware. A `set capacity` shows in `status` and in the VE.Direct text block."""
import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from console_server import ConsoleServer, make_app, make_auth
from shunt.settings import Settings
from proto.vedirect import TextBuilder

ROOT = Path(__file__).resolve().parent.parent
SHUNTCTL = ROOT / "tools" / "shuntctl.py"
SECRET = "5e" * 32


@pytest.fixture(scope="module")
def server():
    app = make_app()
    app.monitor.set_soc(5000)           # 50.00 %: Qp = 100 Ah of the default 200 Ah (BM §4.4)
    device = app.device
    srv = ConsoleServer(device, make_auth(SECRET))
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(srv.start())
        started.set()
        loop.run_forever()

    th = threading.Thread(target=run, daemon=True)
    th.start()
    assert started.wait(5)
    yield srv
    asyncio.run_coroutine_threadsafe(srv.close(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    th.join(5)


def ctl(srv, *args, secret=SECRET, port=None):
    env = dict(os.environ)
    env.pop("SHUNT_SECRET", None)
    if secret:
        env["SHUNT_SECRET"] = secret
    return subprocess.run([sys.executable, str(SHUNTCTL), "--tcp", "127.0.0.1:%d" % (port or srv.port)] + list(args),
                          capture_output=True, text=True, timeout=60, env=env)


def vedirect_fields(monitor):
    b = TextBuilder()
    n = b.build_cycle_from(monitor)
    fields = {}
    for rec in bytes(b.buf[:n]).split(b"\r\n"):
        label, sep, value = rec.partition(b"\t")
        if sep:
            fields[label.decode()] = value
    return fields


def test_set_capacity_shows_in_status_and_vedirect(server):
    mon = server.device.monitor
    r = ctl(server, "--json", "status")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["SOC"] == "50.00 %"
    assert vedirect_fields(mon)["SOC"] == b"500"
    r = ctl(server, "set", "capacity", "400")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "capacity=400 Ah"
    assert server.device.storage.store.json_saves == 1
    # BM §1: a capacity change keeps Qp (100 Ah), so SOC = (400 - 100) / 400 = 75.0 %.
    r = ctl(server, "--json", "status")
    assert json.loads(r.stdout)["SOC"] == "75.00 %"
    assert vedirect_fields(mon)["SOC"] == b"750"
    r = ctl(server, "get", "capacity")
    assert r.stdout.strip() == "400 Ah"


def test_human_table_and_json_list(server):
    r = ctl(server, "status")
    assert r.returncode == 0
    assert any(ln.split()[0] == "SOC" for ln in r.stdout.splitlines())
    r = ctl(server, "--json", "list")
    rows = json.loads(r.stdout)
    from shunt.settings import TABLE
    assert len(rows) == len(TABLE) == len(Settings().values)    # every setting, the aux input's too (issue 18)
    cap = [x for x in rows if x["name"] == "tail_current"][0]
    assert cap == {"name": "tail_current", "value": "4.0 %", "range": "0.5..10.0 % in steps of 0.1",
                   "default": "4.0 %"}


def test_value_error_is_one_line_on_stderr_and_changes_nothing(server):
    before = server.device.settings.values["capacity"]
    r = ctl(server, "set", "capacity", "nan")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("shuntctl: ERR VALUE capacity")
    assert server.device.settings.values["capacity"] == before


def test_wrong_secret_is_refused(server):
    before = server.device.settings.values["capacity"]
    r = ctl(server, "set", "capacity", "123", secret="00" * 32)
    assert r.returncode == 1 and "ERR AUTH" in r.stderr and r.stderr.count("\n") == 1
    assert ("00" * 32) not in r.stderr
    assert server.device.settings.values["capacity"] == before


def test_missing_secret_for_a_change(server):
    r = ctl(server, "synchronize", secret=None)
    assert r.returncode == 2 and "--secret" in r.stderr and r.stderr.count("\n") == 1


def test_connection_refused_is_one_line(server):
    r = ctl(server, "status", port=1)
    assert r.returncode == 2 and r.stderr.startswith("shuntctl: cannot connect") and r.stderr.count("\n") == 1


def test_set_soc_sync_status_history_warnings_watch(server):
    r = ctl(server, "set-soc", "42.5")
    assert r.returncode == 0 and "42.50" in r.stdout
    assert server.device.monitor.soc_cpct == 4250
    r = ctl(server, "--json", "sync-status")
    assert json.loads(r.stdout)["last_set_soc_cpct"] == "42.50 %"
    r = ctl(server, "--json", "history")
    assert set(json.loads(r.stdout)) == {"H%d" % i for i in range(1, 19)}
    assert ctl(server, "warnings").returncode == 0
    r = ctl(server, "--json", "watch", "--count", "2", "--interval", "0.05")
    assert [json.loads(x)["SOC"] for x in r.stdout.splitlines()] == ["42.50 %", "42.50 %"]


def test_passwd_changes_the_secret_and_never_prints_a_given_one(server):
    new = "a1" * 32
    r = ctl(server, "passwd", "--new-secret", new)
    assert r.returncode == 0, r.stderr
    assert new not in r.stdout and SECRET not in r.stdout
    assert server.device.storage.store.json["secret.txt"] == new.encode()
    assert ctl(server, "save").returncode == 1                    # the old secret no longer works
    r = ctl(server, "passwd", "--new-secret", SECRET, secret=new)  # and back
    assert r.returncode == 0, r.stderr
    assert ctl(server, "save").returncode == 0


def test_the_auth_rule_and_the_plain_commands_come_from_the_console_table(server):
    # One owner (issue 16): shuntctl reads proto.console's table, so `raw` authenticates exactly when the
    # console would refuse without it, and every argument-less console command is a subcommand.
    import shuntctl
    from proto.console import COMMANDS, needs_auth
    assert set(shuntctl.PLAIN.values()) >= {"synchronize", "save", "restart", "clear_history", "zero_current",
                                            "restore_defaults", "instant_readout_rekey"}
    assert all(COMMANDS[c][:2] == (0, 0) for c in shuntctl.PLAIN.values())
    assert needs_auth("save") and not needs_auth("status")
    r = ctl(server, "raw", "save", secret=None)
    assert r.returncode == 2 and "--secret" in r.stderr            # it tried to log in first
    r = ctl(server, "raw", "save")
    assert r.returncode == 0 and r.stdout.strip().endswith("OK saved")
    r = ctl(server, "raw", "status", secret=None)
    assert r.returncode == 0 and "SOC=" in r.stdout


def test_apply_battery_type_shows_then_makes_the_changes(server):
    # issue 17: one step to the chemistry's values; every change shown first, made only with --yes
    r = ctl(server, "apply-battery-type", "lfp")
    assert r.returncode == 0, r.stderr
    assert "peukert_exponent: 1.25 -> 1.05" in r.stdout and "none made" in r.stdout
    assert ctl(server, "get", "peukert_exponent").stdout.strip() == "1.25"
    r = ctl(server, "--json", "apply-battery-type", "lfp", "--yes")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["made"] and "charge_efficiency: 95 % -> 99 %" in d["changes"]
    assert ctl(server, "get", "peukert_exponent").stdout.strip() == "1.05"
    assert ctl(server, "get", "battery_type").stdout.strip() == "lfp"
    assert ctl(server, "apply-battery-type", "--yes", secret=None).returncode != 0    # needs the secret
    r = ctl(server, "apply-battery-type", "lead_acid", "--yes")                       # back for the other tests
    assert r.returncode == 0 and ctl(server, "get", "peukert_exponent").stdout.strip() == "1.25"


def test_aux_input_status_help_and_history(server):
    # issue 18: set the mode, the monitor reads a mid-point, shuntctl shows VM and DM; help explains the setting
    r = ctl(server, "set", "aux_input", "midpoint")
    assert r.returncode == 0 and r.stdout.strip() == "aux_input=midpoint", r.stderr
    mon = server.device.monitor
    mon.v_mv = 25000
    mon.aux.reading(12000)
    mon.second()
    d = json.loads(ctl(server, "--json", "status").stdout)
    assert d["aux"] == "midpoint" and d["VM"] == "12.000 V" and d["DM"].startswith("4.0 %")
    assert vedirect_fields(mon)["VM"] == b"12000" and vedirect_fields(mon)["DM"] == b"40"
    r = ctl(server, "help", "aux_input")
    assert r.returncode == 0 and "mid" in r.stdout and "starter|midpoint|temperature|none" in r.stdout
    h = json.loads(ctl(server, "--json", "history").stdout)
    assert h["H13"].startswith("0") and h["H16"].startswith("0")
    assert ctl(server, "set", "aux_input", "none").returncode == 0
