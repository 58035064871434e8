# State record: encode, decode and validate the binary record of the monitor's state.
# Implements battery-monitor.md §14.1 (layout) and §14.3 (validity: magic, version, length, CRC).
import struct
from binascii import crc32

from micropython import const

MAGIC = b"SSST"
VERSION = const(3)              # format version of shunt.monitor.STATE_FIELDS (v1, v2: migrated, see there)
HEADER_FMT = "<4sHHI"           # magic, format version u16, payload length u16, sequence number u32
HEADER_SIZE = const(12)
CRC_SIZE = const(4)
# A record larger than this is garbage whatever its version says (readers never allocate more).
MAX_RECORD = const(2048)

# Allowed range of every struct code the layout may use. MicroPython's struct.pack silently truncates an
# out-of-range value (CPython raises), so encode() checks first: a record always decodes to what was given.
_RANGES = {
    "B": (0, 0xFF), "b": (-0x80, 0x7F),
    "H": (0, 0xFFFF), "h": (-0x8000, 0x7FFF),
    "I": (0, 0xFFFFFFFF), "i": (-0x80000000, 0x7FFFFFFF),
    "Q": (0, 0xFFFFFFFFFFFFFFFF), "q": (-0x8000000000000000, 0x7FFFFFFFFFFFFFFF),
}


def code_range(code):
    """(low, high) of a struct code used in a layout."""
    return _RANGES[code]


def _layout(fields):
    fmt = "<" + "".join(f[1] for f in fields)
    for f in fields:
        if f[1] not in _RANGES:
            raise ValueError("record field %s: struct code %s not allowed" % (f[0], f[1]))
    return fmt, struct.calcsize(fmt)


class Codec:
    """Encodes and decodes state records of one layout.

    `fields` is the tuple of (name, struct_code) of the current format version (shunt.monitor.STATE_FIELDS).
    `migrations` maps an older format version to (its fields tuple, fn(old_values) -> new_values): a future
    firmware that changes the layout bumps `version` and adds the previous layout here, so that a record of the
    older version is migrated and no history is lost (§14.1). A version that is neither current nor in the table
    is rejected with a reason."""

    def __init__(self, fields, version=VERSION, migrations=None):
        self.fields = fields
        self.version = version
        self._fmt, self.payload_size = _layout(fields)
        self.record_size = HEADER_SIZE + self.payload_size + CRC_SIZE
        if self.record_size > MAX_RECORD:
            raise ValueError("record of %d bytes: at most %d" % (self.record_size, MAX_RECORD))
        # version -> (struct format, payload size, fields, migration or None)
        self._decoders = {version: (self._fmt, self.payload_size, fields, None)}
        if migrations:
            for v, spec in migrations.items():
                fmt, size = _layout(spec[0])
                self._decoders[v] = (fmt, size, spec[0], spec[1])

    def encode(self, values, seq):
        """The complete record (header, payload, CRC) for a dict name -> int. ValueError names a field that is
        missing or out of its range (a programming error, never a property of the data on flash)."""
        if not 0 <= seq <= 0xFFFFFFFF:
            raise ValueError("record seq %d: must be 0..4294967295" % seq)
        args = []
        for name, code in self.fields:
            if name not in values:
                raise ValueError("record field %s missing" % name)
            v = values[name]
            lo, hi = _RANGES[code]
            if not isinstance(v, int) or v < lo or v > hi:
                raise ValueError("record field %s = %r: must be an int %d..%d" % (name, v, lo, hi))
            args.append(v)
        body = struct.pack(HEADER_FMT, MAGIC, self.version, self.payload_size, seq) + struct.pack(self._fmt, *args)
        return body + struct.pack("<I", crc32(body) & 0xFFFFFFFF)

    def decode(self, data):
        """Validate and decode a record. Returns ((seq, values), "") for a good record, else (None, reason).
        Never raises, whatever `data` holds."""
        try:
            return self._decode(data)
        except Exception as e:  # a decoder bug must not stop the boot: report it as a bad record
            return None, "undecodable (%s)" % type(e).__name__

    def _decode(self, data):
        n = len(data)
        if n == 0:
            return None, "empty"
        if n < HEADER_SIZE + CRC_SIZE:
            return None, "truncated (%d bytes)" % n
        if bytes(data[0:4]) != MAGIC:
            return None, "bad magic"
        _, version, length, seq = struct.unpack(HEADER_FMT, data[0:HEADER_SIZE])
        if HEADER_SIZE + length + CRC_SIZE != n:
            return None, "length %d does not match file size %d" % (length, n)
        (crc,) = struct.unpack("<I", data[n - CRC_SIZE:n])
        if crc32(data[0:n - CRC_SIZE]) & 0xFFFFFFFF != crc:
            return None, "bad CRC"
        dec = self._decoders.get(version)
        if dec is None:
            return None, "format version %d not supported (this firmware reads %d)" % (version, self.version)
        fmt, size, fields, migrate = dec
        if length != size:
            return None, "version %d payload length %d, expected %d" % (version, length, size)
        raw = struct.unpack(fmt, data[HEADER_SIZE:HEADER_SIZE + size])
        values = {}
        for i in range(len(fields)):
            values[fields[i][0]] = raw[i]
        if migrate is not None:
            values = migrate(values)
        return (seq, values), ""
