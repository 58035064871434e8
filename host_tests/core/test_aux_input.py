# The aux input's adapters (drivers/aux_input.py) against register/ROM-level fakes: a second INA226 that may be
# absent (OSError ENODEV from the I2C bus, as machine_i2c raises), a DS18B20 with its 750 ms conversion and
# its CRC. Nothing here may raise: an absent part is "not available" plus a diagnostic. Both runtimes.
from drivers.aux_input import AuxVoltage, AuxTemperature, BUS_ONLY_CONFIG
from fakes.fake_ina226 import FakeINA226, FakeI2C
from fakes.fake_onewire import FakeDS18B20, FakeOneWire, FakeDS18X20, crc8


def test_crc8_is_the_dallas_crc_of_the_datasheet_example():
    # Maxim app note 27 / DS18B20 datasheet: the ROM's CRC over family + serial; a block with its CRC gives 0.
    rom = FakeDS18B20(serial=b"\xa2\xd9\x84\x00\x00\x16").rom
    assert crc8(rom) == 0
    assert crc8(b"\x02\x1c\xb8\x01\x00\x00\x00") == 0xA2      # app note 27's worked example


def test_second_ina226_reads_the_bus_voltage_only():
    chip = FakeINA226(address=0x41)
    i2c = FakeI2C(chip)
    aux = AuxVoltage(i2c)
    assert aux.start() and aux.error is None
    assert chip.config == BUS_ONLY_CONFIG and chip.config & 7 == 6       # bus, continuous; no shunt conversion
    chip.set_battery_mv(12655)
    i2c.advance(100)
    assert aux.read_mv(1000) == 12655
    chip.set_battery_mv(52000, divider=2000)                              # a 2:1 divider above 36 V
    i2c.advance(100)
    assert aux.read_mv(2000) == 52000


def test_absent_second_ina226_is_not_available_with_a_diagnostic_and_is_found_later():
    chip = FakeINA226(address=0x41)
    chip.remove()
    i2c = FakeI2C(FakeINA226(address=0x40), chip)
    aux = AuxVoltage(i2c)
    assert not aux.start()
    assert "0x41" in aux.error
    for _ in range(9):
        assert aux.read_mv(1000) is None
    chip.insert()
    chip.set_battery_mv(12800)
    i2c.advance(100)
    got = [aux.read_mv(1000) for _ in range(2)]
    assert got[-1] == 12800 and aux.error is None


def test_second_ina226_lost_while_running_is_not_available():
    chip = FakeINA226(address=0x41)
    i2c = FakeI2C(chip)
    aux = AuxVoltage(i2c)
    aux.start()
    chip.set_battery_mv(12000)
    i2c.advance(100)
    assert aux.read_mv(1000) == 12000
    chip.remove()
    assert aux.read_mv(1000) is None and "stopped answering" in aux.error


def test_second_ina226_brown_out_is_configured_again():
    chip = FakeINA226(address=0x41)
    i2c = FakeI2C(chip)
    aux = AuxVoltage(i2c)
    aux.start()
    chip.power_on_reset()
    chip.set_battery_mv(12400)
    i2c.advance(100)
    assert aux.read_mv(1000) is not None
    assert chip.config == BUS_ONLY_CONFIG


def _ds(*sensors):
    bus = FakeOneWire(*sensors)
    return bus, AuxTemperature(FakeDS18X20(bus))


def test_ds18b20_conversion_is_read_no_earlier_than_750_ms_after_it_started():
    s = FakeDS18B20(temp_cc=2150)
    bus, t = _ds(s)
    assert t.start() and t.rom == s.rom
    assert t.poll(bus.now_ms) is None                 # conversion started, nothing to read yet
    bus.advance(500)
    assert t.poll(bus.now_ms) is None and s.conversions == 1   # 500 ms: too early, not read, not restarted
    bus.advance(500)
    assert t.poll(bus.now_ms) == 2150 and s.conversions == 2
    s.temp_cc = -1006                                  # −10.06 °C -> −161/16 = −10.0625 °C -> −1006
    bus.advance(1000)
    assert t.poll(bus.now_ms) == -1006


def test_the_fake_keeps_the_old_value_until_the_conversion_ends():
    s = FakeDS18B20(temp_cc=2000)
    bus = FakeOneWire(s)
    ds = FakeDS18X20(bus)
    assert ds.read_scratch(s.rom)[0:2] == b"\x50\x05"   # 85 °C at power-on
    ds.convert_temp()
    bus.advance(749)
    assert ds.read_scratch(s.rom)[0:2] == b"\x50\x05"
    bus.advance(1)
    assert ds.read_scratch(s.rom)[0:2] == bytes((0x40, 0x01))   # 20 °C = 320/16


def test_a_crc_error_gives_no_value_for_that_second_only():
    s = FakeDS18B20(temp_cc=2500)
    bus, t = _ds(s)
    t.start()
    t.poll(bus.now_ms)
    bus.advance(1000)
    assert t.poll(bus.now_ms) == 2500
    s.corrupt_reads = 1
    bus.advance(1000)
    assert t.poll(bus.now_ms) is None and t.crc_errors == 1
    bus.advance(1000)
    assert t.poll(bus.now_ms) == 2500


def test_no_sensor_is_not_available_with_a_diagnostic_and_a_later_sensor_is_found():
    s = FakeDS18B20(temp_cc=1500)
    s.present = False
    bus, t = _ds(s)
    assert not t.start() and "no DS18B20" in t.error
    for _ in range(9):
        bus.advance(1000)
        assert t.poll(bus.now_ms) is None
    s.present = True
    got = []
    for _ in range(3):
        bus.advance(1000)
        got.append(t.poll(bus.now_ms))
    assert got[-1] == 1500 and t.error is None


def test_a_sensor_unplugged_while_running_is_not_available_never_a_crash():
    s = FakeDS18B20(temp_cc=1500)
    bus, t = _ds(s)
    t.start()
    t.poll(bus.now_ms)
    bus.advance(1000)
    assert t.poll(bus.now_ms) == 1500
    s.present = False
    bus.advance(1000)
    assert t.poll(bus.now_ms) is None and "stopped answering" in t.error


def test_search_finds_every_sensor_and_the_first_ds18b20_is_used():
    a = FakeDS18B20(serial=b"\x11\x00\x00\x00\x00\x01", temp_cc=100)
    b = FakeDS18B20(serial=b"\x10\x00\x00\x00\x00\x02", temp_cc=200)
    bus = FakeOneWire(a, b)
    roms = FakeDS18X20(bus).scan()
    assert sorted(roms) == sorted([a.rom, b.rom])
