"""Simulator scenarios: TOML files in tools/scenarios/, loaded with tomllib and validated with clear messages.

Time values: a number is seconds from the start; "90s", "45m", "1.5h", "2d" are offsets from the start;
"14:30" and "2d 14:30" are clock times (day 0 is the day the run starts, at `start`).
"""
from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .battery import CHEMISTRIES, BatteryParams
from .charger import ChargerParams
from .loads import LoadParams

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
DAY_S = 86400.0


class ScenarioError(ValueError):
    """A scenario the user wrote is wrong; the message names the file, the key and what is allowed."""


@dataclass
class Event:
    at_s: float
    kind: str                 # command | power_cut | charger | load | sensor
    command: str = ""
    off_s: float = 0.0
    target: str = ""
    enabled: bool = True
    noise_uv: float = 0.0
    offset_uv: float = 0.0
    system_off: bool = False  # power cut: the whole DC system is off too (loads and chargers disconnected)


@dataclass
class Scenario:
    name: str
    description: str
    demonstrates: str
    duration_s: float
    start_tod_s: float
    seed: int
    battery: BatteryParams
    chargers: list[ChargerParams]
    loads: list[LoadParams]
    settings: dict[str, str]
    noise_uv: float
    offset_uv: float
    events: list[Event] = field(default_factory=list)
    aux: object = None        # tools/sim/aux.AuxParams, or None: no aux input
    path: Path | None = None


_DUR = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?)\s*(s|m|min|h|d)\s*$")
_CLOCK = re.compile(r"^\s*(?:([0-9]+)\s*d\s+)?([0-9]{1,2}):([0-9]{2})\s*$")
_UNIT = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": DAY_S}


def parse_tod(text, where: str) -> float:
    """A time of day "HH:MM" -> seconds after midnight."""
    m = _CLOCK.match(str(text))
    if not m or m.group(1) is not None or int(m.group(2)) > 23 or int(m.group(3)) > 59:
        raise ScenarioError("%s = %r: must be a time of day HH:MM" % (where, text))
    return int(m.group(2)) * 3600.0 + int(m.group(3)) * 60.0


def parse_time(value, where: str, start_tod_s: float = 0.0, duration: bool = False) -> float:
    """Seconds from the start of the run (see the module doc)."""
    if isinstance(value, bool):
        raise ScenarioError("%s = %r: must be a time" % (where, value))
    if isinstance(value, (int, float)):
        s = float(value)
    else:
        text = str(value)
        m = _DUR.match(text)
        c = _CLOCK.match(text)
        if m:
            s = float(m.group(1)) * _UNIT[m.group(2)]
        elif c and not duration:
            if int(c.group(2)) > 23 or int(c.group(3)) > 59:
                raise ScenarioError("%s = %r: hour 0..23, minute 0..59" % (where, value))
            s = int(c.group(1) or 0) * DAY_S + int(c.group(2)) * 3600.0 + int(c.group(3)) * 60.0 - start_tod_s
        else:
            form = '"90s", "45m", "1.5h", "2d"' + ("" if duration else ', "14:30" or "2d 14:30"')
            raise ScenarioError("%s = %r: must be seconds or %s" % (where, value, form))
    if s < 0.0:
        raise ScenarioError("%s = %r: is before the start of the run" % (where, value))
    return s


# key -> (type, default); types: float, int, str, bool, list, "time", "tod", "dur"
_TOP = {"name": (str, None), "description": (str, None), "demonstrates": (str, None), "days": (float, 3.0),
        "start": ("tod", "00:00"), "seed": (int, 1), "battery": (dict, {}), "sensor": (dict, {}),
        "settings": (dict, {}), "chargers": (list, []), "loads": (list, []), "events": (list, []),
        "aux": (dict, {})}
_BATTERY = {"chemistry": (str, "lead_acid"), "nominal_voltage": (int, 12), "capacity_ah": (float, 200.0),
            "peukert": (float, 1.25), "charge_efficiency": (float, 0.97),
            "internal_resistance_mohm": (float, None), "self_discharge_pct_month": (float, 3.0),
            "temperature_c": (float, 25.0), "initial_soc": (float, 100.0), "model": (str, "fast")}
_SENSOR = {"noise_uv_rms": (float, 2.5), "offset_uv": (float, 0.0)}
_CHARGER = {"name": (str, None), "type": (str, None), "max_current_a": (float, 40.0), "absorption_v": (float, 14.4),
            "float_v": (float, 13.6), "tail_current_a": (float, 4.0), "max_absorption_h": (float, 4.0),
            "rebulk_v": (float, 12.6), "bypass": (bool, False), "enabled": (bool, True), "peak_w": (float, 600.0),
            "sunrise": ("tod", "06:30"), "sunset": ("tod", "19:30"), "day_factors": (list, [1.0]),
            "clouds": (float, 0.0), "efficiency": (float, 0.95), "runs": (list, []), "stop_at_float": (bool, False)}
_LOAD = {"name": (str, None), "type": (str, None), "current_a": (float, 0.0), "power_w": (float, 0.0),
         "daily": (list, []), "period_min": (float, 30.0), "duty": (float, 0.4), "bursts": (list, []),
         "random_per_day": (float, 0.0), "random_min": (float, 5.0), "bypass": (bool, False),
         "disconnect_v": (float, 0.0), "enabled": (bool, True)}
_EVENT = {"at": ("time", None), "command": (str, None), "power_cut_min": (float, None), "system_off": (bool, False),
          "charger": (str, None), "load": (str, None), "enabled": (bool, None), "noise_uv_rms": (float, None),
          "offset_uv": (float, None)}


def _table(d, spec: dict, where: str) -> dict:
    if not isinstance(d, dict):
        raise ScenarioError("%s: must be a table" % where)
    for k in d:
        if k not in spec:
            raise ScenarioError("%s.%s: unknown key (allowed: %s)" % (where, k, ", ".join(spec)))
    out = {}
    for k, (typ, default) in spec.items():
        if k not in d:
            if default is None and typ in (str,) and k in ("name", "description", "demonstrates", "type"):
                raise ScenarioError("%s.%s: missing (required)" % (where, k))
            out[k] = copy.deepcopy(default)
            continue
        v = d[k]
        w = "%s.%s" % (where, k)
        if typ is float:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ScenarioError("%s = %r: must be a number" % (w, v))
            v = float(v)
        elif typ is int:
            if isinstance(v, bool) or not isinstance(v, int):
                raise ScenarioError("%s = %r: must be an integer" % (w, v))
        elif typ in (str, bool, list, dict):
            if not isinstance(v, typ):
                raise ScenarioError("%s = %r: must be a %s" % (w, v, {str: "string", bool: "boolean (true/false)",
                                                                        list: "list", dict: "table"}[typ]))
        out[k] = v
    return out


def _positive(v, where, allow_zero=False):
    if v < 0 or (v == 0 and not allow_zero):
        raise ScenarioError("%s = %r: must be %s" % (where, v, ">= 0" if allow_zero else "> 0"))


def from_dict(d: dict, where: str = "scenario") -> Scenario:
    top = _table(d, _TOP, where)
    where_of = lambda k: "%s: %s" % (where, k)     # noqa: E731
    start = parse_tod(top["start"], where_of("start"))
    _positive(top["days"], where_of("days"))

    b = _table(top["battery"], _BATTERY, where_of("battery"))
    if b["chemistry"] not in CHEMISTRIES:
        raise ScenarioError("%s = %r: must be one of %s" % (where_of("battery.chemistry"), b["chemistry"],
                                                            ", ".join(CHEMISTRIES)))
    if b["nominal_voltage"] not in (12, 24, 36, 48):
        raise ScenarioError("%s = %r: must be 12, 24, 36 or 48" % (where_of("battery.nominal_voltage"),
                                                                   b["nominal_voltage"]))
    _positive(b["capacity_ah"], where_of("battery.capacity_ah"))
    if not 1.0 <= b["peukert"] <= 1.6:
        raise ScenarioError("%s = %r: must be 1.0 .. 1.6" % (where_of("battery.peukert"), b["peukert"]))
    if not 0.5 <= b["charge_efficiency"] <= 1.0:
        raise ScenarioError("%s = %r: must be 0.5 .. 1.0 (a fraction)" % (where_of("battery.charge_efficiency"),
                                                                          b["charge_efficiency"]))
    if not 0.0 <= b["initial_soc"] <= 100.0:
        raise ScenarioError("%s = %r: must be 0 .. 100 (%%)" % (where_of("battery.initial_soc"), b["initial_soc"]))
    if b["model"] not in ("fast", "pybamm"):
        raise ScenarioError("%s = %r: must be fast or pybamm" % (where_of("battery.model"), b["model"]))
    if b["model"] == "pybamm" and b["chemistry"] != "lifepo4":
        raise ScenarioError("%s = \"pybamm\": the PyBaMM battery is a LiFePO4 cell (Prada2013); set chemistry = "
                            "\"lifepo4\"" % where_of("battery.model"))
    battery = BatteryParams(**b)

    s = _table(top["sensor"], _SENSOR, where_of("sensor"))
    _positive(s["noise_uv_rms"], where_of("sensor.noise_uv_rms"), allow_zero=True)

    settings = {}
    for k, v in top["settings"].items():
        if isinstance(v, bool):
            v = "on" if v else "off"
        elif isinstance(v, float):
            v = repr(v)
        elif not isinstance(v, (int, str)):
            raise ScenarioError("%s = %r: must be a string, a number or true/false" % (where_of("settings." + k), v))
        settings[k] = str(v)

    names = set()
    chargers = []
    for n, c in enumerate(top["chargers"]):
        w = where_of("chargers[%d]" % n)
        c = _table(c, _CHARGER, w)
        if c["type"] not in ("solar", "generator", "mains"):
            raise ScenarioError("%s.type = %r: must be solar, generator or mains" % (w, c["type"]))
        if c["name"] in names:
            raise ScenarioError("%s.name = %r: used twice" % (w, c["name"]))
        names.add(c["name"])
        _positive(c["max_current_a"], w + ".max_current_a")
        if not c["float_v"] <= c["absorption_v"]:
            raise ScenarioError("%s: float_v %r must not exceed absorption_v %r" % (w, c["float_v"], c["absorption_v"]))
        runs = []
        for j, r in enumerate(c.pop("runs")):
            rw = "%s.runs[%d]" % (w, j)
            r = _table(r, {"at": ("time", None), "hours": (float, None)}, rw)
            if r["at"] is None or r["hours"] is None:
                raise ScenarioError("%s: needs at and hours" % rw)
            a = parse_time(r["at"], rw + ".at", start)
            runs.append((a, a + r["hours"] * 3600.0))
        if c["type"] == "generator" and not runs:
            raise ScenarioError("%s.runs: a generator needs at least one run {at = ..., hours = ...}" % w)
        if not all(isinstance(x, (int, float)) and x >= 0 for x in c["day_factors"]) or not c["day_factors"]:
            raise ScenarioError("%s.day_factors = %r: must be a non-empty list of numbers >= 0" % (w, c["day_factors"]))
        c["sunrise"] = parse_tod(c["sunrise"], w + ".sunrise")
        c["sunset"] = parse_tod(c["sunset"], w + ".sunset")
        if c["sunset"] <= c["sunrise"]:
            raise ScenarioError("%s: sunset must be after sunrise" % w)
        chargers.append(ChargerParams(windows=sorted(runs), **c))

    loads = []
    for n, ld in enumerate(top["loads"]):
        w = where_of("loads[%d]" % n)
        ld = _table(ld, _LOAD, w)
        if ld["type"] not in ("constant", "fridge", "bursts"):
            raise ScenarioError("%s.type = %r: must be constant, fridge or bursts" % (w, ld["type"]))
        if ld["name"] in names:
            raise ScenarioError("%s.name = %r: used twice" % (w, ld["name"]))
        names.add(ld["name"])
        if not 0.0 <= ld["duty"] <= 1.0:
            raise ScenarioError("%s.duty = %r: must be 0 .. 1" % (w, ld["duty"]))
        daily = []
        for j, r in enumerate(ld.pop("daily")):
            rw = "%s.daily[%d]" % (w, j)
            r = _table(r, {"from": ("tod", None), "to": ("tod", None)}, rw)
            daily.append((parse_tod(r["from"], rw + ".from"), parse_tod(r["to"], rw + ".to")))
        bursts = []
        for j, r in enumerate(ld.pop("bursts")):
            rw = "%s.bursts[%d]" % (w, j)
            r = _table(r, {"at": ("tod", None), "minutes": (float, None)}, rw)
            if r["at"] is None or r["minutes"] is None:
                raise ScenarioError("%s: needs at (HH:MM) and minutes" % rw)
            bursts.append((parse_tod(r["at"], rw + ".at"), r["minutes"] * 60.0))
        period = ld.pop("period_min") * 60.0
        _positive(period, w + ".period_min")
        rnd = ld.pop("random_min") * 60.0
        loads.append(LoadParams(windows=daily, bursts=bursts, period_s=period, random_s=rnd, **ld))

    duration = top["days"] * DAY_S
    events = []
    for n, e in enumerate(top["events"]):
        w = where_of("events[%d]" % n)
        e = _table(e, _EVENT, w)
        if e["at"] is None:
            raise ScenarioError("%s.at: missing (required)" % w)
        at = parse_time(e["at"], w + ".at", start)
        kinds = [k for k in ("command", "power_cut_min", "charger", "load") if e[k] is not None]
        if e["noise_uv_rms"] is not None or e["offset_uv"] is not None:
            kinds.append("sensor")
        if len(kinds) != 1:
            raise ScenarioError("%s: needs exactly one of command, power_cut_min, charger, load, "
                                "noise_uv_rms/offset_uv (got %s)" % (w, ", ".join(kinds) or "none"))
        k = kinds[0]
        if k == "command":
            if not e["command"].strip() or "\n" in e["command"]:
                raise ScenarioError("%s.command = %r: must be one console line" % (w, e["command"]))
            events.append(Event(at, "command", command=e["command"].strip()))
        elif k == "power_cut_min":
            _positive(e["power_cut_min"], w + ".power_cut_min", allow_zero=True)
            events.append(Event(at, "power_cut", off_s=e["power_cut_min"] * 60.0, system_off=e["system_off"]))
        elif k in ("charger", "load"):
            name = e[k]
            pool = chargers if k == "charger" else loads
            if name not in [x.name for x in pool]:
                raise ScenarioError("%s.%s = %r: no such %s (have: %s)" % (w, k, name, k,
                                                                        ", ".join(x.name for x in pool) or "none"))
            if e["enabled"] is None:
                raise ScenarioError("%s.enabled: missing (true or false)" % w)
            events.append(Event(at, k, target=name, enabled=e["enabled"]))
        else:
            events.append(Event(at, "sensor", noise_uv=e["noise_uv_rms"] if e["noise_uv_rms"] is not None
                                else s["noise_uv_rms"], offset_uv=e["offset_uv"] if e["offset_uv"] is not None
                                else s["offset_uv"]))
    events.sort(key=lambda ev: ev.at_s)

    aux = None
    if top["aux"]:
        # issue 18: the aux input's physical side (tools/sim/aux.py); the firmware's aux_input follows it
        from . import aux as aux_mod
        aux = aux_mod.parse(top["aux"], where_of("aux"), start, parse_time, parse_tod, ScenarioError)
        if aux.mode == "midpoint" and battery.nominal_voltage not in (24, 48):
            raise ScenarioError("%s: mode midpoint needs a 24 or 48 V bank" % where_of("aux"))
        settings.setdefault("aux_input", aux.mode)
    return Scenario(name=top["name"], description=top["description"].strip(),
                    demonstrates=top["demonstrates"].strip(), duration_s=duration, start_tod_s=start,
                    seed=top["seed"], battery=battery, chargers=chargers, loads=loads, settings=settings,
                    noise_uv=s["noise_uv_rms"], offset_uv=s["offset_uv"], events=events, aux=aux)


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def resolve(name_or_path: str) -> Path:
    """A path, or the name of a file in tools/scenarios/ (with or without .toml)."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    for cand in (SCENARIO_DIR / name_or_path, SCENARIO_DIR / (name_or_path + ".toml")):
        if cand.is_file():
            return cand
    have = ", ".join(sorted(x.stem for x in SCENARIO_DIR.glob("*.toml")))
    raise ScenarioError("scenario %r: no such file or name (have: %s)" % (name_or_path, have))


def load(name_or_path: str, overrides: dict | None = None) -> Scenario:
    """Load and validate a scenario; overrides (a dict shaped like the TOML) are merged on top."""
    path = resolve(name_or_path)
    try:
        with open(path, "rb") as f:
            d = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError("%s: not valid TOML: %s" % (path, e)) from None
    if overrides:
        d = _merge(d, overrides)
    sc = from_dict(d, str(path.name))
    sc.path = path
    return sc


def names() -> list[str]:
    return sorted(x.stem for x in SCENARIO_DIR.glob("*.toml"))
