#!/usr/bin/env python3
"""How sure a scored replay's figures are: bootstrap intervals over households.

  tools/gw_ci.py [--boot 1000] [--seed 1] [--level 0.95] [--same-homes] [--json]
                 LABELS ALERTS [LABELS ALERTS ...]

Scores the sets given (pairs of a set's labels.json and the alerts.jsonl of its replay) as one
pooled set with tools/gw_scorer.py (which agrees with the judge, /work/shared/eval/gw_score.py),
then again on `--boot` resamples of its households drawn with replacement, and prints each
figure with its percentile interval. The household is the unit: incidents and false alarms
of one home are not independent (a home with long quiet spells is missed and alerts wrongly
again and again), so resampling incidents would make the intervals too narrow.

Households of different pairs are different homes, unless `--same-homes`: the pairs are then
injection draws over the same homes (gw_dataset.py's household ids name the same home in each,
as in scripts/eval's london-athome-s32..s35), and a resampled home brings all its draws.

Pooled figures: collapse recall over all collapses, false alarms over all scored
household-years (not the mean of the sets' rates). Standard library only.
"""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gw_scorer import load_alerts, score  # noqa: E402

# (name printed, how to read it from gw_scorer's figures)
FIGURES = [
    ("collapse@24h", lambda f: f["collapse_recall_24h"]),
    ("collapse@6h", lambda f: f["collapse_recall_6h"]),
    ("median delay h", lambda f: f["collapse_median_delay_h"]),
    ("welfare FA/hh-yr", lambda f: f["false_alarms_per_household_year"]),
    ("high_usage", lambda f: f["by_type"].get("high_usage", {}).get("recall")),
    ("decline", lambda f: f["by_type"].get("decline", {}).get("recall")),
    ("meter_silent", lambda f: f["by_type"].get("meter_silent", {}).get("recall")),
]


def load_pairs(args):
    if len(args) % 2:
        sys.exit("give LABELS ALERTS pairs (%d paths given)" % len(args))
    pairs = []
    for lp, ap in zip(args[::2], args[1::2]):
        with open(lp) as f:
            labels = json.load(f)
        pairs.append((labels, load_alerts(ap)))
    warmups = {p[0]["warmup_days"] for p in pairs}
    if len(warmups) > 1:
        sys.exit("the sets have different warm-ups (%s): score them apart" % sorted(warmups))
    return pairs


def by_household(pairs):
    """[(labels parts, alerts) of each household of each pair], keyed by (pair, household)."""
    parts = {}
    for i, (labels, alerts) in enumerate(pairs):
        for hid, info in labels["households"].items():
            parts[(i, hid)] = {"info": info, "incidents": [], "ambiguous": [], "alerts": []}
        for key in ("incidents", "ambiguous"):
            for x in labels[key]:
                parts[(i, x["household"])][key].append(x)
        for a in alerts:
            if (i, a["household"]) in parts:
                parts[(i, a["household"])]["alerts"].append(a)
    return parts


def pooled(draw, parts, warmup):
    """Labels and alerts of the households drawn; each copy gets its own id."""
    labels = {"warmup_days": warmup, "households": {}, "incidents": [], "ambiguous": []}
    alerts = []
    for n, unit in enumerate(draw):
        for key in unit:
            p = parts[key]
            hid = "%d/%d/%s" % (n, key[0], key[1])
            labels["households"][hid] = p["info"]
            for k in ("incidents", "ambiguous"):
                labels[k] += [dict(x, household=hid) for x in p[k]]
            alerts += [dict(a, household=hid) for a in p["alerts"]]
    return labels, alerts


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", help="LABELS ALERTS [LABELS ALERTS ...]")
    ap.add_argument("--boot", type=int, default=1000, help="resamples (default 1000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    ap.add_argument("--same-homes", action="store_true",
                    help="the pairs are draws over the same homes (same household ids)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.boot < 1 or not 0 < args.level < 1:
        sys.exit("--boot must be at least 1 and --level between 0 and 1")
    pairs = load_pairs(args.paths)
    parts = by_household(pairs)
    if args.same_homes:
        homes = {}
        for key in parts:
            homes.setdefault(key[1], []).append(key)
        units = [homes[h] for h in sorted(homes)]
    else:
        units = [[key] for key in sorted(parts)]
    warmup = pairs[0][0]["warmup_days"]
    point = score(*pooled(units, parts, warmup))
    rng = random.Random(args.seed)
    samples = {name: [] for name, _ in FIGURES}
    for _ in range(args.boot):
        fig = score(*pooled([rng.choice(units) for _ in units], parts, warmup))
        for name, get in FIGURES:
            v = get(fig)
            if v is not None:
                samples[name].append(v)
    lo_q, hi_q = (1 - args.level) / 2, 1 - (1 - args.level) / 2
    out = {"units": len(units), "boot": args.boot, "level": args.level, "figures": {}}
    for name, get in FIGURES:
        xs = sorted(samples[name])
        if get(point) is None or not xs:
            continue
        out["figures"][name] = {
            "value": get(point),
            "low": xs[int(lo_q * (len(xs) - 1))],
            "high": xs[int(round(hi_q * (len(xs) - 1)))],
        }
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print("%d homes (units of resampling), %d resamples, %g %% intervals" %
          (len(units), args.boot, 100 * args.level))
    for name, f in out["figures"].items():
        print("%-17s %8s   [%s, %s]" % (name, f["value"], f["low"], f["high"]))


if __name__ == "__main__":
    main()
