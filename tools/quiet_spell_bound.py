#!/usr/bin/env python3
"""How well could ANY detector that judges a home's electricity level catch a collapse?

An injected collapse (EVALUATION.md) is the home's own night standby: every reading is drawn
from its 02-05 h readings of the last 14 nights. Real homes have quiet spells like that too
(a day out, a long sleep, an empty house). A detector that sees only the level cannot tell an
incident from a natural spell that looks the same, so the natural spells set a floor under its
false alarms at each delay. This tool measures that floor on an evaluation set:

1. Natural night-like spells: runs of readings each no higher than the largest 02-05 h reading
   of the 14 days before, whose mean position in that night distribution (each reading's
   mid-rank empirical CDF value, 0.5 on average for a draw from it) is at most --cdf-max (0.5 for the injected standby; 0.6
   keeps most injected collapses and drops spells that sit at the top of the night range).
   Spells that touch a labelled incident or ambiguous window (+-1 day) or the warm-up are not
   natural and are left out.
2. Their frequency per household-year by start time (day 07-20 h, night 22-02 h, the injection
   windows of collapse_day and collapse_night) and length.
3. An oracle: each home's thresholds, one per start-time class (07-10, 10-13, 13-16, 16-20 h
   and 22-02 h), chosen IN HINDSIGHT from its natural spells: the home may be wrong budget
   times a year in all (to the nearest whole spell), and each false alarm it may take goes
   where it lowers a threshold the most (per false alarm spent). A collapse is then caught
   when its spell reaches its class's threshold (the delay is the threshold). Its recall within
   24 h and median delay over collapse_day and collapse_night are an upper bound for rules on a
   spell's length and start time at that false-alarm budget (optimistic: thresholds fitted on
   the very data, the level test assumed to pass every incident, no false alarms from other
   kinds or other spells). A version that split the budget evenly between one day and one
   night threshold (session 3) reported 0.83-0.86 at 4 a year on the at-home sets: that was a
   weaker oracle, not a bound.
4. --causal: rules that learn each home's thresholds from its PAST natural spells only, as a
   detector must: per class, at each spell's start, factor x the j-th longest natural spell of
   the class that ended in the last W weeks (every spell, or as gridwatch only those shorter
   than 30 h: a day or more away is not a routine), + 1 h, at least 3 h; while fewer than 12
   weeks of the home are known, at least a fading share of a 12-h cold length — a rule of
   gridwatch's kind (detect/detector.cc, IdleThresholdH), given whole spells and a level test
   that passes every collapse and flags exactly the natural spells above. A natural spell that
   lasts as long as its threshold is a false alarm (gridwatch alerts at the threshold); a
   collapse is caught at its class's threshold (its delay, counted from the spell's start like
   the oracle's: one interval pessimistic). For each W (24, 48 weeks), j (1-3), factor (1-2)
   and learning cap: false alarms a year, recall within 24 h, median delay. Rates are over all
   time after the warm-up, as the oracle's (the +-1 day around labelled windows, where no
   spell is natural, is not taken out: a few per cent low against gw_score.py's). Where the
   hindsight oracle knows the year, these pay for not knowing it: a threshold at the longest of
   the past n spells is outlasted by a new one with probability at most 1/(n+1) whatever their
   distribution, if they are exchangeable (equal only without ties, and less with the margin or
   a factor above 1) — about 1/W per class and year once the memory is full, more in a home's
   first year, which is all these traces hold.

--classes 2|5|6|8 (default 5; --fine is 8): the start-time classes of the oracle and the rules:
two (07-20, 22-02 h), five (07-10, 10-13, 13-16, 16-20, 22-02 h), eight (two-hour days, two
nights) — all within the injection's windows, so that a spell begun at 03:00 or 21:00 is never
judged — or six, gridwatch's 4-h buckets over the whole day, as a detector must judge them.

Usage: tools/quiet_spell_bound.py SET_DIR [--timezone Europe/London] [--cdf-max 0.6]
                                  [--budgets 2,4,8,16] [--classes 2|5|6|8] [--fine] [--causal]
                                  [--json]
SET_DIR holds labels.json and readings.csv[.gz] (gw_dataset.py's layout). Standard library only.
"""
import argparse
import bisect
import heapq
import collections
import csv
import datetime as dt
import gzip
import json
import os
import statistics
import sys

DAY = 86400
NIGHT_FROM_H, NIGHT_TO_H = 2, 5  # the injector's night: readings ending in (02:00, 05:00]
REF_DAYS = 14


def parse_ts(s):
    s = s.strip()
    if s.lstrip("-").isdigit():
        return int(s)
    return int(dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


def local_offset_fn(tz_name):
    if not tz_name or tz_name == "UTC":
        return lambda t: 0
    from zoneinfo import ZoneInfo
    tz = ZoneInfo(tz_name)
    cache = {}

    def off(t):
        k = t // 3600
        if k not in cache:
            cache[k] = int(dt.datetime.fromtimestamp(t, tz).utcoffset().total_seconds())
        return cache[k]
    return off


def read_set(set_dir):
    with open(os.path.join(set_dir, "labels.json")) as f:
        labels = json.load(f)
    meter_to_house = {v["meter"]: k for k, v in labels["households"].items()}
    path = os.path.join(set_dir, "readings.csv.gz")
    opener = gzip.open if os.path.exists(path) else open
    if not os.path.exists(path):
        path = os.path.join(set_dir, "readings.csv")
    readings = collections.defaultdict(list)
    with opener(path, "rt") as f:
        for row in csv.DictReader(f):
            h = meter_to_house.get(row["meter"])
            if h is not None:
                readings[h].append((parse_ts(row["ts"]), float(row["kwh"])))
    for rs in readings.values():
        rs.sort()
    return labels, readings


def homes(labels, readings):
    """Yields, per home of a set (read_set's labels and readings): (house, readings, interval_s,
    scored_from, household_years, labelled windows) — scored_from is the end of the warm-up; the
    windows are every labelled incident and ambiguous stretch of the home, as (start, end)."""
    warm = labels.get("warmup_days", 28) * DAY
    windows = collections.defaultdict(list)
    for w in labels["incidents"] + labels.get("ambiguous", []):
        windows[w["household"]].append((parse_ts(w["start"]), parse_ts(w["end"])))
    for h, rs in readings.items():
        if len(rs) < 2:
            continue
        interval = labels["households"][h].get("interval_s") or min(
            b[0] - a[0] for a, b in zip(rs, rs[1:]) if b[0] > a[0])
        t_from = rs[0][0] + warm
        yield h, rs, interval, t_from, max(0.0, (rs[-1][0] - t_from) / (365.0 * DAY)), windows[h]


def natural_spells(rs, interval, offset, excluded, t_from, cdf_max):
    """Night-like spells of one home: list of (start, end, local start hour) after t_from."""
    ref = []            # sorted night readings of the last REF_DAYS days
    ref_q = collections.deque()  # (t, x) in time order, to expire them
    spells = []
    cur = None          # [start, end, cdf_sum, n]
    prev_t = None

    def close():
        if cur and cur[2] / cur[3] <= cdf_max and cur[0] >= t_from:
            s, e = cur[0], cur[1]
            if not any(a - DAY <= e and s <= b + DAY for a, b in excluded):
                spells.append((s, e, ((s + offset(s)) % DAY) / 3600.0))

    for t, x in rs:
        while ref_q and ref_q[0][0] < t - REF_DAYS * DAY:
            _, old = ref_q.popleft()
            del ref[bisect.bisect_left(ref, old)]
        gap = prev_t is not None and t - prev_t > interval
        prev_t = t
        quiet = bool(ref) and x <= ref[-1]
        if gap or not quiet:
            close()
            cur = None
        if quiet:
            # Mid-rank: a reading drawn from the night's own values scores 0.5 on average,
            # ties (readings to the Wh) included.
            c = (bisect.bisect_left(ref, x) + bisect.bisect_right(ref, x)) / (2.0 * len(ref))
            if cur is None:
                cur = [t - interval, t, c, 1]
            else:
                cur[1] = t
                cur[2] += c
                cur[3] += 1
        loc_h = ((t + offset(t)) % DAY) / 3600.0
        if NIGHT_FROM_H < loc_h <= NIGHT_TO_H:
            bisect.insort(ref, x)
            ref_q.append((t, x))
    close()
    return spells


CLASSES = (("07-10", 7, 10), ("10-13", 10, 13), ("13-16", 13, 16), ("16-20", 16, 20),
           ("22-02", 22, 26))
# --fine: two-hour day classes and two night classes (more freedom for the oracle).
FINE_CLASSES = (("07-09", 7, 9), ("09-11", 9, 11), ("11-13", 11, 13), ("13-15", 13, 15),
                ("15-17", 15, 17), ("17-20", 17, 20), ("22-24", 22, 24), ("00-02", 24, 26))
# --classes 2: the injector's day and night windows, whole.
TWO_CLASSES = (("07-20", 7, 20), ("22-02", 22, 26))
# --classes 6: gridwatch's start-time buckets, the whole day (spells begun at any hour judged).
DAY_CLASSES = (("06-10", 6, 10), ("10-14", 10, 14), ("14-18", 14, 18), ("18-22", 18, 22),
               ("02-06", 2, 6), ("22-02", 22, 26))
CLASS_SETS = {2: TWO_CLASSES, 5: CLASSES, 6: DAY_CLASSES, 8: FINE_CLASSES}


def start_class(hour, classes=CLASSES):
    """Index in classes of a spell starting at this local hour (0-24), or None."""
    for i, (_, a, b) in enumerate(classes):
        if a <= hour < b or a <= hour + 24 < b:
            return i
    return None


def ladder(lengths):
    """The thresholds a class can take, from the strictest: [(threshold h, natural spells that
    exceed it)]. Just above each distinct length; 0.5 h below the shortest."""
    ls = sorted(lengths, reverse=True)
    out = [(ls[0] + 0.5 if ls else 0.5, 0)]
    for i, v in enumerate(ls):
        if i + 1 < len(ls) and ls[i + 1] == v:
            continue
        out.append((ls[i + 1] + 0.5 if i + 1 < len(ls) else 0.5, i + 1))
    return out


def thresholds(by_class, k, n_classes=len(CLASSES)):
    """One home's thresholds per class, exceeded by at most k of its natural spells in all: each
    step goes to the class whose next threshold is lowest per spell it costs. Returns
    (thresholds, spells exceeded)."""
    ladders = [ladder(by_class.get(c, [])) for c in range(n_classes)]
    at = [0] * len(ladders)
    spent = 0
    while True:
        best, best_gain = None, 0.0
        for c, lad in enumerate(ladders):
            if at[c] + 1 < len(lad):
                (t0, n0), (t1, n1) = lad[at[c]], lad[at[c] + 1]
                if spent + n1 - n0 <= k and (t0 - t1) / (n1 - n0) > best_gain:
                    best, best_gain = c, (t0 - t1) / (n1 - n0)
        if best is None:
            break
        spent += ladders[best][at[best] + 1][1] - ladders[best][at[best]][1]
        at[best] += 1
    return [lad[a][0] for lad, a in zip(ladders, at)], spent


# --causal: gridwatch's own kind of rule (detect/detector.cc, IdleThresholdH).
CAUSAL_WINDOWS_WEEKS = (24, 48)
CAUSAL_RANKS = (1, 2, 3)
CAUSAL_FACTORS = (1.0, 1.25, 1.5, 2.0)
CAUSAL_LEARN_MAX_H = (None, 30.0)  # None: every spell is learned; 30: kMaxLearnedSpellH
CAUSAL_MARGIN_H, CAUSAL_FLOOR_H, CAUSAL_COLD_H, CAUSAL_COLD_WEEKS = 1.0, 3.0, 12.0, 12.0


def causal_threshold(past, t, first, j, factor, window_s):
    """The threshold (h) at time t of a class whose natural spells so far are past: (ends
    ascending, lengths h), learned from the spells that ended in (t - window_s, t]."""
    ends, lens = past
    lo, hi = bisect.bisect_right(ends, t - window_s), bisect.bisect_right(ends, t)
    top = heapq.nlargest(j, lens[lo:hi])
    usual = top[j - 1] if len(top) >= j else 0.0
    weeks = (t - first) / (7.0 * DAY)
    if weeks < CAUSAL_COLD_WEEKS:
        usual = max(usual, CAUSAL_COLD_H * (CAUSAL_COLD_WEEKS - weeks) / CAUSAL_COLD_WEEKS)
    return max(CAUSAL_FLOOR_H, factor * usual + CAUSAL_MARGIN_H)


def causal_rules(spells, collapses, offset, classes, total_years):
    """spells: house -> (all natural spells from the first reading, scored_from, first reading
    time). Returns one row per rule (see the module's docstring, item 4)."""
    empty = ([], [])
    rows = []
    # house -> [(start, end, length h, class)] of the spells that begin in a class
    classed = {h: [(s, e, (e - s) / 3600.0, c) for s, e, hs in sp
                   for c in [start_class(hs, classes)] if c is not None]
               for h, (sp, _, _) in spells.items()}
    for learn_max in CAUSAL_LEARN_MAX_H:
        past = {}  # house -> class -> (ends ascending, lengths h) of the spells learned
        for h, sp in classed.items():
            by = collections.defaultdict(list)
            for _, e, length, c in sp:
                if learn_max is None or length < learn_max:
                    by[c].append((e, length))
            past[h] = {c: ([e for e, _ in sorted(v)], [x for _, x in sorted(v)])
                       for c, v in by.items()}
        for weeks, j, factor in ((w, j, f) for w in CAUSAL_WINDOWS_WEEKS for j in CAUSAL_RANKS
                                 for f in CAUSAL_FACTORS):
            w = weeks * 7 * DAY
            fa = 0
            for h, (_, t_from, first) in spells.items():
                for s, _, length, c in classed[h]:
                    if s >= t_from and length >= causal_threshold(past[h].get(c, empty), s, first,
                                                                  j, factor, w):
                        fa += 1
            delays = []
            for i in collapses:
                h = i["household"]
                if h not in spells:
                    continue
                t = parse_ts(i["start"])
                c = start_class(((t + offset(t)) % DAY) / 3600.0, classes)
                if c is None:
                    c = 0 if i["type"] == "collapse_day" else len(classes) - 1
                delays.append(causal_threshold(past[h].get(c, empty), t, spells[h][2], j,
                                               factor, w))
            rows.append({
                "window_weeks": weeks, "rank": j, "factor": factor, "learn_max_h": learn_max,
                "fa_per_hh_year": round(fa / max(total_years, 1e-9), 2),
                "recall_24h": round(sum(1 for x in delays if x <= 24) / max(1, len(delays)),
                                    3),
                "median_delay_h": round(statistics.median(delays), 2) if delays else None,
            })
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("set_dir")
    ap.add_argument("--timezone", default="UTC", help="local time of the homes (default UTC)")
    ap.add_argument("--cdf-max", type=float, default=0.6)
    ap.add_argument("--budgets", default="2,4,8,16", help="false alarms per household-year")
    ap.add_argument("--classes", type=int, choices=sorted(CLASS_SETS), default=5,
                    help="start-time classes: 2 (day, night), 5 (default), 6 (the whole day) "
                         "or 8")
    ap.add_argument("--fine", action="store_true", help="the same as --classes 8")
    ap.add_argument("--causal", action="store_true",
                    help="also rules that learn each home's thresholds from its past spells")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    classes = CLASS_SETS[8 if args.fine else args.classes]
    offset = local_offset_fn(args.timezone)
    labels, readings = read_set(args.set_dir)
    lengths = {}  # house -> {"day": [...h], "night": [...h]}
    by_class = {}  # house -> {class index: [...h]}
    years = {}
    spells = {}  # house -> (natural spells from the first reading, scored_from, first reading)
    for h, rs, interval, t_from, y, excluded in homes(labels, readings):
        years[h] = y
        d = {"day": [], "night": []}
        bc = collections.defaultdict(list)
        everything = natural_spells(rs, interval, offset, excluded, rs[0][0], args.cdf_max)
        spells[h] = (everything, t_from, rs[0][0])
        for s, e, hs in (x for x in everything if x[0] >= t_from):
            if 7 <= hs < 20:
                d["day"].append((e - s) / 3600.0)
            elif hs >= 22 or hs < 2:
                d["night"].append((e - s) / 3600.0)
            c = start_class(hs, classes)
            if c is not None:
                bc[c].append((e - s) / 3600.0)
        lengths[h] = d
        by_class[h] = bc
    total_years = sum(years.values())
    freq = {}
    for cls, ds in (("day", (6, 8, 10, 12, 16, 24)), ("night", (8, 10, 12, 14, 16, 20))):
        freq[cls] = {str(D): round(sum(1 for h in lengths for L in lengths[h][cls] if L >= D)
                                   / max(total_years, 1e-9), 1) for D in ds}

    collapses = [i for i in labels["incidents"] if i["type"] in ("collapse_day", "collapse_night")]
    oracle = []
    for budget in [float(b) for b in args.budgets.split(",")]:
        thr = {}
        exceeded = 0
        for h in by_class:
            thr[h], n = thresholds(by_class[h], max(0, round(budget * years[h])), len(classes))
            exceeded += n
        delays = []
        for i in collapses:
            if i["household"] not in thr:
                continue
            t = parse_ts(i["start"])
            c = start_class(((t + offset(t)) % DAY) / 3600.0, classes)
            if c is None:  # outside the injection windows: judged with its nearest class
                c = 0 if i["type"] == "collapse_day" else len(classes) - 1
            delays.append(thr[i["household"]][c])
        oracle.append({
            "budget_fa_per_hh_year": budget,
            "realized_fa_per_hh_year": round(exceeded / max(total_years, 1e-9), 2),
            "recall_24h": round(sum(1 for x in delays if x <= 24) / max(1, len(delays)), 3),
            "median_delay_h": statistics.median(delays) if delays else None,
            "median_threshold_h": {name: statistics.median(t[c] for t in thr.values())
                                   for c, (name, _, _) in enumerate(classes)},
        })
    out = {"set": os.path.basename(os.path.normpath(args.set_dir)), "household_years":
           round(total_years, 1), "cdf_max": args.cdf_max,
           "natural_spells_per_hh_year_at_least_h": freq, "oracle": oracle,
           "collapses": len(collapses)}
    if args.causal:
        out["causal"] = causal_rules(spells, collapses, offset, classes, total_years)
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print("%s: %.1f household-years after warm-up, %d day/night collapses, cdf-max %.2f" % (
        out["set"], total_years, len(collapses), args.cdf_max))
    for cls in ("day", "night"):
        print("natural night-like spells starting %s, per household-year, >= h: %s" % (
            "07-20 h" if cls == "day" else "22-02 h",
            "  ".join("%s h: %s" % kv for kv in freq[cls].items())))
    print("| FA budget /hh-yr (realized) | oracle collapse@24h | oracle median delay h | "
          "median threshold h, %s |" % " / ".join(name for name, _, _ in classes))
    print("|---|---|---|---|")
    for o in oracle:
        print("| %g (%.2f) | %.3f | %.1f | %s |" % (
            o["budget_fa_per_hh_year"], o["realized_fa_per_hh_year"], o["recall_24h"],
            o["median_delay_h"], " / ".join("%.1f" % v for v in o["median_threshold_h"].values())))
    if args.causal:
        print()
        print("| spells learned | from (weeks) | j-th longest | x factor | FA/hh-yr | "
              "collapse@24h | median delay h |")
        print("|---|---|---|---|---|---|---|")
        for r in out["causal"]:
            print("| %s | %d | %d | %.2f | %.2f | %.3f | %.1f |" % (
                "all" if r["learn_max_h"] is None else "< %g h" % r["learn_max_h"],
                r["window_weeks"], r["rank"], r["factor"], r["fa_per_hh_year"], r["recall_24h"],
                r["median_delay_h"]))


if __name__ == "__main__":
    sys.exit(main())
