"""How good were the monitor's automatic syncs, judged against the true SOC of the battery model.

- A false sync: an automatic sync while the true SOC is below FALSE_SOC_PCT (95 %).
- Truly full: the true SOC reaches FULL_SOC_PCT (99.5 %) after having been below REARM_SOC_PCT (99.0 %) (each
  charge to full counts once). Its delay is the time to the first automatic sync while the battery is nearly full
  around that moment (true SOC >= 95 % without a break): negative for a sync before truly full (a lead-acid bank
  syncs at 97-99 %), None if there was none (a missed sync).
"""
from __future__ import annotations

from dataclasses import dataclass, field

FALSE_SOC_PCT = 95.0
FULL_SOC_PCT = 99.5
REARM_SOC_PCT = 99.0


@dataclass
class SyncQuality:
    auto_syncs: list[tuple[int, float]] = field(default_factory=list)      # (t_s, true SOC %)
    false_syncs: list[tuple[int, float]] = field(default_factory=list)
    fulls: list[tuple[int, int | None, float | None]] = field(default_factory=list)   # (t_full, t_sync, min)

    @property
    def delays_min(self) -> list[float | None]:
        return [d for _, _, d in self.fulls]

    def lowest_false(self) -> float | None:
        return min((s for _, s in self.false_syncs), default=None)


def analyse(res) -> SyncQuality:
    q = SyncQuality()
    soc = res.true_soc
    q.auto_syncs = [(t, soc[t]) for t, k in res.syncs if k == "auto" and t < len(soc)]
    q.false_syncs = [(t, s) for t, s in q.auto_syncs if s < FALSE_SOC_PCT]
    armed = soc[0] < REARM_SOC_PCT if soc else False
    fulls = []
    for t, s in enumerate(soc):
        if armed and s >= FULL_SOC_PCT:
            fulls.append(t)
            armed = False
        elif s < REARM_SOC_PCT:
            armed = True
    sync_ts = [t for t, _ in q.auto_syncs]
    for tf in fulls:
        # the nearly-full period around it
        end = next((t for t in range(tf, len(soc)) if soc[t] < FALSE_SOC_PCT), len(soc))
        start = next((t + 1 for t in range(tf, -1, -1) if soc[t] < FALSE_SOC_PCT), 0)
        ts = next((t for t in sync_ts if start <= t < end), None)
        q.fulls.append((tf, ts, None if ts is None else (ts - tf) / 60.0))
    return q


def summary_lines(q: SyncQuality, clock) -> list[str]:
    out = []
    if q.false_syncs:
        lo = q.lowest_false()
        out.append("False syncs (automatic, true SOC < %.0f %%): %d of %d automatic syncs, the lowest at true SOC "
                   "%.1f %%, first at %s" % (FALSE_SOC_PCT, len(q.false_syncs), len(q.auto_syncs), lo,
                                              clock(q.false_syncs[0][0])))
    else:
        out.append("False syncs (automatic, true SOC < %.0f %%): none of %d automatic syncs"
                   % (FALSE_SOC_PCT, len(q.auto_syncs)))
    if q.fulls:
        parts = []
        for tf, ts, d in q.fulls:
            parts.append("%s: %s" % (clock(tf), "no sync" if d is None else "%+.0f min" % d))
        out.append("Truly full (true SOC >= %.1f %%) to sync: %s" % (FULL_SOC_PCT, "; ".join(parts)))
    else:
        out.append("Truly full (true SOC >= %.1f %%): never reached" % FULL_SOC_PCT)
    return out
