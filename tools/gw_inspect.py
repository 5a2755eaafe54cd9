#!/usr/bin/env python3
"""Looks inside a scored replay: which alerts were false alarms, and what found each incident.

  tools/gw_inspect.py false-alarms LABELS ALERTS [--kind K]
      one line per welfare alert that EVALUATION.md counts as a false alarm (outside every
      incident window with its grace, every ambiguous window + 1 day, and the warm-up):
      household, opened_at, kind, severity, then its evidence as JSON; a last line counts
      them by kind and by household.
  tools/gw_inspect.py incidents LABELS ALERTS [--type T]
      one line per scored incident: type, household, start, and the first alert of the right
      class in its window (delay in hours and kind) or MISS; a last line gives hits / total.

LABELS is a set's labels.json, ALERTS the alerts.jsonl of `gridwatch replay` (e.g.
work/eval/<set>/alerts.jsonl after `scripts/eval run`). The windows are tools/gw_scorer.py's,
which agree with /work/shared/eval/gw_score.py (CTest tools_scorer_crosscheck). Standard
library only.
"""
import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gw_scorer import (AMBIGUOUS_GRACE_S, DAY, GRACE_S, HOUR, epoch,  # noqa: E402
                       found_window, load_alerts)


def excluded_windows(labels):
    """household -> [(lo, hi)] in which a welfare alert is not a false alarm."""
    out = {}
    for inc in labels["incidents"]:
        s, e = epoch(inc["start"]), epoch(inc["end"])
        out.setdefault(inc["household"], []).append((s, e + GRACE_S[inc["type"]]))
    for amb in labels["ambiguous"]:
        out.setdefault(amb["household"], []).append(
            (epoch(amb["start"]), epoch(amb["end"]) + AMBIGUOUS_GRACE_S))
    return out


def false_alarms(labels, alerts, kind=None):
    wins = excluded_windows(labels)
    found = []
    for a in alerts:
        hid, k = a["household"], a.get("kind", "")
        info = labels["households"].get(hid)
        if info is None or k == "meter_silent" or (kind and k != kind):
            continue
        t = epoch(a["opened_at"])
        if t < epoch(info["first"]) + labels["warmup_days"] * DAY:
            continue
        if any(lo <= t <= hi for lo, hi in wins.get(hid, [])):
            continue
        found.append(a)
    return found


def incidents(labels, alerts, typ=None):
    """[(incident, first alert of the right class in its window or None)]."""
    by_house = {}
    for a in alerts:
        by_house.setdefault(a["household"], []).append(a)
    rows = []
    for inc in labels["incidents"]:
        if inc["type"] == "away_registered" or (typ and inc["type"] != typ):
            continue
        lo, hi = found_window(inc)
        silent = inc["type"] == "meter_silent"
        hits = sorted((a for a in by_house.get(inc["household"], [])
                       if (a.get("kind") == "meter_silent") == silent
                       and lo <= epoch(a["opened_at"]) <= hi),
                      key=lambda a: epoch(a["opened_at"]))
        rows.append((inc, hits[0] if hits else None))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    fa = sub.add_parser("false-alarms")
    fa.add_argument("labels")
    fa.add_argument("alerts")
    fa.add_argument("--kind")
    inc = sub.add_parser("incidents")
    inc.add_argument("labels")
    inc.add_argument("alerts")
    inc.add_argument("--type")
    args = ap.parse_args()
    with open(args.labels) as f:
        labels = json.load(f)
    alerts = load_alerts(args.alerts)
    if args.cmd == "false-alarms":
        rows = false_alarms(labels, alerts, args.kind)
        for a in rows:
            print(a["household"], a["opened_at"], a.get("kind", ""), a.get("severity", ""),
                  json.dumps(a.get("evidence", {}), sort_keys=True))
        kinds = collections.Counter(a.get("kind", "") for a in rows)
        homes = collections.Counter(a["household"] for a in rows)
        print("false alarms %d; by kind: %s; by household: %s" % (
            len(rows), ", ".join("%s %d" % kv for kv in kinds.most_common()),
            ", ".join("%s %d" % kv for kv in homes.most_common())))
    else:
        rows = incidents(labels, alerts, args.type)
        for i, a in rows:
            s = epoch(i["start"])
            what = ("%.2f h %s" % ((epoch(a["opened_at"]) - s) / HOUR, a.get("kind", ""))
                    if a else "MISS")
            print(i["type"], i["household"], i["start"], what)
        print("found %d of %d" % (sum(1 for _, a in rows if a), len(rows)))


if __name__ == "__main__":
    main()
