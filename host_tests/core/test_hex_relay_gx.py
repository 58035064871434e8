# A GX's relay settings page (gui-v2 pages/settings/devicelist/battery/PageBatterySettingsRelay.qml: relay
# function 0x034F, the manual-control switch 0x034E, low/high voltage and low-SOC thresholds, invert) talking to
# the board app's HEX handler (issue 15). Every reply is checked byte for byte against frames written out by hand
# from the BMV HEX document's encodings: 0x034F un8 0..2 (default, charge, remote), 0x034E un8 accepted in remote
# mode only, 0x034D un8, 0x0350-0x0353 un16 in 0.1 V, 0x1008/0x1009 un16 0.1 %, 0x100A/0x100B un16 minutes.
# An out-of-range SET answers flags 0x04 with the nearest valid value, as the document's `:800100000003D` ->
# `:8001004010038`; nothing changes.
from app import App
from fakes.fake_ina226 import FakeI2C, FakeINA226
from fakes.fake_uart import FakeUART
from fakes.mem_store import MemStore


class Pin:
    def __init__(self):
        self.v = None

    def value(self, v):
        self.v = v


def _app():
    chip = FakeINA226()
    chip.set_battery_mv(12800)
    chip.set_current_ma(-5000, 500, 50)
    pin = Pin()
    store = MemStore()
    app = App(FakeI2C(chip), FakeUART(), store=store, relay_pin=pin, log=lambda s: None)
    app.start(0)
    t = [0]

    def run(ms):
        end = t[0] + ms
        while t[0] < end:
            t[0] += 20
            chip.set_time_ms(t[0])
            app.poll_sensor(t[0])
    run(2000)
    return app, pin, store, run


def _ask(app, req):
    app.hex.feed(req)
    return bytes(app.hex.take())


# (request, reply) in the order the GX page produces them
_CONVERSATION = (
    (b":74F0300FC\n", b":74F030000FC\n"),            # relay function? 0 = alarm (default)
    (b":74E0300FD\n", b":74E030000FD\n"),            # relay state? open
    (b":84E030001FB\n", b":84E030400F8\n"),          # manual close outside remote mode: refused, still open
    (b":84F030002F9\n", b":84F030002F9\n"),          # relay function := manual control (remote)
    (b":74F0300FC\n", b":74F030002FA\n"),
    (b":84E030001FB\n", b":84E030001FB\n"),          # close
    (b":74E0300FD\n", b":74E030001FC\n"),
    (b":84E030000FC\n", b":84E030000FC\n"),          # open
    (b":8500300760084\n", b":8500300760084\n"),      # low voltage 11.8 V
    (b":85103007D007C\n", b":85103007D007C\n"),      # low voltage clear 12.5 V
    (b":8520300960062\n", b":8520300960062\n"),      # high voltage 15.0 V
    (b":8530300910066\n", b":8530300910066\n"),      # high voltage clear 14.5 V
    (b":80810002C0108\n", b":80810002C0108\n"),      # low SOC 30.0 %
    (b":8091000200311\n", b":8091000200311\n"),      # low SOC clear 80.0 %
    (b":80A100005002E\n", b":80A100005002E\n"),      # minimum closed 5 min
    (b":80B1000020030\n", b":80B1000020030\n"),      # off delay 2 min
    (b":7500300FB\n", b":7500300760085\n"),          # read back
    (b":7530300F8\n", b":7530300910067\n"),
    (b":709100035\n", b":7091000200312\n"),
    (b":8500300E8030F\n", b":8500304B6033D\n"),      # 100.0 V: out of range, nearest valid 95.0 V, unchanged
    (b":7500300FB\n", b":7500300760085\n"),
    (b":84D030001FC\n", b":84D030001FC\n"),          # invert
    (b":74D0300FE\n", b":74D030001FD\n"),
    (b":84F030003F8\n", b":84F030402F5\n"),          # 3 (gui-v2 "always open") is not in the BMV range 0..2
    (b":74F0300FC\n", b":74F030002FA\n"),            # still manual control
)


def test_gx_relay_page_conversation_byte_for_byte():
    app, pin, store, run = _app()
    for req, want in _CONVERSATION:
        assert _ask(app, req) == want, (req, want)
    s = app.settings
    assert s.format("relay_mode") == "remote" and s.format("relay_invert") == "on"
    assert s.format("relay_low_voltage_set") == "11.8" and s.format("relay_high_voltage_clear") == "14.5"
    assert s.format("relay_clear_soc") == "80.0" and s.values["relay_min_closed"] == 5
    assert s.values["relay_off_delay"] == 2
    # what the GX wrote is what the device keeps: persisted before the reply
    assert store.json["settings.json"]["values"]["relay_low_voltage_set"] == 118


def test_relay_control_follows_the_gx_switch_in_remote_mode_and_is_refused_in_the_others():
    app, pin, store, run = _app()
    assert _ask(app, b":84F030002F9\n") == b":84F030002F9\n"
    assert _ask(app, b":84E030001FB\n") == b":84E030001FB\n"
    run(200)
    assert app.monitor.relay.active == 1 and pin.v == 1
    assert _ask(app, b":84D030001FC\n") == b":84D030001FC\n"      # invert: the coil follows at the next sample
    run(200)
    assert pin.v == 0 and _ask(app, b":74E0300FD\n") == b":74E030001FC\n"    # 0x034E is the relay state
    # charge mode: 0x034E refused with the state in force, nothing changes
    assert _ask(app, b":84F030001FA\n") == b":84F030001FA\n"
    assert _ask(app, b":84E030000FC\n") == b":84E030401F7\n"
    assert app.settings.format("relay_mode") == "charge"


def test_out_of_range_set_answers_the_nearest_valid_value_and_changes_nothing():
    app, pin, store, run = _app()
    # BMV HEX document example: capacity 0 Ah -> flags 0x04, 1 Ah
    assert _ask(app, b":800100000003D\n") == b":8001004010038\n"
    assert app.settings.values["capacity"] == 200
    # 0xEEF8 aux input: 3 (none, ve_regs.h VE_REG_BMV_AUX_INPUT_NONE) until an aux input exists
    assert _ask(app, b":7F8EE0068\n") == b":7F8EE000365\n"
    assert _ask(app, b":8F8EE000760\n") == b":8F8EE040360\n"


def test_unknown_command_async_frame_and_device_name():
    app, pin, store, run = _app()
    # MPPT HEX document example: an unknown command is answered with two data bytes
    assert _ask(app, b":253\n") == b":3020050\n"
    # an async frame from the host (as an MPPT sends them) gets no reply
    assert _ask(app, b":A032000FF7FAA\n") == b""
    # 0x010C is String20: 20 characters are kept, 21 are refused with the name in force
    name20 = b"ABCDEFGHIJKLMNOPQRST"
    req = bytes((0x0C, 0x01, 0x00)) + name20
    assert _ask(app, _frame(8, req)) == _frame(8, req + b"\x00")
    assert app.settings.values["device_name"] == name20.decode()
    assert _ask(app, _frame(8, req + b"U")) == _frame(8, bytes((0x0C, 0x01, 0x04)) + name20 + b"\x00")
    assert app.settings.values["device_name"] == name20.decode()


def _frame(cmd, data):
    # independent of the firmware's encoder: VD §4.1, uppercase, LF only
    s = (0x55 - cmd - sum(data)) & 0xFF
    return (":%X" % cmd + "".join("%02X" % b for b in data) + "%02X\n" % s).encode()
