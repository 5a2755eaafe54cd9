#!/usr/bin/env python3
"""tools/gw_scorer.py agrees with /work/shared/eval/gw_score.py on every figure.

Builds a small simulated set (tools/gw_sim.py) and, when present, uses the shared
dev-london labels too; generates synthetic alerts (tools/gw_fake_alerts.py) with hits, late
hits, reopenings, suppression failures and false alarms; runs gw_scorer.py --crosscheck.
Also checks that the crosscheck does fail when a figure differs (a doctored judge).
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(ROOT, "tools")
JUDGE = "/work/shared/eval/gw_score.py"


def run(*cmd):
    return subprocess.run([sys.executable] + list(cmd), capture_output=True, text=True)


def main():
    if not os.path.exists(JUDGE):
        print("skipped: %s not present" % JUDGE)
        return 77
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        sim = os.path.join(tmp, "sim")
        r = run(os.path.join(TOOLS, "gw_sim.py"), "--out", sim, "--seed", "5", "--homes", "6",
                "--days", "200")
        assert r.returncode == 0, r.stderr
        sets = [os.path.join(sim, "labels.json")]
        dev = "/work/shared/data/dev-london/labels.json"
        if os.path.exists(dev):
            sets.append(dev)
        for labels in sets:
            for seed, fa in ((1, 0.0), (2, 5.0), (3, 40.0)):
                alerts = os.path.join(tmp, "alerts-%d.jsonl" % seed)
                r = run(os.path.join(TOOLS, "gw_fake_alerts.py"), labels, alerts, "--seed",
                        str(seed), "--fa-per-year", str(fa))
                assert r.returncode == 0, r.stderr
                r = run(os.path.join(TOOLS, "gw_scorer.py"), "--crosscheck", labels, alerts)
                ok = r.returncode == 0
                fails += not ok
                print("%s %s seed %d fa %.0f: %s" % ("ok  " if ok else "FAIL", labels, seed, fa,
                                                     r.stdout.strip().replace("\n", "; ")))
        # The crosscheck must notice a difference: a judge whose false-alarm count is off by one.
        bad = os.path.join(tmp, "bad_judge.py")
        with open(bad, "w") as f:
            f.write(open(JUDGE).read().replace('"false_alarms": false_welfare,',
                                               '"false_alarms": false_welfare + 1,'))
        r = run(os.path.join(TOOLS, "gw_scorer.py"), "--crosscheck", "--judge", bad,
                sets[0], os.path.join(tmp, "alerts-2.jsonl"))
        noticed = r.returncode == 1 and "false_alarms: ours" in r.stdout
        fails += not noticed
        print("%s doctored judge is caught: %s" % ("ok  " if noticed else "FAIL",
                                                   r.stdout.strip().replace("\n", "; ")))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
