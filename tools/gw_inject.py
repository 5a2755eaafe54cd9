#!/usr/bin/env python3
"""Injects labelled incidents into any folder of real traces: a thin wrapper of
/work/shared/eval/gw_dataset.py that adds the choice of incident types and counts.

gw_dataset.py already does the injection (same rules as EVALUATION.md, same output format);
this wrapper does not duplicate it. It imports gw_dataset.py and replaces its per-home plan
(by default each of the eight types once per home) by the one asked for:

  --types collapse_day,collapse_night   only these types, each once per home
  --repeat 3                            each type that many times per home (the trace must be
                                        long enough: 10+ days apart after warm-up + 7 days,
                                        14 days before the end; gw_dataset.py places what fits)

Every other option is gw_dataset.py's own (--src --out --seed --households --limit
--per-home). Without --types/--repeat, the output equals gw_dataset.py's byte for byte.
The at-home selection: tools/athome_filter.py --src DIR gives the --households list.

Usage: gw_inject.py [--types A,B] [--repeat N] [--dataset PATH] --src DIR --out DIR --seed N ...
"""
import argparse
import importlib.util
import os
import sys

DEFAULT_DATASET = os.environ.get("GW_DATASET", "/work/shared/eval/gw_dataset.py")


def main():
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--types", default="")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--dataset", default=DEFAULT_DATASET)
    ap.add_argument("-h", "--help", action="store_true")
    ours, rest = ap.parse_known_args()
    if ours.help:
        print(__doc__)
        return 0
    spec = importlib.util.spec_from_file_location("gw_dataset", ours.dataset)
    ds = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ds)
    types = [t for t in ours.types.split(",") if t] or list(ds.PLAN)
    unknown = [t for t in types if t not in ds.PLAN]
    if unknown or ours.repeat < 1:
        sys.exit("gw_inject: unknown types %s (known: %s) or --repeat < 1" %
                 (",".join(unknown), ",".join(ds.PLAN)))
    ds.PLAN = types * ours.repeat
    sys.argv = [ours.dataset] + rest
    ds.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
