# VE.Direct under load (issue 15): HEX GETs back to back at the full 19 200 baud for 60 s through the board app's
# HEX path (fake INA226 -> App -> VeDirectPort -> HexHandler), on a line model of the ESP32's UART. Nothing is
# lost: the same samples are counted as in the run without the flood (op_time, CE and the sample count equal),
# every GET is answered or counted as dropped, every text block that goes out is whole, and text resumes after
# the flood within the 1 s pause (VD §5.5). Prints the figures the README quotes.
from app import App
from fakes.fake_ina226 import FakeI2C, FakeINA226
from fakes.fake_uart import FakeUART
from fakes.mem_store import MemStore
from proto.vehex import encode_frame

_BPS = 1920             # 19 200 baud, 8N1
_TX_RING = 1024         # main.py: UART(..., txbuf=1024, rxbuf=512)
_RX_RING = 512
_FLOOD_FROM_MS = 5000
_FLOOD_TO_MS = 65000
_END_MS = 70000
# What a GX reads, long replies included (serial: 59 bytes for an 11-byte request)
_REGS = (0x0FFF, 0xED8D, 0xED8F, 0xEEFF, 0x0FFE, 0x010A, 0x0300, 0x1000, 0xEEB6, 0x0310)


class LineUART(FakeUART):
    """The ESP32's UART at 19 200 baud (fakes.fake_uart: a 1024-byte TX ring drained at the line rate, a write
    that does not fit stalls the caller), with the host's HEX requests arriving back to back at the line rate
    into the 512-byte RX ring while flooding (overflow is lost, counted)."""

    def __init__(self, source):
        FakeUART.__init__(self, room=_TX_RING, bps=_BPS)
        self.rx_lost = 0
        self.sent_rx = 0
        self.stalled_ms = 0     # all the time the board stood still in write() (the port must keep it 0)
        self._source = source
        self._rxf = 0

    def line(self, ms, flooding=False):
        """ms of line time: TX drains, and (while flooding) the host's bytes arrive back to back."""
        FakeUART.line(self, ms)
        if not flooding:
            return
        f = self._rxf + ms * _BPS
        self._rxf = f % 1000
        for _ in range(f // 1000):
            b = self._source.next()
            if len(self.rx) < _RX_RING:
                self.rx.append(b)
            else:
                self.rx_lost += 1
            self.sent_rx += 1


class Flood:
    def __init__(self):
        self.frames = [encode_frame(7, bytes((r & 0xFF, r >> 8, 0))) for r in _REGS]
        self.k = 0
        self.i = 0
        self.gets = 0           # complete requests on the line

    def next(self):
        f = self.frames[self.k]
        b = f[self.i]
        self.i += 1
        if self.i == len(f):
            self.i = 0
            self.k = (self.k + 1) % len(self.frames)
            self.gets += 1
        return b


def _run(flood):
    chip = FakeINA226()
    chip.set_battery_mv(12800)
    src = Flood()
    line = LineUART(src)
    app = App(FakeI2C(chip), line, store=MemStore(), log=lambda s: None)
    app.start(0)
    t = 0
    first_text_after = None
    while t < _END_MS:
        t += 20                                   # the port and sampling tasks poll every 20 ms
        # a current that changes every second, so that a lost sample would change CE
        chip.set_current_ma(-20000 - (t // 1000 % 7) * 1500, 500, 50)
        on = flood and _FLOOD_FROM_MS <= t < _FLOOD_TO_MS
        line.line(20, on)
        chip.set_time_ms(t)
        app.poll_sensor(t)
        cycles = app.port.cycles
        app.poll_port(t)
        if line.blocked_ms:                       # the board's loop stood still inside UART.write
            line.stalled_ms += line.blocked_ms
            t += line.blocked_ms
            line.line(line.blocked_ms, on)
            line.blocked_ms = 0
            chip.set_time_ms(t)
        if t >= _FLOOD_TO_MS and first_text_after is None and app.port.cycles > cycles:
            first_text_after = t
    return app, line, src, first_text_after


def _text_blocks(tx):
    data = bytes(tx)
    blocks = []
    k = data.find(b"\r\nPID\t")
    while k >= 0:
        e = data.find(b"Checksum\t", k)
        blocks.append(data[k:e + 10])
        k2 = data.find(b"\r\nH1\t", k)
        if 0 <= k2 < e:
            blocks.append(None)          # B merged into A: a cut or interleaved block
        k = data.find(b"\r\n", e + 10)
        while k >= 0 and data[k:k + 5] == b"\r\nH1\t":
            e = data.find(b"Checksum\t", k)
            blocks.append(data[k:e + 10])
            k = data.find(b"\r\n", e + 10)
        if k >= 0 and data[k:k + 6] != b"\r\nPID\t":
            k = data.find(b"\r\nPID\t", k)
    return blocks


def _replies(tx):
    data = bytes(tx)
    n = 0
    k = data.find(b":7")
    while k >= 0:
        e = data.find(b"\n", k)
        n += 1
        k = data.find(b":7", e)
    return n


def test_a_60_s_flood_of_gets_loses_no_sample_and_every_get_is_answered_or_counted():
    quiet, qline, _, _ = _run(False)
    app, line, src, resumed = _run(True)
    m, q = app.monitor, quiet.monitor
    # no sample lost
    assert app.ina.samples == quiet.ina.samples
    assert m.op_time_s == q.op_time_s and m.get_state()["ce_mah"] == q.get_state()["ce_mah"]
    assert m.get_state()["ce_rem"] == q.get_state()["ce_rem"]
    # every GET answered or counted as dropped; nothing lost on the RX side; the board never stalled in write()
    assert line.rx_lost == 0 and line.stalled_ms == 0 and qline.stalled_ms == 0
    answered = _replies(line.tx)
    dropped = app.hex.replies_dropped
    assert answered + dropped == src.gets and answered > 0
    assert b":4AAAAFD" not in line.tx
    # every text block that went out is whole (A then B, each checksum valid)
    blocks = _text_blocks(line.tx)
    assert blocks and None not in blocks
    for b in blocks:
        assert sum(b) % 256 == 0
    assert len(blocks) % 2 == 0
    # text held while HEX arrives (VD §5.5: the 1 s pause after each valid frame), back within 1 s + a period
    assert resumed is not None and resumed - _FLOOD_TO_MS <= 2000
    flood_s = (_FLOOD_TO_MS - _FLOOD_FROM_MS) // 1000
    print("HEX flood %d s at 19200 baud: %d GETs, %d answered (%d/s), %d dropped; text cycles %d vs %d without "
          "the flood (%d delayed for TX room), text back %d ms after the flood" % (
              flood_s, src.gets, answered, answered // flood_s, dropped, app.port.cycles, quiet.port.cycles,
              app.port.text_delayed, resumed - _FLOOD_TO_MS))
