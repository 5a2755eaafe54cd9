#!/usr/bin/env python3
"""tools/high_usage_bound.py on a constructed set: one home, 200 days at 30 min, a steady
routine, with known heavy-use episodes of its own (2 kW for 5 h on 6 days, 2 kW for 2 h on 4
days, 0.5 kW for 6 h on 3 days) and two labelled high_usage incidents (2 kW for 6 h, and for 5 h
as the home's own long episodes). Only the 6 long, large episodes are counted; the short ones,
the small ones and the labelled ones are not. The oracle, allowed one natural episode in the
scored 172 days (budget 2 a year), can take only a 6-h rule: it catches the 6-h incident and
takes no false alarm; allowed 8 (budget 16), it takes a 5-h rule, catches both and pays the 6
natural episodes."""
import datetime as dt
import json
import os
import re
import sys

from tool_check import report, run_on_set, write_one_home_set

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "tools", "high_usage_bound.py")
T0 = int(dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc).timestamp())
DAYS = 200
LONG = {40, 60, 80, 100, 120, 140}  # +2 kW 14:00-19:00
SHORT = {50, 70, 90, 110}           # +2 kW 14:00-16:00
SMALL = {130, 150, 160}             # +0.5 kW 12:00-18:00
INCIDENT = 180                      # +2 kW 14:00-20:00, labelled
INCIDENT2 = 190                     # +2 kW 14:00-19:00, labelled


def build(d):
    rows = []
    for i in range(1, DAYS * 48 + 1):
        t = T0 + i * 1800
        day, h = (t - 900 - T0) // 86400, ((t - 900 - T0) % 86400) / 3600
        x = 0.05 + (0.2 if 7 <= h < 22 else 0.0) + 0.01 * (i % 3)
        if (day in LONG and 14 <= h < 19) or (day in SHORT and 14 <= h < 16) or (
                day == INCIDENT and 14 <= h < 20) or (day == INCIDENT2 and 14 <= h < 19):
            x += 1.0  # 2 kW for half an hour
        if day in SMALL and 12 <= h < 18:
            x += 0.25
        rows.append((t, x))
    start = T0 + INCIDENT * 86400 + 14 * 3600
    start2 = T0 + INCIDENT2 * 86400 + 14 * 3600
    write_one_home_set(d, T0, DAYS, rows, [("high_usage", start, start + 6 * 3600),
                                           ("high_usage", start2, start2 + 5 * 3600)])


def main():
    errors = []
    stdout = run_on_set(build, TOOL)
    if stdout is None:
        return 1
    m = re.search(r": ([0-9.]+) per household-year", stdout)
    want = round(len(LONG) / ((DAYS - 28) / 365.0), 1)
    if not m or abs(float(m.group(1)) - want) > 0.051:
        errors.append("got %r, want %s per household-year" % (stdout.strip(), want))
    out = run_on_set(build, TOOL, "--budgets", "2,16", "--json")
    if out is None:
        return 1
    orc = {o["budget_fa_per_hh_year"]: o for o in json.loads(out)["oracle"]}
    years = (DAYS - 28) / 365.0
    for budget, recall, fa in ((2.0, 0.5, 0.0), (16.0, 1.0, round(len(LONG) / years, 2))):
        o = orc.get(budget, {})
        if o.get("recall") != recall or abs(o.get("realized_fa_per_hh_year", -1) - fa) > 0.011:
            errors.append("budget %g: got %r, want recall %s at %s FA" % (budget, o, recall, fa))
    return report(errors)


if __name__ == "__main__":
    sys.exit(main())
