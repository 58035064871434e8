# When the state is saved (BM §14.2): immediate triggers, the 60 s rate limit, the 600 s periodic rule, and
# "only changes are written". Runs under CPython and MicroPython.
from shunt.saver import Saver, NONE, COMMAND, SYNC, RATE, PERIODIC
from state_fields import FIELDS

CAP_AH = 200
MAH_CU = 360000000            # BM §0.1: 1 mAh = 360 000 000 cu
MAH_PU = MAH_CU * 65536


def _state():
    d = {}
    for name, _ in FIELDS:
        d[name] = 0
    d["synchronized"] = 1
    d["h5_armed"] = 1
    return d


def _set_ce_cu(d, cu):
    d["ce_mah"] = cu // MAH_CU
    d["ce_rem"] = cu % MAH_CU


def _set_qp_pu(d, pu):
    cu, d["qp_frac"] = divmod(pu, 65536)
    d["qp_mah"], d["qp_rem_cu"] = divmod(cu, MAH_CU)


def _run(saver, st, t0, t1, change=None):
    """Evaluate once per second from t0 to t1 - 1, saving whenever due; returns [(t, reason)]."""
    out = []
    for t in range(t0, t1):
        st["op_time_s"] = t
        if change:
            change(t, st)
        r = saver.due(t, st, CAP_AH)
        if r != NONE:
            saver.saved(t, st, r)
            out.append((t, r))
    return out


def test_idle_unit_saves_once_per_600_s():
    s, st = Saver(), _state()
    s.start(0, st)
    assert _run(s, st, 1, 3601) == [(600, PERIODIC), (1200, PERIODIC), (1800, PERIODIC), (2400, PERIODIC),
                                     (3000, PERIODIC), (3600, PERIODIC)]


def test_nothing_changed_nothing_written():
    s, st = Saver(), _state()
    s.start(0, st)
    for t in range(1, 2000):
        assert s.due(t, st, CAP_AH) == NONE   # op_time frozen: the record equals the saved one


def test_ce_change_of_0_1_percent_saves_after_60_s():
    s, st = Saver(), _state()
    s.start(0, st)
    _set_ce_cu(st, -(CAP_AH * MAH_CU - 1))      # 199.999… mAh: below C_cu/1000
    assert _run(s, st, 1, 120) == []
    _set_ce_cu(st, -CAP_AH * MAH_CU)            # exactly 0.1 % of 200 Ah = 200 mAh
    assert s.due(120, st, CAP_AH) == RATE


def test_qp_change_of_0_1_percent_saves():
    s, st = Saver(), _state()
    s.start(0, st)
    _set_qp_pu(st, CAP_AH * MAH_PU - 1)
    assert s.due(100, st, CAP_AH) == NONE
    _set_qp_pu(st, CAP_AH * MAH_PU)
    assert s.due(100, st, CAP_AH) == RATE


def test_rate_limited_change_waits_for_60_s_after_the_last_automatic_save():
    s, st = Saver(), _state()
    s.start(0, st)
    _set_ce_cu(st, -300 * MAH_CU)
    assert s.due(30, st, CAP_AH) == NONE
    assert s.due(59, st, CAP_AH) == NONE
    assert s.due(60, st, CAP_AH) == RATE


def test_flag_and_history_changes_are_rate_limited_others_wait_for_periodic():
    for name in ("synchronized", "h4", "h5", "h11", "h12"):
        s, st = Saver(), _state()
        s.start(0, st)
        st[name] = 1 - st[name] if name == "synchronized" else st[name] + 1
        assert s.due(59, st, CAP_AH) == NONE, name
        assert s.due(60, st, CAP_AH) == RATE, name
    s, st = Saver(), _state()
    s.start(0, st)
    st["h1"] = -5000
    st["h10"] = 3
    assert _run(s, st, 1, 700) == [(600, PERIODIC)]


def test_fast_discharge_saves_at_most_once_per_60_s():
    s, st = Saver(), _state()
    s.start(0, st)
    # 100 A: 27.8 mAh a second, far above 0.1 % of capacity per minute
    res = _run(s, st, 1, 3601, lambda t, d: _set_ce_cu(d, -t * 100000 * 1000 * 100))
    assert len(res) == 60
    for k in range(1, len(res)):
        assert res[k][0] - res[k - 1][0] >= 60
    for t, r in res:
        assert r == RATE


def test_command_saves_at_once_and_only_if_something_changed():
    s, st = Saver(), _state()
    s.start(0, st)
    s.request_now()
    assert s.due(5, st, CAP_AH) == NONE          # "a repeated relay on writes nothing"
    st["relay_remote"] = 1
    s.request_now()
    assert s.due(6, st, CAP_AH) == COMMAND       # no 60 s spacing for commands
    s.saved(6, st, COMMAND)
    st["relay_remote"] = 0
    s.request_now()
    assert s.due(7, st, CAP_AH) == COMMAND
    s.saved(7, st, COMMAND)
    s.request_now()
    st["op_time_s"] = 8                          # op_time alone is not a change for a command
    assert s.due(8, st, CAP_AH) == NONE


def test_command_save_does_not_delay_automatic_saves():
    s, st = Saver(), _state()
    s.start(0, st)
    _set_ce_cu(st, -300 * MAH_CU)
    s.request_now()
    assert s.due(10, st, CAP_AH) == COMMAND
    s.saved(10, st, COMMAND)
    _set_ce_cu(st, -600 * MAH_CU)
    assert s.due(60, st, CAP_AH) == RATE         # 60 s after the last automatic save (the start)


def _auto_sync(t, d):
    d["last_sync_kind"] = 1
    d["last_sync_s"] = t
    d["synchronized"] = 1
    _set_ce_cu(d, 0)
    _set_qp_pu(d, 0)


def test_automatic_sync_saves_at_once_and_restarts_the_60_s_timer():
    s, st = Saver(), _state()
    s.start(0, st)
    _set_ce_cu(st, -50 * MAH_CU)                 # small: no rate-limited save yet
    _set_qp_pu(st, 60 * MAH_PU)
    assert _run(s, st, 1, 300) == []
    _auto_sync(300, st)
    assert s.due(300, st, CAP_AH) == SYNC
    s.saved(300, st, SYNC)
    st["h11"] = 1
    assert s.due(359, st, CAP_AH) == NONE
    assert s.due(360, st, CAP_AH) == RATE


def test_sync_that_finds_full_and_synchronised_waits_for_periodic():
    s, st = Saver(), _state()                    # CE = Qp = 0, synchronised
    s.start(0, st)
    assert _run(s, st, 1, 200) == []
    _auto_sync(200, st)
    st["sync_timer_ms"] = 0
    assert _run(s, st, 200, 601) == [(600, PERIODIC)]


def test_sync_right_after_an_automatic_save_is_saved_at_once_and_restarts_the_timer():
    # issue 4 / §14.2: a sync is saved at once, even 15 s after a rate-limited save; the next rate-limited save
    # then waits 60 s from the sync.
    s, st = Saver(), _state()
    s.start(0, st)
    st["h4"] = 1
    assert s.due(60, st, CAP_AH) == RATE
    s.saved(60, st, RATE)
    _set_ce_cu(st, -10 * MAH_CU)
    _set_qp_pu(st, 10 * MAH_PU)
    assert s.due(70, st, CAP_AH) == NONE
    _auto_sync(75, st)
    assert s.due(75, st, CAP_AH) == SYNC
    s.saved(75, st, SYNC)
    st["h4"] = 2
    assert s.due(134, st, CAP_AH) == NONE
    assert s.due(135, st, CAP_AH) == RATE


def test_failed_sync_save_is_not_retried_every_second():
    s, st = Saver(), _state()
    s.start(0, st)
    _set_ce_cu(st, -10 * MAH_CU)
    _set_qp_pu(st, 10 * MAH_PU)
    assert s.due(10, st, CAP_AH) == NONE
    _auto_sync(20, st)
    assert s.due(20, st, CAP_AH) == SYNC
    s.failed(20, SYNC)
    for t in range(21, 80):
        assert s.due(t, st, CAP_AH) == NONE
    assert s.due(80, st, CAP_AH) == RATE


def test_worst_case_with_a_sync_every_minute_is_2880_saves_a_day():
    # Rate triggers every second and an automatic sync as often as the shortest detection time allows (1 min):
    # a sync save restarts the 60 s timer, so at most one sync save and one rate-limited save a minute.
    s, st = Saver(), _state()
    s.start(0, st)
    n = 0
    for t in range(1, 86401):
        st["op_time_s"] = t
        st["h4"] = t
        _set_ce_cu(st, -(t % 60 + 1) * MAH_CU)
        _set_qp_pu(st, (t % 60 + 1) * MAH_PU)
        if t % 61 == 30:                         # syncs 61 s apart: a rate save fits between two of them
            _auto_sync(t, st)
        r = s.due(t, st, CAP_AH)
        if r != NONE:
            s.saved(t, st, r)
            n += 1
    assert 2800 <= n <= 2880


def test_first_record_is_written_within_60_s_when_flash_had_none():
    s, st = Saver(), _state()
    s.start(0, None)
    assert s.due(59, st, CAP_AH) == NONE
    assert s.due(60, st, CAP_AH) == RATE


def test_failed_save_is_retried_after_60_s_not_every_second():
    s, st = Saver(), _state()
    s.start(0, st)
    st["h12"] = 4
    assert s.due(60, st, CAP_AH) == RATE
    s.failed(60, RATE)
    for t in range(61, 120):
        assert s.due(t, st, CAP_AH) == NONE
    assert s.due(120, st, CAP_AH) == RATE
    s.saved(120, st, RATE)
    assert s.due(180, st, CAP_AH) == NONE


def test_failed_command_save_is_retried():
    s, st = Saver(), _state()
    s.start(0, st)
    st["last_set_soc"] = 5000
    s.request_now()
    assert s.due(3, st, CAP_AH) == COMMAND
    s.failed(3, COMMAND)
    assert s.due(4, st, CAP_AH) == NONE
    assert s.due(63, st, CAP_AH) == RATE          # last_set_soc alone is not a rate trigger: this is the retry


def test_worst_case_is_1440_automatic_saves_a_day():
    # Every rate trigger every second for a day (§14.4 worst case without commands).
    s, st = Saver(), _state()
    s.start(0, st)
    n = 0
    for t in range(1, 86401):
        st["op_time_s"] = t
        st["h4"] = t
        if s.due(t, st, CAP_AH) != NONE:
            s.saved(t, st, RATE)
            n += 1
    assert n == 1440


def test_real_monitor_auto_sync_is_saved_at_once():
    from shunt.monitor import Monitor, SYNC_AUTO
    from shunt.settings import Settings
    assert SYNC_AUTO == 1
    st = Settings()
    st.set("sync_mode", "victron")      # the timing below is victron's: zero charge accepted needed
    m = Monitor(st)
    s = Saver()
    s.start(0, None)
    saves = []

    def run(v_mv, i_ma, seconds):
        for _ in range(seconds):
            for _ in range(m.sample(v_mv, i_ma, 1000)):
                m.second()
            st = m.get_state()
            r = s.due(m.op_time_s, st, CAP_AH)
            if r != NONE:
                s.saved(m.op_time_s, st, r)
                saves.append((m.op_time_s, r))

    run(12400, -20000, 1800)            # 10 Ah out: rate-limited saves once a minute
    assert len(saves) == 30 and saves[-1][1] == RATE
    n = len(saves)
    # BM §4.2: 200 Ah, 13.2 V, tail 4.0 % = 8 A, 3 min: charging at 13.5 V and 5 A syncs after 180 s, saved within 60 s
    run(13500, 5000, 300)
    synced_at = m.last_sync_s
    assert m.last_sync_kind == SYNC_AUTO and m.ce_mah == 0
    sync_saves = [x for x in saves[n:] if x[1] == SYNC]
    assert sync_saves and sync_saves[0][0] - synced_at <= 60
    # the sync is saved at once; every other automatic save keeps 60 s from the previous one
    assert sync_saves[0][0] == synced_at
    for k in range(1, len(saves)):
        if saves[k][1] != SYNC:
            assert saves[k][0] - saves[k - 1][0] >= 60


def test_saved_copy_goes_into_dicts_allocated_before_the_save():
    # The board app's heap peak was a new 56-entry dict at each save (issue 18): the first saved copy goes into
    # the dict reserve() allocated in the first second, later ones into the same dict; it stays a copy of what was saved.
    st = _state()
    s = Saver()
    s.start(0, None)
    s.reserve(st)
    blank = s._blank
    assert sorted(blank) == sorted(st) and blank is not st      # the keys, allocated before any save
    st["ce_mah"] = -7
    r = s.due(60, st, CAP_AH)
    assert r == RATE
    s.saved(60, st, r)
    assert s.saved_state is blank and s.saved_state == st
    st["ce_mah"] = -9                      # the caller refills its dict: the saved copy keeps -7
    assert s.saved_state["ce_mah"] == -7
    s.saved(120, st, RATE)
    assert s.saved_state is blank and blank["ce_mah"] == -9


def test_real_monitor_refills_the_state_dict_in_place():
    from shunt.monitor import Monitor
    from shunt.settings import Settings
    m = Monitor(Settings())
    d = m.get_state()
    m.set_soc(5000)
    assert m.get_state(d) is d and d == m.get_state() and d["qp_mah"] == 100000


def test_the_0_1_percent_rule_in_limbs_agrees_with_the_long_integer_difference():
    # shunt.saver decides |ΔCE| >= 0.1 % and |ΔQp| >= 0.1 % of capacity from the limbs (mAh, cu, 1/65536 cu)
    # in small ints; the long-integer difference is the reference, at and around the limit, both signs.
    from shunt.saver import _moved
    cu = 360000000
    cases = []
    for lim in (1, 200, 9999):
        for dm in (lim - 1, lim, lim + 1, -lim - 1, -lim, -lim + 1, 0, -1):
            for dr in (-cu + 1, -1, 0, 1, cu - 1):
                for df in (-65535, -1, 0, 1, 65535):
                    cases.append((dm, dr, df, lim))
    for dm, dr, df, lim in cases:
        total = (dm * cu + dr) * 65536 + df
        want = abs(total) >= lim * cu * 65536
        assert _moved(dm, dr, df, lim, cu) == want, (dm, dr, df, lim)
