"""Fuzz the VE.Direct port: 100 000 random and mutated HEX frames and byte strings (vedirect.md §4.5, §5).

Nothing raises, every byte written is either a whole text block that verifies or a valid HEX frame, and the text
blocks are exactly what the builder makes for the monitor's values. Fixed seed, so a failure reproduces."""
import random
import re

from shunt.settings import Settings
from proto.vedirect import TextBuilder
from proto.vehex import HexHandler
from proto.device import Device
from console_fakes import Storage
from drivers.vedirect_uart import VeDirectPort
from fakes.fake_uart import FakeUART

N = 100_000
HEX_FRAME = re.compile(rb":([0-9A-F])((?:[0-9A-F]{2})*)([0-9A-F]{2})\n")
SEEDS = [b":154\n", b":451\n", b":352\n", b":70010003E\n", b":7FF0F0040\n", b":7B8EE00A8\n", b":70A010043\n",
         b":8001000400100FD\n", b":82C100001FD\n", b":830100024\n", b":80C01004100FB\n", b":055\n", b":64F\n"]


from shunt.settings import Settings  # noqa: E402
from shunt.aux import Aux  # noqa: E402
from shunt.warnings import Warnings  # noqa: E402


class _Mon:
    v_mv, i_ma, synchronized, ce_mah, soc_cpct, soc_permille, ttg_min, alarm_bits = 13100, -2500, 1, -500, 9750, \
        975, 300, 0
    relay_active = 0
    h6_giga = h6_mah = 0      # H6 below 10^9 mAh: written from hist[6]
    i_int_ma = -2500
    warn = Warnings(Settings())

    def __init__(self):
        self.hist = list(range(19))
        self.h6_giga = 0
        self.h6_mah = 6
        s = Settings()
        s.set("aux_input", "midpoint")
        self.aux = Aux(s)
        self.aux.reading(6400)
        self.aux.second(self)

    def power_w(self):
        return -33

    def synchronize(self):
        pass

    def clear_history(self):
        pass

    def restore_defaults(self):
        pass

    def relay_remote(self, on):
        raise ValueError("relay: not in remote mode")


def _mutate(rng, f):
    f = bytearray(f)
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        i = rng.randrange(len(f) + 1)
        if op < 0.3 and f:
            f[min(i, len(f) - 1)] = rng.randrange(256)
        elif op < 0.5:
            f[i:i] = bytes([rng.choice(b"0123456789ABCDEFabcdef:\r\n\x00\xff")])
        elif op < 0.7 and f:
            del f[min(i, len(f) - 1)]
        elif op < 0.8:
            f = f.lower()
        else:
            f[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))
    return bytes(f)


def _check_output(out, block):
    """Split the written bytes into text cycles and HEX frames; everything must be one or the other."""
    i = 0
    cycles = frames = 0
    while i < len(out):
        if out.startswith(block, i):
            i += len(block)
            cycles += 1
            continue
        m = HEX_FRAME.match(out, i)
        assert m, out[i:i + 80]
        cmd = int(m.group(1), 16)
        body = bytes.fromhex(m.group(2).decode()) + bytes.fromhex(m.group(3).decode())
        assert (cmd + sum(body)) & 0xFF == 0x55
        frames += 1
        i = m.end()
    return cycles, frames


def test_fuzz_never_raises_and_output_is_only_blocks_and_valid_frames():
    rng = random.Random(20240611)
    s = Settings()
    m = _Mon()
    h = HexHandler(m, s, Device(m, s, Storage()), b"S0000000042")
    u = FakeUART()
    port = VeDirectPort(u, h)
    ref = TextBuilder()
    block = bytes(ref.buf[:ref.build_cycle_from(m)])
    for k in range(N):
        r = rng.random()
        if r < 0.4:
            data = _mutate(rng, rng.choice(SEEDS))
        elif r < 0.7:
            cmd = rng.randrange(16)
            pay = bytes(rng.randrange(256) for _ in range(rng.randint(0, 8)))
            body = bytes([cmd]) + pay
            frame = b":%X%s%02X\n" % (cmd, pay.hex().upper().encode(), (0x55 - sum(body)) & 0xFF)
            data = frame if rng.random() < 0.8 else _mutate(rng, frame)
        else:
            data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
        u.rx += data
        port.poll(rng.choice((0, 1, 20, 300, 1100)), m)
    # Settings stay valid whatever was written (a bad value never gets in).
    for name in ("capacity", "charged_voltage", "tail_current", "peukert_exponent"):
        from shunt.settings import check_stored
        check_stored(name, s.values[name])
    port.schedule.hold_ms = 0
    port.poll(5000, m)
    cycles, frames = _check_output(bytes(u.tx), block)
    assert cycles > 100 and frames > 10000
