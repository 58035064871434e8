# The board app wired to fakes: fake INA226 -> driver -> core -> VE.Direct UART, HEX commands, saves, the
# zero-current calibration, the relay pin (battery-monitor.md §2, §11, §12.2, §14; vedirect.md §3.7, §4).
from app import App
from fakes.fake_ina226 import FakeI2C, FakeINA226
from fakes.fake_uart import FakeUART
from fakes.mem_store import MemStore
from proto.vehex import encode_frame
from shunt.warnings import W13


class Pin:
    def __init__(self):
        self.v = None

    def value(self, v):
        self.v = v


def make(store=None, pin=None, current_ma=-20000):
    chip = FakeINA226()
    chip.set_battery_mv(12800)
    chip.set_current_ma(current_ma, 500, 50)
    uart = FakeUART()
    app = App(FakeI2C(chip), uart, store=store or MemStore(), relay_pin=pin, log=lambda s: None)
    app.start(0)
    return app, chip, uart, [0]


def advance(app, chip, t, ms):
    end = t[0] + ms
    while t[0] < end:
        t[0] += 20
        chip.set_time_ms(t[0])
        app.poll_sensor(t[0])
        app.poll_port(t[0])


def count_a(out):
    return bytes(out).count(b"\r\nPID\t")


def test_text_starts_with_the_first_measurement_and_runs_once_a_second():
    app, chip, uart, t = make()
    app.poll_port(0)
    assert count_a(uart.tx) == 0            # nothing before a measurement (VD §3.7)
    advance(app, chip, t, 200)
    first = app.sensor.last_ms               # the first conversion (dt = 0)
    assert first is not None
    advance(app, chip, t, 10000)
    assert 9 <= count_a(uart.tx) <= 11
    assert b"\r\nI\t-20000\r\n" in uart.tx
    # every conversion of the 141 ms timing is counted, with measured intervals that add up to the elapsed time
    assert 71 <= app.ina.samples <= 73
    elapsed = app.sensor.last_ms - first
    assert app.monitor.get_state()["ce_mah"] * 360000000 + app.monitor.get_state()["ce_rem"] == -20000 * elapsed * 100


def test_sensor_fault_repeats_three_cycles_then_silence_and_hex_says_not_available():
    app, chip, uart, t = make()
    advance(app, chip, t, 3000)
    chip.remove()
    n0 = count_a(uart.tx)
    advance(app, chip, t, 8000)
    assert count_a(uart.tx) - n0 <= 3 + 1   # the cycle under way + at most 3 with the last values
    assert app.monitor.warnings & (1 << 12)  # W13
    n1 = count_a(uart.tx)
    advance(app, chip, t, 3000)
    assert count_a(uart.tx) == n1           # silence
    uart.feed(encode_frame(7, bytes((0x8D, 0xED, 0))))   # GET battery voltage 0xED8D
    advance(app, chip, t, 100)
    assert b":78DED00FF7F" in uart.tx       # sn16 "not available" (0x7FFF) while the sensor is gone
    chip.insert()
    advance(app, chip, t, 5000)
    assert count_a(uart.tx) > n1            # re-probed, re-configured, text again
    assert app.ina.samples > 0 and not app.sampler.fault


def test_w13_clears_after_exactly_10_good_samples():
    # BM §13.2: W13 clears after 10 consecutive good samples, counted once (the sampler's count; it was 19).
    app, chip, uart, t = make()
    advance(app, chip, t, 2000)
    chip.remove()
    advance(app, chip, t, 1500)
    assert app.monitor.warnings & W13
    chip.insert()
    n0 = app.ina.samples
    while app.monitor.warnings & W13:
        advance(app, chip, t, 20)
        assert app.ina.samples - n0 <= 10, app.ina.samples - n0
    assert app.ina.samples - n0 == 10


def test_a_sensor_fault_sends_exactly_three_cycles_of_the_last_values():
    # VD §3.7: once the fault is declared (W13), the last valid values go out for 3 cycles, then no text.
    app, chip, uart, t = make()
    advance(app, chip, t, 3000)
    chip.remove()
    while not app.monitor.warnings & W13:
        advance(app, chip, t, 20)
    n0 = count_a(uart.tx)
    advance(app, chip, t, 8000)
    assert count_a(uart.tx) - n0 == 3


def test_hex_set_capacity_is_validated_saved_then_acknowledged():
    store = MemStore()
    app, chip, uart, t = make(store)
    advance(app, chip, t, 1500)
    uart.feed(encode_frame(8, bytes((0x00, 0x10, 0x00, 0x2C, 0x01))))   # SET 0x1000 = 300 Ah
    advance(app, chip, t, 100)
    assert app.settings.values["capacity"] == 300
    assert store.json["settings.json"]["values"]["capacity"] == 300
    uart.feed(encode_frame(8, bytes((0x00, 0x10, 0x00, 0x00, 0x00))))   # 0 Ah: out of range
    advance(app, chip, t, 100)
    assert app.settings.values["capacity"] == 300
    assert b":8001004" in uart.tx           # flags 0x04: bad value, nothing changed


def test_hex_sync_is_saved_at_once():
    store = MemStore()
    app, chip, uart, t = make(store)
    advance(app, chip, t, 5000)
    n = store.records
    uart.feed(encode_frame(8, bytes((0x2C, 0x10, 0x00, 0x01))))
    advance(app, chip, t, 100)
    assert store.records == n + 1 and store.states[-1]["last_sync_kind"] == 2


def test_zero_current_calibration_applies_and_is_stored():
    store = MemStore()
    app, chip, uart, t = make(store, current_ma=0)
    chip.offset_nv = 7500                    # the chip's own offset: +3 LSB = +75 mA on 500 A / 50 mV
    advance(app, chip, t, 2000)
    assert app.monitor.i_ma == 75
    uart.feed(encode_frame(8, bytes((0x29, 0x10, 0x00, 0x01))))
    advance(app, chip, t, 12000)
    assert app.device.offset_nv == 7500 and store.json["calibration.json"]["offset_nV"] == 7500
    assert app.monitor.i_ma == 0


def test_zero_current_rejected_when_a_load_is_on():
    app, chip, uart, t = make(current_ma=-30000)   # 30 A: far beyond 0.5 % of full scale
    app.device.zero_current_start()
    advance(app, chip, t, 12000)
    assert app.device.offset_nv == 0 and app.device.zero_result[0] is None and "offset" in app.device.zero_result[1]


def test_relay_pin_follows_the_relay():
    pin = Pin()
    store = MemStore()
    store.json["settings.json"] = None
    app, chip, uart, t = make(store, pin)
    app.settings.set("relay_mode", "remote")
    advance(app, chip, t, 1000)
    assert pin.v in (None, 0)
    app.device.relay(True)
    advance(app, chip, t, 200)
    assert pin.v == 1
    app.settings.set("relay_invert", "on")
    advance(app, chip, t, 200)
    assert pin.v == 0


def test_restart_restores_the_saved_state():
    store = MemStore()
    app, chip, uart, t = make(store)
    advance(app, chip, t, 3000)
    app.device.save()
    saved = store.states[-1]
    app2, chip2, uart2, t2 = make(store)
    assert app2.monitor.restored and app2.monitor.get_state()["ce_mah"] == saved["ce_mah"]
    assert app2.monitor.warnings & (1 << 6)  # W07


class FullStore(MemStore):
    def save_json(self, n, o):
        return False, ["%s: save failed (ENOSPC)" % n]

    def save_state(self, v):
        return False, ["state_a.bin: save failed (ENOSPC)"]


def test_a_failed_save_is_an_error_over_hex_too():
    # Issue 16: the console answers ERR STORAGE when a command's save fails; HEX used to answer OK. Now flags
    # 0x04: a sync stays applied (retried by the next save), a setting is rolled back.
    app, chip, uart, t = make(FullStore())
    advance(app, chip, t, 1500)
    uart.feed(encode_frame(8, bytes((0x2C, 0x10, 0x00, 0x01))))          # sync
    advance(app, chip, t, 100)
    assert app.monitor.last_sync_kind == 2 and b":82C1004" in uart.tx
    uart.feed(encode_frame(8, bytes((0x00, 0x10, 0x00, 0x2C, 0x01))))    # capacity 300 Ah
    advance(app, chip, t, 100)
    assert app.settings.values["capacity"] == 200 and b":8001004" in uart.tx


def test_first_start_on_a_full_flash_counts_and_warns_instead_of_crashing():
    chip = FakeINA226()
    chip.set_battery_mv(12800)
    chip.set_current_ma(-5000, 500, 50)
    rnd = [7]

    def urandom(n):
        rnd[0] += 1
        return bytes((rnd[0] + i) & 0xFF for i in range(n))
    app = App(FakeI2C(chip), FakeUART(), store=FullStore(), urandom=urandom, log=lambda s: None)
    assert len(app.settings.values["instant_readout_key"]) == 16
    assert app.monitor.warnings & (1 << 9)          # W10 storage
    app.start(0)
    t = [0]
    advance(app, chip, t, 3000)
    assert app.monitor.ce_mah < 0                   # counting goes on
    try:
        app.device.save()
    except OSError:
        pass
    else:
        raise AssertionError("a failed save must be reported to the console (OSError)")


def test_a_damaged_secret_file_gives_a_setup_code_not_a_crash():
    import hashlib
    store = MemStore()
    store.json["secret.txt"] = b"not hex at all"
    lines = []
    app = App(FakeI2C(FakeINA226()), FakeUART(), store=store, sha256=hashlib.sha256,
              urandom=lambda n: bytes(range(n)), log=lines.append)
    app.start(0)
    assert not app.auth.has_secret()
    assert any("secret.txt" in x for x in lines) and any("setup code" in x for x in lines)
    assert not any("not hex at all" in x for x in lines)


def test_status_reports_i2c_errors_and_sensor_faults_only_when_there_were_some():
    # A loose I2C wire shows as retried errors long before W13; `status` names them (drivers.sensor.health).
    from proto.console import Console
    chip = FakeINA226()
    chip.set_battery_mv(12800)
    chip.set_current_ma(-20000, 500, 50)
    bus = FakeI2C(chip)
    app = App(bus, FakeUART(), store=MemStore(), log=lambda s: None)
    app.start(0)
    t = [0]
    con = Console(app.device, None)
    advance(app, chip, t, 2000)
    assert "sensor=" not in con.handle_line("status")
    bus.fail_next(1)
    advance(app, chip, t, 500)
    line = [ln for ln in con.handle_line("status").split("\n") if ln.startswith("sensor=")]
    assert line == ["sensor=1 I2C errors, 0 sensor faults since start"], line
    chip.remove()
    advance(app, chip, t, 2500)
    line = [ln for ln in con.handle_line("status").split("\n") if ln.startswith("sensor=")][0]
    assert ", 1 sensor faults since start; last: " in line, line       # the probe's failure while it lasts
    chip.insert()
    advance(app, chip, t, 3000)
    line = [ln for ln in con.handle_line("status").split("\n") if ln.startswith("sensor=")][0]
    assert line.endswith(" I2C errors, 1 sensor faults since start"), line
