#!/usr/bin/env python3
"""Writes a synthetic alerts.jsonl for a labels.json: for testing the scoring pipeline.

For each incident, with probability --hit-p, an alert of the right class (meter_silent for
meter_silent, a welfare kind otherwise) opens at start + a random delay (0-30 h for
collapses, so some miss the 24 h deadline; 0-end+8 h otherwise); each registered absence
gets an alert inside with probability --suppress-fail-p; and --fa-per-year random welfare
false alarms per household-year land anywhere in each home's span. Deterministic by --seed.

Usage: gw_fake_alerts.py LABELS.json OUT.jsonl [--seed 1] [--hit-p 0.8] [--fa-per-year 5]
"""
import argparse
import datetime as dt
import json
import random

UTC = dt.timezone.utc


def epoch(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def iso(t):
    return dt.datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("labels")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hit-p", type=float, default=0.8)
    ap.add_argument("--suppress-fail-p", type=float, default=0.1)
    ap.add_argument("--fa-per-year", type=float, default=5.0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    labels = json.load(open(args.labels))
    alerts = []
    for inc in labels["incidents"]:
        s, e = epoch(inc["start"]), epoch(inc["end"])
        typ = inc["type"]
        if typ == "away_registered":
            if rng.random() < args.suppress_fail_p:
                alerts.append((inc["household"], "inactivity", rng.uniform(s, e)))
            continue
        if rng.random() >= args.hit_p:
            continue
        if typ.startswith("collapse"):
            t = s + rng.uniform(0, 30 * 3600)
        else:
            t = s + rng.uniform(0, e - s + 8 * 3600)
        kind = {"meter_silent": "meter_silent", "high_usage": "high_usage",
                "decline": "decline"}.get(typ, rng.choice(["inactivity", "no_morning_activity",
                                                           "frozen"]))
        alerts.append((inc["household"], kind, t))
        if rng.random() < 0.3:  # a reopened alert half an hour later
            alerts.append((inc["household"], kind, t + 1800))
    for hid, info in labels["households"].items():
        a, b = epoch(info["first"]), epoch(info["last"])
        n = int(args.fa_per_year * (b - a) / (365 * 86400) + rng.random())
        for _ in range(n):
            alerts.append((hid, rng.choice(["inactivity", "low_daily_usage", "frozen",
                                            "meter_silent"]), rng.uniform(a, b)))
    alerts.sort(key=lambda x: (x[2], x[0]))
    with open(args.out, "w") as f:
        for hid, kind, t in alerts:
            f.write(json.dumps({"household": hid, "kind": kind, "opened_at": iso(t),
                                "severity": "warning"}) + "\n")
    print("%d alerts" % len(alerts))


if __name__ == "__main__":
    main()
