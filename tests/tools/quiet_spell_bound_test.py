#!/usr/bin/env python3
"""tools/quiet_spell_bound.py on a constructed set: one home, 400 days at 30 min, up 07-22 h
every day except on known days out (10 h or 20 h at night standby, starting 09:00), and one
day out at a level above the night's (a light left on) that the night-like test must reject.
The counts of natural spells and the oracle's thresholds (where a small budget is best spent),
with five start-time classes and with eight (--fine), must come out as constructed; so must the
false alarms and delays of the learned rules (--causal) on a second home, worked out by hand
below."""
import datetime as dt
import json
import os
import random
import sys
from zoneinfo import ZoneInfo

from tool_check import report, run_on_set, write_one_home_set

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "tools", "quiet_spell_bound.py")
T0 = int(dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc).timestamp())
DAYS = 400
OUT_10H = {40, 80, 120, 160, 200, 240, 280, 320}  # days out 09:00-19:00
OUT_20H = {60, 260}                               # out 09:00-05:00, asleep to 07:00
LIT = 300                                         # 09:00-19:00 at 3x the night level
COLLAPSE_DAY = 350                                # labelled: must not count as natural


def build(d):
    rng = random.Random(7)
    rows = []
    for i in range(1, DAYS * 48 + 1):
        t = T0 + i * 1800
        day, h = (t - 900 - T0) // 86400, ((t - 900 - T0) % 86400) / 3600
        x = 0.05 + 0.01 * (i % 3)  # night standby, a fridge cycling
        awake = 7 <= h < 22
        for od, dur in [(o, 10) for o in OUT_10H] + [(o, 20) for o in OUT_20H]:
            off = (t - 900) - (T0 + od * 86400 + 9 * 3600)
            if 0 <= off < dur * 3600:
                awake = False
        if day == COLLAPSE_DAY and h >= 9:
            awake = False
        if awake:
            x += 0.2 + 0.3 * rng.random()
        if day == LIT and 9 <= h < 19:
            x = 0.18
        rows.append((t, x))
    start = T0 + COLLAPSE_DAY * 86400 + 9 * 3600
    write_one_home_set(d, T0, DAYS, rows, [("collapse_day", start, start + 48 * 3600)])


# --causal runs on a second home, in Europe/London time: up 07-22 h local, out (local day, hour,
# hours) on these days; its spells by class (see check_causal).
LONDON = "Europe/London"
OUT_CAUSAL = ((10, 17, 5), (40, 10.5, 10), (60, 10.5, 11.5), (100, 16, 6), (150, 10.5, 58),
              (240, 10.5, 10))
COLLAPSE_DAY_AT = (300, 10.5)    # 28 October 2023, British Summer Time
COLLAPSE_NIGHT_AT = (350, 23.0)  # 17 December


def local_ts(day, hour):
    d = dt.datetime(2023, 1, 1) + dt.timedelta(days=day, hours=hour)
    return int(d.replace(tzinfo=ZoneInfo(LONDON)).timestamp())


def build_causal(d):
    tz = ZoneInfo(LONDON)
    rng = random.Random(11)
    away = [(local_ts(day, h), local_ts(day, h) + int(n * 3600)) for day, h, n in OUT_CAUSAL]
    away += [(local_ts(*at), local_ts(*at) + 48 * 3600) for at in (COLLAPSE_DAY_AT,
                                                                    COLLAPSE_NIGHT_AT)]
    rows = []
    for i in range(1, DAYS * 48 + 1):
        t = T0 + i * 1800
        mid = dt.datetime.fromtimestamp(t - 900, tz)
        x = 0.05 + 0.01 * (i % 3)
        if 7 <= mid.hour < 22 and not any(a <= t - 900 < b for a, b in away):
            x += 0.2 + 0.3 * rng.random()
        rows.append((t, x))
    write_one_home_set(d, T0, DAYS, rows, [
        ("collapse_day", local_ts(*COLLAPSE_DAY_AT), local_ts(*COLLAPSE_DAY_AT) + 48 * 3600),
        ("collapse_night", local_ts(*COLLAPSE_NIGHT_AT),
         local_ts(*COLLAPSE_NIGHT_AT) + 48 * 3600)])


def check_causal(errors, years):
    """The learned rules, worked out by hand. Natural spells: 10-13 h class — day 40 (10 h),
    60 (to 07:00: 20.5 h), 150 (58 h), 240 (10 h); 16-20 h — day 10 (to 07:00: 14 h, in the
    warm-up: learned, never a false alarm, though it outlasts its 11.5-h cold threshold) and 100
    (15 h: exactly the threshold, 14 + 1 h, which alerts); 22-02 h — the nightly 9 h of sleep
    (8 h on the night the clocks go forward), never as long as 9 + 1 h. The cold length has
    faded to 6.2 h on day 40 (5.8 weeks) and 3.4 h on day 60.
    * longest of 24 weeks, x 1, spells under 30 h: day 40 (7.2 h), 60 (11), 150 (21.5), 240
      (day 60's left the window, day 150's not learned: 3 h) and 100 (15): 5 false alarms; the
      day collapse waits 11 h (day 240's 10 + 1; in UTC it would fall in the 07-10 h class),
      the night collapse 10 h.
    * the same learning every spell: day 240 waits 59 h, not a false alarm; the day collapse too
      (missed).
    * longest of 48 weeks, under 30 h: day 240 waits 21.5 h; 4 false alarms; collapse 21.5 h.
    * 2nd longest of 48 weeks: day 60 (one spell before: the cold length), 150 (10 + 1), not 240;
      day 100 (one spell before: 3 h); collapses 11 and 10 h.
    * longest x 2: only day 150 (2 x 20.5 + 1 = 42 h); the day collapse waits 42 h, the night
      collapse 19 h."""
    stdout = run_on_set(build_causal, TOOL, "--json", "--budgets", "1", "--causal",
                        "--timezone", LONDON)
    if stdout is None:
        errors.append("--causal failed")
        return
    rows = {(r["window_weeks"], r["rank"], r["factor"], r["learn_max_h"]): r
            for r in json.loads(stdout)["causal"]}
    for rule, fa, recall, delay in (((24, 1, 1.0, 30.0), 5, 1.0, 10.5),
                                    ((24, 1, 1.0, None), 4, 0.5, 34.5),
                                    ((48, 1, 1.0, 30.0), 4, 1.0, 15.75),
                                    ((48, 2, 1.0, 30.0), 4, 1.0, 10.5),
                                    ((48, 1, 2.0, 30.0), 1, 0.5, 30.5)):
        r = rows.get(rule)
        want = (round(fa / years, 2), recall, delay)
        if r is None or (r["fa_per_hh_year"], r["recall_24h"], r["median_delay_h"]) != want:
            errors.append("--causal %s: %s, want FA/hh-yr, recall, delay %s" % (rule, r, want))


def main():
    errors = []
    stdout = run_on_set(build, TOOL, "--json", "--budgets", "1,2,20")
    if stdout is None:
        return 1
    out = json.loads(stdout)
    years = (DAYS - 28) / 365.0
    day = out["natural_spells_per_hh_year_at_least_h"]["day"]
    # 10 spells of >= 10 h start at 09:00 (the 8 + the 2 long ones, 22 h to the next 07:00); 2 of
    # them reach 16 h and none 24 h; the lit day and the labelled collapse are not natural
    # night-like spells.
    for D, n in (("8", 10), ("12", 2), ("16", 2), ("24", 0)):
        want = round(n / years, 1)
        if abs(day[D] - want) > 0.051:
            errors.append("day spells >= %s h: %s per year, want %s" % (D, day[D], want))
    # All day spells start in the 07-10 h class: two of 22 h, eight of 10 h. Budget 1 (one false
    # alarm in the scored year) cannot buy the step below 22 h, which costs both 22-h spells:
    # the threshold stays just above 22 h. Budget 2 buys it: just above 10 h. Budget 20 buys the
    # ten spells: the floor, 0.5 h. The nightly sleep (9 h from 22:00, ~370 of them) is never
    # worth its cost, so the night threshold stays just above 9 h.
    for o, thr, fa in zip(out["oracle"], (22.5, 10.5, 0.5), (0, 2, 10)):
        got = o["median_threshold_h"]
        if got["07-10"] != thr or got["22-02"] != 9.5:
            errors.append("budget %g: thresholds %s, want 07-10 h %s and 22-02 h 9.5" % (
                o["budget_fa_per_hh_year"], got, thr))
        if abs(o["realized_fa_per_hh_year"] - round(fa / years, 2)) > 0.011:
            errors.append("budget %g: %s false alarms a year, want %s" % (
                o["budget_fa_per_hh_year"], o["realized_fa_per_hh_year"], round(fa / years, 2)))
    # --fine: eight classes; the same spells fall in 09-11 h and 22-24 h, and the empty 00-02 h
    # class costs nothing, so its threshold is the floor.
    fine = run_on_set(build, TOOL, "--json", "--budgets", "2", "--fine")
    if fine is None:
        return 1
    got = json.loads(fine)["oracle"][0]["median_threshold_h"]
    if (got.get("09-11"), got.get("22-24"), got.get("00-02")) != (10.5, 9.5, 0.5):
        errors.append("--fine, budget 2: thresholds %s, want 09-11 h 10.5, 22-24 h 9.5, "
                      "00-02 h 0.5" % got)
    check_causal(errors, years)
    # --classes 2 and 6: the day spells (09:00) fall in 07-20 h and 06-10 h; a class without
    # spells costs nothing (the floor).
    for n, want in ((2, {"07-20": 10.5, "22-02": 9.5}),
                    (6, {"06-10": 10.5, "10-14": 0.5, "14-18": 0.5, "18-22": 0.5, "02-06": 0.5,
                         "22-02": 9.5})):
        o = run_on_set(build, TOOL, "--json", "--budgets", "2", "--classes", str(n))
        got = json.loads(o)["oracle"][0]["median_threshold_h"] if o else None
        if got != want:
            errors.append("--classes %d, budget 2: thresholds %s, want %s" % (n, got, want))
    o1 = out["oracle"][0]
    if o1["recall_24h"] != 1.0 or o1["median_delay_h"] != 22.5 or out["collapses"] != 1:
        errors.append("oracle recall %s, delay %s, of %s collapses" % (
            o1["recall_24h"], o1["median_delay_h"], out["collapses"]))
    return report(errors)


if __name__ == "__main__":
    sys.exit(main())
