#!/usr/bin/env python3
"""tools/gw_inspect.py on constructed labels and alerts: one home, 100 days, 28 warm-up days, a
day collapse on day 40, a high_usage incident on day 60, an ambiguous stretch on day 80. Of
seven alerts, the ones in the warm-up, in an incident's span with its grace (the collapse's end +
24 h, the high use's end + 6 h), in the ambiguous window + 1 day, and the meter_silent one are no
false alarms;
the two others are. The collapse is found by its second alert (the first comes before it), the
high use is missed (its only alert came 7 h after the end)."""
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile

from tool_check import report, rfc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "tools", "gw_inspect.py")
T0 = int(dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc).timestamp())
H, D = 3600, 86400


def alert(t, kind, **ev):
    return {"household": "H0", "opened_at": rfc(t), "kind": kind, "severity": "high",
            "evidence": ev}


def main():
    collapse, high = T0 + 40 * D + 9 * H, T0 + 60 * D + 14 * H
    labels = {
        "warmup_days": 28,
        "households": {"H0": {"meter": "M1", "first": rfc(T0 + 1800), "last": rfc(T0 + 100 * D),
                              "interval_s": 1800}},
        "incidents": [
            {"household": "H0", "type": "collapse_day", "start": rfc(collapse),
             "end": rfc(collapse + 48 * H)},
            {"household": "H0", "type": "high_usage", "start": rfc(high), "end": rfc(high + 5 * H)}],
        "ambiguous": [{"household": "H0", "type": "real_absence", "start": rfc(T0 + 80 * D),
                       "end": rfc(T0 + 82 * D), "reason": "test"}],
    }
    alerts = [
        alert(T0 + 10 * D, "inactivity"),                # warm-up
        alert(collapse - 2 * H, "inactivity", duration_h=9.0),  # a false alarm, before the fall
        alert(collapse + 11.5 * H, "inactivity"),        # finds the collapse, 11.5 h
        alert(collapse + 30 * H, "no_morning_activity"),  # in the collapse's end + 24 h
        alert(high + 12 * H, "high_usage"),              # 7 h after the end: outside
        alert(T0 + 82 * D + 20 * H, "decline"),          # ambiguous end + 1 day
        alert(T0 + 90 * D, "meter_silent"),              # ops, never a welfare false alarm
    ]
    errors = []
    with tempfile.TemporaryDirectory() as d:
        lp, ap = os.path.join(d, "labels.json"), os.path.join(d, "alerts.jsonl")
        with open(lp, "w") as f:
            json.dump(labels, f)
        with open(ap, "w") as f:
            f.writelines(json.dumps(a) + "\n" for a in alerts)

        def run(*args):
            r = subprocess.run([sys.executable, TOOL] + list(args) + [lp, ap],
                               capture_output=True, text=True)
            if r.returncode != 0:
                errors.append("%s failed: %s" % (args, r.stderr))
                return []
            return r.stdout.splitlines()

        fa = run("false-alarms")
        want = ["H0 %s inactivity high {\"duration_h\": 9.0}" % rfc(collapse - 2 * H),
                "H0 %s high_usage high {}" % rfc(high + 12 * H),
                "false alarms 2; by kind: inactivity 1, high_usage 1; by household: H0 2"]
        if fa != want:
            errors.append("false-alarms printed %r, expected %r" % (fa, want))
        only = run("false-alarms", "--kind", "high_usage")
        if len(only) != 2 or not only[0].startswith("H0 %s high_usage" % rfc(high + 12 * H)):
            errors.append("--kind high_usage printed %r" % only)
        inc = run("incidents")
        want = ["collapse_day H0 %s 11.50 h inactivity" % rfc(collapse),
                "high_usage H0 %s MISS" % rfc(high),
                "found 1 of 2"]
        if inc != want:
            errors.append("incidents printed %r, expected %r" % (inc, want))
    return report(errors)


if __name__ == "__main__":
    sys.exit(main())
