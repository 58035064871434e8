# INA226 register values to the core's mV and mA: pure integer functions, allocation-free, every intermediate
# within ±2^30 (the ESP32 small-int range). Spec: battery-monitor.md §2 (Voltage, Shunt voltage, Current,
# Over-range) computed with the split forms of Appendix A, rows V and I.
from micropython import const

NV_PER_SHUNT_LSB = const(2500)      # INA226 shunt register LSB, 2.5 µV (platform.md §1.1)
SHUNT_RAW_MAX = const(32767)        # ±81.92 mV: a raw value at either end is saturated (BM §2, W08)
SHUNT_RAW_MIN = const(-32768)
BUS_RAW_LIMIT = const(28800)        # 36.0 V at the VBUS pin in 1.25 mV LSBs (BM §2, W09)
# The largest readings these functions can return: bus_to_mv(32767, 20000) and shunt_to_ma(-32768, 500000, 9999,
# 10, 0) (full-scale register, largest divider, offset and rating/mV ratio of the settings table, BM §1, §12.2).
V_MAX_MV = const(819175)
I_MAX_MA = const(82411758)


def bus_to_mv(raw_bus, divider):
    """V in mV = fdiv(raw_bus·5·divider + 2000, 4000), divider in 0.001 units (BM §2, Appendix A row V).
    raw_bus is the unsigned bus register (1.25 mV LSBs)."""
    x = raw_bus * 5
    xq = x // 4000
    xr = x - xq * 4000
    return xq * divider + (xr * divider + 2000) // 4000


def shunt_to_ma(raw_shunt, offset_nv, rating_a, rating_mv, invert):
    """I in mA = rdiv((raw_shunt·2500 − offset_nv)·rating_a, rating_mv·1000), negated when invert
    (BM §2, Appendix A row I). raw_shunt is the signed shunt register (2.5 µV LSBs)."""
    vsh = raw_shunt * 2500 - offset_nv
    d = rating_mv * 1000
    n = -vsh if vsh < 0 else vsh
    q1 = n // d
    r1 = n - q1 * d
    t = r1 * rating_a
    q2 = t // d
    r2 = t - q2 * d
    i = q1 * rating_a + q2
    if r2 + r2 >= d:
        i += 1
    if vsh < 0:
        i = -i
    if invert:
        i = -i
    return i


def shunt_over_range(raw_shunt):
    """True for a saturated shunt sample (W08)."""
    return raw_shunt >= SHUNT_RAW_MAX or raw_shunt <= SHUNT_RAW_MIN


def bus_over_range(raw_bus):
    """True when the VBUS pin is above 36.0 V (W09)."""
    return raw_bus > BUS_RAW_LIMIT
