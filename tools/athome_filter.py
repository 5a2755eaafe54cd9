#!/usr/bin/env python3
"""Lists the "at-home" households of a trace folder, by the rule of EVALUATION.md.

A home is at home by day when its weekday (Mon-Fri) 10-16 h half-hour readings exceed
1.5 x its median 01-05 h reading + 0.02 kWh in at least half of those half-hours.
Readings finer than 30 min are summed to half-hours first; hours are read in the
timestamps' own clock (the source files' clock, as gw_dataset.py reads them).

Input: a folder of per-household files `id,timestamp,kwh` (.csv or .csv.gz), as for
/work/shared/eval/gw_dataset.py. Output: the file stems of the at-home homes, comma
separated on one line (feed to gw_dataset.py --households), or one per line with
their share with --verbose. Standard library only.

Usage: athome_filter.py --src DIR [--factor 1.5] [--margin-kwh 0.02] [--min-share 0.5] [--verbose]
"""
import argparse
import csv
import datetime as dt
import gzip
import os
import statistics


def half_hours(path):
    """Returns {half-hour start epoch: kWh} summed from the file's readings."""
    opener = gzip.open if path.endswith(".gz") else open
    out = {}
    seen = set()
    with opener(path, "rt", newline="") as f:
        r = csv.reader(f)
        next(r, None)
        for rec in r:
            if len(rec) < 3:
                continue
            try:
                kwh = float(rec[2])
            except ValueError:
                continue
            t = dt.datetime.strptime(rec[1].strip(), "%Y-%m-%d %H:%M:%S").replace(
                tzinfo=dt.timezone.utc)
            e = int(t.timestamp())
            if e in seen:  # gw_dataset.py keeps the first of duplicate timestamps
                continue
            seen.add(e)
            k = e - e % 1800
            out[k] = out.get(k, 0.0) + kwh
    return out


def athome_share(hh, factor=1.5, margin_kwh=0.02):
    """Share of weekday 10-16 h half-hours above factor x night median + margin (None if no data)."""
    night, day = [], []
    for t, v in hh.items():
        d = dt.datetime.fromtimestamp(t, dt.timezone.utc)
        if 1 <= d.hour < 5:
            night.append(v)
        elif 10 <= d.hour < 16 and d.weekday() < 5:
            day.append(v)
    if not night or not day:
        return None
    level = factor * statistics.median(night) + margin_kwh
    return sum(1 for v in day if v > level) / len(day)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", required=True)
    ap.add_argument("--factor", type=float, default=1.5)
    ap.add_argument("--margin-kwh", type=float, default=0.02)
    ap.add_argument("--min-share", type=float, default=0.5)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    files = sorted(f for f in os.listdir(args.src) if f.endswith((".csv", ".csv.gz")))
    chosen = []
    for name in files:
        share = athome_share(half_hours(os.path.join(args.src, name)), args.factor, args.margin_kwh)
        ok = share is not None and share >= args.min_share
        if ok:
            chosen.append(name.split(".")[0])
        if args.verbose:
            print("%s %s %s" % (name.split(".")[0], "-" if share is None else "%.3f" % share,
                                "athome" if ok else ""))
    if not args.verbose:
        print(",".join(chosen))


if __name__ == "__main__":
    main()
