#!/usr/bin/env python3
"""What if? Run the real firmware over a recorded trace once per settings set and compare the answers.

    .venv/bin/python tools/whatif.py week.csv --set capacity=280 \\
        --as "as is" --set charged_voltage=13.5 \\
        --as "Victron advice" --set charged_voltage=14.2 --set tail_current=2.0
    .venv/bin/python tools/whatif.py week.csv --set capacity=280 --set charged_voltage=13.5 --suggest

`--set` before the first `--as` applies to every settings set (your system: capacity, nominal voltage, ...);
each `--as LABEL` starts a settings set whose own `--set` follow it. Without `--as` there is one set. For each set
it shows the syncs (and the implausible ones: a sync that no charge preceded, i.e. under load), the days without
a sync, the largest SOC difference to the recording device's own SOC (when `TRACE.device.csv` from
tools/record.py is beside the trace), the best near-miss of the sync condition each day and the term that broke
it, and the warnings the firmware would have raised with its own advice. One plot shows it all.

`--suggest` proposes charged voltage, tail current and detection time from the trace alone (the absorption
plateau and the current taper of each charge it can see, and the highest voltage the battery held under load), prints
the evidence, and runs the proposal next to the given settings. It never changes a device's settings.
"""
from __future__ import annotations

import argparse
import csv
import math
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import replay  # noqa: E402  (also puts firmware/ on the path)
from fw_log import LOG_COLUMNS  # noqa: E402
from shunt.settings import Settings, fmt_fixed  # noqa: E402

_DAY_S = 86400
_PRIOR_CHARGE_S = 600          # a sync needs charge in the 10 minutes before it to be plausible
_EPISODE_S = 3600              # syncs less than an hour apart (the timer restarting) belong to one charge
_NO_TEXT = 1 << 40             # --frame-every for the runs: whatif reads the log, not the VE.Direct stream
_C = {name: i for i, name in enumerate(LOG_COLUMNS)}


class WhatIfError(Exception):
    pass


@dataclass
class Trace:
    t_ms: list[int]
    v_mv: list[int]
    i_ma: list[int]
    device_soc: dict[int, int] = field(default_factory=dict)   # second -> SOC ‰ of the recording device

    def first_device_soc_cpct(self) -> int | None:
        """The recording device's SOC at the first row (0.01 %), to start the replays where it was."""
        if not self.device_soc:
            return None
        return 10 * self.device_soc[min(self.device_soc)]

    @property
    def days(self) -> int:
        return self.t_ms[-1] // (1000 * _DAY_S) + 1


def read_trace(path: Path) -> Trace:
    replay.check_trace(path)
    t, v, i = [], [], []
    with path.open(newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        next(r)
        for row in r:
            if row and row[0].strip():
                t.append(int(row[0]))
                v.append(int(row[1]))
                i.append(int(row[2]))
    tr = Trace(t, v, i)
    dev = path.with_name(path.stem + ".device.csv")
    if dev.exists():
        with dev.open(newline="", encoding="utf-8") as f:
            r = csv.DictReader(f)
            for row in r:
                soc = row.get("soc_permille", "")
                if soc.lstrip("-").isdigit():
                    tr.device_soc[int(row["t_ms"]) // 1000] = int(soc)
    return tr


@dataclass
class Result:
    label: str
    sets: list[tuple[str, str]]
    settings: Settings
    log: list[list[int]]
    events: list[tuple[int, str, str]]
    own: list[tuple[str, str]] = field(default_factory=list)            # the set's own --set (after the common)
    syncs: list[tuple[int, int, bool]] = field(default_factory=list)   # (t_s, kind, plausible)


def effective_settings(sets: list[tuple[str, str]]) -> Settings:
    s = Settings()
    for name, value in sets:
        s.set(name, value)
    return s


def run_set(trace_path: Path, tr: Trace, label: str, sets: list[tuple[str, str]], runtime: str,
            work: Path, start_soc: int | None) -> Result:
    n = len(list(work.iterdir()))
    log_p, ev_p = work / f"log{n}.csv", work / f"ev{n}.csv"
    with open(work / f"out{n}.bin", "wb") as out:
        rc = replay.run(trace_path, sets, runtime, out, frame_every=_NO_TEXT, log=log_p, events=ev_p,
                        start_soc=start_soc)
    if rc != 0:
        raise WhatIfError(f"{label}: the firmware run failed (exit {rc})")
    with log_p.open(newline="") as f:
        r = csv.reader(f)
        next(r)
        log = [[int(x) if x != "" else None for x in row] for row in r if row]   # aux columns: "" = no value
    with ev_p.open(newline="") as f:
        r = csv.reader(f)
        next(r)
        events = [(int(row[0]), row[1], row[2]) for row in r if row]
    res = Result(label, sets, effective_settings(sets), log, events)
    prev = 0
    for row in log:
        if row[_C["sync_count"]] != prev:
            prev = row[_C["sync_count"]]
            t_s = row[_C["t_s"]]
            res.syncs.append((t_s, row[_C["last_sync_kind"]], charged_before(tr, t_s)))
    return res


def charged_before(tr: Trace, t_s: int) -> bool:
    """Whether the recorded current charged the battery (net) in the 10 minutes before second t_s."""
    end = t_s * 1000
    start = end - _PRIOR_CHARGE_S * 1000
    q = 0
    prev_t = None
    for t, i in zip(tr.t_ms, tr.i_ma):
        if t > end:
            break
        if prev_t is not None and t > start:
            q += i * (t - max(prev_t, start))
        prev_t = t
    return q > 0


def near_misses(res: Result) -> list[tuple[int, int, str]]:
    """Per day without a sync: (day, best timer s, the term that broke it or never held), from the firmware's
    sync_status terms in its per-second log."""
    out = []
    best: dict[int, tuple[int, str]] = {}
    held: dict[int, list[int]] = {}
    synced_days = {t // _DAY_S for t, _, _ in res.syncs}
    prev_timer = 0
    for row in res.log:
        day = row[_C["t_s"]] // _DAY_S
        h = held.setdefault(day, [0, 0])
        h[0] |= row[_C["sync_voltage_ok"]]
        h[1] |= row[_C["sync_current_ok"]]
        timer = row[_C["sync_timer_s"]]
        if timer < prev_timer:
            broke = []
            if not row[_C["sync_voltage_ok"]]:
                broke.append("voltage")
            if not row[_C["sync_current_ok"]]:
                broke.append("current")
            why = " and ".join(broke) or "charge accepted / outage"
            if prev_timer > best.get(day, (-1, ""))[0]:
                best[day] = (prev_timer, why)
        prev_timer = timer
    for day in range(max((r[_C["t_s"]] for r in res.log), default=0) // _DAY_S + 1):
        if day in synced_days:
            continue
        never = [n for n, ok in zip(("voltage", "current"), held.get(day, [0, 0])) if not ok]
        if day in best:
            t, why = best[day]
            why = f"broken by the {why} term"
        else:
            t, why = 0, (" and ".join(never) + " term never held") if never else "the terms never held together"
        out.append((day, t, why))
    return out


def episodes(res: Result) -> list[tuple[int, int, int]]:
    """[(first sync s, syncs, implausible syncs)]: syncs less than an hour apart are one episode."""
    out: list[list[int]] = []
    for t, _, ok in res.syncs:
        if out and t - out[-1][3] < _EPISODE_S:
            e = out[-1]
            e[1] += 1
            e[2] += 0 if ok else 1
            e[3] = t
        else:
            out.append([t, 1, 0 if ok else 1, t])
    return [(e[0], e[1], e[2]) for e in out]


def term_share(res: Result) -> tuple[int, int]:
    n = len(res.log) or 1
    v = sum(r[_C["sync_voltage_ok"]] for r in res.log)
    i = sum(r[_C["sync_current_ok"]] for r in res.log)
    return 100 * v // n, 100 * i // n


def max_soc_diff(res: Result, tr: Trace) -> tuple[int, int] | None:
    """(largest |SOC - device SOC| in ‰, at second) or None without the device's values."""
    if not tr.device_soc:
        return None
    best = (0, 0)
    for row in res.log:
        d = tr.device_soc.get(row[_C["t_s"]])
        if d is None:
            continue
        diff = abs(row[_C["soc_cpct"]] // 10 - d)
        if diff > best[0]:
            best = (diff, row[_C["t_s"]])
    return best


def _hms(t_s: int) -> str:
    return f"day {t_s // _DAY_S + 1} {t_s % _DAY_S // 3600:02d}:{t_s % 3600 // 60:02d}"


def summary(res: Result, tr: Trace) -> str:
    s = res.settings
    lines = [f"== {res.label} ==  " + (" ".join(f"{k}={v}" for k, v in res.own) or "")]
    bad = [t for t, _, ok in res.syncs if not ok]
    synced_days = {t // _DAY_S for t, _, _ in res.syncs}
    eps = episodes(res)
    lines.append(f"syncs: {len(res.syncs)} in {len(eps)} episode(s)"
                 + (f", {len(bad)} implausible (no charge in the 10 min before, i.e. under load)" if bad else "")
                 + f"; days without a sync: {tr.days - len(synced_days & set(range(tr.days)))} of {tr.days}")
    for t0, n, n_bad in eps[:10]:
        lines.append(f"  sync {_hms(t0)}" + (f" (+{n - 1} while the terms kept holding)" if n > 1 else "")
                     + (f"  <- {n_bad} under load" if n_bad else ""))
    if len(eps) > 10:
        lines.append(f"  ... {len(eps) - 10} more")
    d = max_soc_diff(res, tr)
    if d is not None:
        lines.append(f"largest SOC difference to the recording device: {d[0] / 10:.1f} % ({_hms(d[1])})")
    v_pct, i_pct = term_share(res)
    vmax = max(tr.v_mv)
    lines.append(f"sync terms held: voltage {v_pct} % of the time (charged_voltage "
                 f"{s.format('charged_voltage')} V, highest recorded {fmt_fixed(vmax // 10, 2)} V), "
                 f"current {i_pct} % (tail_current {s.format('tail_current')} %); "
                 f"detection time {s.format('charged_detection_time')} min")
    for day, t, why in near_misses(res):
        lines.append(f"  day {day + 1}: no sync; best {t} s of {60 * s['charged_detection_time']} s: {why}")
    seen = set()
    for t, code, advice in res.events:
        if code not in seen:
            seen.add(code)
            lines.append(f"  {code} at {_hms(t)}: {advice}")
    if not seen:
        lines.append("  no warnings")
    return "\n".join(lines)


# ---- advice from the data (--suggest) ----------------------------------------------------------------------

@dataclass
class Suggestion:
    sets: list[tuple[str, str]]
    evidence: list[str]


def _nominal(tr: Trace) -> int:
    v = sorted(tr.v_mv)[len(tr.v_mv) // 2]
    return 12 if v < 18000 else 24 if v < 36000 else 48


def _held_min(tr: Trace, window_ms: int, cond) -> list[tuple[int, int]]:
    """[(start_ms, lowest V)] of every stretch of at least window_ms in which cond(v, i) holds throughout."""
    out = []
    start = None
    low = 0
    for t, v, i in zip(tr.t_ms, tr.v_mv, tr.i_ma):
        if cond(v, i):
            if start is None:
                start, low = t, v
            low = min(low, v)
        else:
            if start is not None and t - start >= window_ms:
                out.append((start, low))
            start = None
    return out


def suggest(tr: Trace, base: list[tuple[str, str]]) -> Suggestion:
    """Charged voltage, tail current and detection time that sync on each absorption in the trace and never
    under load. Raises WhatIfError when the data shows no charge that reached absorption."""
    s = effective_settings(base)
    cap_ma = 1000 * s["capacity"]
    scale = _nominal(tr) // 12
    mode = s.format("sync_mode")
    strict = mode == "strict"            # strict: a discharge never passes the current term
    ev = [f"{_nominal(tr)} V system (median voltage); capacity {s['capacity']} Ah; sync_mode {mode}"]
    # 1. Absorption: the charger holds its setpoint (about the highest charging voltage of the whole trace) for
    #    at least 3 min while the current falls by half (on LiFePO4 the loads may take it below zero). A weak
    #    day's high-water mark is not an absorption.
    charging_v = sorted(v for v, i in zip(tr.v_mv, tr.i_ma) if i > 0)
    if not charging_v:
        raise WhatIfError("the trace never charges the battery: nothing to base a proposal on")
    v_set = charging_v[max(0, len(charging_v) * 999 // 1000 - 1)]
    days = []
    for day in range(tr.days):
        lo, hi = day * _DAY_S * 1000, (day + 1) * _DAY_S * 1000
        plateau = [k for k, t in enumerate(tr.t_ms) if lo <= t < hi and k > 0 and
                   tr.v_mv[k] >= v_set - 100 * scale]
        if not plateau:
            vday = max((v for t, v in zip(tr.t_ms, tr.v_mv) if lo <= t < hi), default=0)
            ev.append(f"day {day + 1}: up to {fmt_fixed(vday // 10, 2)} V, below the charger's setpoint of about "
                      f"{fmt_fixed(v_set // 10, 2)} V: no absorption")
            continue
        v_abs = min(tr.v_mv[k] for k in plateau)
        dur_ms = sum(tr.t_ms[k] - tr.t_ms[k - 1] for k in plateau)
        i_max = max(tr.i_ma[k] for k in plateau)
        i_end = min(tr.i_ma[k] for k in plateau)
        if dur_ms >= 3 * 60000 and i_max > 0 and i_end * 2 <= i_max:
            days.append((day, v_abs, dur_ms, i_max, i_end))
            ev.append(f"day {day + 1}: absorption at {fmt_fixed(v_abs // 10, 2)} V for {dur_ms // 60000} min, "
                      f"current falling {i_max / 1000:.1f} A -> {i_end / 1000:.1f} A")
        else:
            ev.append(f"day {day + 1}: at the setpoint for {dur_ms // 60000} min, current {i_max / 1000:.1f} -> "
                      f"{i_end / 1000:.1f} A: no absorption")
    if not days:
        raise WhatIfError("no charge in the trace reached absorption (3 min at the charger's setpoint with the "
                          "current falling by half): nothing to base a proposal on")
    # 2. Charged voltage: 0.2 V (per 12 V) below the lowest absorption. In victron mode a discharge passes the
    #    current term at once, so only the voltage keeps the sync away from a loaded battery: it must also be
    #    above what the battery held under load for the detection time.
    v_abs_min = min(d[1] for d in days)
    vch = (v_abs_min - 200 * scale) // 100            # 0.1 V steps, rounded down
    det_ms = 60000 * s["charged_detection_time"]
    if mode == "victron":
        loaded = _held_min(tr, det_ms, lambda v, i: i < 0)
        v_load = max((low for _, low in loaded), default=0)
        if v_load:
            ev.append(f"under load the battery held {fmt_fixed(v_load // 10, 2)} V for "
                      f"{s['charged_detection_time']} min at most")
        if vch * 100 <= v_load:
            vch = v_load // 100 + 1
            ev.append(f"charged voltage raised above that: {fmt_fixed(vch, 1)} V")
        if vch * 100 >= v_abs_min:
            raise WhatIfError(f"the battery holds {fmt_fixed(v_load // 10, 2)} V under load, as high as its "
                              f"absorption ({fmt_fixed(v_abs_min // 10, 2)} V): no charged voltage separates full "
                              "from loaded in victron mode; use sync_mode accepted (a discharge syncs only after a "
                              "charge)")
    else:
        ev.append(f"sync_mode {mode} needs charge accepted since the last sync: a loaded battery cannot sync again "
                  "before it is charged")
    # 3. Tail current: 25 % above the lowest charging current each absorption reached above the charged voltage.
    i_tail = 0
    for day, *_ in days:
        lo, hi = day * _DAY_S * 1000, (day + 1) * _DAY_S * 1000
        mins = [tr.i_ma[k] for k, t in enumerate(tr.t_ms) if lo <= t < hi and tr.v_mv[k] > vch * 100
                and tr.i_ma[k] >= 0]
        i_tail = max(i_tail, min(mins, default=0))
    tail_pm = max(5, min(100, math.ceil(i_tail * 1250 / cap_ma)))    # 0.1 % steps, 0.5..10.0 %
    ev.append(f"each absorption's charging current fell to {i_tail / 1000:.2f} A or less above "
              f"{fmt_fixed(vch, 1)} V: tail current {fmt_fixed(tail_pm, 1)} % = {tail_pm * cap_ma // 1000 / 1000:.2f} A")
    # 4. Detection time: half the shortest stretch in which both terms held on an absorption day, 1..3 min.
    tail_ma = tail_pm * cap_ma // 1000
    longest = _longest_per_day(tr, vch * 100, tail_ma, strict)
    shortest = min(longest.get(d, 0) for d, *_ in days)
    det_min = max(1, min(3, shortest // 120000))
    ev.append(f"both terms held at least {shortest // 60000} min on every absorption day: detection time "
              f"{det_min} min")
    sets = [("charged_voltage", fmt_fixed(vch, 1)), ("tail_current", fmt_fixed(tail_pm, 1)),
            ("charged_detection_time", str(det_min))]
    return Suggestion(sets, ev)


def _longest_per_day(tr: Trace, vch_mv: int, tail_ma: int, strict: bool) -> dict[int, int]:
    out: dict[int, int] = {}
    start = None
    for t, v, i in zip(tr.t_ms, tr.v_mv, tr.i_ma):
        if v > vch_mv and i < tail_ma and (i > 0 or not strict):
            if start is None:
                start = t
            d = start // (1000 * _DAY_S)
            out[d] = max(out.get(d, 0), t - start)
        else:
            start = None
    return out


# ---- plot --------------------------------------------------------------------------------------------------

def plot(results: list[Result], tr: Trace, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(12, 7), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    h = [t / 3.6e6 for t in tr.t_ms]
    if tr.device_soc:
        ks = sorted(tr.device_soc)
        ax1.plot([k / 3600 for k in ks], [tr.device_soc[k] / 10 for k in ks], color="black", lw=2.2,
                 label="recording device")
    for res in results:
        line, = ax1.plot([r[_C["t_s"]] / 3600 for r in res.log], [r[_C["soc_cpct"]] / 100 for r in res.log],
                         lw=1.3, label=res.label)
        good = [t / 3600 for t, _, _ in episodes(res)]
        bad = [t / 3600 for t, _, ok in res.syncs if not ok]
        ax1.plot(good, [100.5] * len(good), "o", color=line.get_color(), ms=6)
        ax1.plot(bad, [100.5] * len(bad), "x", color="red", ms=8, mew=2)
        ax2.axhline(res.settings["charged_voltage"] / 10, color=line.get_color(), ls="--", lw=1)
    ax1.plot([], [], "o", color="grey", label="sync (first of a charge)")
    ax1.plot([], [], "x", color="red", mew=2, label="sync under load")
    ax1.set_ylabel("SOC %")
    ax1.set_ylim(top=103)
    ax1.legend(loc="lower left", fontsize=8)
    ax1.grid(alpha=0.3)
    ax1.set_title(title)
    ax2.plot(h, [v / 1000 for v in tr.v_mv], color="black", lw=0.8)
    ax2.set_ylabel("V (dashed: each set's charged voltage)")
    ax3 = ax2.twinx()
    ax3.plot(h, [i / 1000 for i in tr.i_ma], color="tab:gray", lw=0.6, alpha=0.6)
    ax3.set_ylabel("current A (grey)", color="tab:gray")
    ax2.set_xlabel("hours")
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ---- command line ------------------------------------------------------------------------------------------

def parse_groups(items: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, list]]]:
    """[(flag, value)] in command-line order -> (common sets, [(label, sets)])."""
    common: list[tuple[str, str]] = []
    groups: list[tuple[str, list]] = []
    for flag, value in items:
        if flag == "as":
            groups.append((value, []))
            continue
        kv = replay.parse_sets([value])[0]
        (groups[-1][1] if groups else common).append(kv)
    return common, groups


class _Ordered(argparse.Action):
    def __call__(self, parser, ns, values, option_string=None):
        ns.ordered.append((self.dest, values))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="whatif.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("trace", type=Path, help="a trace t_ms,voltage_mv,current_ma (tools/record.py writes one)")
    p.add_argument("--set", dest="set", action=_Ordered, metavar="NAME=VALUE",
                   help="a setting; before any --as it applies to every set")
    p.add_argument("--as", dest="as", action=_Ordered, metavar="LABEL", help="start a named settings set")
    p.add_argument("--suggest", action="store_true", help="propose sync settings from the data and compare")
    p.add_argument("--runtime", choices=("cpython", "micropython"), default="cpython")
    p.add_argument("--start-soc", metavar="PERCENT",
                   help="SOC at the first row (default: the recording device's, from TRACE.device.csv, else the "
                        "firmware's start-up)")
    p.add_argument("--plot", type=Path, help="PNG path (default out/whatif-<trace>.png)")
    p.add_argument("--no-plot", action="store_true")
    p.set_defaults(ordered=[])
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        common, groups = parse_groups(a.ordered)
        tr = read_trace(a.trace)
        start_soc = replay.parse_soc(a.start_soc) if a.start_soc is not None else tr.first_device_soc_cpct()
        if not groups:
            groups = [("given settings" if common else "factory settings", [])]
        runs = [(label, common, sets) for label, sets in groups]
        if a.suggest:
            sug = suggest(tr, common)
            print("Suggested from the data (nothing is changed on any device):")
            for line in sug.evidence:
                print("  " + line)
            print("  -> " + " ".join(f"{k}={v}" for k, v in sug.sets))
            print()
            runs.append(("suggested", common, sug.sets))
        results = []
        with tempfile.TemporaryDirectory() as d:
            for label, base, own in runs:
                res = run_set(a.trace, tr, label, base + own, a.runtime, Path(d), start_soc)
                res.own = own
                results.append(res)
    except (replay.TraceError, ValueError, WhatIfError) as e:
        print(f"whatif: {e}", file=sys.stderr)
        return 2
    if common:
        print("every set: " + " ".join(f"{k}={v}" for k, v in common))
        print()
    for res in results:
        print(summary(res, tr))
        print()
    if not a.no_plot:
        path = a.plot or ROOT / "out" / f"whatif-{a.trace.stem}.png"
        plot(results, tr, path, f"What if: {a.trace.name}")
        print(f"plot: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
