#!/usr/bin/env python3
"""tools/gw_inject.py: without options it equals gw_dataset.py byte for byte; with --types and
--repeat it injects only those types, that many times per home (on the REFIT traces)."""
import collections
import filecmp
import json
import os
import subprocess
import sys
import tempfile

from tool_check import report

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATASET = "/work/shared/eval/gw_dataset.py"
SRC = "/work/shared/data/refit-15min/households"


def run(*cmd):
    r = subprocess.run([sys.executable] + list(cmd), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def main():
    if not (os.path.exists(DATASET) and os.path.isdir(SRC)):
        print("skipped: shared data not present")
        return 77
    errors = []
    inject = os.path.join(ROOT, "tools", "gw_inject.py")
    with tempfile.TemporaryDirectory() as tmp:
        a, b, c = (os.path.join(tmp, x) for x in "abc")
        run(inject, "--src", SRC, "--out", a, "--seed", "22")
        run(DATASET, "--src", SRC, "--out", b, "--seed", "22")
        for f in ("labels.json", "households.csv", "absences.csv"):
            if not filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False):
                errors.append("%s differs from gw_dataset.py's" % f)
        run(inject, "--types", "collapse_night,high_usage", "--repeat", "3", "--src", SRC,
            "--out", c, "--seed", "22")
        labels = json.load(open(os.path.join(c, "labels.json")))
        per = collections.Counter((i["household"], i["type"]) for i in labels["incidents"])
        if set(t for _, t in per) != {"collapse_night", "high_usage"}:
            errors.append("types %s" % sorted(set(t for _, t in per)))
        if max(per.values()) != 3:
            errors.append("counts per home and type %s" % dict(per))
    return report(errors)


if __name__ == "__main__":
    sys.exit(main())
