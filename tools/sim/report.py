"""One-screen summary and the merged CSV of a simulator run."""
from __future__ import annotations

import csv
import textwrap
from pathlib import Path

from . import quality
from .plot import WARNING_NAMES
from .runner import FW_COLUMNS, RunResult

_J = {c: n for n, c in enumerate(FW_COLUMNS)}


def clock(t_s: float, start_tod_s: float = 0.0) -> str:
    """Simulated time as day and clock time, e.g. '1d 13:05'."""
    a = int(t_s + start_tod_s)
    return "%dd %02d:%02d" % (a // 86400, a % 86400 // 3600, a % 3600 // 60)


def soc_errors(res: RunResult) -> tuple[float | None, int | None, float | None]:
    """(max |firmware − true| in % over synchronised seconds, its t_s, final firmware − true)."""
    worst, at, final = None, None, None
    for n, r in enumerate(res.fw):
        if r is None or not r[_J["synchronized"]]:
            continue
        e = r[_J["soc_cpct"]] / 100.0 - res.true_soc[n]
        if worst is None or abs(e) > worst:
            worst, at = abs(e), n
        final = e
    return worst, at, final


def warning_spans(res: RunResult) -> dict[int, list[tuple[int, int]]]:
    """Warning code -> list of (from t_s, to t_s) while it was set (the firmware's per-second log)."""
    spans: dict[int, list[tuple[int, int]]] = {}
    open_at: dict[int, int] = {}
    last = 0
    for n, r in enumerate(res.fw):
        w = 0 if r is None else r[_J["warnings"]]
        for b in range(max(WARNING_NAMES)):
            code = b + 1
            on = (w >> b) & 1
            if on and code not in open_at:
                open_at[code] = n
            elif not on and code in open_at:
                spans.setdefault(code, []).append((open_at.pop(code), n))
        last = n
    for code, a in open_at.items():
        spans.setdefault(code, []).append((a, last + 1))
    return spans


ALARM_NAMES = {1: "low voltage", 2: "high voltage", 4: "low SOC", 8: "low starter voltage",
               16: "high starter voltage", 32: "low temperature", 64: "high temperature", 128: "mid-point"}


def alarm_spans(res: RunResult) -> dict[int, list[tuple[int, int]]]:
    """AR bit -> list of (from t_s, to t_s) while that alarm was active (vedirect.md §3.6)."""
    spans: dict[int, list[tuple[int, int]]] = {}
    open_at: dict[int, int] = {}
    n = -1
    for n, r in enumerate(res.fw):
        a = 0 if r is None else r[_J["alarm_bits"]]
        for bit in ALARM_NAMES:
            on = a & bit
            if on and bit not in open_at:
                open_at[bit] = n
            elif not on and bit in open_at:
                spans.setdefault(bit, []).append((open_at.pop(bit), n))
    for bit, a in open_at.items():
        spans.setdefault(bit, []).append((a, n + 1))
    return spans


def aux_lines(res: RunResult) -> list[str]:
    """The aux input's story (issue 18): range of its value, each alarm's first time, the mid-point's lead."""
    sc = res.scenario
    if sc.aux is None:
        return []
    t0 = sc.start_tod_s
    out = []
    vals = [r[_J["aux_value"]] for r in res.fw if r is not None and r[_J["aux_value"]] is not None]
    mode = sc.aux.mode
    if vals:
        if mode == "temperature":
            out.append("Aux temperature: %.2f .. %.2f degC" % (min(vals) / 100.0, max(vals) / 100.0))
        else:
            out.append("Aux %s voltage: %.3f .. %.3f V" % (mode, min(vals) / 1000.0, max(vals) / 1000.0))
    devs = [r[_J["aux_dev"]] for r in res.fw if r is not None and r[_J["aux_dev"]] is not None]
    if devs:
        out.append("Mid-point deviation: %+.1f .. %+.1f %%" % (min(devs) / 10.0, max(devs) / 10.0))
    spans = alarm_spans(res)
    parts = ["%s first %s (%d times)" % (ALARM_NAMES[b], clock(spans[b][0][0], t0), len(spans[b]))
             for b in sorted(spans)]
    out.append("Alarms: " + ("; ".join(parts) if parts else "none"))
    if 128 in spans:
        mid = spans[128][0][0]
        if 1 in spans:
            lv = spans[1][0][0]
            out.append("The mid-point alarm came %.1f days (%d h) before the bank low-voltage alarm" % (
                (lv - mid) / 86400.0, (lv - mid) // 3600) if lv > mid else
                "The bank low-voltage alarm came first, %.1f h before the mid-point alarm" % ((mid - lv) / 3600.0))
        else:
            out.append("The mid-point alarm came at %s; the bank voltage never reached its low alarm" % clock(mid, t0))
    return out


def summary(res: RunResult, outputs: dict[str, str]) -> str:
    sc = res.scenario
    t0 = sc.start_tod_s
    w = lambda s: textwrap.fill(" ".join(s.split()), 108, initial_indent="  ", subsequent_indent="  ")  # noqa
    out = ["Scenario %s (%.2f days simulated in %.1f s, firmware on %s)" % (sc.name, sc.duration_s / 86400.0,
                                                                            res.elapsed_s, res.runtime),
           w(sc.description), "Demonstrates:", w(sc.demonstrates)]
    worst, at, final = soc_errors(res)
    if worst is None:
        out.append("SOC error: the firmware was never synchronised (SOC unknown)")
    else:
        out.append("SOC error (firmware - true): max %.1f %% at %s, final %+.1f %%" % (worst, clock(at, t0), final))
    if res.syncs:
        # group re-syncs (victron mode repeats a sync every detection time while the battery is held full)
        eps: list[list] = []
        for t, k in res.syncs:
            if eps and t - eps[-1][1] <= 600 and k == eps[-1][2]:
                eps[-1][1] = t
                eps[-1][3] += 1
            else:
                eps.append([t, t, k, 1])
        shown = ", ".join("%s %s" % (k, clock(a, t0)) + (" (+%d re-syncs to %s)" % (n - 1, clock(b, t0)) if n > 1
                                                          else "") for a, b, k, n in eps[:5])
        more = " ... (+%d more)" % (len(eps) - 5) if len(eps) > 5 else ""
        out.append("Syncs: %d: %s%s" % (len(res.syncs), shown, more))
    else:
        ss = res.final_sync_status
        out.append("Syncs: none. Sync status now: voltage_ok=%s (%s vs charged %s), current_ok=%s, "
                   "max V with current ok %s, near miss %s" % (
                       ss.get("voltage_ok", "?"), ss.get("voltage_mv", "?"), ss.get("charged_voltage_mv", "?"),
                       ss.get("current_ok", "?"), ss.get("max_v_current_ok_mv", "?"), ss.get("near_miss_term", "?")))
    out.append("Sync mode: %s (%s)" % (res.final_sync_status.get("mode", "?"),
                                       res.final_sync_status.get("mode_note", "")))
    out += quality.summary_lines(quality.analyse(res), lambda t: clock(t, t0))
    spans = warning_spans(res)
    if spans:
        parts = []
        for code in sorted(spans):
            s = spans[code]
            parts.append("W%02d %s (first %s%s)" % (code, WARNING_NAMES.get(code, ""), clock(s[0][0], t0),
                                                    ", %d times" % len(s) if len(s) > 1 else ""))
        out.append("Warnings raised: " + "; ".join(parts))
    else:
        out.append("Warnings raised: none")
    out.extend(aux_lines(res))
    for t, off in res.power_cuts:
        out.append("Power cut at %s, monitor back at %s" % (clock(t, t0), clock(off, t0)))
    last = next((r for r in reversed(res.fw) if r is not None), None)
    if last is not None:
        soc = "%.2f %%" % (last[_J["soc_cpct"]] / 100.0) if last[_J["synchronized"]] else "---"
        ttg = last[_J["ttg_min"]]
        ttg_s = "---" if not last[_J["synchronized"]] else ("inf (not discharging)" if ttg < 0 else "%d min" % ttg)
        out.append("Final: true SOC %.2f %%, firmware SOC %s, V %.2f V, I %.2f A, CE %.1f Ah, TTG %s" % (
            res.true_soc[-1], soc, last[_J["v_mv"]] / 1000.0, last[_J["i_ma"]] / 1000.0,
            last[_J["ce_mah"]] / 1000.0, ttg_s))
        active = res.final_warnings
        out.append("Active warnings at the end: %s" % (", ".join(sorted(active)) or "none"))
    for k, v in outputs.items():
        out.append("%s: %s" % (k, v))
    return "\n".join(out)


def write_csv(res: RunResult, path: Path) -> None:
    """One row per simulated second: the true model values next to the firmware's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_s", "true_soc_pct", "true_v", "battery_a", "shunt_a", "true_aux", "fw_on"] +
                   ["fw_" + c for c in FW_COLUMNS[1:]])
        blank = [""] * (len(FW_COLUMNS) - 1)
        for n, t in enumerate(res.t):
            r = res.fw[n]
            x = res.true_aux[n] if n < len(res.true_aux) else None
            w.writerow([t, "%.3f" % res.true_soc[n], "%.4f" % res.true_v[n], "%.3f" % res.battery_a[n],
                        "%.3f" % res.shunt_a[n], "" if x is None else x, 0 if r is None else 1] +
                       (blank if r is None else ["" if c is None else c for c in r[1:]]))
