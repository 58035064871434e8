# The configuration console: a transport-agnostic line protocol over settings, commands and diagnostics.
# Spec: battery-monitor.md §1 (settings), §12 (commands), §13 (diagnostics); platform.md §3.3 (line protocol).
#
# Protocol: one request per line, UTF-8, at most 128 bytes without the line end. Every reply is zero or more
# data lines followed by exactly one final line, `OK ...` or `ERR CODE message`, each ended by "\n". Data lines
# are `key=value[ unit][ (note)]`. Command words and setting names are case-insensitive. Reading is open;
# anything that changes state needs an authenticated session (`auth`, proto.auth). On any error nothing changes.
#
# Error codes: EMPTY (blank line), TOOLONG (> 128 bytes), ENCODING (not UTF-8, or control bytes), UNKNOWN
# (no such command), ARGS (wrong number of words), NAME (no such setting), VALUE (bad or out-of-range value),
# AUTH (needs authentication, or a wrong answer), LOCKED (too many failures: wait), NOSECRET (nothing to
# authenticate against), STATE (not allowed now, e.g. relay outside remote mode), STORAGE (a save failed),
# INTERNAL (a bug: reported, never raised).
#
# Every change goes through the device (proto.device.Device): its methods raise ValueError (rejected, nothing
# changed) or OSError (the save failed), which become ERR VALUE/STATE and ERR STORAGE here.
from shunt import settings as _st
from shunt.fixed import rdiv
from shunt.warnings import N_WARNINGS, title as warn_title
from proto import auth as _auth

from micropython import const

MAX_LINE = const(128)

_OPEN = const(0)
_AUTH = const(1)

# command: (min words after the command, max, needs auth, usage)
_COMMANDS = {
    "help": (0, 1, _OPEN, "help [command|setting]: this list, a command's usage, or what a setting does"),
    "list": (0, 0, _OPEN, "list: every setting with value, unit, range and default"),
    "get": (1, 1, _OPEN, "get <name>: one setting"),
    "set": (2, 99, _AUTH, "set <name> <value>: change a setting (validated, saved, then acknowledged)"),
    "status": (0, 0, _OPEN, "status: measurements, SOC, alarms, relay, warnings, sync summary"),
    "sync_status": (0, 0, _OPEN, "sync_status: every term of the sync condition (BM 13.1)"),
    "warnings": (0, 0, _OPEN, "warnings: active warnings (BM 13.2)"),
    "history": (0, 0, _OPEN, "history: H1..H18 (BM 9)"),
    "synchronize": (0, 0, _AUTH, "synchronize: manual sync to 100 % (BM 4.3)"),
    "set_soc": (1, 1, _AUTH, "set_soc <0.00..100.00>: set the state of charge in % (BM 4.4)"),
    "zero_current": (0, 0, _AUTH, "zero_current: 10 s zero-current calibration, loads and chargers off (BM 12.2)"),
    "clear_history": (0, 0, _AUTH, "clear_history: reset H1..H18 (BM 9)"),
    "restore_defaults": (0, 0, _AUTH, "restore_defaults: settings to defaults, installation settings kept (BM 1)"),
    "apply_battery_type": (0, 2, _AUTH, "apply_battery_type [lead_acid|lfp] [yes]: show the values the chemistry "
                           "recommends (battery_type if none given); with yes, set and save them"),
    "restart": (0, 0, _AUTH, "restart: save the state, then reset"),
    "save": (0, 0, _AUTH, "save: save the state now"),
    "relay": (1, 1, _AUTH, "relay on|off: remote relay command (relay_mode remote only)"),
    "instant_readout_rekey": (0, 0, _AUTH, "instant_readout_rekey: draw a new instant_readout_key"),
    "acknowledge": (0, 0, _AUTH, "acknowledge: accept the start-up diagnostics of damaged files (W10): the values "
                                 "in force are saved, the damaged files stay as *.bad"),
    "auth": (0, 1, _OPEN, "auth: get a nonce; auth <64 hex>: answer HMAC-SHA256(secret, nonce)"),
    "logout": (0, 0, _OPEN, "logout: end the authenticated session"),
    "passwd": (1, 1, _AUTH, "passwd <64 hex>: new secret XOR HMAC-SHA256(key, 'passwd' + nonce)"),
}
_ORDER = ("help", "list", "get", "set", "status", "sync_status", "warnings", "history", "synchronize", "set_soc",
          "zero_current", "clear_history", "restore_defaults", "apply_battery_type", "restart", "save", "relay",
          "instant_readout_rekey", "acknowledge", "auth", "logout", "passwd")
COMMANDS = _COMMANDS      # the table host tools read (tools/shuntctl.py): one owner of arity and the auth rule
ORDER = _ORDER


def needs_auth(cmd):
    """True if console command `cmd` changes something and so needs an authenticated session."""
    spec = _COMMANDS.get(cmd)
    return spec is not None and spec[2] == _AUTH


# BM §9: H1..H18, name and unit as sent in the text protocol.
_HIST = (
    None,
    ("deepest discharge", "mAh"), ("last discharge", "mAh"), ("average discharge", "mAh"),
    ("charge cycles", ""), ("full discharges", ""), ("cumulative Ah drawn", "mAh"),
    ("min voltage", "mV"), ("max voltage", "mV"), ("time since last full charge", "s"),
    ("automatic syncs", ""), ("low voltage alarms", ""), ("high voltage alarms", ""),
    ("low aux voltage alarms", ""), ("high aux voltage alarms", ""), ("min aux voltage", "mV"),
    ("max aux voltage", "mV"), ("discharged energy", "0.01kWh"), ("charged energy", "0.01kWh"),
)

# BM §13.2 short names, used only when the monitor has no warning_list().

# BM §13.1 field order for sync_status (the monitor's keys); any other keys follow, sorted.
_SYNC_ORDER = ("synchronized", "restored", "mode", "auto_sync", "voltage_ok", "voltage_mv", "charged_voltage_mv",
               "current_ok", "current_ma", "tail_current_ma", "accepted_ok", "accepted_mah", "accepted_required_mah",
               "count_ok", "count_mah", "count_allowed_mah", "timer_s", "timer_required_s", "last_sync", "last_sync_age_s", "last_sync_soc_cpct",
               "last_sync_current_ma", "last_set_soc_cpct", "last_set_soc_age_s", "near_miss_s", "near_miss_term",
               "near_miss_age_s", "max_v_current_ok_mv", "min_i_voltage_ok_ma", "throughput_mah", "mode_note")

# Key suffix -> (unit, decimals of the shown value): how sync_status values get their units.
_SUFFIX = (("_cpct", "%", 2), ("_permille", "%", 1), ("_mah", "mAh", 0), ("_mv", "mV", 0), ("_ma", "mA", 0),
           ("_ms", "ms", 0), ("_s", "s", 0))


class _Err(Exception):
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code
        self.msg = msg


def _ok(lines, final):
    lines.append("OK " + final if final else "OK")
    return "\n".join(lines) + "\n"


def _err(code, msg):
    return "ERR %s %s\n" % (code, msg)


def _show(t):
    # A bad word echoed in a message: short and printable only, never the raw input.
    s = "".join(c if 0x20 < ord(c) < 0x7F else "?" for c in t[:24])
    return "'" + s + ("...'" if len(t) > 24 else "'")


def quote(text):
    """device_name as a quoted string: readable, and parseable even with spaces or ';' in it."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unquote(text):
    """The text of a value as `quote` writes it; a value not starting with '"' is taken as it is. ValueError
    says what is wrong with a broken quoted string (never a silent guess such as an empty name)."""
    if text[:1] != '"':
        return text
    out = []
    esc = False
    for i in range(1, len(text)):
        c = text[i]
        if esc:
            if c not in '"\\':
                raise ValueError("'\\%s' at character %d: only \\\" and \\\\ are escapes" % (c, i + 1))
            out.append(c)
            esc = False
        elif c == "\\":
            esc = True
        elif c == '"':
            if i != len(text) - 1:
                raise ValueError("text after the closing quote at character %d: write \\\" for a quote inside"
                                 % (i + 1))
            return "".join(out)
        else:
            out.append(c)
    if esc:
        raise ValueError("the value ends with a lone backslash: no closing quote (write \\\\ for a backslash)")
    if text[-2:] == '\\"':
        raise ValueError("no closing quote: the last '\"' is escaped by the backslash before it "
                         "(write \\\\ for a backslash)")
    raise ValueError("no closing quote")


class Console:
    """One per transport (USB, BLE, TCP). The session (authenticated or not) belongs to it; the Auth object,
    with its failure count and lockout, is shared by all of them."""

    def __init__(self, device, auth):
        # auth: the shared proto.auth.Auth; None for a local console that the caller marks authenticated itself
        # (a simulator's own terminal).
        self.device = device
        self.auth = auth
        self.authenticated = False
        self._nonce = None
        self._pad = None
        self._epoch = 0             # auth.epoch when this session authenticated (a new secret ends it)
        self._last_ms = 0           # auth.clock_ms at this session's last request (idle timeout)

    # --- session -----------------------------------------------------------------------------------
    def disconnect(self):
        """The transport lost its peer: the session ends (BLE disconnect, TCP close)."""
        self.authenticated = False
        self._nonce = None
        self._pad = None

    def too_long(self, n):
        """The reply to a line a transport dropped for being `n` bytes long (n > 128)."""
        return _err("TOOLONG", "line is %d bytes: at most %d" % (n, MAX_LINE))

    def tick(self, dt_ms):
        """Measured elapsed time, for the lockout back-off and the challenge lifetime."""
        if self.auth is not None:
            self.auth.elapse(dt_ms)

    # --- entry points --------------------------------------------------------------------------------
    def reply(self, item):
        """The reply to one item of a transport's LineAssembler: a line, or the length of an overlong line it
        dropped (the one line-to-reply step of every transport)."""
        return self.too_long(item) if isinstance(item, int) else self.handle_line(item)

    async def reply_async(self, item):
        """As reply, through handle_line_async (the board's transports)."""
        return self.too_long(item) if isinstance(item, int) else await self.handle_line_async(item)

    def handle_line(self, line):
        """One request line (bytes or str, with or without its line end) -> the whole reply text."""
        try:
            r = self._prepare(line)
            if isinstance(r, str):
                return r
            return self._dispatch(r[0], r[1], r[2])
        except _Err as e:
            return _err(e.code, e.msg)
        except Exception as e:  # a bug must not kill the transport task; the tests assert this never shows
            return _err("INTERNAL", _show(repr(e)))

    async def handle_line_async(self, line):
        """As handle_line, but `zero_current` awaits device.zero_current_async() when the device has it (the
        board: the measurement needs the sampling task to keep running for 10 s)."""
        try:
            r = self._prepare(line)
            if isinstance(r, str):
                return r
            cmd, text, words = r
            if cmd == "zero_current" and hasattr(self.device, "zero_current_async"):
                try:
                    nv = await self.device.zero_current_async()
                except ValueError as e:
                    raise _Err("STATE", "zero_current rejected: %s" % e)
                return self._zero_reply(nv)
            return self._dispatch(cmd, text, words)
        except _Err as e:
            return _err(e.code, e.msg)
        except Exception as e:
            return _err("INTERNAL", _show(repr(e)))

    def _prepare(self, line):
        if isinstance(line, str):
            try:
                raw = line.encode()
            except Exception:
                return _err("ENCODING", "line is not valid UTF-8")
        else:
            raw = bytes(line)
        n = len(raw)
        while n and raw[n - 1] in (10, 13):
            n -= 1
        if n > MAX_LINE:
            return self.too_long(n)
        raw = raw[:n]
        try:
            text = raw.decode()
        except Exception:
            return _err("ENCODING", "line is not valid UTF-8")
        for i in range(len(text)):
            o = ord(text[i])
            if (o < 0x20 and o != 9) or o == 0x7F:
                return _err("ENCODING", "control byte 0x%02x at character %d: only printable text" % (o, i + 1))
        text = text.strip()
        self._session()
        if not text:
            return _err("EMPTY", "empty line: type 'help' for the commands")
        words = text.split()
        cmd = words[0].lower()
        spec = _COMMANDS.get(cmd)
        if spec is None:
            raise _Err("UNKNOWN", "unknown command %s: type 'help' for the commands" % _show(words[0]))
        n = len(words) - 1
        if n < spec[0] or n > spec[1]:
            raise _Err("ARGS", "%s takes %s: usage %s" % (cmd, _arity(spec), spec[3]))
        if spec[2] == _AUTH:
            self._need_auth()
        return cmd, text, words

    def _need_auth(self):
        if not self.authenticated:
            raise _Err("AUTH", "changing anything needs an authenticated session: see 'help auth'")

    def _session(self):
        # Issue 14: a session ends when the secret changed under it (passwd elsewhere) or after IDLE_MS without
        # a request (a USB console never sees end-of-file on a board). Checked at each request.
        a = self.auth
        if a is None:
            return
        if self.authenticated:
            if a.epoch != self._epoch:
                self.disconnect()
            elif a.clock_ms - self._last_ms >= _auth.IDLE_MS:
                self.disconnect()
        self._last_ms = a.clock_ms

    def _dispatch(self, cmd, text, words):
        return getattr(self, "_c_" + cmd)(text, words)

    # --- reading -----------------------------------------------------------------------------------
    def _c_help(self, text, words):
        if len(words) == 2:
            w = words[1].lower()
            spec = _COMMANDS.get(w)
            if spec is not None:
                return _ok(["usage=" + spec[3]], w)
            if w in _st.NAMES:
                # help <setting>: what it does, with its range and default (loaded only when asked for)
                from proto.setting_help import TEXT
                r = _st.row(w)
                lines = ["about=" + TEXT.get(w, ""), "range=" + _st.describe_range(r), "default=" + _default_text(r)]
                # what the configured chemistry wants here (battery_type; apply_battery_type sets it)
                s = self.device.settings
                n = self.device.nominal_v()
                bt = s["battery_type"]
                for name, v in _st.recommended(bt, n):
                    if name == w:
                        lines.append("recommended=%s for %s at %d V%s" % (
                            _stored_text(r, v), _st.row("battery_type")[7][bt], n,
                            "" if s[w] == v else " (now %s: see apply_battery_type)" % self._value_text(r)))
                return _ok(lines, w)
            raise _Err("UNKNOWN", "unknown command or setting %s: type 'help' or 'list'" % _show(words[1]))
        lines = []
        for c in _ORDER:
            lines.append(("  " if _COMMANDS[c][2] == _OPEN else "* ") + _COMMANDS[c][3])
        lines.append("(* needs an authenticated session)")
        return _ok(lines, "%d commands" % len(_ORDER))

    def _c_list(self, text, words):
        lines = []
        for r in _st.TABLE:
            lines.append("%s=%s; range %s; default %s" % (r[0], self._value_text(r), _st.describe_range(r),
                                                          _default_text(r)))
        return _ok(lines, "%d settings" % len(_st.TABLE))

    def _c_get(self, text, words):
        name = self._name(words[1])
        r = _st.row(name)
        if r[1] == _st.KEY and not self.authenticated:
            raise _Err("AUTH", "%s: needs an authenticated session" % name)
        return _ok([], "%s=%s" % (name, self._value_text(r)))

    def _value_text(self, r):
        name, kind, unit = r[0], r[1], r[2]
        if kind == _st.KEY:
            return self.device.settings.format(name) if self.authenticated else "(hidden)"
        v = self.device.settings.format(name)
        if kind == _st.TEXT:
            return quote(v)
        if unit and ((kind != _st.ENUM and kind != _st.TEMP) or v[:1].isdigit() or v[:1] == "-"):
            i = v.find(" (")
            return v + " " + unit if i < 0 else v[:i] + " " + unit + v[i:]
        return v

    def _name(self, word):
        name = word.lower()
        if name not in _st.NAMES:
            raise _Err("NAME", "unknown setting %s: see 'list' for the names" % _show(word))
        return name

    def _c_status(self, text, words):
        m = self.device.monitor
        sync = _g(m, "synchronized", None)
        lines = [
            "V=%s V" % _fix(_g(m, "v_mv", None), 3),
            "I=%s A" % _fix(_g(m, "i_ma", None), 3),
            "P=%s W" % _call(m, "power_w"),
        ]
        if sync:
            lines.append("SOC=%s %%" % _fix(_g(m, "soc_cpct", None), 2))
            lines.append("CE=%s mAh" % _num(_g(m, "ce_mah", None)))
            ttg = _g(m, "ttg_min", None)
            lines.append("TTG=-1 min (not discharging)" if ttg == -1 else "TTG=%s min" % _num(ttg))
        else:
            lines += ["SOC=--- (not synchronized)", "CE=--- (not synchronized)", "TTG=--- (not synchronized)"]
        ar = _g(m, "alarm_bits", None)
        lines.append("synchronized=%s" % _num(sync))
        lines.append("restored=%s" % _num(_g(m, "restored", None)))
        lines.append("AR=%s (%s)" % (_num(ar), _alarm_text(ar)))
        lines += _aux_lines(m)
        act = _g(m, "relay_active", None)
        lines.append("relay=%s (energised=%s)" % ("---" if act is None else ("closed" if act else "open"),
                                                  _num(_g(m, "relay_energised", None))))
        lines.append("warnings=%s" % (",".join(c for c, t in self._warnings()) or "none"))
        lines.append("op_time=%s s" % _num(_g(m, "op_time_s", None)))
        ss = _call(m, "sync_status", None)
        if isinstance(ss, dict):
            parts = []
            for k in ("auto_sync", "voltage_ok", "current_ok"):
                if k in ss:
                    parts.append("%s %s" % (k, _brief(ss[k])))
            if ss.get("mode") in ("strict", "accepted") and "accepted_ok" in ss:
                parts.append("accepted_ok %s" % _brief(ss["accepted_ok"]))
            if ss.get("mode") == "accepted" and "count_ok" in ss:
                parts.append("count_ok %s" % _brief(ss["count_ok"]))
            if "timer_s" in ss:
                parts.append("timer %s/%s s" % (_brief(ss["timer_s"]), _brief(ss.get("timer_required_s", "---"))))
            lines.append("sync=" + (", ".join(parts) or "---"))
        lines.append("current_offset=%s" % self._offset_text(self.device.offset_nv))
        lines.extend(_call(self.device, "status_lines", ()))    # board health: BLE off, failed tasks
        return _ok(lines, "status")

    def _c_sync_status(self, text, words):
        ss = _call(self.device.monitor, "sync_status", None)
        if not isinstance(ss, dict):
            raise _Err("STATE", "sync_status: not available from this monitor")
        lines = []
        for k in _SYNC_ORDER:
            if k in ss:
                _flatten(lines, k, ss[k])
        for k in sorted(ss):
            if k not in _SYNC_ORDER:
                _flatten(lines, k, ss[k])
        return _ok(lines, "sync_status")

    def _warnings(self):
        m = self.device.monitor
        wl = _call(m, "warning_list", None)
        if wl is not None:
            return [(str(c), str(t)) for c, t in wl]
        mask = _g(m, "warnings", 0) or 0
        out = []
        for n in range(1, N_WARNINGS + 1):
            if mask >> (n - 1) & 1:
                out.append(("W%02d" % n, warn_title(n)))
        return out

    def _c_warnings(self, text, words):
        w = self._warnings()
        return _ok(["%s=%s" % (c, t) for c, t in w], "%d warnings" % len(w))

    def _c_history(self, text, words):
        h = _g(self.device.monitor, "hist", None)
        lines = []
        for i in range(1, 19):
            v = h[i] if h is not None and i < len(h) else None
            name, unit = _HIST[i]
            if unit == "0.01kWh":
                lines.append("H%d=%s kWh (%s)" % (i, _fix(v, 2), name))
            else:
                lines.append("H%d=%s%s (%s)" % (i, _num(v), " " + unit if unit else "", name))
        return _ok(lines, "history")

    # --- commands that change state (each one a proto.device.Device method) ----------------------------------
    def _c_set(self, text, words):
        name = self._name(words[1])
        value = text.split(None, 2)[2]
        r = _st.row(name)
        if r[1] == _st.TEXT:
            try:
                value = unquote(value)
            except ValueError as e:
                raise _Err("VALUE", "%s: %s" % (name, e))
        changed = self._settings_call(self.device.set_setting, name, value)
        shown = "(stored)" if r[1] == _st.KEY else self._value_text(r)
        return _ok([], "%s=%s%s" % (name, shown, "" if changed else " (unchanged)"))

    def _settings_call(self, fn, *args):
        # A settings write: rejected -> VALUE, not saved -> STORAGE; the device rolled it back in both cases.
        try:
            return fn(*args)
        except ValueError as e:
            raise _Err("VALUE", str(e))
        except OSError as e:
            raise _Err("STORAGE", "settings not saved (%s): nothing changed" % _show(str(e)))

    def _state_call(self, done, fn, *args):
        # A state command: rejected -> STATE (nothing changed); not saved -> STORAGE (applied, retried).
        try:
            fn(*args)
        except ValueError as e:
            raise _Err("STATE", str(e))
        except OSError as e:
            raise _Err("STORAGE", "%s, but the state was not saved (%s): it is retried at the next save"
                       % (done, _show(str(e))))

    def _c_synchronize(self, text, words):
        self._state_call("synchronized", self.device.synchronize)
        return _ok([], "synchronized: SOC 100.00 %")

    def _c_set_soc(self, text, words):
        w = words[1]
        if w.endswith("%"):
            w = w[:-1]
        cpct = _st.parse_fixed(w, 2)
        if cpct is None or cpct < 0 or cpct > 10000:
            raise _Err("VALUE", "set_soc %s: must be 0.00..100.00 %% in steps of 0.01" % _show(words[1]))
        self._state_call("SOC set", self.device.set_soc, cpct)
        return _ok([], "SOC set to %s %%" % _st.fmt_fixed(cpct, 2))

    def _c_zero_current(self, text, words):
        try:
            nv = self.device.zero_current()
        except ValueError as e:
            raise _Err("STATE", "zero_current rejected: %s" % e)
        return self._zero_reply(nv)

    def _zero_reply(self, nv):
        return _ok([], "zero_current offset=%s" % self._offset_text(nv))

    def _offset_text(self, nv):
        # BM §12.2: the offset in µV and the current it stands for (I = U / R, R = rating_mV / rating_A).
        s = self.device.settings
        ua = rdiv(nv * s["shunt_rating_a"], s["shunt_rating_mv"])
        return "%s uV (%s mA)" % (_st.fmt_fixed(nv, 3), _st.fmt_fixed(ua, 3))

    def _c_clear_history(self, text, words):
        self._state_call("history cleared", self.device.clear_history)
        return _ok([], "history cleared")

    def _c_restore_defaults(self, text, words):
        self._settings_call(self.device.restore_defaults)
        return _ok([], "defaults restored (installation settings, device_name and key kept)")

    def _c_apply_battery_type(self, text, words):
        # Issue 17: one step to the values of a chemistry (proto.device.Device.apply_battery_type); every change
        # is shown first, and made (all of them, saved like `set`) only when confirmed with `yes`.
        args = [w.lower() for w in words[1:]]
        yes = bool(args) and args[-1] == "yes"
        if yes:
            args = args[:-1]
        if len(args) > 1:
            raise _Err("ARGS", "usage " + _COMMANDS["apply_battery_type"][3])
        bt = self._settings_call(_st.parse, "battery_type", args[0]) if args else None
        changes = self._settings_call(self.device.battery_type_changes, bt)
        bt = self.device.settings["battery_type"] if bt is None else bt
        word = _st.row("battery_type")[7][bt]
        what = "%s for %d V" % (word, self.device.nominal_v())
        lines = []
        for name, v in changes:
            r = _st.row(name)
            lines.append("%s: %s -> %s" % (name, self._value_text(r), _stored_text(r, v)))
        if not lines:
            return _ok([], "%s: every value already set" % what)
        if not yes:
            return _ok(lines, "%s: %d changes shown, none made; 'apply_battery_type %s yes' makes them"
                       % (what, len(lines), word))
        self._settings_call(self.device.apply_battery_type, bt)
        return _ok(lines, "%s: %d changes made and saved" % (what, len(lines)))

    def _c_restart(self, text, words):
        self._state_call("not restarting", self.device.restart)
        return _ok([], "restarting")

    def _c_save(self, text, words):
        self._state_call("not saved", self.device.save)
        return _ok([], "saved")

    def _c_relay(self, text, words):
        w = words[1].lower()
        if w not in ("on", "off"):
            raise _Err("VALUE", "relay %s: must be on|off" % _show(words[1]))
        self._state_call("relay " + w, self.device.relay, 1 if w == "on" else 0)
        return _ok([], "relay " + w)

    def _c_instant_readout_rekey(self, text, words):
        self._settings_call(self.device.rekey)
        return _ok([], "instant_readout_key replaced: read it with 'get instant_readout_key'")

    def _c_acknowledge(self, text, words):
        fn = getattr(self.device, "acknowledge", None)
        if fn is None:
            raise _Err("STATE", "acknowledge: nothing to acknowledge on this device")
        lines = ["diag=" + _printable(d) for d in getattr(self.device, "unacknowledged", ())]
        try:
            fn()
        except OSError as e:
            raise _Err("STORAGE", "not acknowledged: the files were not saved (%s)" % _show(str(e)))
        return _ok(lines, "acknowledged %d diagnostics" % len(lines))

    # --- authentication ------------------------------------------------------------------------------
    def _c_auth(self, text, words):
        a = self.auth
        if a is None:
            raise _Err("NOSECRET", "this console has no authentication (auth None): it is always local")
        if a.locked():
            raise _Err("LOCKED", "too many failed answers: try again in %d s" % _ceil_s(a.lock_ms))
        if len(words) == 1:
            if not a.has_key():
                raise _Err("NOSECRET", "no secret is set and the setup code is spent: restart the device and "
                                       "use the setup code printed on the USB console")
            n = a.challenge(self)
            self._nonce = n
            return _ok([], "nonce=" + _auth.to_hex(n))
        nonce = self._nonce
        self._nonce = None  # one answer per nonce, right or wrong
        setup = not a.has_secret()
        pad = a.verify(nonce, _auth.from_hex(words[1].lower(), 32), self)
        if pad is None:
            if a.stale:
                raise _Err("AUTH", "the challenge expired: send 'auth' again (not counted as a failure)")
            self.disconnect()   # a wrong answer ends the session it was given in
            if a.locked():
                raise _Err("LOCKED", "wrong answer: console locked for %d s" % _ceil_s(a.lock_ms))
            if nonce is None:
                raise _Err("AUTH", "no challenge pending (send 'auth' first): %d tries left" % a.tries_left())
            raise _Err("AUTH", "wrong answer: %d tries left before lockout" % a.tries_left())
        self.authenticated = True
        self._pad = pad
        self._epoch = a.epoch
        if setup:
            return _ok([], "authenticated with the one-time setup code: set a secret now with passwd")
        return _ok([], "authenticated")

    def _c_logout(self, text, words):
        self.disconnect()
        return _ok([], "logged out")

    def _c_passwd(self, text, words):
        if self._pad is None:
            raise _Err("AUTH", "passwd needs a fresh authentication: send 'auth' again first")
        masked = _auth.from_hex(words[1].lower(), _auth.SECRET_LEN)
        if masked is None:
            raise _Err("VALUE", "passwd: must be 64 hex characters (the new secret XOR the pad)")
        a = self.auth
        new = a.unmask(self._pad, masked)
        try:
            self.device.store_secret(_auth.to_hex(new))
        except OSError as e:
            raise _Err("STORAGE", "secret not saved (%s): nothing changed" % _show(str(e)))
        a.set_secret(new)       # a new epoch: every other session ends
        self._epoch = a.epoch   # this one goes on
        self._pad = None
        return _ok([], "secret changed")


def _printable(t):
    return "".join(c if 0x20 <= ord(c) < 0x7F else "?" for c in t)


def _arity(spec):
    lo, hi = spec[0], spec[1]
    if lo == hi:
        return "no arguments" if lo == 0 else ("1 argument" if lo == 1 else "%d arguments" % lo)
    if hi >= 99:
        return "at least %d arguments" % lo
    return "%d to %d arguments" % (lo, hi)


def _g(obj, name, default):
    return getattr(obj, name, default)


def _call(obj, name, default="---"):
    fn = getattr(obj, name, None)
    if fn is None:
        return default
    return fn()


def _num(v):
    return "---" if v is None else str(int(v))


def _fix(v, decimals):
    return "---" if v is None else _st.fmt_fixed(int(v), decimals)


def _ceil_s(ms):
    return (ms + 999) // 1000


def _alarm_text(ar):
    if ar is None:
        return "---"
    names = []
    if ar & 1:
        names.append("low voltage")
    if ar & 2:
        names.append("high voltage")
    if ar & 4:
        names.append("low SOC")
    for bit, name in _AUX_ALARMS:
        if ar & bit:
            names.append(name)
    return ", ".join(names) if names else "none"


# vedirect.md §3.6 AR bits of the aux input (issue 18).
_AUX_ALARMS = ((8, "low starter voltage"), (16, "high starter voltage"), (32, "low temperature"),
               (64, "high temperature"), (128, "mid-point"))


def _aux_lines(m):
    """status lines of the aux input (issue 18): its mode and value with the unit, '---' without a value."""
    aux = _g(m, "aux", None)
    if aux is None:
        return []
    mode = aux.mode
    v = aux.value
    if mode == 0:
        return ["aux=starter", "VS=%s V" % _fix(v, 3)]
    if mode == 1:
        d = aux.mid_dev_pm
        return ["aux=midpoint", "VM=%s V" % _fix(v, 3),
                "DM=%s %% (top half minus bottom half, of the bank voltage)" % _fix(d, 1)]
    if mode == 2:
        # the SOC's reference capacity: below 20 °C smaller by temp_coefficient (shunt.monitor._temp_capacity)
        return ["aux=temperature", "T=%s C" % _fix(v, 2), "soc_capacity=%s Ah" % _fix(_g(m, "cap_eff_mah", None), 3)]
    return ["aux=none"]


def _brief(v):
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, dict):
        for k in ("ok", "value"):
            if k in v:
                return _brief(v[k])
        return "-"
    if isinstance(v, (tuple, list)):
        return "/".join(_brief(x) for x in v)
    return str(v)


def _unit_of(key):
    for suf, unit, dec in _SUFFIX:
        if key.endswith(suf):
            return unit, dec
    return "", 0


def _flatten(lines, key, v):
    if isinstance(v, dict):
        if not v:
            lines.append("%s=---" % key)
        for k in v:
            _flatten(lines, key + "." + str(k), v[k])
        return
    if isinstance(v, bool):
        lines.append("%s=%d" % (key, 1 if v else 0))
        return
    if v is None:
        lines.append("%s=---" % key)
        return
    if isinstance(v, (tuple, list)):
        lines.append("%s=%s" % (key, "/".join(str(x) for x in v)))
        return
    if isinstance(v, int):
        if v == -1 and (key.endswith("_age_s") or key.endswith("_cpct")):
            lines.append("%s=---" % key)  # -1: no such event yet
            return
        unit, dec = _unit_of(key)
        lines.append("%s=%s%s" % (key, _st.fmt_fixed(v, dec) if dec else str(v), " " + unit if unit else ""))
        return
    t = "".join(c if 0x20 <= ord(c) < 0x7F else "?" for c in str(v))
    lines.append("%s=%s" % (key, t if t else "---"))


def _stored_text(r, v):
    """A stored value of row r as `list` shows it (value and unit)."""
    name, kind, unit, d, lo, hi, dec, choices = r
    if kind == _st.ENUM:
        return choices[v] if name != "nominal_voltage" else (str(v) + " V" if v else "auto")
    return _st.fmt_fixed(v, dec) + (" " + unit if unit else "")


def _default_text(r):
    name, kind, unit, d, lo, hi, dec, choices = r
    u = " " + unit if unit else ""
    if kind == _st.NUM:
        return _st.fmt_fixed(d, dec) + u
    if kind == _st.LINKED:
        return "linked" if d < 0 else _st.fmt_fixed(d, dec) + u
    if kind == _st.ENUM:
        if name == "nominal_voltage":
            return "auto" if d == 0 else str(d) + u
        return choices[d]
    if kind == _st.TEXT:
        return quote(d)
    if kind == _st.TEMP:
        return "off" if not d else str((d - _st.ZERO_C_CK) // 100) + u
    return "random at first start"
