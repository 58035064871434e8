# INA226 driver, sampler (sensor-fault rules) and conversions against the register-level fake.
# Spec: platform.md §1, battery-monitor.md §2 and §16.4. Runs under CPython and MicroPython.
from check import raises, micropython_only
from drivers.ina226 import INA226, Sampler, SAMPLE, NONE, DROPPED
from fakes.fake_ina226 import FakeI2C, FakeINA226
from shunt.convert import shunt_to_ma, bus_to_mv
from shunt.settings import Settings
from shunt.warnings import Warnings
from drivers.sensor import Sensor

_SHUNT = 0x01
_BUS = 0x02


def _chip(address=0x40, timing=0):
    chip = FakeINA226(address)
    bus = FakeI2C(chip)
    return chip, bus, INA226(bus, address, timing)


class _App:
    """The app's sampling path itself: drivers.sensor.Sensor (what App.poll_sensor calls) on a stepped clock,
    counting into a recorder of each sample's converted current and measured dt."""

    def __init__(self, chip, ina, sampler=None, now=0):
        self.chip = chip
        self.ina = ina
        self.now = now
        s = Settings()
        self.warn = Warnings(s)
        self.sensor = Sensor(ina, s, self.warn, self._count)
        self.sensor.sampler = sampler if sampler is not None else Sampler(ina, now)
        self.last = None
        self.first = None
        self.charge = 0         # mA·ms
        self.dts = []
        self.currents = []

    @property
    def sampler(self):
        return self.sensor.sampler

    def _count(self, v_mv, i_ma, dt_ms):
        if self.first is None:
            self.first = self.now
        self.last = self.now
        self.charge += i_ma * dt_ms
        self.dts.append(dt_ms)
        self.currents.append(i_ma)

    def tick(self, ms):
        self.chip.advance(ms)
        self.now += ms

    def poll(self):
        self.sensor.poll(self.now, 0)
        return self.sensor.result

    def run(self, ms, step=20):
        for _ in range(ms // step):
            self.tick(step)
            self.poll()


# -- identity and set-up --------------------------------------------------------------------------------

def test_start_checks_ids_and_configures_standard_timing():
    chip, bus, ina = _chip()
    assert ina.ok
    assert chip.reads.get(0xFE) == 1 and chip.reads.get(0xFF) == 1
    assert chip.config == 0x4727
    assert chip.mask & 0x0400          # CNVR: ALERT on conversion ready


def test_pulsed_timing_configures_0x453f():
    chip, bus, ina = _chip(timing=1)
    assert chip.config == 0x453F


def test_set_timing_reconfigures_a_running_chip():
    chip, bus, ina = _chip()
    ina.set_timing(1)
    assert chip.config == 0x453F
    ina.set_timing(0)
    assert chip.config == 0x4727


def test_absent_chip_raises_oserror_naming_the_address():
    bus = FakeI2C()
    e = raises(OSError, INA226, bus, 0x41)
    assert "0x41" in str(e)


def test_wrong_die_id_raises_oserror_naming_address_and_id():
    chip = FakeINA226(0x40, die_id=0x2281)
    e = raises(OSError, INA226, FakeI2C(chip), 0x40)
    assert "0x40" in str(e) and "0x2281" in str(e)
    assert chip.writes.get(0x00) is None     # nothing was configured on the wrong chip


def test_wrong_manufacturer_id_raises():
    chip = FakeINA226(0x44, mfg_id=0x1234)
    e = raises(OSError, INA226, FakeI2C(chip), 0x44)
    assert "0x44" in str(e)


def test_start_false_makes_no_i2c_traffic():
    chip = FakeINA226()
    bus = FakeI2C(chip)
    ina = INA226(bus, 0x40, 0, False)
    assert bus.transactions == 0 and not ina.ok


def test_current_power_and_cal_registers_are_never_used():
    chip, bus, ina = _chip()
    chip.set_current_ma(-20000)
    app = _App(chip, ina)
    app.run(3000)
    assert len(app.currents) > 10
    assert chip.reads.get(0x03) is None and chip.reads.get(0x04) is None and chip.reads.get(0x05) is None
    assert chip.writes.get(0x05) is None


# -- conversions (BM §2, §16.4; platform.md §1.3 table) -----------------------------------------------

def test_bm_16_4_conversions():
    assert bus_to_mv(10560, 1000) == 13200
    assert bus_to_mv(21120, 2000) == 52800
    assert shunt_to_ma(-800, 0, 500, 50, 0) == -20000
    assert shunt_to_ma(1, 0, 100, 75, 0) == 3


def test_current_per_shunt_lsb_for_common_shunts():
    # platform.md §1.3: 25 mA (500 A/50 mV), 10 mA (300 A/75 mV), 3.33 mA (100 A/75 mV) per LSB.
    assert shunt_to_ma(1, 0, 500, 50, 0) == 25
    assert shunt_to_ma(1, 0, 300, 75, 0) == 10
    assert shunt_to_ma(3, 0, 100, 75, 0) == 10
    assert shunt_to_ma(32767, 0, 500, 50, 0) == 819175     # full scale 819.2 A


def test_negative_currents_round_half_away_from_zero():
    assert shunt_to_ma(-1, 0, 300, 75, 0) == -10
    assert shunt_to_ma(-1, 0, 100, 75, 0) == -3       # -3.33
    assert shunt_to_ma(-2, 0, 100, 75, 0) == -7       # -6.67
    assert shunt_to_ma(2, 0, 100, 75, 0) == 7
    # 1 LSB on 100 A/60 mV is 4.1666 mA; 3 LSB = 12.5 mA exactly: half rounds away from zero.
    assert shunt_to_ma(3, 0, 100, 60, 0) == 13
    assert shunt_to_ma(-3, 0, 100, 60, 0) == -13


def test_offset_is_subtracted_before_scaling():
    # platform.md §1.3: an offset of 10 µV is 100 mA on a 500 A/50 mV shunt.
    assert shunt_to_ma(0, 10000, 500, 50, 0) == -100
    assert shunt_to_ma(4, 10000, 500, 50, 0) == 0
    assert shunt_to_ma(-800, -10000, 500, 50, 0) == -19900


def test_current_invert_negates():
    assert shunt_to_ma(-800, 0, 500, 50, 1) == 20000
    assert shunt_to_ma(0, 10000, 500, 50, 1) == 100


def test_appendix_a_bounds_are_reached_exactly():
    # Appendix A: abs(I) <= 82 411 758 mA (9 999 A / 10 mV, full scale, 500 µV offset); V <= 819 175 mV.
    assert shunt_to_ma(-32768, 500000, 9999, 10, 0) == -82411758
    assert bus_to_mv(32767, 20000) == 819175


def test_conversion_allocates_nothing_under_micropython():
    micropython_only()
    import micropython
    micropython.heap_lock()
    try:
        i = shunt_to_ma(-800, 1234, 500, 50, 1)
        v = bus_to_mv(21120, 2000)
    finally:
        micropython.heap_unlock()
    assert i == 20012 and v == 52800         # rdiv(-2 001 234 nV x 500, 50 000), inverted


# -- end to end through the fake chip --------------------------------------------------------------------

def _one_sample(chip, ina):
    chip.advance(200)
    assert ina.poll() == SAMPLE


def test_500a_50mv_discharge_reads_raw_minus_800():
    chip, bus, ina = _chip()
    chip.set_current_ma(-20000, 500, 50)
    chip.set_battery_mv(13200)
    _one_sample(chip, ina)
    assert ina.raw_shunt == -800 and ina.raw_bus == 10560
    assert shunt_to_ma(ina.raw_shunt, 0, 500, 50, 0) == -20000
    assert bus_to_mv(ina.raw_bus, 1000) == 13200


def test_300a_75mv_charge():
    chip, bus, ina = _chip()
    chip.set_current_ma(150000, 300, 75)      # 37.5 mV
    _one_sample(chip, ina)
    assert ina.raw_shunt == 15000
    assert shunt_to_ma(ina.raw_shunt, 0, 300, 75, 0) == 150000


def test_100a_75mv_small_current_is_quantised_to_the_lsb():
    chip, bus, ina = _chip()
    chip.set_current_ma(-1000, 100, 75)       # 750 µV = 300 LSB
    _one_sample(chip, ina)
    assert ina.raw_shunt == -300
    assert shunt_to_ma(ina.raw_shunt, 0, 100, 75, 0) == -1000


def test_voltage_divider_for_a_48v_bank():
    chip, bus, ina = _chip()
    chip.set_battery_mv(52800, 2000)          # 26.4 V at the pin
    _one_sample(chip, ina)
    assert ina.raw_bus == 21120
    assert bus_to_mv(ina.raw_bus, 2000) == 52800
    assert not ina.bus_over_range


def test_chip_offset_shows_in_the_raw_shunt_register():
    # BM §12.2 measures the raw register, before the stored offset is applied.
    chip, bus, ina = _chip()
    chip.offset_nv = 7500
    _one_sample(chip, ina)
    assert ina.raw_shunt == 3
    assert shunt_to_ma(ina.raw_shunt, 7500, 500, 50, 0) == 0


def test_shunt_over_range_sets_w08_flag_both_ways():
    chip, bus, ina = _chip()
    chip.set_current_ma(900000)               # 90 mV > 81.92 mV
    _one_sample(chip, ina)
    assert ina.raw_shunt == 32767 and ina.shunt_over_range
    chip.set_current_ma(-900000)
    _one_sample(chip, ina)
    assert ina.raw_shunt == -32768 and ina.shunt_over_range
    chip.set_current_ma(819000)               # 81.9 mV: inside the range
    _one_sample(chip, ina)
    assert ina.raw_shunt == 32760 and not ina.shunt_over_range


def test_bus_over_36v_sets_w09_flag():
    chip, bus, ina = _chip()
    chip.set_battery_mv(36000)
    _one_sample(chip, ina)
    assert ina.raw_bus == 28800 and not ina.bus_over_range
    chip.set_battery_mv(36100)
    _one_sample(chip, ina)
    assert ina.raw_bus == 28880 and ina.bus_over_range
    chip.set_battery_mv(45000)                # beyond the 40.96 V register: saturates
    _one_sample(chip, ina)
    assert ina.raw_bus == 32767 and ina.bus_over_range


# -- conversion ready -----------------------------------------------------------------------------------

def test_each_conversion_is_read_exactly_once():
    chip, bus, ina = _chip()
    chip.advance(150)                         # one result (140.8 ms)
    assert chip.alert
    assert ina.poll() == SAMPLE
    assert not chip.alert                     # reading Mask/Enable released ALERT
    assert ina.poll() == NONE
    assert ina.poll() == NONE


def test_polling_twice_per_period_misses_no_result():
    for timing, expected in ((0, 71), (1, 66)):   # 10 s / 140.8 ms, 10 s / 149.5 ms (platform.md §1.2)
        chip, bus, ina = _chip(timing=timing)
        n = 0
        for _ in range(10000 // 50):
            chip.advance(50)
            if ina.poll() == SAMPLE:
                n += 1
        assert n == chip.conversions == expected, (timing, n, chip.conversions)


def test_intervals_between_samples_follow_the_chip_period():
    chip, bus, ina = _chip()
    app = _App(chip, ina)
    app.run(5000, step=10)
    for dt in app.dts[1:]:
        assert 140 <= dt <= 150, dt


# -- read failures and the sensor-fault rules (BM §2) ---------------------------------------------------

def test_one_failed_transaction_is_retried_at_once():
    chip, bus, ina = _chip()
    chip.set_current_ma(-20000)
    chip.advance(150)
    bus.fail_next(1, reg=_SHUNT)
    assert ina.poll() == SAMPLE
    assert ina.raw_shunt == -800
    assert ina.i2c_errors == 1 and ina.dropped == 0


def test_failed_retry_drops_the_sample_and_its_time_goes_to_the_next():
    chip, bus, ina = _chip()
    chip.set_current_ma(-20000)
    app = _App(chip, ina)
    app.run(1000)
    while not chip.alert:
        app.tick(5)
    bus.fail_next(2, reg=_SHUNT)              # Mask/Enable read (CVRF consumed), then shunt read and retry fail
    assert app.poll() == DROPPED
    assert ina.dropped == 1
    app.run(1000)
    assert not app.sampler.fault
    # No spike: every sample reads the true current, and the counted charge covers the whole span exactly.
    for i in app.currents:
        assert i == -20000
    assert max(app.dts) > 211                 # > 1.5 periods: the dropped result's time went into the next dt
    assert sum(app.dts) == app.last - app.first
    assert app.charge == -20000 * (app.last - app.first)


def test_three_dropped_samples_raise_the_fault():
    chip, bus, ina = _chip()
    app = _App(chip, ina)
    app.run(500)
    bus.fail_next(4)                          # two polls fail after their retry
    app.tick(20)
    app.poll()
    app.tick(20)
    app.poll()
    assert not app.sampler.fault
    bus.fail_next(2)
    app.tick(20)
    assert app.poll() == DROPPED
    assert app.sampler.fault


def test_removed_chip_faults_then_recovers_with_reconfiguration():
    chip, bus, ina = _chip()
    chip.set_current_ma(-20000)
    app = _App(chip, ina)
    app.run(1000)
    chip.remove()
    app.run(100)
    assert app.sampler.fault and app.sampler.faults == 1
    n = len(app.currents)
    app.run(3000)
    assert len(app.currents) == n             # nothing counted while the chip is gone
    chip.insert()                             # powers up with POR registers
    assert chip.config == 0x4127
    app.run(1100)                             # the next 1 s re-probe configures it again
    assert chip.config == 0x4727 and chip.mask & 0x0400
    assert len(app.currents) > n
    # The first good sample's dt covers the whole gap (the core applies the short-gap/outage rules).
    assert app.dts[n] > 4000
    # W13 clears after 10 consecutive good samples, not before.
    start = len(app.currents)
    while app.sampler.fault:
        app.run(20)
    assert len(app.currents) - n == 10, (len(app.currents), n, start)


def test_one_second_without_a_good_sample_raises_the_fault():
    chip, bus, ina = _chip()
    app = _App(chip, ina)
    app.run(500)
    chip.config = 0x4120                      # the chip stopped converting (power-down mode), bus fine
    chip._restart()
    app.run(900)
    assert not app.sampler.fault
    app.run(200)
    assert app.sampler.fault
    app.run(1000)                             # re-probe and re-configure within 1 s
    assert chip.config == 0x4727
    app.run(2000)
    assert not app.sampler.fault


def test_brown_out_reset_is_detected_and_repaired():
    chip, bus, ina = _chip()
    chip.set_current_ma(-20000)
    app = _App(chip, ina)
    app.run(2000)
    chip.power_on_reset()
    assert chip.config == 0x4127 and not chip.mask & 0x0400
    app.run(1500)
    assert ina.resets == 1
    assert chip.config == 0x4727 and chip.mask & 0x0400
    assert not app.sampler.fault
    app.run(3000)
    assert ina.resets == 1                    # a healthy chip is not re-configured again


def test_absent_at_boot_is_a_fault_that_keeps_probing_every_second():
    chip = FakeINA226()
    chip.present = False
    bus = FakeI2C(chip)
    ina = INA226(bus, 0x40, 0, False)
    sampler = Sampler(ina, 0)
    assert sampler.fault and not ina.ok
    assert "0x40" in sampler.error
    app = _App(chip, ina, sampler)
    app.run(3500)
    assert bus.transactions == 8              # probes at 0, 1, 2 and 3 s, each read retried once
    chip.insert()
    app.run(1000)
    assert ina.ok and chip.config == 0x4727
    app.run(2000)
    assert not sampler.fault and sampler.error is None
    assert len(app.currents) >= 10


def test_fake_averages_a_pulsed_load_over_the_shunt_windows():
    chip, bus, ina = _chip(timing=1)
    # 40 A for 5 ms, 0 A for 5 ms: the pulsed set-up samples the shunt 88 % of the time.
    chip.shunt_nv = lambda t_us: 4000000 if (t_us // 5000) % 2 == 0 else 0
    total = 0
    n = 0
    for _ in range(40):
        chip.advance(50)
        if ina.poll() == SAMPLE:
            total += shunt_to_ma(ina.raw_shunt, 0, 500, 50, 0)
            n += 1
    mean = total // n
    assert 16000 <= mean <= 24000, mean


def test_poll_allocates_nothing_under_micropython():
    micropython_only()
    import micropython
    chip, bus, ina = _chip()
    chip.set_current_ma(-20000)
    sampler = Sampler(ina, 0)
    chip.advance(150)
    sampler.poll(150)                         # warm-up: the fake's per-register counters now exist
    res = [0, 0, 0]
    now = 150
    for _ in range(20):
        chip.advance(150)
        now += 150
        micropython.heap_lock()
        try:
            res[0] = sampler.poll(now)
            res[1] = sampler.poll(now)
            res[2] = shunt_to_ma(ina.raw_shunt, 0, 500, 50, 0)
        finally:
            micropython.heap_unlock()
        assert res == [SAMPLE, NONE, -20000], res
