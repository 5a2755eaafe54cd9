#!/usr/bin/env python3
"""Simulates elderly single-occupant homes at 15-minute resolution, with labelled incidents.

No open data set of elderly people living alone exists (see /work/shared/data/README.md), so
this simulator stands in for them: each home has its own routine (wake-up time with
day-to-day jitter, kettle and breakfast, lunch, dinner cooking, TV evenings, bedtime, a cycling
fridge on top of a standby base, an electric heater in the heating season, later rising at
weekends and on public holidays, outings for shopping or visits, night trips to the bathroom), and the
quiet stretches of real life that are not incidents (afternoon naps, slow mornings, whole
days out with family; unlabelled, as in real traces).
Incidents of every type of /work/shared/EVALUATION.md are injected after a 28-day warm-up,
10+ days apart, acting on the routine itself (a collapse stops the person, not the fridge):

  collapse_day      from 07-20 h, 48 h with no activity (standby and fridge only)
  collapse_frozen   as above from 08-21 h, plus 100-500 W left on
  collapse_night    as above from 22-02 h: the morning never comes
  high_usage        1.2-2.4 kW on top of use for 4-12 h
  decline           over 7 days the activity shrinks to a quarter, then stays so 5 days
  meter_silent      8-24 h of readings removed
  away_registered   2-6 days away (standby only), written to absences.csv
  away              2-6 days away, not registered (labelled ambiguous, not scored)

The homes' clock is UTC (replay with --timezone UTC). Output is the format of
/work/shared/eval/gw_dataset.py: readings.csv.gz (meter,ts,kwh; ts = END of interval, RFC 3339
UTC), households.csv, absences.csv, labels.json (warmup_days, households{meter,first,last,
interval_s}, incidents[{household,type,start,end}], ambiguous[]). Deterministic by --seed.
Standard library only.

Usage: gw_sim.py --out DIR --seed N [--homes 20] [--days 240] [--start 2023-09-01]
                 [--plan collapse_day,collapse_night,...]
"""
import argparse
import csv
import datetime as dt
import gzip
import json
import math
import os
import random

UTC = dt.timezone.utc
STEP = 900
SLOTS = 96
DAY = 86400
WARMUP_DAYS = 28
PLAN = ["collapse_day", "collapse_frozen", "collapse_night", "high_usage",
        "decline", "away", "away_registered", "meter_silent"]


def iso(t):
    return dt.datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def easter(y):
    a, b, c = y % 19, y // 100, y % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    day = (h + l_ - 7 * m + 114) % 31 + 1
    return dt.date(y, month, day)


def holidays(years):
    """England-like public holidays (fixed dates plus Easter), enough for a routine's shape."""
    out = set()
    for y in years:
        e = easter(y)
        out |= {dt.date(y, 1, 1), dt.date(y, 12, 25), dt.date(y, 12, 26),
                e - dt.timedelta(days=2), e + dt.timedelta(days=1)}
        for mth in (5, 8):  # last Monday of May and August
            d = dt.date(y, mth, 31)
            out.add(d - dt.timedelta(days=d.weekday()))
        d = dt.date(y, 5, 1)
        out.add(d + dt.timedelta(days=(7 - d.weekday()) % 7))  # early May
    return out


class Home:
    """One resident's habits, drawn once."""

    def __init__(self, rng):
        self.wake_h = rng.uniform(5.8, 8.5)
        self.wake_sd_h = rng.uniform(0.2, 0.6)
        self.weekend_late_h = rng.uniform(0.0, 1.5)
        self.bed_h = rng.uniform(21.0, 23.5)
        self.standby_kw = rng.uniform(0.03, 0.09)
        self.fridge_kw = rng.uniform(0.06, 0.12)
        self.fridge_duty = rng.uniform(0.25, 0.45)
        self.heater_kw = rng.uniform(1.0, 2.0) if rng.random() < 0.6 else 0.0
        self.heater_duty = rng.uniform(0.3, 0.7)
        self.outing_p = rng.uniform(0.3, 0.7)
        self.tv_kw = rng.uniform(0.06, 0.15)
        self.cook_kwh = rng.uniform(0.3, 0.9)
        self.tea_p = rng.uniform(0.4, 0.9)
        self.busy_kw = rng.uniform(0.01, 0.05)  # moving about: small appliances, lights
        self.lie_in_p = rng.uniform(0.02, 0.08)
        self.day_trip_p = rng.uniform(0.01, 0.05)
        self.nap_p = rng.uniform(0.1, 0.6)


def season(d):
    """1 in mid-January, 0 from mid-April to mid-October."""
    return max(0.0, math.cos(2 * math.pi * (d.timetuple().tm_yday - 15) / 365.25) - 0.1) / 0.9


def day_trace(rng, home, d, hol):
    """Returns (standby[96], activity[96]) in kWh per 15 min for local day d."""
    late = d.weekday() >= 5 or d in hol
    wake = home.wake_h + (home.weekend_late_h if late else 0) + rng.gauss(0, home.wake_sd_h)
    bed = home.bed_h + rng.gauss(0, 0.3) + (0.3 if late else 0)
    q = 0.25  # hours per slot
    standby = [home.standby_kw * q * rng.uniform(0.9, 1.1) +
               home.fridge_kw * q * min(1.0, max(0.0, rng.gauss(home.fridge_duty, 0.12)))
               for _ in range(SLOTS)]
    act = [0.0] * SLOTS

    def add(h, kwh):
        s = int(h * 4) % SLOTS
        act[s] += kwh

    if rng.random() < home.lie_in_p:  # a poor night, a slow morning
        wake += rng.uniform(1.0, 3.0)
    out_from = out_to = -1.0
    if rng.random() < home.day_trip_p:  # a day with family, a coach trip, a hospital visit
        out_from = rng.uniform(8.5, 11.0)
        out_to = out_from + rng.uniform(6.0, 10.0)
    elif rng.random() < home.outing_p and not (d.weekday() == 6 and rng.random() < 0.5):
        out_from = rng.uniform(9.5, 14.5)
        out_to = out_from + rng.uniform(1.0, 4.0)
    nap_from = rng.uniform(13.0, 15.5) if rng.random() < home.nap_p else -1.0
    nap_to = nap_from + rng.uniform(0.75, 2.0)
    sunrise = 7.0 + 1.2 * math.cos(2 * math.pi * (d.timetuple().tm_yday - 5) / 365.25)
    sunset = 18.0 - 2.0 * math.cos(2 * math.pi * (d.timetuple().tm_yday - 5) / 365.25)
    heat = season(d) * home.heater_duty if home.heater_kw else 0.0
    for s in range(SLOTS):
        h = s * q
        home_now = not (out_from <= h < out_to)
        if nap_from <= h < nap_to:
            continue  # asleep in the chair: nothing switched on or off
        if wake <= h < bed and home_now:
            act[s] += home.busy_kw * q * rng.uniform(0.3, 1.7)
            if h < sunrise or h >= sunset:
                act[s] += 0.06 * q * rng.uniform(0.7, 1.3)
            if h >= 18.0 or (14.0 <= h < 16.0 and rng.random() < 0.4):
                act[s] += home.tv_kw * q
            if heat and rng.random() < heat:
                act[s] += home.heater_kw * q * rng.uniform(0.5, 1.0)
    add(wake + rng.uniform(0, 0.3), 0.1)                        # kettle
    add(wake + rng.uniform(0.3, 0.8), rng.uniform(0.04, 0.1))  # toast / microwave
    for lo, hi in ((10.0, 11.5), (15.0, 16.5), (19.5, 21.0)):
        h = rng.uniform(lo, hi)
        if rng.random() < home.tea_p and not (out_from <= h < out_to) and wake < h < bed:
            add(h, 0.1)
    lunch = rng.uniform(11.8, 13.3)
    if not (out_from <= lunch < out_to):
        add(lunch, rng.uniform(0.08, 0.3))
    dinner = rng.uniform(17.0, 18.8)
    k = home.cook_kwh * rng.uniform(0.6, 1.4)
    add(dinner, k * 0.5)
    add(dinner + 0.25, k * 0.35)
    add(dinner + 0.5, k * 0.15)
    for _ in range(rng.choice((0, 1, 1, 2))):  # night trip to the bathroom
        add(rng.uniform(0.5, 5.0), 0.01)
    return standby, act


def schedule(rng, n_slots, plan):
    """Day indices (after warm-up + 7, up to 14 days from the end), 10+ days apart."""
    days = list(range(WARMUP_DAYS + 7, n_slots // SLOTS - 14))
    chosen = []
    for kind in plan:
        for _ in range(200):
            d = rng.choice(days) if days else None
            if d is not None and all(abs(d - c) >= 10 for c, _ in chosen):
                chosen.append((d, kind))
                break
    return sorted(chosen)


def simulate_home(rng, t0, n_days, hol, hid, plan):
    home = Home(rng)
    standby, act = [], []
    for k in range(n_days):
        day = (dt.datetime.fromtimestamp(t0, UTC) + dt.timedelta(days=k)).date()
        s, a = day_trace(rng, home, day, hol)
        standby += s
        act += a
    n = len(act)
    removed = set()
    incidents, ambiguous, absences = [], [], []
    for day, kind in schedule(rng, n, plan):
        hours = {"collapse_day": (7, 20), "collapse_frozen": (8, 21), "collapse_night": (22, 26),
                 "high_usage": (0, 24), "away": (8, 12), "away_registered": (8, 12),
                 "meter_silent": (0, 24), "decline": (0, 0)}[kind]
        s0 = day * SLOTS + int(rng.uniform(*hours) * 4)
        dur = {"collapse_day": 192, "collapse_frozen": 192, "collapse_night": 192,
               "decline": 12 * SLOTS}.get(kind)
        if kind == "high_usage":
            dur = rng.randint(4, 12) * 4
        elif kind in ("away", "away_registered"):
            dur = rng.randint(2, 6) * SLOTS
        elif kind == "meter_silent":
            dur = rng.randint(8, 24) * 4
        extra = rng.uniform(0.1, 0.5) * 0.25
        heat = rng.uniform(1.2, 2.4) * 0.25
        for s in range(s0, min(n, s0 + dur)):
            if kind in ("collapse_day", "collapse_night", "away", "away_registered"):
                act[s] = 0.0
            elif kind == "collapse_frozen":
                act[s] = extra
            elif kind == "high_usage":
                act[s] += heat
            elif kind == "decline":
                act[s] *= 1.0 - 0.75 * min(1.0, (s - s0) / (7 * SLOTS))
            elif kind == "meter_silent":
                removed.add(s)
        T = t0 + s0 * STEP
        rec = {"household": hid, "type": kind, "start": iso(T), "end": iso(T + dur * STEP)}
        if kind == "away":
            ambiguous.append(dict(rec, reason="unregistered absence"))
        else:
            incidents.append(rec)
            if kind == "away_registered":
                absences.append(rec)
    for s in range(n):  # a meter loses a reading now and then
        if rng.random() < 0.0005:
            removed.add(s)
    values = [(s, standby[s] + act[s]) for s in range(n) if s not in removed]
    return values, incidents, ambiguous, absences


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--homes", type=int, default=20)
    ap.add_argument("--days", type=int, default=240)
    ap.add_argument("--start", default="2023-09-01")
    ap.add_argument("--plan", default=",".join(PLAN),
                    help="incident types injected in every home (each once)")
    args = ap.parse_args()
    plan = [p for p in args.plan.split(",") if p]
    for p in plan:
        if p not in PLAN:
            ap.error("unknown incident type %s" % p)
    if args.days < WARMUP_DAYS + 21 + 10 * (len(plan) - 1):
        ap.error("--days too short for the plan (need warm-up + 21 + 10 per incident)")
    t0 = int(dt.datetime.strptime(args.start, "%Y-%m-%d").replace(tzinfo=UTC).timestamp())
    start_year = dt.datetime.fromtimestamp(t0, UTC).year
    hol = holidays(range(start_year, start_year + args.days // 365 + 2))
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    labels = {"warmup_days": WARMUP_DAYS, "households": {}, "incidents": [], "ambiguous": []}
    absences = []
    with gzip.open(os.path.join(args.out, "readings.csv.gz"), "wt", newline="") as rf, \
            open(os.path.join(args.out, "households.csv"), "w", newline="") as hf:
        rw, hw = csv.writer(rf), csv.writer(hf)
        rw.writerow(["meter", "ts", "kwh"])
        hw.writerow(["household", "meter", "category", "street", "community", "grid", "address"])
        for n in range(args.homes):
            hid = "H%04d" % n
            meter = "M%s" % (1000000 + rng.randrange(8999999))
            hrng = random.Random(args.seed * 100003 + n)
            values, inc, amb, ab = simulate_home(hrng, t0, args.days, hol, hid, plan)
            hw.writerow([hid, meter, "elderly_alone", "S%02d" % (n % 3), "C%02d" % (n % 7),
                         "G%03d" % (n % 17), "Building %d, Room %d" % (n % 40, 100 + n)])
            labels["incidents"] += inc
            labels["ambiguous"] += amb
            absences += ab
            labels["households"][hid] = {"meter": meter, "first": iso(t0 + STEP),
                                         "last": iso(t0 + args.days * DAY),
                                         "interval_s": STEP}
            for s, v in values:
                rw.writerow([meter, iso(t0 + (s + 1) * STEP), "%.4f" % v])
    with open(os.path.join(args.out, "absences.csv"), "w", newline="") as af:
        aw = csv.writer(af)
        aw.writerow(["household", "from", "to", "reason"])
        for a in absences:
            aw.writerow([a["household"], a["start"], a["end"], "visiting family"])
    with open(os.path.join(args.out, "labels.json"), "w") as lf:
        json.dump(labels, lf, indent=1)
    print("households %d, incidents %d, ambiguous %d, absences %d" % (
        len(labels["households"]), len(labels["incidents"]), len(labels["ambiguous"]),
        len(absences)))


if __name__ == "__main__":
    main()
