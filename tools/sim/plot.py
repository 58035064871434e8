"""PNG plot of a simulator run: true vs firmware SOC with sync events, voltage, current, warnings."""
from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt   # noqa: E402
import numpy as np                # noqa: E402

import hostpath                                        # noqa: E402,F401  (the firmware's import root)
from shunt.warnings import N_WARNINGS, title            # noqa: E402

from . import quality                                  # noqa: E402
from .runner import FW_COLUMNS, RunResult, reply_int   # noqa: E402

WARNING_NAMES = {n: title(n) for n in range(1, N_WARNINGS + 1)}     # the firmware's names (shunt.warnings)


def _arr(values, scale=1.0) -> np.ndarray:
    return np.array([np.nan if v is None else v * scale for v in values], dtype=float)


def _envelope(x: np.ndarray, y: np.ndarray, n: int = 3000):
    """Min/max per bucket so that short bursts stay visible when 259 200 points become a few thousand."""
    if len(x) <= 2 * n:
        return x, y
    k = len(x) // n
    m = len(x) // k * k
    xs = x[:m].reshape(-1, k)
    ys = y[:m].reshape(-1, k)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # an all-NaN bucket (firmware not running) gives NaN
        lo = np.nanmin(ys, axis=1)
        hi = np.nanmax(ys, axis=1)
    xx = np.repeat(xs[:, 0], 2)
    yy = np.empty(2 * len(lo))
    yy[0::2] = lo
    yy[1::2] = hi
    return xx, yy


def _spans(hours, on):
    edges = np.flatnonzero(np.diff(np.concatenate(([0], on.astype(int), [0]))))
    return [(hours[a], (hours[min(b, len(hours) - 1)] - hours[a]) or 1 / 3600.0)
            for a, b in zip(edges[0::2], edges[1::2])]


def _aux_panel(ax, res: RunResult, hours) -> None:
    """The aux input (issue 18): true and firmware value, the mid-point deviation, and the alarms as bars."""
    mode = res.scenario.aux.mode
    scale, unit = (0.01, "degC") if mode == "temperature" else (0.001, "V")
    ax.plot(*_envelope(hours, _arr(res.true_aux, scale)), color="black", lw=0.9, label="true %s" % mode)
    ax.plot(*_envelope(hours, _arr(res.col("aux_value"), scale)), color="tab:blue", lw=0.7, alpha=0.7,
            label="firmware aux value")
    ax.set_ylabel("aux %s (%s)" % (mode, unit))
    alarms = np.array([0 if r is None else r[FW_COLUMNS.index("alarm_bits")] for r in res.fw])
    if mode == "midpoint":
        ax2 = ax.twinx()
        ax2.plot(*_envelope(hours, _arr(res.col("aux_dev"), 0.1)), color="tab:orange", lw=0.8,
                 label="deviation (%)")
        ax2.axhline(2.0, color="tab:orange", ls=":", lw=0.8)
        ax2.axhline(-2.0, color="tab:orange", ls=":", lw=0.8)
        ax2.set_ylabel("mid-point deviation (%)", color="tab:orange")
        ax2.legend(loc="lower right", fontsize=9)
    lo, hi = ax.get_ylim()
    band = (hi - lo) * 0.06
    row = 0
    for bit, name, color in ((1, "bank low-voltage alarm", "tab:red"), (8, "low starter alarm", "tab:red"),
                             (16, "high starter alarm", "tab:purple"), (32, "low temperature alarm", "tab:cyan"),
                             (64, "high temperature alarm", "tab:red"), (128, "mid-point alarm", "tab:orange")):
        on = (alarms & bit) != 0
        if on.any():
            ax.broken_barh(_spans(hours, on), (hi + row * band, band * 0.8), color=color, alpha=0.8, label=name)
            # the first time of each alarm, also when it lasted only minutes (the point of mid-point monitoring)
            t1 = hours[int(np.argmax(on))]
            ax.axvline(t1, color=color, lw=1.2, ls="-.")
            ax.annotate("%s\nfirst at %.1f h" % (name, t1), (t1, hi + row * band), xytext=(-4, -14 - 20 * row),
                        textcoords="offset points", ha="right", fontsize=8, color=color)
            row += 1
    if row:
        ax.set_ylim(lo, hi + (row + 0.5) * band)
    ax.legend(loc="lower left", fontsize=9, ncol=3)
    ax.grid(alpha=0.3)


def render(res: RunResult, path: Path, title: str | None = None) -> Path:
    sc = res.scenario
    hours = np.array(res.t, dtype=float) / 3600.0
    fw = res.fw
    sync = _arr(res.col("synchronized"))
    fw_soc = _arr(res.col("soc_cpct"), 0.01)
    fw_soc[sync != 1] = np.nan                       # SOC is only valid while synchronised (BM §3.5)
    fw_v = _arr(res.col("v_mv"), 0.001)
    fw_i = _arr(res.col("i_ma"), 0.001)
    warn = [0 if r is None else r[FW_COLUMNS.index("warnings")] for r in fw]

    aux = sc.aux is not None
    fig, axs = plt.subplots(5 if aux else 4, 1, figsize=(13, 13 if aux else 10), sharex=True,
                            gridspec_kw={"height_ratios": [3, 2, 2, 2, 1.3] if aux else [3, 2, 2, 1.3]})
    fig.suptitle(title or "%s (%s, %.1f days)" % (sc.name, res.runtime, sc.duration_s / 86400.0), fontsize=13)

    ax = axs[0]
    ax.plot(*_envelope(hours, np.array(res.true_soc)), color="black", lw=1.4, label="true SOC (battery model)")
    ax.plot(*_envelope(hours, fw_soc), color="tab:blue", lw=1.2, label="firmware SOC")
    ax.set_ylabel("SOC (%)")
    ax.set_ylim(-2, 106)
    # Every sync is a triangle on the SOC axis; the first of each episode (syncs less than 10 min apart, e.g.
    # victron-mode re-syncs every detection time at float) also gets a vertical line through all panels.
    for kind, color, ls in (("auto", "tab:green", "--"), ("manual", "tab:purple", ":")):
        ts = [t for t, k in res.syncs if k == kind]
        if not ts:
            continue
        ax.scatter([t / 3600.0 for t in ts], [102.5] * len(ts), marker="v", s=22, color=color, zorder=3,
                   label="%s sync (%d)" % (kind, len(ts)))
    # Judged against the true SOC (tools/sim/quality.py): false syncs in red, truly full and its delay to the sync.
    q = quality.analyse(res)
    if q.false_syncs:
        ax.scatter([t / 3600.0 for t, _ in q.false_syncs], [s for _, s in q.false_syncs], marker="x", s=28,
                   color="tab:red", zorder=4, label="false sync (true SOC < %.0f %%): %d, lowest %.1f %%"
                   % (quality.FALSE_SOC_PCT, len(q.false_syncs), q.lowest_false()))
    for n, (tf, ts, d) in enumerate(q.fulls):
        ax.scatter([tf / 3600.0], [quality.FULL_SOC_PCT], marker="o", s=30, facecolors="none",
                   edgecolors="black", zorder=4, label="truly full (%.1f %%)" % quality.FULL_SOC_PCT if n == 0 else None)
        ax.annotate("no sync" if d is None else "%+.0f min" % d, (tf / 3600.0, 96.0), fontsize=8,
                    ha="center", va="top", color="tab:red" if d is None or d > 15 or d < 0 else "black")
    prev = None
    for t, kind in res.syncs:
        if prev is None or t - prev > 600:
            color, ls = ("tab:green", "--") if kind == "auto" else ("tab:purple", ":")
            for a in axs:
                a.axvline(t / 3600.0, color=color, ls=ls, lw=1.0, alpha=0.8)
        prev = t
    for n, (a, b) in enumerate(res.power_cuts):
        for x in axs:
            x.axvspan(a / 3600.0, b / 3600.0, color="grey", alpha=0.3,
                      label="monitor powered off" if (x is ax and n == 0) else None)
    ax.legend(loc="lower left", fontsize=9, ncol=3)
    ax.grid(alpha=0.3)

    ax = axs[1]
    ax.plot(*_envelope(hours, np.array(res.true_v)), color="black", lw=1.0, label="true battery voltage")
    ax.plot(*_envelope(hours, fw_v), color="tab:blue", lw=0.8, alpha=0.7, label="firmware V")
    vch = reply_int(res.final_sync_status, "charged_voltage_mv")
    if vch:
        ax.axhline(vch / 1000.0, color="tab:red", ls="--", lw=1.0, label="charged voltage %.1f V" % (vch / 1000.0))
    ax.set_ylabel("voltage (V)")
    ax.legend(loc="best", fontsize=9, ncol=3)
    ax.grid(alpha=0.3)

    ax = axs[2]
    shunt = np.array(res.shunt_a)
    batt = np.array(res.battery_a)
    ax.plot(*_envelope(hours, batt), color="black", lw=0.8, label="true battery current")
    if np.any(np.abs(shunt - batt) > 1e-3):
        ax.plot(*_envelope(hours, shunt), color="tab:orange", lw=0.8, label="true shunt current (bypass differs)")
    ax.plot(*_envelope(hours, fw_i), color="tab:blue", lw=0.6, alpha=0.6, label="firmware I")
    tail = reply_int(res.final_sync_status, "tail_current_ma")
    if tail:
        ax.axhline(tail / 1000.0, color="tab:red", ls="--", lw=1.0, label="tail current %.1f A" % (tail / 1000.0))
    ax.set_ylabel("current (A, + = charging)")
    ax.legend(loc="best", fontsize=9, ncol=4)
    ax.grid(alpha=0.3)

    if aux:
        _aux_panel(axs[3], res, hours)
    ax = axs[-1]
    codes = sorted({b + 1 for w in warn for b in range(max(WARNING_NAMES)) if w >> b & 1})
    for row, code in enumerate(codes):
        on = np.array([(w >> (code - 1)) & 1 for w in warn], dtype=bool)
        edges = np.flatnonzero(np.diff(np.concatenate(([0], on.astype(int), [0]))))
        spans = [(hours[a], (hours[min(b, len(hours) - 1)] - hours[a]) or 1 / 3600.0)
                 for a, b in zip(edges[0::2], edges[1::2])]
        ax.broken_barh(spans, (row - 0.35, 0.7), color="tab:red", alpha=0.7)
    ax.set_yticks(range(len(codes)))
    ax.set_yticklabels(["W%02d %s" % (c, WARNING_NAMES.get(c, "")) for c in codes], fontsize=8)
    ax.set_ylim(-0.6, max(len(codes), 1) - 0.4)
    if not codes:
        ax.text(0.5, 0.5, "no warnings", transform=ax.transAxes, ha="center", va="center", color="grey")
    ax.set_ylabel("warnings")
    ax.set_xlabel("time since start (h)")
    ax.grid(alpha=0.3, axis="x")
    span = hours[-1] if len(hours) else 1.0
    step = 6 if span > 30 else (2 if span > 8 else 1)
    ax.set_xticks(np.arange(0, span + step, step))
    ax.set_xlim(0, max(span, 1.0 / 60))

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
