"""Host-side reader of the VE.Direct text protocol: whole, checksummed blocks out of any byte stream.

The framing follows Victron's "VE.Direct Protocol" document (the text-mode state machine of its reference
frame handler): a block runs from the `\\r\\n` before its first label to the byte after `Checksum\\t`, and all its
bytes sum to 0 mod 256; a `:` outside the checksum value starts a HEX frame that runs to `\\n`, is not part of the
block's sum, and is skipped. A block whose sum is wrong, or whose labels or values are longer than the protocol
allows, is counted in `bad_blocks` and never returned, so no half of it is used. A stream that does not start
with the `\r` of a block started before we listened: its bytes up to the first checksum are dropped without
counting as bad.
"""
from __future__ import annotations

_IDLE, _BEGIN, _NAME, _VALUE, _CHECKSUM, _HEX = range(6)
_MAX_LABEL = 9       # VE.Direct: labels are at most 9 characters
_MAX_VALUE = 33      # and values at most 33
_MAX_FIELDS = 22     # a block has at most 22 fields (checksum included)


class BlockReader:
    """feed(bytes) -> the blocks completed by these bytes, each a dict label -> value (both str)."""

    def __init__(self) -> None:
        self.blocks = 0          # good blocks returned
        self.bad_blocks = 0      # complete blocks refused (checksum, length or field count)
        self.hex_frames = 0      # HEX frames skipped
        self._first = True
        self._synced = False     # block boundaries are known (the stream began with one, or a checksum passed)
        self._state = _IDLE
        self._resume = _IDLE
        self._sum = 0
        self._label = bytearray()
        self._value = bytearray()
        self._fields: dict[str, str] = {}
        self._broken = False     # too long or too many fields: refuse at its checksum

    def feed(self, data: bytes) -> list[dict[str, str]]:
        out = []
        if self._first and data:
            self._first = False
            self._synced = data[0] == 0x0D
        for b in data:
            st = self._state
            if st == _HEX:
                if b == 0x0A:
                    self.hex_frames += 1
                    self._state = self._resume
                continue
            if b == 0x3A and st != _CHECKSUM:         # ':' starts a HEX frame, outside the block's sum
                self._resume = st
                self._state = _HEX
                continue
            self._sum = (self._sum + b) & 0xFF
            if st == _IDLE:
                if b == 0x0A:
                    self._state = _BEGIN
            elif st == _BEGIN:
                self._label = bytearray((b,))
                self._state = _NAME
            elif st == _NAME:
                if b == 0x09:
                    if self._label == b"Checksum":
                        self._state = _CHECKSUM
                    else:
                        self._value = bytearray()
                        self._state = _VALUE
                elif len(self._label) < _MAX_LABEL:
                    self._label.append(b)
                else:
                    self._broken = True
            elif st == _VALUE:
                if b == 0x0A:
                    if len(self._fields) >= _MAX_FIELDS:
                        self._broken = True
                    else:
                        self._fields[self._label.decode("latin-1")] = self._value.decode("latin-1")
                    self._state = _BEGIN
                elif b != 0x0D:
                    if len(self._value) < _MAX_VALUE:
                        self._value.append(b)
                    else:
                        self._broken = True
            else:   # _CHECKSUM: b is the checksum byte itself
                if self._synced:
                    if self._sum == 0 and not self._broken and self._fields:
                        self.blocks += 1
                        out.append(self._fields)
                    else:
                        self.bad_blocks += 1
                self._synced = True
                self._sum = 0
                self._fields = {}
                self._broken = False
                self._state = _IDLE
        return out
