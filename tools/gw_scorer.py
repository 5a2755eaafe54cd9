#!/usr/bin/env python3
"""gridwatch's own scorer of replay alerts against an evaluation set's labels.

Written from the text of /work/shared/EVALUATION.md ("The incidents", "The figures"), not
from the shared scorer's code, so that the two can check each other:

  found when     collapse_*: a welfare alert opens in [start, start + 24 h]
                 high_usage: a welfare alert opens in [start, end + 6 h]
                 decline:    a welfare alert opens in [start, end + 2 days]
                 meter_silent: a meter_silent alert opens in [start, end + 2 h]
  suppression    welfare alerts opened inside a registered absence [start, end)
  false alarm    a welfare alert opened after the warm-up, outside every incident window
                 (extended by its grace: 24 h collapse, 6 h high usage, 2 days decline,
                 2 h meter silence) and outside every ambiguous window (+24 h); the rate is
                 per scored household-year (time after warm-up minus those windows)
  ops false      a meter_silent alert opened under the same conditions
  above chance   (recall - chance) / (1 - chance), chance = mean over an incident type's
                 windows of 1 - exp(-rate x window), rate = the false-alarm rate

Output keys are those of gw_score.py --json, so the two can be compared figure by figure.

Usage:
  gw_scorer.py LABELS.json ALERTS.jsonl [--json]
  gw_scorer.py --crosscheck LABELS.json ALERTS.jsonl [--judge /work/shared/eval/gw_score.py]
      runs both; prints every figure that differs and exits 1 if any does, 0 if all agree.
Standard library only.
"""
import argparse
import datetime as dt
import json
import math
import subprocess
import sys

HOUR = 3600.0
DAY = 86400.0
YEAR = 365 * DAY
COLLAPSES = ("collapse_day", "collapse_frozen", "collapse_night")
# Seconds after the end during which an alert still belongs to an incident (EVALUATION.md).
GRACE_S = {"collapse_day": DAY, "collapse_frozen": DAY, "collapse_night": DAY,
           "high_usage": 6 * HOUR, "decline": 2 * DAY, "meter_silent": 2 * HOUR,
           "away_registered": 0.0}
AMBIGUOUS_GRACE_S = DAY
DEFAULT_JUDGE = "/work/shared/eval/gw_score.py"


def epoch(v):
    """RFC 3339 string (Z or offset) or epoch number -> epoch seconds."""
    if isinstance(v, (int, float)):
        return float(v)
    return dt.datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()


def found_window(inc):
    """[lo, hi] in which an alert of the right class finds this incident."""
    s, e = epoch(inc["start"]), epoch(inc["end"])
    if inc["type"] in COLLAPSES:
        return s, s + DAY
    return s, e + GRACE_S[inc["type"]]


def nearest_rank(sorted_xs, q):
    return sorted_xs[min(len(sorted_xs) - 1, int(q * (len(sorted_xs) - 1) + 0.5))]


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def r3(x):
    return None if x is None else round(x, 3)


def score(labels, alerts):
    """Returns the figures of EVALUATION.md as a dict (keys as gw_score.py --json)."""
    welfare, silent = {}, {}
    for a in alerts:
        (silent if a.get("kind", "") == "meter_silent" else welfare).setdefault(
            a["household"], []).append(epoch(a["opened_at"]))
    for d in (welfare, silent):
        for v in d.values():
            v.sort()
    results = {}        # type -> [(found, delay_h or None, window_s)]
    excluded = {}       # household -> [(lo, hi)] windows whose alerts are not false alarms
    suppression = 0
    for inc in labels["incidents"]:
        hid, typ = inc["household"], inc["type"]
        s, e = epoch(inc["start"]), epoch(inc["end"])
        own = (silent if typ == "meter_silent" else welfare).get(hid, [])
        if typ == "away_registered":
            suppression += sum(1 for t in own if s <= t < e)
            excluded.setdefault(hid, []).append((s, e))
            continue
        lo, hi = found_window(inc)
        hits = [t for t in own if lo <= t <= hi]
        results.setdefault(typ, []).append(
            (bool(hits), (hits[0] - s) / HOUR if hits else None, hi - lo))
        excluded.setdefault(hid, []).append((s, e + GRACE_S[typ]))
    for amb in labels["ambiguous"]:
        excluded.setdefault(amb["household"], []).append(
            (epoch(amb["start"]), epoch(amb["end"]) + AMBIGUOUS_GRACE_S))
    false_welfare = false_ops = 0
    by_kind = {}
    scored_s = 0.0
    for hid, info in labels["households"].items():
        t0 = epoch(info["first"]) + labels["warmup_days"] * DAY
        t1 = epoch(info["last"])
        if t1 <= t0:
            continue
        wins = excluded.get(hid, [])
        # Scored time: the household's post-warm-up span minus its windows. Each window is
        # subtracted on its own, as the shared scorer does (overlaps are subtracted twice).
        scored_s += max(0.0, (t1 - t0) - sum(max(0.0, min(hi, t1) - max(lo, t0))
                                             for lo, hi in wins))
        inside = lambda t: t < t0 or any(lo <= t <= hi for lo, hi in wins)
        for t in silent.get(hid, []):
            if not inside(t):
                false_ops += 1
        for a in alerts:
            if a["household"] != hid or a.get("kind", "") == "meter_silent":
                continue
            if not inside(epoch(a["opened_at"])):
                false_welfare += 1
                by_kind[a.get("kind", "")] = by_kind.get(a.get("kind", ""), 0) + 1
    years = scored_s / YEAR
    rate = false_welfare / years if years else 0.0

    def chance(typ):
        rs = results.get(typ, [])
        if typ == "meter_silent" or not rs:
            return 0.0
        return sum(1 - math.exp(-rate * w / YEAR) for _, _, w in rs) / len(rs)

    def discounted(recall, c):
        return round((recall - c) / (1 - c), 3) if c < 1 else None

    col = [r for t in COLLAPSES for r in results.get(t, [])]
    col_delays = sorted(d for ok, d, _ in col if ok)
    col_recall = sum(ok for ok, _, _ in col) / len(col) if col else None
    col_chance = (sum(chance(t) * len(results.get(t, [])) for t in COLLAPSES) / len(col)
                  if col else 0.0)
    return {
        "collapse_recall_24h": r3(col_recall),
        "collapse_recall_24h_above_chance": discounted(col_recall, col_chance) if col else None,
        "collapse_recall_6h": r3(sum(1 for d in col_delays if d <= 6) / len(col)) if col else None,
        "collapse_median_delay_h": round(median(col_delays), 2) if col_delays else None,
        "collapse_p90_delay_h": round(nearest_rank(col_delays, 0.9), 2) if col_delays else None,
        "false_alarms_per_household_year": r3(false_welfare / years) if years else None,
        "false_alarms": false_welfare,
        "suppression_failures": suppression,
        "ops_false_alarms": false_ops,
        "scored_household_years": round(years, 2),
        "alerts": len(alerts),
        "false_alarms_per_household_year_by_kind":
            {k: r3(v / years) for k, v in sorted(by_kind.items())} if years else {},
        "by_type": {t: {"n": len(rs), "recall": r3(sum(ok for ok, _, _ in rs) / len(rs)),
                        "chance": r3(chance(t)),
                        "recall_above_chance": discounted(sum(ok for ok, _, _ in rs) / len(rs),
                                                          chance(t)),
                        "median_delay_h": round(median([d for ok, d, _ in rs if ok]), 2)
                        if any(ok for ok, _, _ in rs) else None}
                    for t, rs in sorted(results.items())},
    }


def load_alerts(path):
    alerts = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                a = json.loads(line)
                a["household"], a["opened_at"]
            except (ValueError, KeyError) as e:
                sys.exit("alerts line %d is not a usable alert: %s" % (n, e))
            alerts.append(a)
    return alerts


def diff(a, b, path=""):
    """Lists 'path: ours != judge' for every figure that differs (recursively)."""
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            out += diff(a.get(k, "<missing>"), b.get(k, "<missing>"), path + "." + k if path else k)
    elif a != b:
        out.append("%s: ours %r != judge %r" % (path, a, b))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("labels")
    ap.add_argument("alerts")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--crosscheck", action="store_true")
    ap.add_argument("--judge", default=DEFAULT_JUDGE)
    args = ap.parse_args()
    ours = score(json.load(open(args.labels)), load_alerts(args.alerts))
    if args.crosscheck:
        r = subprocess.run([sys.executable, args.judge, args.labels, args.alerts, "--json"],
                           capture_output=True, text=True)
        if r.returncode:
            sys.exit("judge failed: %s" % r.stderr)
        diffs = diff(ours, json.loads(r.stdout))
        for d in diffs:
            print(d)
        print("crosscheck: %s" % ("%d figures differ" % len(diffs) if diffs else "all figures agree"))
        sys.exit(1 if diffs else 0)
    if args.json:
        print(json.dumps(ours, indent=1))
        return
    for k, v in ours.items():
        if k not in ("by_type", "false_alarms_per_household_year_by_kind"):
            print("%-34s %s" % (k, v))
    for t, v in ours["by_type"].items():
        print("  %-18s n=%-4d recall=%-6s above chance=%-6s median_delay_h=%s" % (
            t, v["n"], v["recall"], v["recall_above_chance"], v["median_delay_h"]))


if __name__ == "__main__":
    main()
