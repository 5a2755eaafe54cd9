#!/usr/bin/env python3
"""Turns a one-home circuit-level trace into whole-home trace files for gw_dataset.py.

/work/shared/data/single-occupant/circuits.csv.gz is the only single-occupant home among the
shared data: four circuits (fridge/range, kitchen lights, bedroom lights, electric range) at
30 min, January to November 2014, header `timestamp,<circuit>,...`. This tool sums the
circuits of each row into the home's use and writes it in the per-household format that
/work/shared/eval/gw_dataset.py reads (`id,timestamp,kwh`, timestamps the start of the
interval), so that incidents can be injected into it like into the other real homes.

- **Units.** The source leaves them undocumented (kW mean or kWh per half-hour). The values
  are taken as kWh per interval; `--scale 0.5` reads them as kW means over half-hours instead.
- **Clock.** The file's clock has no daylight-saving changes (every half-hour of the year is
  there exactly once), but the resident's does: the weekday first activity moves an hour
  later in the week after 2 November 2014, the US change (05:00–05:30 → 06:00–07:00), and not
  after 26 October, the EU one; in spring it comes earlier through March, after 9 March (US)
  and again after 30 March, with the sunrise. `--dst us` (the default) moves the readings
  inside US daylight time one hour later, so that the trace holds the resident's local clock
  time, as the SGSC and REFIT traces do (replay such sets with `--timezone UTC`). The spring
  change leaves an hour without readings; the autumn one repeats an hour of the clock, and the
  second reading of each repeated time is dropped. `--dst none` keeps the file's clock.
- **Copies.** `--copies N` writes the same home N times (SO00, SO01, ...). gw_dataset.py
  draws each file's incidents from one random stream, so every copy gets its own incidents:
  one real home, N injection draws. Its real life, and so its false alarms, repeat in every
  copy; the false-alarm rate per household-year is still this one home's.

Standard library only.

Usage: circuits_home.py --src circuits.csv.gz --out DIR [--copies 30] [--dst us|none]
                        [--scale 1.0]
"""
import argparse
import csv
import datetime as dt
import gzip
import os
import sys

FMT = "%Y-%m-%d %H:%M:%S"


def nth_sunday(year, month, n):
    """The n-th Sunday of a month (n >= 1)."""
    d = dt.datetime(year, month, 1)
    d += dt.timedelta(days=(6 - d.weekday()) % 7)
    return d + dt.timedelta(weeks=n - 1)


def us_dst_standard(year):
    """US daylight time of `year` as [start, end) on the standard-time clock (since 2007): from
    02:00 on the second Sunday of March to 02:00 daylight time (01:00 standard) on the first
    Sunday of November."""
    return (nth_sunday(year, 3, 2) + dt.timedelta(hours=2),
            nth_sunday(year, 11, 1) + dt.timedelta(hours=1))


def read_rows(path, scale):
    """Yields (timestamp, kWh summed over the circuits) in file order; rows with a value that
    is not a number are reported and skipped."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as f:
        r = csv.reader(f)
        header = next(r, None)
        if not header or len(header) < 2:
            sys.exit("%s: no header with a timestamp and at least one circuit" % path)
        for line_no, rec in enumerate(r, start=2):
            if not rec:
                continue
            try:
                t = dt.datetime.strptime(rec[0].strip(), FMT)
                kwh = sum(float(v) for v in rec[1:len(header)])
            except ValueError as e:
                print("%s:%d: skipped (%s)" % (path, line_no, e), file=sys.stderr)
                continue
            yield t, kwh * scale


def local_clock(rows, dst):
    """Moves readings into the resident's clock (see the module's help); drops repeats."""
    out, seen = [], set()
    spans = {}
    for t, kwh in rows:
        if dst == "us":
            if t.year not in spans:
                spans[t.year] = us_dst_standard(t.year)
            start, end = spans[t.year]
            if start <= t < end:
                t += dt.timedelta(hours=1)
        if t in seen:
            continue
        seen.add(t)
        out.append((t, kwh))
    out.sort()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--dst", choices=("us", "none"), default="us")
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    if args.copies < 1:
        sys.exit("--copies must be at least 1")
    rows = local_clock(read_rows(args.src, args.scale), args.dst)
    if not rows:
        sys.exit("%s: no readings" % args.src)
    os.makedirs(args.out, exist_ok=True)
    for k in range(args.copies):
        hid = "SO%02d" % k
        with open(os.path.join(args.out, hid + ".csv"), "w") as f:
            f.write("id,timestamp,kwh\n")
            for t, kwh in rows:
                f.write("%s,%s,%.6f\n" % (hid, t.strftime(FMT), kwh))
    print("%d readings, %s to %s, %d copies" % (len(rows), rows[0][0].strftime(FMT),
                                                rows[-1][0].strftime(FMT), args.copies))
    return 0


if __name__ == "__main__":
    sys.exit(main())
