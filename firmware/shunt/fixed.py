# Integer arithmetic of the core, once: the §0.2 rounding helpers and the split forms that keep every
# per-sample product below 2^30 (the ESP32 small-int range). Spec: battery-monitor.md §0.1-§0.2, Appendix A.
from micropython import const

# Units (§0.1). cu = 0.01 mA·ms; pu = cu / 65536.
CU_PER_MAH = const(360000000)
_U = const(360000000)
_U_HI = const(36000)          # _U = _U_HI · 10^4
_L = const(10000)             # decimal limb
_U_512 = const(703125)        # _U = 512 · _U_512
# Lifetime values (issue 13): whole 10^9 mAh carried in a limb of their own, so that no value of the per-sample
# step leaves the ESP32's small ints (±2^30) however long the device runs; a count saturates at GIGA_MAX.
GIGA = const(1000000000)
GIGA_MAX = const(0x3FFFFFFF)

# Rate vectors: a per-ms rate R = R[0] mAh + R[1]·10^4 cu + R[2] cu + R[3] pu, with R[1] < 36000, R[2] < 10^4,
# R[3] < 65536. Applying R·dt for dt ≤ 5000 ms keeps every product below 2^30 (Appendix A).
# An accumulator is a slice q[i:i+3] of a list: [mAh, remainder cu (0 ≤ rem < U), fraction pu (0 ≤ frac < 65536)].
# An energy accumulator in nJ is [0.01 kWh, limb 10^0, 10^4, 10^8, 10^12 (< 36)].


def tdiv(a, b):
    """Truncating division (§0.2), b > 0."""
    q = abs(a) // b
    return -q if a < 0 else q


def rdiv(a, b):
    """Round half away from zero (§0.2), b > 0."""
    q = (2 * abs(a) + b) // (2 * b)
    return -q if a < 0 else q


def rate_cu(r, x, y):
    """r := x·y cu as a rate vector (x, y < 2^27). Decimal limbs keep each product below 2^30."""
    x1 = x // _L
    x0 = x - x1 * _L
    y1 = y // _L
    y0 = y - y1 * _L
    hi = x1 * y1                       # · 10^8 cu = hi·10/36 mAh
    q = hi // 36
    rr = hi - q * 36
    mah = q * 10
    t = rr * 10
    q = t // 36
    mah += q
    r1 = (t - q * 36) * 1000           # (·10^7 cu) expressed in 10^4 cu
    r1 += x1 * y0 + x0 * y1            # · 10^4 cu
    lo = x0 * y0
    q = lo // _L
    r1 += q
    r[2] = lo - q * _L
    q = r1 // _U_HI
    r[0] = mah + q
    r[1] = r1 - q * _U_HI
    r[3] = 0


def rate_add_pu(r, x, y):
    """r += x·y pu (x < 2^27, y < 2^27): binary 2^14 limbs, since 65536 pu = 1 cu."""
    x1 = x >> 14
    x0 = x & 0x3FFF
    y1 = y >> 14
    y0 = y & 0x3FFF
    lo = x0 * y0
    f = r[3] + (lo & 0xFFFF)
    cu = lo >> 16
    mid = x1 * y0 + x0 * y1            # · 2^14 pu
    f += (mid & 3) << 14
    cu += mid >> 2
    hi = (x1 * y1) << 3                # x1·y1·2^28 pu = x1·y1·2^12 cu = (x1·y1·8)·512 cu
    q = hi // _U_512
    r[0] += q
    cu += (hi - q * _U_512) * 512
    cu += f >> 16
    r[3] = f & 0xFFFF
    # fold cu into the decimal limbs
    q = cu // _L
    r0 = r[2] + cu - q * _L
    r1 = r[1] + q
    if r0 >= _L:
        r0 -= _L
        r1 += 1
    r[2] = r0
    q = r1 // _U_HI
    r[0] += q
    r[1] = r1 - q * _U_HI


def acc_add(q, i, r, dt):
    """Accumulator q[i:i+3] += r·dt (dt ≤ 5000). q[i+2] is touched only when r has a pu part."""
    f = r[3]
    rem = q[i + 1]
    if f:
        f = q[i + 2] + f * dt
        rem += f >> 16
        q[i + 2] = f & 0xFFFF
    t = r[1] * dt
    c = t // _U_HI
    mah = q[i] + c + r[0] * dt
    rem += (t - c * _U_HI) * _L + r[2] * dt
    while rem >= _U:
        rem -= _U
        mah += 1
    q[i] = mah
    q[i + 1] = rem


def acc_sub(q, i, r, dt):
    """Accumulator q[i:i+2] −= r·dt for a rate without a pu part (dt ≤ 5000)."""
    t = r[1] * dt
    c = t // _U_HI
    mah = q[i] - c - r[0] * dt
    rem = q[i + 1] - (t - c * _U_HI) * _L - r[2] * dt
    while rem < 0:
        rem += _U
        mah -= 1
    q[i] = mah
    q[i + 1] = rem


def energy_add(e, v_mv, a_ma, dt):
    """e += V·a·dt nJ, with the power V·a (µW) in base-10^4 limbs so no product passes 2^30 (Appendix A)."""
    v1 = v_mv // _L
    v0 = v_mv - v1 * _L
    a1 = a_ma // _L
    a0 = a_ma - a1 * _L
    w0 = v0 * a0
    c = w0 // _L
    w0 -= c * _L
    w1 = v1 * a0 + v0 * a1 + c
    c = w1 // _L
    w1 -= c * _L
    w2 = v1 * a1 + c
    w3 = w2 // _L
    w2 -= w3 * _L
    x = e[1] + w0 * dt
    c = x // _L
    e[1] = x - c * _L
    x = e[2] + w1 * dt + c
    c = x // _L
    e[2] = x - c * _L
    x = e[3] + w2 * dt + c
    c = x // _L
    e[3] = x - c * _L
    x = e[4] + w3 * dt + c
    c = x // 36
    e[4] = x - c * 36
    x = e[0]
    e[0] = x + c if x <= GIGA_MAX - c else GIGA_MAX     # 10.7 GWh: saturates (lifetime limit)


def energy_rem(e):
    """The nJ below 0.01 kWh of an energy accumulator as one (long) integer, for the state record."""
    return ((e[4] * _L + e[3]) * _L + e[2]) * _L + e[1]


def energy_set(e, cwh, rem):
    # `//` and `-`, not divmod: MicroPython's big-int divmod returns heap objects even for small results
    # (py/objint_mpz.c), and e[k] must be small ints so the next energy_add allocates nothing.
    e[0] = cwh if cwh < GIGA_MAX else GIGA_MAX
    for k in range(1, 4):
        q = rem // _L
        e[k] = rem - q * _L
        rem = q
    e[4] = rem


def giga_carry(q, i):
    """Lifetime accumulator q[i] (mAh, the slice q[i:i+3] = mAh, remainder, giga) reached 10^9 mAh: carry into
    q[i+2], or saturate at the lifetime maximum GIGA_MAX·10^9 + 10^9 − 1 mAh. Its rate has no pu part, so
    acc_add never touches q[i+2]."""
    g = q[i + 2]
    if g < GIGA_MAX:
        q[i] -= GIGA
        q[i + 2] = g + 1
    else:
        q[i] = GIGA - 1
        q[i + 1] = _U - 1


def split_giga(v):
    """(giga, rest) with v = giga·10^9 + rest, rest in [0, 10^9), saturated at (GIGA_MAX, 10^9 − 1); v ≥ 0.
    For a restore: v may be a long integer."""
    g = v // GIGA
    if g > GIGA_MAX:
        return GIGA_MAX, GIGA - 1
    return g, v - g * GIGA


def mul_rdiv_1e6(v, i):
    """rdiv(v·i, 10^6) in 10^3 limbs, so that no product passes 2^30 (P in W from mV and mA, §6)."""
    neg = (v < 0) != (i < 0)
    v = -v if v < 0 else v
    i = -i if i < 0 else i
    v1 = v // 1000
    v0 = v - v1 * 1000
    i1 = i // 1000
    i0 = i - i1 * 1000
    mid = v1 * i0 + v0 * i1
    c = mid // 1000
    p = v1 * i1 + c
    r = (mid - c * 1000) * 1000 + v0 * i0
    c = r // 1000000
    p += c
    r -= c * 1000000
    if 2 * r >= 1000000:
        p += 1
    return -p if neg else p
