#!/usr/bin/env python3
"""A collapse on a real trace (a fixture under tests/data/): paged in time, and how often.

Replays the fixture's one home through `gridwatch replay` and looks at the welfare alerts opened
in the 48 h from the fall (the fixture's README says where the trace comes from and why the fall
was once missed). Fails unless the first of them is of one of --kinds and opened within
--within hours, and, with --once, unless it is the only one (the same fall not paged twice).

- tests/data/frozen-h0010 (`replay_frozen_fall`): the home's days are often steady; its fall of
  3 May 2013 was paged at 26.5 h before session 9 gated a steady spell above the night's level at
  frozen's own level, and twice (13 h and 26.5 h) before a frozen episode stopped being closed by
  its own steady level. Paged at 13 h, as frozen, once.
- tests/data/steady-regime-h0002 (`replay_steady_regime`): three weeks of night-like steps in
  August ratcheted the step gate up when each day's peak was the CUSUM's value carried from day
  to day; the fall of 27 September was never paged before session 10 took a day's peak as the
  CUSUM's rise within that day. Paged at 15.5 h.
"""
import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--fall", required=True, help="the collapse's start, UTC (2013-05-03T09:30Z)")
    ap.add_argument("--kinds", required=True, help="comma-separated kinds the first alert may be")
    ap.add_argument("--within", type=float, default=24.0, help="hours from the fall")
    ap.add_argument("--once", action="store_true", help="exactly one alert in the 48 h")
    a = ap.parse_args()
    fall = dt.datetime.fromisoformat(a.fall.replace("Z", "+00:00"))
    kinds = set(a.kinds.split(","))
    got = []
    with tempfile.TemporaryDirectory() as work:
        alerts = os.path.join(work, "alerts.jsonl")
        subprocess.run([a.binary, "replay",
                        "--households", os.path.join(a.fixture, "households.csv"),
                        "--readings", os.path.join(a.fixture, "readings.csv.gz"),
                        "--timezone", "Europe/London", "--alerts", alerts],
                       check=True, stdout=subprocess.DEVNULL)
        with open(alerts) as f:
            for line in f:
                al = json.loads(line)
                t = dt.datetime.fromisoformat(al["opened_at"].replace("Z", "+00:00"))
                if al["kind"] != "meter_silent" and fall <= t <= fall + dt.timedelta(hours=48):
                    got.append((al["kind"], (t - fall).total_seconds() / 3600.0))
    print("welfare alerts in the fall's 48 h:", got)
    failures = []
    if a.once and len(got) != 1:
        failures.append(f"expected one welfare alert in the fall's 48 h, got {got}")
    if not got or got[0][0] not in kinds or got[0][1] > a.within:
        failures.append(f"expected a {'/'.join(sorted(kinds))} alert within {a.within} h, got {got}")
    for msg in failures:
        print("FAIL:", msg)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
