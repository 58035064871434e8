# The sampler's stored ticks_ms stamps across the ESP32's ticks period (issue 12 item 9): ticks_ms wraps at 2^30
# ms and ticks_diff is valid within ±2^29 ms (6.2 days). A sensor fault after a week of healthy uptime is
# re-probed within a second. The clock is fakes.fake_ticks (extmod/modtime.c); dual runtime.
import drivers.ina226 as ina_mod
from drivers.ina226 import INA226, Sampler, SAMPLE
from fakes.fake_ina226 import FakeI2C, FakeINA226
from fakes import fake_ticks

_WEEK_MS = 7 * 24 * 3600 * 1000


def _run(sampler, chip, clock, ms, step=20):
    got = 0
    for _ in range(ms // step):
        chip.advance(step)
        if sampler.poll(clock.advance(step)) == SAMPLE:
            got += 1
    return got


def test_a_fault_after_a_week_of_uptime_is_re_probed_within_a_second():
    real = (ina_mod.ticks_diff, getattr(ina_mod, "ticks_add", None))
    ina_mod.ticks_diff = fake_ticks.ticks_diff; ina_mod.ticks_add = fake_ticks.ticks_add
    try:
        clock = fake_ticks.FakeTicks(start_ms=fake_ticks.PERIOD - 5000)    # the first wrap comes early
        chip = FakeINA226()
        chip.set_current_ma(-20000)
        ina = INA226(FakeI2C(chip), 0x40, 0)
        s = Sampler(ina, clock.ms())
        assert _run(s, chip, clock, 2000) > 10
        # a week of healthy sampling: the stamps renewed by every sample are fresh, the others are a week old
        clock.advance(_WEEK_MS)
        assert _run(s, chip, clock, 2000) > 10 and not s.fault
        chip.remove()
        _run(s, chip, clock, 1200)
        assert s.fault
        chip.insert()
        assert _run(s, chip, clock, 1500) > 0                 # re-probed, re-configured, sampling again
        assert chip.config == 0x4727
    finally:
        ina_mod.ticks_diff, ina_mod.ticks_add = real
