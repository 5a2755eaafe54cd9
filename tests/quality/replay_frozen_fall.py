#!/usr/bin/env python3
"""A frozen collapse on a real trace (tests/data/frozen-h0010): paged once, within 24 h.

The home's days are often steady, so the step gate's level for its rare days (detect.gate_z) is
more than a steady load left on shows in the fall's first 12 h. A spell at a steady level above
the night's is judged at frozen's own gate level (frozen.factor, z = 1): the fall is paged at
13 h, as frozen, once for the whole 48 h (a blip that restarts the spell at the same level is
not the resident back). The same replay with frozen.factor = 2 (the rare-day level, as before)
must miss the 24 h: that shows this test can fail.
"""
import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile

FALL = dt.datetime(2013, 5, 3, 9, 30, tzinfo=dt.timezone.utc)


def replay(binary, fixture, work, config=None):
    alerts = os.path.join(work, "alerts.jsonl")
    cmd = [binary, "replay", "--households", os.path.join(fixture, "households.csv"),
           "--readings", os.path.join(fixture, "readings.csv.gz"),
           "--timezone", "Europe/London", "--alerts", alerts]
    if config:
        cmd[2:2] = ["--config", config]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    out = []
    with open(alerts) as f:
        for line in f:
            a = json.loads(line)
            t = dt.datetime.fromisoformat(a["opened_at"].replace("Z", "+00:00"))
            if a["kind"] != "meter_silent" and FALL <= t <= FALL + dt.timedelta(hours=48):
                out.append((a["kind"], (t - FALL).total_seconds() / 3600.0))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--fixture", required=True)
    a = ap.parse_args()
    failures = []
    with tempfile.TemporaryDirectory() as work:
        got = replay(a.binary, a.fixture, work)
        print("default:", got)
        if len(got) != 1:
            failures.append(f"expected one welfare alert in the fall's 48 h, got {got}")
        if not got or got[0][0] != "frozen" or got[0][1] > 24:
            failures.append(f"expected a frozen alert within 24 h of the fall, got {got}")
        cfg = os.path.join(work, "rare-day-gate.yaml")
        with open(cfg, "w") as f:
            f.write("detect:\n  detectors:\n    frozen: {factor: 2.0}\n")
        old = replay(a.binary, a.fixture, work, cfg)
        print("frozen.factor 2:", old)
        if any(h <= 24 for _, h in old):
            failures.append(f"at the rare-day gate level the fall should miss 24 h, got {old}")
    for msg in failures:
        print("FAIL:", msg)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
