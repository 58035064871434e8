# The board app with its aux input hardware (issue 18): fake INA226s at 0x40 and 0x41 and a fake DS18B20 on a
# fake 1-Wire bus -> drivers.aux_input -> shunt.aux -> VE.Direct text. A missing part never stops the app.
from app import App
from drivers.aux_input import AuxReader, AuxVoltage, AuxTemperature
from fakes.fake_ina226 import FakeI2C, FakeINA226
from fakes.fake_onewire import FakeDS18B20, FakeOneWire, FakeDS18X20
from fakes.fake_uart import FakeUART
from fakes.mem_store import MemStore
from shunt.warnings import W16


def make(mode, aux_chip=True, sensor=True, mid_mv=12300):
    chip = FakeINA226()
    chip.set_battery_mv(24600)
    chip.set_current_ma(-5000, 500, 50)
    i2c = FakeI2C(chip)
    second = FakeINA226(address=0x41)
    second.set_battery_mv(mid_mv)
    if aux_chip:
        i2c.add(second)
    ds = FakeDS18B20(temp_cc=-312)
    ds.present = sensor
    bus = FakeOneWire(ds)
    uart = FakeUART()
    aux = AuxReader(AuxVoltage(i2c), AuxTemperature(FakeDS18X20(bus)))
    app = App(i2c, uart, store=MemStore(), log=lambda s: None, aux=aux)
    app.settings.set("aux_input", mode)
    app.start(0)
    return app, (chip, second, bus), uart, [0]


def advance(app, hw, t, ms):
    end = t[0] + ms
    while t[0] < end:
        t[0] += 20
        hw[0].set_time_ms(t[0])
        hw[1].set_time_ms(t[0])
        hw[2].advance(20)
        app.poll_sensor(t[0])
        app.poll_port(t[0])


def last_a(uart):
    out = bytes(uart.tx)
    k = out.rfind(b"\r\nPID\t")
    return out[k:out.find(b"Checksum", k)]


def test_midpoint_from_the_second_ina226_reaches_the_text():
    app, hw, uart, t = make("midpoint")
    advance(app, hw, t, 5000)
    a = last_a(uart)
    assert b"\r\nV\t24600\r\nVM\t12300\r\nDM\t0\r\n" in a
    assert not app.monitor.warnings & W16


def test_temperature_from_the_ds18b20_reaches_the_text():
    app, hw, uart, t = make("temperature")
    advance(app, hw, t, 5000)
    assert b"\r\nV\t24600\r\nT\t-3\r\n" in last_a(uart)     # −3.12 °C -> −50/16 = −3.125 -> −3.13 -> −3
    assert app.monitor.aux.value == -313


def test_a_missing_second_ina226_is_not_available_w16_and_no_crash():
    app, hw, uart, t = make("starter", aux_chip=False)
    assert any("0x41" in d for d in app.diagnostics)
    advance(app, hw, t, 6000)
    assert b"\r\nVS\t---\r\n" in last_a(uart)
    assert app.monitor.warnings & W16
    advice = dict(app.monitor.warning_list())["W16"]
    assert "starter" in advice and "0x41" in advice
    assert b"\r\nI\t-5000\r\n" in last_a(uart)           # the battery is still measured


def test_a_missing_ds18b20_is_dashes_like_a_bmv712_and_w16():
    app, hw, uart, t = make("temperature", sensor=False)
    advance(app, hw, t, 6000)
    assert b"\r\nT\t---\r\n" in last_a(uart)
    assert app.monitor.warnings & W16
    assert "DS18B20" in dict(app.monitor.warning_list())["W16"]


def test_temperature_coefficient_from_the_ds18b20_reaches_soc_and_status():
    # issue 18, HEX 0xEEF4: −3.13 °C with 1.0 %/°C: 200 Ah · (1 − 0.2313) = 153.74 Ah for the SOC
    from proto.console import Console
    app, hw, uart, t = make("temperature")
    app.settings.set("temp_coefficient", "1.0")
    advance(app, hw, t, 5000)
    m = app.monitor
    assert m.cap_eff_mah == 153740 and m.ce_mah < 0
    c = Console(app.device, None)
    out = c.handle_line("status")
    assert "soc_capacity=153.740 Ah" in str(out), out
