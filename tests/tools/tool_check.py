"""Shared parts of the tool tests: a one-home evaluation set on disk, and the verdict."""
import datetime as dt
import gzip
import json
import os
import subprocess
import sys
import tempfile


def rfc(t):
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_one_home_set(d, t0, days, readings, incidents):
    """Writes gw_dataset.py's layout for one home (H0, meter M1, 30-min readings from t0 for
    `days` days, 28 warm-up days): readings is [(ts, kwh)], incidents [(type, start, end)]."""
    with gzip.open(os.path.join(d, "readings.csv.gz"), "wt") as f:
        f.write("meter,ts,kwh\n")
        f.writelines("M1,%s,%.4f\n" % (rfc(t), x) for t, x in readings)
    labels = {"warmup_days": 28,
              "households": {"H0": {"meter": "M1", "first": rfc(t0 + 1800),
                                    "last": rfc(t0 + days * 86400), "interval_s": 1800}},
              "incidents": [{"household": "H0", "type": k, "start": rfc(s), "end": rfc(e)}
                            for k, s, e in incidents],
              "ambiguous": []}
    with open(os.path.join(d, "labels.json"), "w") as f:
        json.dump(labels, f)


def run_on_set(build, tool, *args):
    """Builds a set in a temporary directory with build(dir), runs the tool on it and returns
    its standard output (None, with its errors printed, if it failed)."""
    with tempfile.TemporaryDirectory() as d:
        build(d)
        r = subprocess.run([sys.executable, tool, d] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr)
        return None
    return r.stdout


def report(errors):
    for e in errors:
        print("FAIL", e)
    print("ok" if not errors else "%d failures" % len(errors))
    return 1 if errors else 0
