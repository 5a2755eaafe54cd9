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

Usage: tools/high_usage_bound.py SET_DIR [--timezone Europe/London] [--kw 1.2] [--hours 4]
Standard library only; shares the set reader of quiet_spell_bound.py.
"""
import argparse
import bisect
import collections
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quiet_spell_bound import DAY, homes, local_offset_fn, read_set  # noqa: E402

REF_DAYS = 28
MIN_REF = 7  # readings of the hour needed before its median is trusted


def episodes(rs, interval, offset, excluded, t_from, kw, hours):
    """Natural heavy-use episodes of one home: list of (start, end)."""
    ih = interval / 3600.0
    by_hour = collections.defaultdict(collections.deque)  # local hour -> (t, x), last 28 days
    sorted_hour = collections.defaultdict(list)
    out = []
    run = None

    def close():
        if run and run[0] >= t_from and (run[1] - run[0]) / 3600.0 >= hours:
            if not any(a - DAY <= run[1] and run[0] <= b + DAY for a, b in excluded):
                out.append(tuple(run))

    for t, x in rs:
        hr = int(((t - 1 + offset(t - 1)) % DAY) // 3600)
        dq, srt = by_hour[hr], sorted_hour[hr]
        while dq and dq[0][0] < t - REF_DAYS * DAY:
            _, old = dq.popleft()
            del srt[bisect.bisect_left(srt, old)]
        high = len(srt) >= MIN_REF and x - statistics.median(srt) >= kw * ih
        dq.append((t, x))
        bisect.insort(srt, x)
        if high:
            if run is None:
                run = [t - interval, t]
            else:
                run[1] = t
        else:
            close()
            run = None
    close()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("set_dir")
    ap.add_argument("--timezone", default="UTC")
    ap.add_argument("--kw", type=float, default=1.2, help="kW above the hour's median")
    ap.add_argument("--hours", type=float, default=4.0, help="shortest episode")
    args = ap.parse_args()
    offset = local_offset_fn(args.timezone)
    total, years, per_home = 0, 0.0, []
    for _, rs, interval, t_from, y, excluded in homes(*read_set(args.set_dir)):
        y = max(y, 1e-9)
        n = len(episodes(rs, interval, offset, excluded, t_from, args.kw, args.hours))
        total += n
        years += y
        per_home.append(n / y)
    print("%s: natural episodes of >= %.2g kW above the hour's median for >= %g h: "
          "%.1f per household-year (median home %.1f, %d homes, %.1f household-years)" % (
              os.path.basename(os.path.normpath(args.set_dir)), args.kw, args.hours,
              total / max(years, 1e-9), statistics.median(per_home) if per_home else 0,
              len(per_home), years))


if __name__ == "__main__":
    sys.exit(main())
