"""tools/record.py: the real captures become trace rows and device values; a corrupted block is skipped whole;
the port is never written; a recording continues across restarts and rotates at midnight (issue 20)."""
import subprocess
import sys
from pathlib import Path

import pytest

import record
from vetext import BlockReader

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "host_tests" / "vectors"


def _rec(tmp_path, name, data=None):
    src = VECTORS / name
    if data is not None:
        src = tmp_path / name
        src.write_bytes(data)
    out = tmp_path / (name + ".csv")
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "record.py"), "--file", str(src), "--out", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    dev = out.with_name(out.stem + ".device.csv")
    return out.read_text().splitlines(), dev.read_text().splitlines(), r.stderr


# Values read off the captures themselves (host_tests/vectors/README.md gives their provenance).
def test_smartshunt_capture_gives_its_row_and_values(tmp_path):
    rows, dev, _ = _rec(tmp_path, "smartshunt-fw414-a.bin")      # V 53509, I 23866, SOC 548, CE -131099, TTG -1
    assert rows == ["t_ms,voltage_mv,current_ma", "0,53509,23866"]
    assert dev[0] == record.DEVICE_HEADER
    assert dev[1].split(",")[:6] == ["0", "548", "-131099", "-1", "", ""]


def test_bmv712_capture_with_starter_voltage_has_the_aux_column(tmp_path):
    rows, dev, _ = _rec(tmp_path, "bmv712-fw408-a.bin")          # V 26457, VS 34, I -6032, SOC 937
    assert rows == ["t_ms,voltage_mv,current_ma,aux", "0,26457,-6032,34"]
    assert dev[1].split(",")[1:4] == ["937", "-6673", "435"]


def test_bmv712_without_temperature_sensor_has_no_aux_column(tmp_path):
    rows, _, _ = _rec(tmp_path, "bmv712-fw408-a-temp-nosensor.bin")   # T --- : not available
    assert rows == ["t_ms,voltage_mv,current_ma", "0,12341,0"]


def test_bmv702_stream_one_row_a_second_with_history(tmp_path):
    rows, dev, err = _rec(tmp_path, "bvm702.dump")                 # 906 blocks: 453 A + 453 B, one cut off
    assert len(rows) == 1 + 453
    assert rows[1] == "0,12065,-7625" and rows[2] == "1000,12065,-7626"
    assert [int(r.split(",")[0]) for r in rows[1:]] == [1000 * k for k in range(453)]
    import re
    data = (VECTORS / "bvm702.dump").read_bytes()
    h9 = re.findall(rb"\nH9\t(\d+)", data)
    last = dev[-1].split(",")
    assert last[4:6] == [h9[-2].decode(), "26"]     # the last row has the H9/H10 of the block B before it
    assert "rows 453" in err and "bad blocks 0" in err


def test_corrupted_block_is_skipped_and_nothing_else(tmp_path):
    data = bytearray((VECTORS / "bvm702.dump").read_bytes())
    # corrupt the V value of the 11th block A (the 21st block): one digit changed, the checksum now fails
    starts = [i for i in range(len(data)) if data.startswith(b"\r\nPID\t", i)]
    v_at = data.index(b"\nV\t", starts[10]) + 3
    data[v_at] = data[v_at] ^ 0x01
    rows, dev, err = _rec(tmp_path, "bvm702.dump", bytes(data))
    times = [int(r.split(",")[0]) for r in rows[1:]]
    assert len(rows) == 1 + 452
    assert 10000 not in times and times == [1000 * k for k in range(453) if k != 10]
    assert "bad blocks 1" in err


def test_block_reader_never_returns_half_a_block():
    r = BlockReader()
    good = (VECTORS / "smartshunt-fw414-a.bin").read_bytes()
    hexframe = b":A0102000543\n"
    # A HEX frame in the middle of a block is not part of its sum. A block cut short runs into the next one
    # (the protocol has no other boundary than the checksum): both are refused as one bad block, whole.
    mid = len(good) // 2
    blocks = r.feed(good[:mid] + hexframe + good[mid:] + good[:40] + good + good)
    assert [b["V"] for b in blocks] == ["53509", "53509"]
    assert r.hex_frames == 1 and r.bad_blocks == 1 and r.blocks == 2


def test_record_never_writes_to_the_port(tmp_path, monkeypatch):
    serial = pytest.importorskip("serial")
    data = (VECTORS / "bvm702.dump").read_bytes()[:4000]

    class Port:
        # pyserial's Serial as record.py uses it: in_waiting, read(n), close(); write must never be called
        def __init__(self, *a, **k):
            self.buf = bytearray(data)
            self.in_waiting = len(self.buf)

        def read(self, n):
            out = bytes(self.buf[:n])
            del self.buf[:n]
            self.in_waiting = len(self.buf)
            return out

        def write(self, b):
            raise AssertionError("record.py wrote to the port")

        def close(self):
            pass

    monkeypatch.setattr(serial, "Serial", Port)
    rec = record.Recorder(tmp_path / "p.csv")
    record.record(record.serial_chunks("/dev/fake", 0.3), rec)
    assert rec.rows >= 4 and rec.bad_blocks == 0


def _blocks(v_list):
    """Real block A bytes of the SmartShunt capture with V replaced, checksum recomputed."""
    base = (VECTORS / "smartshunt-fw414-a.bin").read_bytes()
    out = []
    for v in v_list:
        b = base[:-1].replace(b"V\t53509", b"V\t%d" % v)
        out.append(b + bytes([(-sum(b)) & 0xFF]))
    return out


def test_recording_again_continues_the_file_after_a_gap(tmp_path):
    out = tmp_path / "r.csv"
    wall = [1_800_000_000_000]
    rec = record.Recorder(out, wall_ms=lambda: wall[0])
    for k, b in enumerate(_blocks([13000, 13001, 13002])):
        wall[0] += 1000
        rec.feed(b, 1000.0 * k)
    rec.close()
    wall[0] += 60_000                                   # a minute unplugged, then a new process
    rec = record.Recorder(out, wall_ms=lambda: wall[0])
    for k, b in enumerate(_blocks([13003, 13004])):
        rec.feed(b, 5.0e6 + 1000.0 * k)                 # another process: another monotonic clock
        wall[0] += 1000
    rec.close()
    rows = out.read_text().splitlines()
    assert rows[0] == "t_ms,voltage_mv,current_ma"
    t = [int(r.split(",")[0]) for r in rows[1:]]
    assert t[:3] == [0, 1000, 2000] and t[3] == 2000 + 60_000 and t[4] == t[3] + 1000
    assert rec.gaps == 1


def test_rotate_daily_starts_a_replayable_file_at_midnight(tmp_path):
    import datetime
    midnight = int(datetime.datetime(2026, 12, 2).timestamp() * 1000)
    wall = [midnight - 2000]
    rec = record.Recorder(tmp_path / "r.csv", rotate_daily=True, wall_ms=lambda: wall[0])
    for k, b in enumerate(_blocks([13000, 13001, 13002, 13003])):
        rec.feed(b, 1000.0 * k)
        wall[0] += 1000
    rec.close()
    a = (tmp_path / "r-20261201.csv").read_text().splitlines()
    b = (tmp_path / "r-20261202.csv").read_text().splitlines()
    assert [r.split(",")[:2] for r in a[1:]] == [["0", "13000"], ["1000", "13001"]]
    assert [r.split(",")[:2] for r in b[1:]] == [["0", "13002"], ["1000", "13003"]]


def test_a_bad_source_is_one_line_and_status_2(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "record.py"), "--file", str(tmp_path / "none.bin"),
                        "--out", str(tmp_path / "x.csv")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("record: cannot read") and "Traceback" not in r.stderr


def _record_and_replay(tmp_path):
    tmp_path.mkdir()
    import csv
    import re
    import threading
    import replay
    scen = (ROOT / "tools" / "scenarios" / "healthy_3day.toml").read_text()
    scen = scen.replace('name = "healthy_3day"', 'name = "sync_in_10min"')
    scen = scen.replace('days = 3\nstart = "00:00"', 'days = 0.006944445\nstart = "12:15"')
    scen = scen.replace("initial_soc = 75", "initial_soc = 97").replace('"set_soc 75.00"', '"set_soc 97.00"')
    toml = tmp_path / "sync_in_10min.toml"
    toml.write_text(scen)
    sim_csv = tmp_path / "sim.csv"
    speed = 10
    p = subprocess.Popen([sys.executable, str(ROOT / "tools" / "simulate.py"), str(toml), "--out", "pty",
                          "--speed", str(speed), "--csv", str(sim_csv), "--no-plot", "--quiet"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        m = re.search(r"(/dev/pts/\d+)", p.stdout.readline())
        assert m
        out = tmp_path / "rec.csv"
        rec = record.Recorder(out, time_scale=speed)
        done = threading.Event()
        th = threading.Thread(target=lambda: (record.record(record.serial_chunks(m.group(1), 600 / speed + 8), rec),
                                               done.set()))
        th.start()
        assert p.wait(600 / speed + 120) == 0, p.stderr.read()
        th.join(30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    # the first blocks may go out before the recorder has the port open (an unread port drops them, as a real
    # line would): a few seconds are missing at the start, none later
    assert rec.bad_blocks == 0 and rec.rows >= 580 and rec.gaps == 0, (rec.rows, rec.bad_blocks, rec.gaps)
    # the simulator's firmware log: SOC and syncs per second
    sim = {}
    with sim_csv.open() as f:
        for row in csv.DictReader(f):
            if row["fw_soc_cpct"]:
                sim[int(row["t_s"])] = (int(row["fw_soc_cpct"]), int(row["fw_sync_count"]))
    sim_syncs = [t for t in sorted(sim) if t - 1 in sim and sim[t][1] != sim[t - 1][1]]
    assert sim_syncs, "the scenario was meant to sync within its 10 minutes"
    # replay the recording with the scenario's settings, starting where the recording device started
    sys.path.insert(0, str(ROOT / "tools"))
    from sim import scenario
    sets = [(k, str(v)) for k, v in scenario.load(str(toml)).settings.items()]
    log = tmp_path / "replay_log.csv"
    first_soc = int(out.with_name("rec.device.csv").read_text().splitlines()[1].split(",")[1])
    with open(tmp_path / "stream.bin", "wb") as f:
        assert replay.run(out, sets, "cpython", f, log=log, start_soc=10 * first_soc) == 0
    rep = {}
    with log.open() as f:
        for row in csv.DictReader(f):
            rep[int(row["t_s"])] = (int(row["soc_cpct"]), int(row["sync_count"]))
    rep_syncs = [t for t in sorted(rep) if t - 1 in rep and rep[t][1] != rep[t - 1][1]]
    # The two clocks differ by the moment the first recorded block arrived: take the offset that fits best.
    def misfit(k):
        return sum(abs(rep[t][0] - sim[t + k][0]) for t in rep if t + k in sim)
    k0 = min(range(25), key=misfit)
    return rep, sim, sim_syncs, rep_syncs, k0


@pytest.mark.realtime
def test_recording_the_live_simulator_replays_to_the_same_soc_and_syncs(tmp_path):
    """10 simulated minutes of the simulator's live pty at 10x speed, recorded by record.py from the host clock,
    replayed with the scenario's settings: the same SOC (0.1 %) and sync moments as the simulator's own
    firmware log. The scenario starts at 97 % in absorption so that a sync falls inside the 10 minutes."""
    # The recorder opens the pty after the simulator has printed its path and started: the first blocks go
    # out before anyone reads and are dropped, as on a real line, so the recording starts k0 s late. What the
    # firmware had counted before that is not in VE.Direct text (the sync timer, the charge accepted since the
    # last sync): the replay starts them at its first row, so its sync may come up to k0 s after the
    # simulator's. (The flake this test had was the log's: a recorded row 1 100 ms after the last completes two
    # seconds, and tools/fw_log.py labelled both with the later one, so the sync row had no row before it and
    # was not seen; test_replay covers that.) And k0 is fitted from
    # the SOC, which moves slowly, and the recording has a row a second where the simulator's firmware samples
    # every 942 ms: 2 s either way on top.
    rep, sim, sim_syncs, rep_syncs, k0 = _record_and_replay(tmp_path / "run")
    assert k0 <= 20, k0
    # compare the syncs inside the window both runs cover (the recording may miss the first and last seconds)
    lo, hi = max(min(rep) + k0, min(sim)) + 1, min(max(rep) + k0, max(sim)) - 1
    sim_syncs = [t for t in sim_syncs if lo <= t <= hi]
    rep_syncs = [t for t in rep_syncs if lo - 2 <= t + k0 <= hi + k0 + 2]
    assert sim_syncs
    assert len(rep_syncs) == len(sim_syncs), (rep_syncs, sim_syncs, k0)
    for a, b in zip(rep_syncs, sim_syncs):
        assert -2 <= a + k0 - b <= k0 + 2, (rep_syncs, sim_syncs, k0)
    near_sync = {t + d for t in sim_syncs for d in range(-2, k0 + 3)}
    worst = max(abs(rep[t][0] - sim[t + k0][0]) for t in rep if t + k0 in sim and t + k0 not in near_sync)
    assert worst <= 10, worst                       # 0.1 % = 1 ‰
