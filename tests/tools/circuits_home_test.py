#!/usr/bin/env python3
"""tools/circuits_home.py: sums a row's circuits, moves readings inside US daylight time an hour
later (an hour missing in March, the repeated hour of November dropped), skips a bad row with a
message naming its line, and writes the same home once per copy; on the shared single-occupant
file, every half-hour of 2014-01-01 .. 11-30 but the two repeated ones."""
import csv
import gzip
import os
import subprocess
import sys
import tempfile

from tool_check import report

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "tools", "circuits_home.py")
SHARED = "/work/shared/data/single-occupant/circuits.csv.gz"


def run(*args):
    return subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True)


def rows_of(path):
    with open(path, newline="") as f:
        return [r for r in csv.reader(f)][1:]


def main():
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "circuits.csv.gz")
        lines = ["timestamp,Fridge,Lights,Range"]
        # Around the spring change (02:00 standard, 9 March 2014) and the autumn one (01:00
        # standard, 2 November 2014), plus a winter row and a bad row.
        lines += ["2014-01-15 12:00:00,0.1,0.2,0.3",
                  "2014-03-09 01:30:00,0.01,0.02,0.03",
                  "2014-03-09 02:00:00,0.02,0.02,0.02",
                  "2014-03-09 02:30:00,oops,0.02,0.02",
                  "2014-11-02 00:00:00,0.05,0,0",
                  "2014-11-02 00:30:00,0.06,0,0",
                  "2014-11-02 01:00:00,0.07,0,0",
                  "2014-11-02 01:30:00,0.08,0,0",
                  "2014-11-02 02:00:00,0.09,0,0"]
        with gzip.open(src, "wt") as f:
            f.write("\n".join(lines) + "\n")
        out = os.path.join(tmp, "homes")
        r = run("--src", src, "--out", out, "--copies", "3")
        if r.returncode:
            return report(["exit %d: %s" % (r.returncode, r.stderr)])
        if "circuits.csv.gz:5:" not in r.stderr:
            errors.append("the bad row's line is not named: %r" % r.stderr)
        files = sorted(os.listdir(out))
        if files != ["SO00.csv", "SO01.csv", "SO02.csv"]:
            errors.append("files %s" % files)
        want = [["SO01", "2014-01-15 12:00:00", "0.600000"],
                ["SO01", "2014-03-09 01:30:00", "0.060000"],
                ["SO01", "2014-03-09 03:00:00", "0.060000"],   # 02:00 standard is 03:00 daylight
                ["SO01", "2014-11-02 01:00:00", "0.050000"],   # 00:00 standard, still daylight
                ["SO01", "2014-11-02 01:30:00", "0.060000"],
                ["SO01", "2014-11-02 02:00:00", "0.090000"]]   # 01:00 and 01:30 repeat: dropped
        got = rows_of(os.path.join(out, "SO01.csv"))
        if got != want:
            errors.append("rows %s, want %s" % (got, want))
        if rows_of(os.path.join(out, "SO00.csv"))[0][0] != "SO00":
            errors.append("copy 0 not named SO00")
        none = os.path.join(tmp, "none")
        run("--src", src, "--out", none, "--dst", "none", "--scale", "0.5")
        got = [r[1:] for r in rows_of(os.path.join(none, "SO00.csv"))]
        if got[2] != ["2014-03-09 02:00:00", "0.030000"] or len(got) != 8:
            errors.append("--dst none --scale 0.5: %s" % got)
        if run("--src", src, "--out", out, "--copies", "0").returncode == 0:
            errors.append("--copies 0 accepted")
        if os.path.exists(SHARED):
            real = os.path.join(tmp, "real")
            r = run("--src", SHARED, "--out", real)
            n = len(rows_of(os.path.join(real, "SO00.csv")))
            if r.returncode or n != 334 * 48 - 2:
                errors.append("shared file: exit %d, %d readings (want %d)" %
                              (r.returncode, n, 334 * 48 - 2))
    return report(errors)


if __name__ == "__main__":
    sys.exit(main())
