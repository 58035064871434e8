# A burst of VE.Direct HEX frames within one 20 ms poll (issue 12 item 6): the reply buffer (512 bytes) fills;
# a reply that does not fit is dropped and counted, never written past the end (a reply takes 5 + 2n bytes).
# Dual runtime: CPython pytest and the MicroPython unix port.
from shunt.settings import Settings
from proto.vehex import HexHandler
from proto.device import Device


class _Mon:
    v_mv, i_ma, synchronized, ce_mah, soc_cpct, soc_permille, ttg_min, alarm_bits, relay_active = \
        12910, 0, 1, 0, 10000, 1000, -1, 0, 0

    def __init__(self):
        self.hist = [0] * 19

    def power_w(self):
        return 0

    def synchronize(self):
        self.synchronized = 1

    def clear_history(self):
        self.hist = [0] * 19

    def restore_defaults(self):
        pass

    def relay_remote(self, on):
        raise ValueError("relay: only in remote mode")


class _Storage:
    def save_settings(self):
        pass

    def save_state(self):
        pass


class _Zero:
    running = False

    def start(self):
        pass


def _handler():
    s = Settings()
    m = _Mon()
    return HexHandler(m, s, Device(m, s, _Storage(), zero=_Zero()), b"S0E778D4XZ7")


def _get(reg):
    payload = (reg & 0xFF, reg >> 8, 0)
    s = 7 + sum(payload)
    return (":7%02X%02X%02X%02X\n" % (payload[0], payload[1], payload[2], (0x55 - s) & 0xFF)).encode()


def _frames(out):
    return [f for f in bytes(out).split(b"\n") if f]


def test_57_short_frames_in_one_poll_fill_the_buffer_and_the_rest_is_counted():
    h = _handler()
    h.feed(b":\n" * 57)
    out = bytes(h.take())
    assert len(out) <= 512
    answered = len(_frames(out))
    assert answered + h.replies_dropped == 57 and h.replies_dropped >= 1
    assert all(f.startswith(b":") for f in _frames(out))


def test_27_gets_of_h1_to_h18_in_one_poll():
    h = _handler()
    burst = b"".join(_get(0x0300 + k) for k in range(18)) * 27
    h.feed(burst)
    out = bytes(h.take())
    assert len(out) <= 512
    assert len(_frames(out)) + h.replies_dropped == 27 * 18
    # after take() the buffer is empty again: the next GET is answered
    h.feed(_get(0x0300))
    assert bytes(h.take()).startswith(b":70003")
