# Settings: every user setting by its spec name, unit, default, range and step, validated in one place.
# Spec: battery-monitor.md §1 (table and rules), §7 (nominal voltage side effects), §0.2 (exact decimals).
from micropython import const

# Kinds of setting.
NUM = const(0)      # exact decimal, stored as an integer in units of its step
ENUM = const(1)     # one of a list of words (or numbers), stored as the index or the number
TEXT = const(2)     # printable ASCII, stored as str
KEY = const(3)      # 16 bytes, shown as 32 lowercase hex characters; secret
LINKED = const(4)   # "linked" (stored -1) or an exact decimal
TEMP = const(5)     # "off" (stored 0) or whole °C, stored in 0.01 K as the HEX registers carry it (VD §4.6)

# name, kind, unit, default (stored), low, high, decimals, choices
# For ENUM the choices are the words; the stored value is the index, except nominal_voltage (see _ENUM_VALUES).
TABLE = (
    ("capacity", NUM, "Ah", 200, 1, 9999, 0, None),
    ("charged_voltage", NUM, "V", 132, 0, 950, 1, None),
    ("tail_current", NUM, "%", 40, 5, 100, 1, None),
    ("charged_detection_time", NUM, "min", 3, 1, 50, 0, None),
    ("peukert_exponent", NUM, "", 125, 100, 150, 2, None),
    ("charge_efficiency", NUM, "%", 95, 50, 100, 0, None),
    ("current_threshold", NUM, "A", 10, 0, 200, 2, None),
    ("ttg_averaging", NUM, "min", 3, 0, 12, 0, None),
    ("discharge_floor", NUM, "%", 500, 0, 990, 1, None),
    ("start_synchronized", ENUM, "", 1, 0, 1, 0, ("off", "on")),
    ("shunt_rating_a", NUM, "A", 500, 1, 9999, 0, None),
    ("shunt_rating_mv", NUM, "mV", 50, 10, 100, 0, None),
    ("current_invert", ENUM, "", 0, 0, 1, 0, ("off", "on")),
    ("voltage_divider", NUM, "", 1000, 900, 20000, 3, None),
    ("ina226_timing", ENUM, "", 0, 0, 1, 0, ("standard", "pulsed")),
    ("nominal_voltage", ENUM, "V", 0, 0, 48, 0, ("auto", "12", "24", "36", "48")),
    ("sync_mode", ENUM, "", 2, 0, 2, 0, ("victron", "strict", "accepted")),
    ("peukert_mode", ENUM, "", 0, 0, 1, 0, ("victron", "above_c20")),
    ("alarm_low_voltage_set", NUM, "V", 0, 0, 950, 1, None),
    ("alarm_low_voltage_clear", NUM, "V", 0, 0, 950, 1, None),
    ("alarm_high_voltage_set", NUM, "V", 0, 0, 950, 1, None),
    ("alarm_high_voltage_clear", NUM, "V", 0, 0, 950, 1, None),
    ("alarm_low_soc_set", NUM, "%", 0, 0, 990, 1, None),
    ("alarm_low_soc_clear", NUM, "%", 0, 0, 990, 1, None),
    ("relay_mode", ENUM, "", 0, 0, 2, 0, ("default", "charge", "remote")),
    ("relay_invert", ENUM, "", 0, 0, 1, 0, ("off", "on")),
    ("relay_low_soc", LINKED, "%", -1, 0, 990, 1, None),
    ("relay_clear_soc", NUM, "%", 900, 0, 990, 1, None),
    ("relay_min_closed", NUM, "min", 0, 0, 500, 0, None),
    ("relay_off_delay", NUM, "min", 0, 0, 500, 0, None),
    ("relay_low_voltage_set", NUM, "V", 0, 0, 950, 1, None),
    ("relay_low_voltage_clear", NUM, "V", 0, 0, 950, 1, None),
    ("relay_high_voltage_set", NUM, "V", 0, 0, 950, 1, None),
    ("relay_high_voltage_clear", NUM, "V", 0, 0, 950, 1, None),
    ("device_name", TEXT, "", "", 0, 20, 0, None),
    ("instant_readout", ENUM, "", 1, 0, 1, 0, ("off", "on")),
    ("instant_readout_key", KEY, "", b"", 16, 16, 0, None),
    ("battery_type", ENUM, "", 0, 0, 1, 0, ("lead_acid", "lfp")),
    # The aux input (issue 18, VD §4.6 0xEEF8 numbering: the stored value is the HEX value).
    ("aux_input", ENUM, "", 3, 0, 3, 0, ("starter", "midpoint", "temperature", "none")),
    ("aux_voltage_divider", NUM, "", 1000, 900, 20000, 3, None),
    ("alarm_low_starter_set", NUM, "V", 0, 0, 950, 1, None),
    ("alarm_low_starter_clear", NUM, "V", 0, 0, 950, 1, None),
    ("alarm_high_starter_set", NUM, "V", 0, 0, 950, 1, None),
    ("alarm_high_starter_clear", NUM, "V", 0, 0, 950, 1, None),
    # Victron's defaults, as a real BMV-712 answers 0x0331/0x0332 (20, 15: hex_pairs.txt).
    ("alarm_midpoint_set", NUM, "%", 20, 0, 990, 1, None),
    ("alarm_midpoint_clear", NUM, "%", 15, 0, 990, 1, None),
    ("alarm_low_temperature_set", TEMP, "C", 0, -50, 100, 0, None),
    ("alarm_low_temperature_clear", TEMP, "C", 0, -50, 100, 0, None),
    ("alarm_high_temperature_set", TEMP, "C", 0, -50, 100, 0, None),
    ("alarm_high_temperature_clear", TEMP, "C", 0, -50, 100, 0, None),
    ("relay_aux_alarms", ENUM, "", 0, 0, 1, 0, ("off", "on")),
    # Victron's "temperature coefficient" (HEX 0xEEF4, ve_regs.h VE_REG_BMV_TEMPERATURE_COEFFICIENT: un16 in 0.1
    # %CAP/°C): the capacity lost per °C below 20 °C, applied to the SOC's reference capacity (shunt.monitor).
    # 0 = off, Victron's default (a real BMV-712 answers 0: hex_pairs.txt).
    ("temp_coefficient", NUM, "%/C", 0, 0, 200, 1, None),
)

# sync_mode values (BM §4.1 and issue 17): accepted is the default of a device without stored settings; a stored
# settings file keeps the mode it has (every file stores sync_mode).
SYNC_VICTRON = const(0)
SYNC_STRICT = const(1)
SYNC_ACCEPTED = const(2)

# Settings added after schema 1: a settings file written before them lacks them, which is not damage; they take
# their default silently (any other missing name is reported).
ADDED_LATER = ("battery_type", "aux_input", "aux_voltage_divider", "alarm_low_starter_set", "alarm_low_starter_clear",
               "alarm_high_starter_set", "alarm_high_starter_clear", "alarm_midpoint_set", "alarm_midpoint_clear",
               "alarm_low_temperature_set", "alarm_low_temperature_clear", "alarm_high_temperature_set",
               "alarm_high_temperature_clear", "relay_aux_alarms", "temp_coefficient")

# battery_type -> the values its chemistry wants, per 12 V of nominal voltage for charged_voltage (stored units).
# lead_acid: the factory values (BM §1, §7). lfp: Victron's LiFePO4 recommendations for the SmartShunt/BMV:
# charged voltage 0.2 V below a 14.2 V absorption, Peukert 1.05, charge efficiency 99 %. Both use the
# `accepted` sync mode. apply_battery_type (console) sets them.
CHEMISTRY = (
    ("lead_acid", 132, (("tail_current", 40), ("peukert_exponent", 125), ("charge_efficiency", 95),
                        ("sync_mode", SYNC_ACCEPTED))),
    ("lfp", 140, (("tail_current", 40), ("peukert_exponent", 105), ("charge_efficiency", 99),
                  ("sync_mode", SYNC_ACCEPTED))),
)


def recommended(battery_type, nominal_v):
    """[(name, stored value)] a chemistry recommends for a bank of nominal_v volts (12/24/36/48)."""
    c = CHEMISTRY[battery_type]
    out = [("charged_voltage", c[1] * nominal_v // 12)]
    for kv in c[2]:
        out.append(kv)
    return out

# Settings kept by restore_defaults (§1 rules).
KEPT_BY_RESTORE = ("shunt_rating_a", "shunt_rating_mv", "current_invert", "voltage_divider", "ina226_timing",
                   "device_name", "instant_readout_key", "aux_voltage_divider")
SECRET = ("instant_readout_key",)
SCHEMA_VERSION = const(1)

_INDEX = {}
for _i, _row in enumerate(TABLE):
    _INDEX[_row[0]] = _i
NAMES = tuple(r[0] for r in TABLE)

_POW10 = (1, 10, 100, 1000)
ZERO_C_CK = const(27315)     # 0 °C in 0.01 K (VD §4.7: HEX = °C × 100 + 27315)


def row(name):
    """The table row of a setting; ValueError naming the allowed names if it does not exist."""
    i = _INDEX.get(name)
    if i is None:
        raise ValueError("unknown setting %r: see 'list' for the names" % (name,))
    return TABLE[i]


def fmt_fixed(value, decimals):
    """An integer in units of 10^-decimals as an exact decimal string: (132, 1) -> '13.2'."""
    if decimals == 0:
        return str(value)
    sign = "-" if value < 0 else ""
    q, r = divmod(abs(value), _POW10[decimals])
    s = str(r)
    return sign + str(q) + "." + "0" * (decimals - len(s)) + s


def parse_fixed(text, decimals):
    """Parse an exact decimal into an integer of 10^-decimals units, or return None if it is not one
    (malformed, or finer than the step). No float is ever formed: 'nan', 'inf' and '1e3' are not numbers here."""
    s = text.strip()
    neg = False
    if s[:1] in ("-", "+"):
        neg = s[0] == "-"
        s = s[1:]
    if not s:
        return None
    dot = s.find(".")
    whole, frac = (s, "") if dot < 0 else (s[:dot], s[dot + 1:])
    if whole and not _digits(whole):
        return None
    if frac and not _digits(frac):
        return None
    if not whole and not frac:
        return None
    # Trailing zeros beyond the step are exact; any other digit there is off the grid.
    extra = frac[decimals:]
    for c in extra:
        if c != "0":
            return None
    frac = frac[:decimals]
    v = int(whole or "0") * _POW10[decimals] + (int(frac) * _POW10[decimals - len(frac)] if frac else 0)
    return -v if neg else v


_DIGITS_MAX = 12      # digits before or after the point: keeps every parsed value a small integer


def _digits(s):
    if len(s) > _DIGITS_MAX:
        return False
    for c in s:
        if c < "0" or c > "9":
            return False
    return True


def describe_range(r):
    """'1..9999 Ah' style text for error messages and the `list` command."""
    name, kind, unit, default, lo, hi, dec, choices = r
    u = (" " + unit) if unit else ""
    if kind == NUM:
        return "%s..%s%s in steps of %s" % (fmt_fixed(lo, dec), fmt_fixed(hi, dec), u, fmt_fixed(1, dec))
    if kind == LINKED:
        return "linked, or %s..%s%s in steps of %s" % (fmt_fixed(lo, dec), fmt_fixed(hi, dec), u, fmt_fixed(1, dec))
    if kind == ENUM:
        return "|".join(choices) + u
    if kind == TEMP:
        return "off, or %d..%d%s in steps of 1" % (lo, hi, u)
    if kind == TEXT:
        return "0..%d printable ASCII characters" % hi
    return "32 hex characters (16 bytes)"


def _enum_value(name, index):
    return int(TABLE[_INDEX[name]][7][index]) if name == "nominal_voltage" and index else index


def _enum_index(r, value):
    if r[0] == "nominal_voltage":
        return 0 if value == 0 else r[7].index(str(value))
    return value


def parse(name, text):
    """Validate a user's text for a setting and return its stored value, or raise ValueError that names the
    setting, the value given and what is allowed. Pure: changes nothing."""
    r = row(name)
    kind = r[1]
    if not isinstance(text, str):
        raise ValueError("%s: value must be text" % name)
    t = text.strip()
    if kind == ENUM:
        tl = t.lower()
        for i, c in enumerate(r[7]):
            if tl == c:
                return _enum_value(name, i)
        raise ValueError("%s %s: must be %s" % (name, _show(t), describe_range(r)))
    if kind == TEXT:
        t = text  # a name may hold inner and outer spaces; only the console strips the line ends
        if len(t) > r[5] or not all(0x20 <= ord(c) < 0x7F for c in t):
            raise ValueError("%s: must be %s" % (name, describe_range(r)))
        return t
    if kind == KEY:
        return parse_key(t)
    if kind == LINKED and t.lower() == "linked":
        return -1
    if kind == TEMP:
        if t.lower() == "off":
            return 0
        v = parse_fixed(t, 0)
        if v is None or v < r[4] or v > r[5]:
            raise ValueError("%s %s: must be %s" % (name, _show(t), describe_range(r)))
        return ZERO_C_CK + 100 * v
    v = parse_fixed(t, r[6])
    if v is None and _too_long(t):
        raise ValueError("%s %s: more than %d digits before or after the point (%s)"
                         % (name, _show(t), _DIGITS_MAX, describe_range(r)))
    if v is None or v < r[4] or v > r[5]:
        raise ValueError("%s %s: must be %s" % (name, _show(t), describe_range(r)))
    return v


def _too_long(t):
    # issue 14: "00000000000012" is refused for its digits, not with a misleading range message
    s = t[1:] if t[:1] in ("-", "+") else t
    for part in s.split("."):
        if len(part) > _DIGITS_MAX:
            return True
    return False


def parse_key(t):
    b = from_hex(t, 16)
    if b is None:
        raise ValueError("instant_readout_key: must be 32 hex characters (16 bytes)")
    return b


def from_hex(text, n):
    """`n` bytes from exactly 2n hex characters (either case), or None."""
    if not isinstance(text, str) or len(text) != 2 * n:
        return None
    out = bytearray(n)
    for i in range(n):
        hi = hex_digit(ord(text[2 * i]))
        lo = hex_digit(ord(text[2 * i + 1]))
        if hi < 0 or lo < 0:
            return None
        out[i] = hi * 16 + lo
    return bytes(out)


def to_hex(b):
    return "".join("%02x" % x for x in b)


def hex_digit(o):
    """The value of one hex digit given as a character code (0-9, a-f, A-F), or -1."""
    if 48 <= o <= 57:
        return o - 48
    o |= 0x20
    if 97 <= o <= 102:
        return o - 87
    return -1


def _show(t):
    # Echo at most a short, printable piece of a bad value in an error message.
    s = "".join(c if 0x20 <= ord(c) < 0x7F else "?" for c in t[:20])
    return repr(s)


def check_stored(name, value):
    """Validate a stored-unit value (from HEX or a settings file); ValueError if it is not allowed."""
    r = row(name)
    kind = r[1]
    if kind == NUM or kind == LINKED:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("%s: must be an integer in stored units" % name)
        if kind == LINKED and value == -1:
            return value
        if value < r[4] or value > r[5]:
            raise ValueError("%s %s: must be %s" % (name, fmt_fixed(value, r[6]) if isinstance(value, int) else
                                                    value, describe_range(r)))
        return value
    if kind == TEMP:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("%s: must be an integer in stored units" % name)
        c = value - ZERO_C_CK
        if value and (c % 100 or c < 100 * r[4] or c > 100 * r[5]):
            raise ValueError("%s %d (0.01 K): must be %s" % (name, value, describe_range(r)))
        return value
    if kind == ENUM:
        if not isinstance(value, int) or isinstance(value, bool):   # JSON true is not a setting's number
            raise ValueError("%s: must be %s" % (name, describe_range(r)))
        try:
            _enum_index(r, value)
        except ValueError:
            raise ValueError("%s %s: must be %s" % (name, value, describe_range(r)))
        if r[0] != "nominal_voltage" and not 0 <= value < len(r[7]):
            raise ValueError("%s %s: must be %s" % (name, value, describe_range(r)))
        return value
    if kind == TEXT:
        if not isinstance(value, str):
            raise ValueError("%s: must be text" % name)
        return parse(name, value)
    if not isinstance(value, (bytes, bytearray)) or len(value) != 16:
        raise ValueError("instant_readout_key: must be 16 bytes")
    return bytes(value)


def nearest_stored(name, value):
    """The allowed stored value nearest to an integer `value` of a NUM, LINKED, ENUM or TEMP setting (HEX
    answers it with flags 0x04 when a SET is out of range, vedirect.md §4.3). Pure."""
    r = row(name)
    lo, hi = r[4], r[5]
    if r[1] == TEMP:
        # stored 0.01 K in whole °C steps, or 0 (off): the nearest of the clamped whole degree and off
        c = (value - ZERO_C_CK + 50) // 100
        near = ZERO_C_CK + 100 * (lo if c < lo else (hi if c > hi else c))
        d = value - near
        return 0 if value < 0 or (value < d if d > 0 else value < -d) else near
    if r[1] == ENUM and r[0] != "nominal_voltage":
        hi = len(r[7]) - 1
    if r[1] == LINKED and value == -1:
        return value
    return lo if value < lo else (hi if value > hi else value)


class Settings:
    """The live settings. `values[name]` is the stored integer (or str/bytes). Every change goes through
    `set`/`set_stored`, which validate first and change nothing on error, then tell the listeners."""

    def __init__(self):
        self.values = {}
        self.charged_voltage_user_set = 0
        self._listeners = []
        for r in TABLE:
            self.values[r[0]] = r[3]

    def add_listener(self, fn):
        """fn(name, user) is called after a stored value changed (name None: many changed at once; user False:
        the firmware's own write, e.g. nominal-voltage detection)."""
        self._listeners.append(fn)

    def _changed(self, name, user=True):
        for fn in self._listeners:
            fn(name, user)

    def __getitem__(self, name):
        return self.values[name]

    def get(self, name):
        return self.values[row(name)[0]]

    def format(self, name):
        """The user-facing text of a setting's current value (the key only as hex; the caller guards access)."""
        r = row(name)
        v = self.values[name]
        kind = r[1]
        if kind == NUM:
            return fmt_fixed(v, r[6])
        if kind == LINKED:
            if v < 0:
                return fmt_fixed(self.values["discharge_floor"], r[6]) + " (linked)"
            return fmt_fixed(v, r[6]) + " (unlinked)"
        if kind == ENUM:
            return r[7][_enum_index(r, v)]
        if kind == TEMP:
            return str((v - ZERO_C_CK) // 100) if v else "off"
        if kind == TEXT:
            return v
        return to_hex(v)

    def set(self, name, text, user=True):
        """Parse, validate and store a user's text value. Returns True if the stored value changed."""
        return self.set_stored(name, parse(name, text), user)

    def set_stored(self, name, value, user=True):
        """Store an already stored-unit value after validation. Returns True if anything changed.
        `user` False is for the firmware's own writes (nominal auto-detection), which do not mark
        charged_voltage as user-set."""
        value = check_stored(name, value)
        changed = False
        if name == "charged_voltage" and user:
            if not self.charged_voltage_user_set:
                self.charged_voltage_user_set = 1
                changed = True
        if name == "nominal_voltage" and value and not self.charged_voltage_user_set:
            # §7: a fixed nominal voltage sets the table's charged voltage (1.1·N) unless the user set one.
            cv = 11 * value
            if self.values["charged_voltage"] != cv:
                self.values["charged_voltage"] = cv
                changed = True
        if self.values[name] != value:
            self.values[name] = value
            changed = True
        if changed:
            self._changed(name, user)
        return changed

    def restore_defaults(self):
        """§1: reset everything but the installation settings, device_name and the key. Returns True if
        anything changed."""
        changed = bool(self.charged_voltage_user_set)
        self.charged_voltage_user_set = 0
        for r in TABLE:
            if r[0] in KEPT_BY_RESTORE:
                continue
            if self.values[r[0]] != r[3]:
                self.values[r[0]] = r[3]
                changed = True
        if changed:
            self._changed(None)
        return changed

    def to_dict(self):
        """The settings file's content (§14.1): stored integer units, text for the name and the key."""
        d = {}
        for r in TABLE:
            v = self.values[r[0]]
            d[r[0]] = to_hex(v) if r[1] == KEY else v
        return {"schema": SCHEMA_VERSION, "values": d, "charged_voltage_user_set": self.charged_voltage_user_set}

    def load_dict(self, d):
        """Apply a settings file's content. All or nothing: a bad file raises ValueError and changes nothing.
        Unknown names are ignored (a newer file), missing ones keep their defaults. For putting back a snapshot
        of `to_dict`; a file read at start-up goes through `load_stored`, which keeps what is valid."""
        if not isinstance(d, dict) or d.get("schema") != SCHEMA_VERSION or not isinstance(d.get("values"), dict):
            raise ValueError("settings file: wrong schema")
        new = {}
        for name, v in d["values"].items():
            if name not in _INDEX:
                continue
            new[name] = _stored_value(name, v)
        flag = d.get("charged_voltage_user_set", 0)
        if not _is_flag(flag):
            raise ValueError("settings file: bad charged_voltage_user_set")
        self.values.update(new)
        self.charged_voltage_user_set = flag
        self._changed(None)

    def load_stored(self, d):
        """Apply a settings file read at start-up key by key: every valid value is kept, a missing or bad one
        keeps its default. Returns the diagnostics, one per problem, each naming the field ("relay_off_delay
        501: must be 0..500 min in steps of 1: default 0 used"); [] for a clean file. Never raises."""
        diags = []
        if not isinstance(d, dict):
            return ["not a JSON object: defaults used"]
        if d.get("schema") != SCHEMA_VERSION or isinstance(d.get("schema"), bool):
            return ["schema %s: this firmware reads %d: defaults used" % (_brief(d.get("schema")), SCHEMA_VERSION)]
        vals = d.get("values")
        if not isinstance(vals, dict):
            return ["values: missing or not an object: defaults used"]
        for r in TABLE:
            name = r[0]
            if name not in vals:
                if name not in ADDED_LATER:
                    diags.append("%s: missing: default %s used" % (name, _default_brief(r)))
                continue
            try:
                self.values[name] = _stored_value(name, vals[name])
            except ValueError as e:
                diags.append("%s: default %s used" % (_stored_error(name, vals[name], e), _default_brief(r)))
        flag = d.get("charged_voltage_user_set", 0)
        if _is_flag(flag):
            self.charged_voltage_user_set = flag
        else:
            diags.append("charged_voltage_user_set %s: must be 0 or 1: 0 used" % _brief(flag))
        self._changed(None)
        return diags


def _stored_value(name, v):
    """A settings file's value (stored units; the key as 32 hex characters, "" for none yet) checked exactly."""
    if TABLE[_INDEX[name]][1] == KEY:
        if v == "":                 # no key yet (it is drawn at first start)
            return b""
        if not isinstance(v, str):
            raise ValueError("instant_readout_key: must be 32 hex characters (16 bytes)")
        return parse_key(v)
    return check_stored(name, v)


def _is_flag(v):
    return (v == 0 or v == 1) and isinstance(v, int) and not isinstance(v, bool)


def _brief(v):
    # A stored value echoed in a diagnostic: its JSON-ish text, short and printable.
    if isinstance(v, bool):
        t = "true" if v else "false"
    elif v is None:
        t = "null"
    else:
        t = repr(v)
    more = "..." if len(t) > 24 else ""
    return "".join(c if 0x20 <= ord(c) < 0x7F else "?" for c in t[:24]) + more


def _stored_error(name, v, e):
    # The check's message names the field; add the value when the message does not show it.
    m = str(e)
    if m.startswith(name + ":") and name != "instant_readout_key":
        return "%s %s%s" % (name, _brief(v), m[len(name):])
    if name == "instant_readout_key":
        return "instant_readout_key: %s" % m[len(name) + 2:]    # never echo a key, even a broken one
    return m


def _default_brief(r):
    if r[1] == KEY:
        return "(none)"
    if r[1] == TEXT:
        return repr(r[3])
    if r[1] == LINKED and r[3] < 0:
        return "linked"
    if r[1] == ENUM:
        return r[7][_enum_index(r, r[3])]
    if r[1] == TEMP:
        return str((r[3] - ZERO_C_CK) // 100) if r[3] else "off"
    return fmt_fixed(r[3], r[6])


def calibration_from(d, shunt_rating_mv):
    """The zero-current calibration file's content (§12.2: {"offset_nV": int, "op_time_s": int}) checked field by
    field with exact types: returns (offset_nv, op_time_s, diagnostics). A bad or missing field is reported and
    not used (offset 0 nV, op_time 0 s); the offset is at most 0.5 % of the shunt's full scale."""
    if not isinstance(d, dict):
        return 0, 0, ["not a JSON object: offset 0 nV used"]
    diags = []
    limit = 5000 * shunt_rating_mv
    nv = d.get("offset_nV")
    if "offset_nV" not in d:
        diags.append("offset_nV: missing: 0 nV used")
        nv = 0
    elif not isinstance(nv, int) or isinstance(nv, bool) or abs(nv) > limit:
        diags.append("offset_nV %s: must be an integer -%d..%d nV: 0 nV used" % (_brief(nv), limit, limit))
        nv = 0
    op = d.get("op_time_s", 0)
    if not isinstance(op, int) or isinstance(op, bool) or not 0 <= op <= 0xFFFFFFFF:
        diags.append("op_time_s %s: must be an integer 0..4294967295 s: 0 used" % _brief(op))
        op = 0
    return nv, op, diags
