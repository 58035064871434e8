# The firmware's per-second log (one row per completed second of op_time), written by the simulator's firmware
# side (tools/fw_sim.py) and by replay (tools/fw_replay.py --log), read by tools/sim/runner.py and tools/whatif.py.
# Runs under CPython and the MicroPython unix port: plain % formatting, no f-strings.
LOG_COLUMNS = ("t_s", "v_mv", "i_ma", "soc_cpct", "synchronized", "ce_mah", "ttg_min", "alarm_bits", "warnings",
               "sync_count", "last_sync_kind", "restored", "sync_voltage_ok", "sync_current_ok", "sync_timer_s",
               "aux_value", "aux_dev")      # the aux input (issue 18): empty when it has no value
LOG_HEADER = ",".join(LOG_COLUMNS) + "\n"
_ROW = ",".join(["%d"] * (len(LOG_COLUMNS) - 2) + ["%s", "%s"]) + "\n"


EVENTS_HEADER = "t_s,code,advice\n"


class SecondLog:
    """`app.on_second = SecondLog(app, file, events)`: counts syncs (a change of the last sync's time or kind);
    with a file, writes one row a second; with `events`, writes each warning when it is raised, with the
    firmware's own advice (shunt.warnings) at that moment."""

    def __init__(self, app, f=None, events=None):
        m = app.monitor
        self.f = f
        self.events = events
        self.syncs = 0
        self._last = (m.last_sync_s, m.last_sync_kind)
        self._warnings = m.warnings
        self._t = m.op_time_s        # the last second written
        if f is not None:
            f.write(LOG_HEADER)
        if events is not None:
            events.write(EVENTS_HEADER)

    def __call__(self, app):
        # One call per completed second; a sample longer than a second completes several at once, and op_time has
        # moved past all of them by then: each row gets its own second (it was the last one, twice, with the
        # previous one missing, so a sync in the first of them was not seen in the log).
        m = app.monitor
        t = self._t + 1 if self._t < m.op_time_s else m.op_time_s
        self._t = t
        if m.last_sync_s != self._last[0] or m.last_sync_kind != self._last[1]:
            self.syncs += 1
            self._last = (m.last_sync_s, m.last_sync_kind)
        if self.f is not None:
            ss = m.sync_status()
            x = m.aux.value
            d = m.aux.mid_dev_pm
            self.f.write(_ROW % (
                t, m.v_mv, m.i_ma, m.soc_cpct, m.synchronized, m.ce_mah, m.ttg_min, m.alarm_bits,
                m.warnings, self.syncs, m.last_sync_kind, m.restored, ss["voltage_ok"], ss["current_ok"],
                ss["timer_s"], "" if x is None else x, "" if d is None else d))
        new = m.warnings & ~self._warnings
        self._warnings = m.warnings
        if new and self.events is not None:
            for code, advice in m.warn.list(m):
                if new >> (int(code[1:]) - 1) & 1:
                    self.events.write('%d,%s,"%s"\n' % (t, code, advice.replace('"', "'")))
