# The measurement: INA226 conversions to the core's mV and mA with their measured intervals, and the sensor
# warnings W08, W09 and W13 with one owner each. Spec: battery-monitor.md §2 (measurement, sensor fault), §13.2.
from shunt.convert import bus_to_mv, shunt_to_ma
from shunt.warnings import W13
from drivers.ina226 import Sampler, SAMPLE, ticks_diff


class Sensor:
    """One INA226 and its Sampler (the §2 fault rules), driven with ticks_ms values (only ticks_diff is used).

    `poll(now_ms, offset_nv)` returns True when a conversion was taken and counted with `count(v_mv, i_ma,
    dt_ms)` (the app's counting path); `raw_shunt` and `dt_ms` (ticks_diff from the previous good sample, 0 for
    the first, so a dropped sample's time goes into the next) hold it. W08/W09 are raised after each
    over-range sample is counted (Warnings clears them after 60 s without one). W13
    follows the Sampler's fault state, which owns the rule "3 drops or 1 s without a good sample, cleared by 10
    consecutive good samples" (§2), so W13 clears after exactly those 10."""

    def __init__(self, ina, settings, warn, count):
        self.ina = ina
        self.count = count
        self.settings = settings
        self.warn = warn
        self.sampler = None
        self.last_ms = None          # time of the latest good sample
        self.measuring = False       # a good measurement exists and the sensor is not in fault (VD §3.7)
        self.raw_shunt = 0
        self.result = 0
        self.dt_ms = 0

    def health(self):
        """For `status`: the I2C errors (retried or not) and the fault entries since start, None while there
        were none (a loose wire shows here long before W13)."""
        s = self.sampler
        errors = getattr(self.ina, "i2c_errors", 0)
        faults = s.faults if s is not None else 0
        if not errors and not faults:
            return None
        t = "%d I2C errors, %d sensor faults since start" % (errors, faults)
        err = s.error if s is not None else None
        return t + ("; last: " + err if err else "")

    def start(self, now_ms):
        """Bring up the chip; an absent one is a fault that re-probes every second. Returns a diagnostic or None."""
        err = None
        try:
            self.ina.start()
        except OSError as e:
            err = str(e)
        self.sampler = Sampler(self.ina, now_ms)
        return err

    def poll(self, now_ms, offset_nv):
        sampler = self.sampler
        r = sampler.poll(now_ms)
        self.result = r              # NONE, SAMPLE or DROPPED (drivers.ina226)
        warn = self.warn
        if sampler.fault:
            if not warn.mask & W13:
                warn.set(13)
            self.measuring = False
        elif warn.mask & W13:
            warn.clear(13)
        if r != SAMPLE:
            return False
        ina = self.ina
        last = self.last_ms
        self.dt_ms = 0 if last is None else ticks_diff(now_ms, last)
        self.last_ms = now_ms
        v = self.settings.values
        self.raw_shunt = ina.raw_shunt
        i_ma = shunt_to_ma(ina.raw_shunt, offset_nv, v["shunt_rating_a"], v["shunt_rating_mv"], v["current_invert"])
        self.count(bus_to_mv(ina.raw_bus, v["voltage_divider"]), i_ma, self.dt_ms)
        if ina.shunt_over_range:
            warn.set(8)
        if ina.bus_over_range:
            warn.set(9)
        if not sampler.fault:
            self.measuring = True
        return True
