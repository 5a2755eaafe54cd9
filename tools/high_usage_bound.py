#!/usr/bin/env python3
"""The floor that real homes' own heavy-use episodes put under high_usage false alarms.

An injected high_usage incident (EVALUATION.md) adds 1.2-2.4 kW on top of the home's real use for
4-12 h. A detector that finds 90 % of them must alert on episodes of about 1.2 kW above the
usual for about 4 h; real homes have such episodes of their own (heating on the first cold
days, laundry and cooking days) and the detector cannot tell them apart by use alone. This tool
counts them: runs of readings each at least --kw kW above the median of the same local hour over
the 28 days before, lasting at least --hours, after the warm-up and clear (+-1 day) of every
labelled incident and ambiguous window. The count per household-year is a floor under the
false alarms of any use-based high-usage rule with that recall.

With --budgets it also gives an oracle, as quiet_spell_bound.py does for collapses: rules "at
least K kW above the hour's median for at least D hours" (K from 0.8 to 2.4 kW, D from 3 to
12 h), ranked by the labelled high_usage incidents they catch over the set (an alert between
the start and the end + 6 h); each home takes, IN HINDSIGHT, the first rule that its own natural
episodes of the whole year fire at most budget times a year. It shows what calibrating each
home to its own heavy-use episodes could give at that false-alarm budget.

Usage: tools/high_usage_bound.py SET_DIR [--timezone Europe/London] [--kw 1.2] [--hours 4]
                                 [--budgets 1,2,4] [--json]
Standard library only; shares the set reader of quiet_spell_bound.py.
"""
import argparse
import bisect
import collections
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quiet_spell_bound import DAY, homes, local_offset_fn, parse_ts, read_set  # noqa: E402

REF_DAYS = 28
MIN_REF = 7  # readings of the hour needed before its median is trusted


ORACLE_KW = (0.8, 1.0, 1.2, 1.5, 1.8, 2.1, 2.4)
ORACLE_HOURS = (3, 4, 5, 6, 8, 10, 12)
GRACE = 6 * 3600  # a high_usage incident counts as found up to 6 h after its end


def excess(rs, offset):
    """Per reading (t, kWh above the median of the same local hour over the 28 days before, or
    None while that hour has fewer than MIN_REF readings)."""
    by_hour = collections.defaultdict(collections.deque)  # local hour -> (t, x), last 28 days
    sorted_hour = collections.defaultdict(list)
    out = []
    for t, x in rs:
        hr = int(((t - 1 + offset(t - 1)) % DAY) // 3600)
        dq, srt = by_hour[hr], sorted_hour[hr]
        while dq and dq[0][0] < t - REF_DAYS * DAY:
            _, old = dq.popleft()
            del srt[bisect.bisect_left(srt, old)]
        out.append((t, x - statistics.median(srt) if len(srt) >= MIN_REF else None))
        dq.append((t, x))
        bisect.insort(srt, x)
    return out


def runs(ex, interval, kw):
    """Runs of readings each at least kw kW above their hour's median: list of (start, end)."""
    floor = kw * interval / 3600.0
    out, run = [], None
    for t, e in ex:
        if e is not None and e >= floor:
            if run is not None and t - run[1] <= interval:
                run[1] = t
                continue
            if run is not None:
                out.append(tuple(run))
            run = [t - interval, t]
        elif run is not None:
            out.append(tuple(run))
            run = None
    if run is not None:
        out.append(tuple(run))
    return out


def natural(rs_runs, excluded, t_from, hours):
    """The runs that are the home's own: long enough, after the warm-up, clear (+-1 day) of
    every labelled window."""
    return [(a, b) for a, b in rs_runs if a >= t_from and (b - a) / 3600.0 >= hours and
            not any(s - DAY <= b and a <= e + DAY for s, e in excluded)]


def caught(rs_runs, hours, incident):
    """Whether a rule of `hours` on these runs alerts within the incident's window."""
    s, e = incident
    return any(a <= e and b >= s and b - a >= hours * 3600 and s <= a + hours * 3600 <= e + GRACE
               for a, b in rs_runs)


def oracle(home_rows, budgets):
    """home_rows: per home (years, {(kw, hours): (natural count, incidents caught)}, incidents).
    The rules are ranked once, for all homes, by the incidents they catch over the whole set
    (ties: the rule with fewer natural episodes); each home then takes the first rule in that
    order that its own natural episodes fire at most budget times a year, to the nearest whole
    episode, or no rule. The incidents are never used per home: fitting a rule to one home's one
    incident would tell nothing. Returns per budget the recall, the false alarms the chosen
    rules really take and how often each rule was chosen."""
    out = []
    total_years = sum(y for y, _, _ in home_rows) or 1e-9
    n_inc = sum(n for _, _, n in home_rows)
    rules = sorted({r for _, table, _ in home_rows for r in table},
                   key=lambda r: (-sum(t[r][1] for _, t, _ in home_rows),
                                  sum(t[r][0] for _, t, _ in home_rows), r))
    for budget in budgets:
        hits = fa = 0
        chosen = collections.Counter()
        for y, table, _ in home_rows:
            k = max(0, round(budget * y))
            rule = next((r for r in rules if table[r][0] <= k), None)
            if rule is not None:
                hits += table[rule][1]
                fa += table[rule][0]
            chosen["none" if rule is None else "%g kW %g h" % rule] += 1
        out.append({"budget_fa_per_hh_year": budget,
                    "realized_fa_per_hh_year": round(fa / total_years, 2),
                    "recall": round(hits / max(1, n_inc), 3),
                    "rules": dict(chosen.most_common())})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("set_dir")
    ap.add_argument("--timezone", default="UTC")
    ap.add_argument("--kw", type=float, default=1.2, help="kW above the hour's median")
    ap.add_argument("--hours", type=float, default=4.0, help="shortest episode")
    ap.add_argument("--budgets", default="", help="oracle budgets, false alarms per hh-year")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    offset = local_offset_fn(args.timezone)
    labels, readings = read_set(args.set_dir)
    incidents = collections.defaultdict(list)
    for i in labels["incidents"]:
        if i["type"] == "high_usage":
            incidents[i["household"]].append((parse_ts(i["start"]), parse_ts(i["end"])))
    total, years, per_home, home_rows = 0, 0.0, [], []
    for h, rs, interval, t_from, y, excluded in homes(labels, readings):
        ex = excess(rs, offset)
        n = len(natural(runs(ex, interval, args.kw), excluded, t_from, args.hours))
        total += n
        years += y
        per_home.append(n / max(y, 1e-9))
        if args.budgets:
            table = {}
            for kw in ORACLE_KW:
                rr = runs(ex, interval, kw)
                for hours in ORACLE_HOURS:
                    table[(kw, hours)] = (len(natural(rr, excluded, t_from, hours)),
                                          sum(caught(rr, hours, inc) for inc in incidents[h]))
            home_rows.append((y, table, len(incidents[h])))
    name = os.path.basename(os.path.normpath(args.set_dir))
    rate = total / max(years, 1e-9)
    orc = oracle(home_rows, [float(b) for b in args.budgets.split(",")]) if args.budgets else []
    if args.json:
        print(json.dumps({"set": name, "household_years": round(years, 1), "kw": args.kw,
                          "hours": args.hours, "natural_per_hh_year": round(rate, 2),
                          "high_usage_incidents": sum(len(v) for v in incidents.values()),
                          "oracle": orc}, indent=1))
        return
    print("%s: natural episodes of >= %.2g kW above the hour's median for >= %g h: "
          "%.1f per household-year (median home %.1f, %d homes, %.1f household-years)" % (
              name, args.kw, args.hours, rate,
              statistics.median(per_home) if per_home else 0, len(per_home), years))
    if orc:
        print("| FA budget /hh-yr (realized) | oracle high_usage recall | rules chosen |")
        print("|---|---|---|")
        for o in orc:
            print("| %g (%.2f) | %.3f | %s |" % (
                o["budget_fa_per_hh_year"], o["realized_fa_per_hh_year"], o["recall"],
                ", ".join("%s: %d" % kv for kv in o["rules"].items())))


if __name__ == "__main__":
    sys.exit(main())
