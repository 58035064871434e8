# Zero-current calibration: the raw shunt readings of 10 s of op_time, judged and turned into an offset.
# Spec: battery-monitor.md §12.2.
from micropython import const

from shunt.fixed import rdiv
from shunt.convert import NV_PER_SHUNT_LSB

_MEASURE_MS = const(10000)      # 10 s of op_time
_MIN_SAMPLES = const(10)
_MAX_SPREAD_LSB = const(40)     # 100 µV: the current must not change during the measurement


def max_offset_nv(rating_mv):
    """An offset above 0.5 % of full scale is refused (a load or charger still connected), and so is a stored
    one beyond it (BM §12.2)."""
    return 5000 * rating_mv


class ZeroCurrent:
    """One measurement at a time: `start()`, then `add(raw_shunt, dt_ms)` for every conversion (the app feeds
    it), and once `complete` the device calls `finish(rating_mv)`. Allocation-free per sample."""

    def __init__(self):
        self.running = False
        self._sum = self._n = self._ms = 0
        self._lo = self._hi = 0
        self._wall_ms = 0

    def start(self):
        self.running = True
        self._sum = self._n = self._ms = 0
        self._wall_ms = 0
        self._lo = 32767
        self._hi = -32768

    def add(self, raw, dt_ms):
        if not self.running:
            return
        self._sum += raw
        self._n += 1
        if raw < self._lo:
            self._lo = raw
        if raw > self._hi:
            self._hi = raw
        self._ms += dt_ms

    def wall(self, dt_ms):
        """Wall time passes (measured by the app): op_time stops with the samples during a sensor fault."""
        if self.running:
            self._wall_ms += dt_ms

    @property
    def overdue(self):
        return self.running and self._wall_ms >= _MEASURE_MS

    def end_overdue(self, sensor_fault):
        """After 10 s of wall time: (None, the reason) if it cannot complete, ending it; None while the samples
        are about to complete it (the per-second step then finishes it as usual)."""
        if sensor_fault:
            why = "sensor fault (W13) during the measurement: no valid current for 10 s"
        elif self._ms < _MEASURE_MS - 1000:
            why = "only %d ms of samples in 10 s of wall time (sampling stalled)" % self._ms
        else:
            return None
        self.running = False
        return None, why + "; nothing changed"

    @property
    def complete(self):
        return self.running and self._ms >= _MEASURE_MS

    def run(self):
        # The synchronous console path cannot wait 10 s for the sampler; the board uses zero_current_async.
        raise ValueError("the measurement takes 10 s: start it with HEX 0x1029 or the board console")

    def finish(self, rating_mv):
        """End the measurement: (offset_nv, message) if accepted, else (None, the reason)."""
        self.running = False
        n = self._n
        nv = rdiv(NV_PER_SHUNT_LSB * self._sum, n) if n else 0
        limit = max_offset_nv(rating_mv)
        if n < _MIN_SAMPLES:
            return None, "only %d samples in 10 s (at least %d needed)" % (n, _MIN_SAMPLES)
        if abs(nv) > limit:
            return None, ("offset %d nV is above 0.5 %% of full scale (%d nV): is a load or charger still "
                          "connected?" % (nv, limit))
        if self._hi - self._lo > _MAX_SPREAD_LSB:
            return None, ("the current changed during the measurement (%d LSB spread, at most %d)"
                          % (self._hi - self._lo, _MAX_SPREAD_LSB))
        return nv, "offset %d nV" % nv
