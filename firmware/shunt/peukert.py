# Peukert factor F16(I) = 65536 * (I / I20)^(n-1), exact integer floors, with every per-call intermediate in +-2^30.
# Spec: battery-monitor.md section 3.3 (definition, cache), Appendix A row "F16" (split form), section 16.1/16.2.
import struct
from array import array

from micropython import const

from shunt.peukert_tables import TABLES

_PER_K = const(62)      # values per k in TABLES: M16(0..16), then O16(-20..24)
_S_COUNT = const(17)    # s = 0 .. 16
_E_MIN = const(-20)
_E_COUNT = const(45)    # e = -20 .. 24
_ROW0 = const(340)      # index of G(0, 0) in the flat G table: (0 - E_MIN) * 17
_ONE = const(65536)     # F16 of a factor of exactly 1
_K_MAX = const(50)
_I20_MAX = const(499950)  # capacity 9999 Ah * 50


def m16(k, s):
    """M16(s) = floor(65536 * ((16 + s)/16)^(k/100)) from the generated table, s = 0 .. 16."""
    return struct.unpack_from("<I", TABLES, (k * _PER_K + s) * 4)[0]


def o16(k, e):
    """O16(e) = floor(65536 * 2^(e*k/100)) from the generated table, e = -20 .. 24."""
    return struct.unpack_from("<I", TABLES, (k * _PER_K + _S_COUNT + e - _E_MIN) * 4)[0]


class Peukert:
    """F16 for one setting of (k, I20, peukert_mode). configure() on every settings change; f16() per sample."""

    def __init__(self):
        # G(e, s) = fdiv(O16(e) * M16(s), 65536), flat: index (e + 20) * 17 + s. All < 2^30 (max 2^28 * 1.42).
        self._g = array("i", bytearray(4 * _E_COUNT * _S_COUNT))
        self._k = 0
        self._i20 = 50
        self._above = 0
        self._c0 = 23        # 29 - bit_length(I20): digit width of the long division when wd = I20
        self._last_i = -1    # cache of the last (I, F16) pair (section 3.3)
        self._last_f = _ONE

    def configure(self, k, i20_ma, above_c20):
        """k = peukert_exponent - 100 (0 .. 50), i20_ma = capacity * 50, above_c20 true for peukert_mode above_c20.
        Builds the G table for k (long ints allowed here) and clears the cache."""
        if k < 0 or k > _K_MAX:
            raise ValueError("peukert k %d: must be 0..50 (exponent 1.00..1.50)" % k)
        if i20_ma < 1 or i20_ma > _I20_MAX:
            raise ValueError("peukert I20 %d mA: must be 1..499950" % i20_ma)
        g = self._g
        base = k * _PER_K
        m = [struct.unpack_from("<I", TABLES, (base + s) * 4)[0] for s in range(_S_COUNT)]
        for ei in range(_E_COUNT):
            o = struct.unpack_from("<I", TABLES, (base + _S_COUNT + ei) * 4)[0]
            row = ei * _S_COUNT
            for s in range(_S_COUNT):
                g[row + s] = (o * m[s]) >> 16
        self._k = k
        self._i20 = i20_ma
        self._above = 1 if above_c20 else 0
        n = 0
        while (i20_ma >> n) > 0:
            n += 1
        self._c0 = 29 - n
        self._last_i = -1
        self._last_f = _ONE

    def f16(self, i_ma):
        """F16(I) for 1 <= i_ma <= 82 411 758 (abs current, mA). Allocates nothing; intermediates stay in +-2^30."""
        if i_ma == self._last_i:
            return self._last_f
        if self._k == 0:
            return _ONE
        b = self._i20
        if self._above and i_ma <= b:
            # F16 <= the exact value < 1 below I20, and F16(I20) = 65536: the clamp gives 65536 (section 3.3).
            f = _ONE
        else:
            # e: I20 * 2^e <= I < I20 * 2^(e+1). a/b in [1, 2); wd = b; c = digit width with 2^(c+1) * b <= 2^30.
            a = i_ma
            idx = _ROW0
            c = self._c0
            if a >= b:
                while b <= a - b:  # 2b <= a, without forming a value above 2a
                    b <<= 1
                    idx += _S_COUNT
                    c -= 1
            else:
                while a < b:
                    a <<= 1
                    idx -= _S_COUNT
            # s and wn by a 4-step restoring division of 16(a - b) by b (Appendix A). Unrolled on purpose
            # (tools/duplicates lists the four alike steps): the per-sample step runs it at every new current.
            r = a - b
            r <<= 1
            if r >= b:
                r -= b
                idx += 8
            r <<= 1
            if r >= b:
                r -= b
                idx += 4
            r <<= 1
            if r >= b:
                r -= b
                idx += 2
            r <<= 1
            if r >= b:
                r -= b
                idx += 1
            # r = wn < wd = b.  F = G0 + fdiv((G1 - G0) * wn, wd), by long division in base 2^c over the digits
            # of d = G1 - G0: each step forms t * 2^c + digit * wn < 2^(c+1) * b <= 2^30.
            g = self._g
            f = g[idx]
            d = g[idx + 1] - f
            if d > 0:
                if c < 1:  # only for currents beyond the spec's range (>= 2^28 mA)
                    c = 1
                lim = 1 << c
                sh = 0
                while (d >> sh) >= lim:
                    sh += c
                mask = lim - 1
                q = 0
                t = 0
                while sh >= 0:
                    t = (t << c) + ((d >> sh) & mask) * r
                    u = t // b
                    q = (q << c) + u
                    t -= u * b
                    sh -= c
                f += q
            if self._above and f < _ONE:
                f = _ONE
        self._last_i = i_ma
        self._last_f = f
        return f
