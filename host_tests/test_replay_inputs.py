"""tools/replay.py under damaged inputs and outputs (issue 14, items 6-10), under both runtimes."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
REPLAY = str(ROOT / "tools" / "replay.py")
RUNTIMES = ["cpython", "micropython"]


def run(args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 120)       # the old code wrote 10^10 block pairs for a first t_ms of 10^13
    return subprocess.run([PY, REPLAY] + [str(a) for a in args], **kw)


def trace(tmp_path, rows=None, text=None, name="t.csv"):
    p = tmp_path / name
    if text is None:
        rows = rows if rows is not None else [(t * 500, 12800, -2000) for t in range(9)]
        text = "t_ms,voltage_mv,current_ma\n" + "".join("%d,%d,%d\n" % r for r in rows)
    p.write_bytes(text.encode("utf-8"))
    return p


def first_a(stream):
    return stream.split(b"\r\nChecksum\t")[0].decode("latin-1")


# ---- 6: settings given on the command line are in force at start-up ------------------------------------------

@pytest.mark.parametrize("runtime", RUNTIMES)
def test_start_synchronized_off_is_in_force_at_start(tmp_path, runtime):
    r = run([trace(tmp_path), "--set", "start_synchronized=off", "--runtime", runtime])
    assert r.returncode == 0, r.stderr
    a = first_a(r.stdout)
    assert "\r\nSOC\t---" in a and "\r\nCE\t---" in a, a


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_with_state_the_stored_settings_come_first_then_set(tmp_path, runtime):
    state = tmp_path / "flash"
    r = run([trace(tmp_path), "--set", "capacity=100", "--state", state, "--runtime", runtime])
    assert r.returncode == 0, r.stderr
    r = run([trace(tmp_path), "--set", "start_synchronized=off", "--state", tmp_path / "flash2", "--runtime",
             runtime])
    (tmp_path / "flash2" / "settings.json").unlink()
    # run 2 on the first flash: capacity from flash, start_synchronized from the command line
    for f in state.glob("state_*.bin"):
        f.unlink()                     # no record: the start-up rules (start_synchronized) apply
    r = run([trace(tmp_path), "--set", "start_synchronized=off", "--state", state, "--runtime", runtime])
    assert r.returncode == 0, r.stderr
    assert "\r\nSOC\t---" in first_a(r.stdout)
    values = json.loads((state / "settings.json").read_text())["values"]
    assert values["capacity"] == 100 and values["start_synchronized"] == 0


# ---- 7: a damaged state directory is reported on stderr -----------------------------------------------------------

@pytest.mark.parametrize("runtime", RUNTIMES)
def test_damaged_state_dir_is_reported_on_stderr(tmp_path, runtime):
    state = tmp_path / "flash"
    assert run([trace(tmp_path), "--set", "capacity=100", "--state", state]).returncode == 0
    (state / "state_a.bin").write_bytes(b"garbage" * 10)
    d = json.loads((state / "settings.json").read_text())
    d["values"]["relay_off_delay"] = 501
    (state / "settings.json").write_text(json.dumps(d))
    r = run([trace(tmp_path), "--state", state, "--runtime", runtime])
    err = r.stderr.decode()
    assert r.returncode == 0 and r.stdout
    assert "state_a.bin" in err and "relay_off_delay" in err and "settings.json" in err, err
    assert b"diag" not in r.stdout


# ---- 8: what the checker accepts, both runtimes read alike; the rest is refused ---------------------------------------

@pytest.mark.parametrize("text, needle", [
    ("t_ms,voltage_mv,current_ma\n0,12000,\u00a00\n", "line 2: current_ma"),          # a no-break space
    ("t_ms,voltage_mv,current_ma\n0,12000,0\n\u00a0\n100,12000,0\n", "line 3"),       # a "blank" line
    ("t_ms,voltage_mv,current_ma\r0,12000,0\r1000,12000,0\r", "CR"),                 # old Mac line ends
    ("t_ms,voltage_mv,current_ma\n0,12000,\u0661\n", "line 2: current_ma"),          # an Arabic-Indic digit
])
def test_what_one_runtime_cannot_read_is_refused(tmp_path, text, needle):
    r = run([trace(tmp_path, text=text)])
    err = r.stderr.decode()
    assert r.returncode == 2 and r.stdout == b"" and needle in err and err.count("\n") == 1, err


def test_what_is_accepted_reads_identically_under_both_runtimes(tmp_path):
    text = ("t_ms , voltage_mv,current_ma,note\r\n" + "".join(" %d,\t%d , %d,caf\u00e9 \u00a0\r\n" %
                                                              (t * 250, 12800, -1500) for t in range(30))
            + "   \n" + "8000,12800,-1500")                  # a blank line and no line end at the end
    p = trace(tmp_path, text=text)
    a = run([p, "--runtime", "cpython"])
    b = run([p, "--runtime", "micropython"])
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    assert a.stdout == b.stdout and a.stdout.count(b"\r\nPID\t") == 8
    assert b"Traceback" not in a.stderr + b.stderr


# ---- 9: the gap limit applies to the first row ---------------------------------------------------------------------------

def test_first_row_far_from_zero_is_refused(tmp_path):
    for t0 in (10 ** 13, 1 << 29):
        r = run([trace(tmp_path, rows=[(t0, 12000, 0), (t0 + 100, 12000, 0)])])
        err = r.stderr.decode()
        assert r.returncode == 2 and r.stdout == b"" and "line 2: gap" in err and err.count("\n") == 1, err
    assert run([trace(tmp_path, rows=[((1 << 29) - 1, 12000, 0)]), "--frame-every", "100000"]).returncode == 0


# ---- 10: an output that cannot be written ----------------------------------------------------------------------------

def _one_line(r):
    err = r.stderr.decode()
    assert r.returncode not in (0, 2), (r.returncode, err)
    assert err.count("\n") == 1 and "Traceback" not in err and err.startswith("replay: "), err


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_full_disk_ends_with_one_line(tmp_path, runtime):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "wb") as full:
        r = run([trace(tmp_path), "--runtime", runtime], stdout=full, stderr=subprocess.PIPE, capture_output=False)
    _one_line(r)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_closed_stdout_ends_with_one_line(tmp_path, runtime):
    cmd = '"%s" "%s" "%s" --runtime %s >&-' % (PY, REPLAY, trace(tmp_path), runtime)
    r = subprocess.run(["sh", "-c", cmd], capture_output=True)
    _one_line(r)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_reader_that_goes_away_ends_with_one_line(tmp_path, runtime):
    rows = [(t * 1000, 12800, -2000) for t in range(3000)]
    p = subprocess.Popen([PY, REPLAY, str(trace(tmp_path, rows=rows)), "--runtime", runtime],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.read(100)
    p.stdout.close()
    err = p.stderr.read()
    p.wait()
    p.stderr.close()
    _one_line(subprocess.CompletedProcess(p.args, p.returncode, b"", err))
