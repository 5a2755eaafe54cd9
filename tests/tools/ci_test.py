#!/usr/bin/env python3
"""tools/gw_ci.py on constructed sets of ten homes (100 days, 28 warm-up days).

Home H0 has ten day collapses, all missed, and a false alarm on each of ten days; homes H1..H9
have one collapse each, found 10 h after its start, and no false alarm. Pooled: 9 of 19
collapses, 10 false alarms over ten homes' scored time. Resampled by household, a resample
without H0 (a third of them) finds every collapse and has no false alarm, one with three
copies of it finds under a fifth: the interval spans [<= 0.3, 1.0]. Resampled by incident it
would be about [0.26, 0.68] and never reach 1.0 — what the test tells apart. A second draw of
the same homes with `--same-homes` resamples ten units, not twenty; the same seed prints the
same figures; an odd number of paths is refused."""
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile

from tool_check import report, rfc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "tools", "gw_ci.py")
T0 = int(dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc).timestamp())
H, D = 3600, 86400


def build_set(d, name):
    homes = ["H%d" % i for i in range(10)]
    labels = {"warmup_days": 28, "incidents": [], "ambiguous": [],
              "households": {h: {"meter": "M" + h, "first": rfc(T0 + 1800),
                                 "last": rfc(T0 + 100 * D), "interval_s": 1800} for h in homes}}
    alerts = []
    for k in range(10):  # H0: ten collapses 6 days apart, none found; a false alarm between
        s = T0 + (30 + 6 * k) * D + 9 * H
        labels["incidents"].append({"household": "H0", "type": "collapse_day", "start": rfc(s),
                                    "end": rfc(s + 48 * H)})
        alerts.append({"household": "H0", "kind": "inactivity", "opened_at": rfc(s + 4 * D)})
    for i in range(1, 10):
        s = T0 + 50 * D + 10 * H
        labels["incidents"].append({"household": homes[i], "type": "collapse_day",
                                    "start": rfc(s), "end": rfc(s + 48 * H)})
        alerts.append({"household": homes[i], "kind": "inactivity", "opened_at": rfc(s + 10 * H)})
    lp, ap = os.path.join(d, name + "-labels.json"), os.path.join(d, name + "-alerts.jsonl")
    with open(lp, "w") as f:
        json.dump(labels, f)
    with open(ap, "w") as f:
        f.writelines(json.dumps(a) + "\n" for a in alerts)
    return [lp, ap]


def main():
    errors = []
    with tempfile.TemporaryDirectory() as d:
        one = build_set(d, "a")
        two = build_set(d, "b")

        def run(*args):
            r = subprocess.run([sys.executable, TOOL, "--json"] + list(args),
                               capture_output=True, text=True)
            if r.returncode != 0:
                errors.append("%s failed: %s" % (args, r.stderr))
                return None
            return json.loads(r.stdout)

        out = run("--boot", "400", *one)
        if out:
            c = out["figures"]["collapse@24h"]
            if c["value"] != round(9 / 19, 3):
                errors.append("pooled collapse@24h %s, expected %s" % (c["value"], round(9 / 19, 3)))
            if c["high"] != 1.0 or c["low"] > 0.3:
                errors.append("collapse@24h interval [%s, %s]: not resampled by household"
                              % (c["low"], c["high"]))
            fa = out["figures"]["welfare FA/hh-yr"]
            years = (10 * (100 - 28) - 10 * 3 - 9 * 3) / 365  # less the 3-day collapse windows
            if abs(fa["value"] - 10 / years) > 0.01:
                errors.append("pooled FA/hh-yr %s, expected %.3f" % (fa["value"], 10 / years))
            if fa["low"] != 0.0:
                errors.append("FA interval starts at %s: resamples without H0 have none" % fa["low"])
            if out["units"] != 10:
                errors.append("%s units, expected 10 homes" % out["units"])
        again = run("--boot", "400", *one)
        if out and again != out:
            errors.append("the same seed printed different figures")
        both = run("--boot", "50", "--same-homes", *(one + two))
        if both and (both["units"] != 10 or both["figures"]["collapse@24h"]["value"] != round(9 / 19, 3)):
            errors.append("--same-homes: %s units, collapse@24h %s (expected 10, %s)" %
                          (both["units"], both["figures"]["collapse@24h"]["value"], round(9 / 19, 3)))
        apart = run("--boot", "50", *(one + two))
        if apart and apart["units"] != 20:
            errors.append("two sets apart: %s units, expected 20" % apart["units"])
        r = subprocess.run([sys.executable, TOOL] + one + one[:1], capture_output=True, text=True)
        if r.returncode == 0 or "pairs" not in r.stderr:
            errors.append("an odd number of paths was not refused: %r" % r.stderr)
    return report(errors)


if __name__ == "__main__":
    sys.exit(main())
