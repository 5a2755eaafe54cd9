#!/usr/bin/env python3
"""tools/gw_sim.py: deterministic by seed, the gw_dataset.py format, every incident type,
incidents after the warm-up and 10+ days apart, meter_silent windows really empty,
collapses really at standby, registered absences written to absences.csv."""
import csv
import datetime as dt
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile

from tool_check import report

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIM = os.path.join(ROOT, "tools", "gw_sim.py")
TYPES = {"collapse_day", "collapse_frozen", "collapse_night", "high_usage", "decline",
         "meter_silent", "away_registered"}


def epoch(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def build(out, seed):
    r = subprocess.run([sys.executable, SIM, "--out", out, "--seed", str(seed), "--homes", "4",
                        "--days", "200"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return hashlib.sha256(gzip.open(os.path.join(out, "readings.csv.gz")).read()).hexdigest()


def main():
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        a, b, c = (os.path.join(tmp, x) for x in "abc")
        ha, hb, hc = build(a, 7), build(b, 7), build(c, 8)
        if ha != hb:
            errors.append("same seed gave different readings")
        if ha == hc:
            errors.append("different seeds gave the same readings")
        labels = json.load(open(os.path.join(a, "labels.json")))
        if labels["warmup_days"] != 28 or len(labels["households"]) != 4:
            errors.append("labels header wrong: %r" % {k: labels[k] for k in ("warmup_days",)})
        types = {i["type"] for i in labels["incidents"]} | {x["type"] for x in labels["ambiguous"]}
        if types != TYPES | {"away"}:
            errors.append("incident types %s" % sorted(types))
        rows = {}
        with gzip.open(os.path.join(a, "readings.csv.gz"), "rt") as f:
            r = csv.reader(f)
            if next(r) != ["meter", "ts", "kwh"]:
                errors.append("readings header")
            for meter, ts, kwh in r:
                rows.setdefault(meter, {})[epoch(ts)] = float(kwh)
        for hid, info in labels["households"].items():
            if info["interval_s"] != 900 or not info["first"].endswith("Z"):
                errors.append("%s interval/format" % hid)
            series = rows[info["meter"]]
            first = epoch(info["first"])
            incs = sorted((epoch(i["start"]), epoch(i["end"]), i["type"])
                          for i in labels["incidents"] + labels["ambiguous"] if i["household"] == hid)
            for (s1, _, _), (s2, _, _) in zip(incs, incs[1:]):
                if s2 - s1 < 9 * 86400:  # days 10+ apart; start hours differ within the day
                    errors.append("%s incidents %d s apart" % (hid, s2 - s1))
            for s, e, typ in incs:
                if s < first + 28 * 86400:
                    errors.append("%s %s inside warm-up" % (hid, typ))
                inside = [series[t] for t in series if s < t <= e]
                if typ == "meter_silent" and inside:
                    errors.append("%s meter_silent window has %d readings" % (hid, len(inside)))
                if typ == "collapse_day":
                    night = sorted(v for t, v in series.items()
                                   if s - 14 * 86400 < t < s and 2 <= (t % 86400) / 3600 < 5)
                    if max(inside) > 2 * night[len(night) * 9 // 10]:
                        errors.append("%s collapse above night level: %.3f" % (hid, max(inside)))
        absences = list(csv.DictReader(open(os.path.join(a, "absences.csv"))))
        n_reg = sum(1 for i in labels["incidents"] if i["type"] == "away_registered")
        if len(absences) != n_reg or (absences and absences[0]["reason"] != "visiting family"):
            errors.append("absences.csv rows %d, registered %d" % (len(absences), n_reg))
    return report(errors)


if __name__ == "__main__":
    sys.exit(main())
