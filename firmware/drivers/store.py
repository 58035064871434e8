# littlefs store: the state record in A/B slots and the JSON files, each written by tmp + close + rename.
# Implements battery-monitor.md §14.1 and §14.3 on platform.md §2.8 (littlefs, atomic rename).
import os

try:
    import json
except ImportError:  # pragma: no cover
    import ujson as json

from shunt.record import MAX_RECORD
from shunt.plausible import check_state

STATE_TMP = "state.tmp"
SLOTS = ("state_a.bin", "state_b.bin")  # seq even -> A, odd -> B (§14.3)
SETTINGS = "settings.json"
CALIBRATION = "calibration.json"
_ENOENT = 2           # errno of a file that does not exist (the same on littlefs, the unix port and CPython)
_MAX_JSON = 8192  # a larger settings or calibration file is garbage; never allocate more


class Store:
    """Persistence on a mounted filesystem below the directory `root` ("" = the filesystem's root).

    Nothing here raises to the caller because of what is on flash or because flash is full: every method
    returns diagnostics (short strings naming the file). `w10` is True while a file is bad or a save failed
    (W10, BM §13.2); it clears with the next successful save of that file."""

    def __init__(self, root, codec):
        self._root = root.rstrip("/")
        self._codec = codec
        self.seq = -1              # sequence number of the newest good record (-1: none)
        self._live = None          # slot holding that record: a save must never overwrite it
        self._bad = set()          # files with W10 raised: "state", "settings.json", "calibration.json"
        self.saves = 0             # successful state saves since start (for the status and the wear test)

    @property
    def w10(self):
        return bool(self._bad)

    def path(self, name):
        return self._root + "/" + name

    # -- files ---------------------------------------------------------------------------------------------

    def _exists(self, name):
        try:
            os.stat(self.path(name))
            return True
        except OSError:
            return False

    def _read(self, name, limit):
        """The file's bytes (at most limit + 1, so that oversize shows), or None if it does not exist. Any other
        failure (a directory in its place, an I/O error) raises: the caller reports it, never takes it as absent."""
        try:
            f = open(self.path(name), "rb")
        except OSError as e:
            if e.args and e.args[0] == _ENOENT:
                return None
            raise
        try:
            return f.read(limit + 1)
        finally:
            f.close()

    def _write_replace(self, tmp, name, data):
        """Write `data` to tmp completely, close it, then rename it over `name` (§14.3 steps 2-3).
        Raises OSError; the caller turns it into a diagnostic. A failed write leaves `name` as it was."""
        p = self.path(tmp)
        f = open(p, "wb")
        try:
            n = f.write(data)
            if n is not None and n != len(data):
                raise OSError(28)  # a short write means the filesystem is full
        finally:
            f.close()
        os.rename(p, self.path(name))

    def _remove(self, name):
        try:
            os.remove(self.path(name))
        except OSError:
            pass

    # -- state record (§14.3) ---------------------------------------------------------------------------------

    def load_state(self):
        """Read both slots; returns (values or None, diagnostics). The valid record with the highest seq wins;
        a missing, truncated, corrupt, wrong-version or garbage slot is skipped with a diagnostic. With no valid
        record the values are None (start-up rules, BM §4.5) and W10 is raised if any slot file existed."""
        diags = []
        best = None
        existed = False
        self._live = None
        for name in SLOTS:
            try:
                data = self._read(name, MAX_RECORD)
            except Exception as e:  # an unreadable file is a bad file, not a crash
                existed = True
                diags.append("%s: unreadable (%s)" % (name, _err(e)))
                self._bad.add("state")
                self._bad.add(name)   # W10 stays until this slot is written again
                continue
            if data is None:
                continue
            existed = True
            if len(data) > MAX_RECORD:
                diags.append("%s: garbage (more than %d bytes)" % (name, MAX_RECORD))
                self._bad.add("state")
                continue
            rec, reason = self._codec.decode(data)
            if rec is not None:
                bad = check_state(rec[1])     # a valid CRC over values the monitor cannot have produced
                if bad is not None:
                    rec, reason = None, "implausible record (%s)" % bad
            if rec is None:
                diags.append("%s: %s" % (name, reason))
                self._bad.add("state")
                continue
            if best is None or rec[0] > best[0]:
                best = rec
                self._live = name
        if best is None:
            self.seq = -1
            if existed:
                diags.append("no valid state record: start-up rules used")
            return None, diags
        self.seq = best[0]
        return best[1], diags

    def save_state(self, values):
        """Save a state dict as the next record (seq = last + 1, slot by parity), read it back and check it.
        Returns (ok, diagnostics). If that slot cannot be written (a directory in its place, a failed rename)
        the record goes to the other slot with seq + 2 (tmp + rename keeps old-or-new there too), W10 stays
        raised and the diagnostic names the broken slot; every save tries the broken slot first again. On
        failure of both W10 is raised and seq stays."""
        seq = self.seq + 1
        if SLOTS[seq & 1] == self._live:
            seq += 1  # a record found in the slot of the other parity (copied by hand): keep it as the fallback
        try:
            data = self._codec.encode(values, seq)
        except ValueError as e:
            self._bad.add("state")
            return False, ["state: not saved: %s" % e]
        slot = SLOTS[seq & 1]
        err = self._write_slot(slot, data)
        if err is None:
            self._bad.discard(slot)
            return self._saved(seq, slot), []
        diags = [err]
        self._bad.add(slot)
        other = SLOTS[(seq + 1) & 1]
        try:
            data = self._codec.encode(values, seq + 1)
        except ValueError as e:
            self._bad.add("state")
            return False, diags + ["state: not saved: %s" % e]
        err = self._write_slot(other, data)
        if err is not None:
            self._bad.add("state")
            return False, diags + [err]
        return self._saved(seq + 1, other), diags + ["%s: broken, state saved in %s" % (slot, other)]

    def _write_slot(self, slot, data):
        """None when `data` is in `slot` and reads back equal, else the diagnostic."""
        try:
            self._write_replace(STATE_TMP, slot, data)
            back = self._read(slot, MAX_RECORD)
        except Exception as e:
            self._remove(STATE_TMP)
            return "%s: save failed (%s)" % (slot, _err(e))
        if back != data:
            return "%s: read-back mismatch" % slot
        return None

    def _saved(self, seq, slot):
        self.seq = seq
        self._live = slot
        self.saves += 1
        self._bad.discard("state")
        return True

    # -- JSON files (settings.json, calibration.json) ---------------------------------------------------------

    def load_json(self, name):
        """Returns (object or None, diagnostics). A missing file is no diagnostic (first start); a file that is
        not a JSON object raises W10 and gives None (the caller uses defaults)."""
        try:
            data = self._read(name, _MAX_JSON)
        except Exception as e:
            self._bad.add(name)
            return None, ["%s: unreadable (%s)" % (name, e)]
        if data is None:
            return None, []
        reason = None
        obj = None
        if len(data) > _MAX_JSON:
            reason = "garbage (more than %d bytes)" % _MAX_JSON
        elif not data:
            reason = "empty"
        else:
            try:
                obj = json.loads(data.decode())
            except Exception:
                reason = "not valid JSON"
            else:
                if not isinstance(obj, dict):
                    reason = "not a JSON object"
                    obj = None
        if reason is not None:
            self._bad.add(name)
            return None, ["%s: %s: defaults used" % (name, reason)]
        return obj, []

    def mark_bad(self, name, reason):
        """The app found a readable file's content invalid (e.g. Settings.load_dict refused it): raise W10."""
        self._bad.add(name)
        return "%s: %s: defaults used" % (name, reason)

    def save_json(self, name, obj):
        """Write obj as JSON to name via name.tmp + close + rename. Returns (ok, diagnostics)."""
        try:
            data = json.dumps(obj).encode()
        except Exception as e:
            self._bad.add(name)
            return False, ["%s: not saved: %s" % (name, e)]
        return self.save_file(name, data)

    def save_file(self, name, data):
        """Write bytes to name via name.tmp + close + rename, read back. Returns (ok, diagnostics); whatever
        failed, no name.tmp is left behind (a full filesystem must not lose the space)."""
        tmp = name + ".tmp"
        try:
            self._write_replace(tmp, name, data)
            back = self._read(name, len(data))
        except Exception as e:
            self._remove(tmp)
            self._bad.add(name)
            return False, ["%s: save failed (%s)" % (name, _err(e))]
        if back != data:
            self._bad.add(name)
            return False, ["%s: read-back mismatch" % name]
        self._bad.discard(name)
        return True, []

    def keep_copy(self, name, copy):
        """Copy a damaged file byte for byte to `copy` (e.g. settings.bad) before anything may replace it.
        Returns diagnostics (none when the copy is made or there is nothing to copy)."""
        try:
            data = self._read(name, _MAX_JSON)
        except Exception as e:
            return ["%s: not copied to %s (%s)" % (name, copy, _err(e))]
        if data is None:
            return []
        tmp = copy + ".tmp"
        try:
            self._write_replace(tmp, copy, data)
        except Exception as e:
            self._remove(tmp)
            return ["%s: not copied to %s (%s)" % (name, copy, _err(e))]
        return ["%s: kept as %s" % (name, copy)]

    def load_text(self, name, limit):
        """A small text file's content (at most `limit` bytes, stripped), or "" if it is absent or unreadable."""
        try:
            data = self._read(name, limit)
            return data[:limit].decode().strip() if data is not None else ""
        except Exception:
            return ""


def _err(e):
    if isinstance(e, OSError) and e.args and e.args[0] == 28:
        return "filesystem full"
    return "%s %s" % (type(e).__name__, e)
