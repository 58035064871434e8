# A flash that lives in RAM, with the interface of drivers.store.Store: for tests and for the host tools that
# run without --state (the board's flash is then empty at start and forgotten at the end).


class MemStore:
    def __init__(self, codec=None):
        self.w10 = False
        self.json = {}
        self.json_saves = 0
        self.states = []           # the last saved state dict (a list, so tests can look at states[-1])
        self.codec = codec         # optional: keep each record encoded, as the board's flash does (size, CRC)
        self.record = None
        self.records = 0

    def path(self, name):
        return "/nonexistent/" + name

    def load_state(self):
        if self.codec is not None:
            if self.record is None:
                return None, []
            got, why = self.codec.decode(self.record)
            return (got[1] if got is not None else None), ([] if got is not None else ["state: " + why])
        return (dict(self.states[-1]) if self.states else None), []

    def save_state(self, values):
        if self.codec is not None:
            # as the board's store: the flash holds the record's bytes, not a copy of the dict (the measurement
            # of the app's heap, tools/app_hour.py, stays the app's)
            self.record = self.codec.encode(values, self.records)
        else:
            self.states.append(dict(values))
            del self.states[:-1]       # keep only the newest
        self.records += 1
        return True, []

    def load_json(self, name):
        return self.json.get(name), []

    def save_json(self, name, obj):
        self.json[name] = obj
        self.json_saves += 1
        return True, []

    def save_file(self, name, data):
        self.json[name] = bytes(data)
        return True, []

    def keep_copy(self, name, copy):
        if name in self.json:
            self.json[copy] = self.json[name]
        return []

    def load_text(self, name, limit):
        data = self.json.get(name)
        return bytes(data[:limit]).decode().strip() if isinstance(data, (bytes, bytearray)) else ""

    def mark_bad(self, name, reason):
        pass
