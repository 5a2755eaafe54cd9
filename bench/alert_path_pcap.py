#!/usr/bin/env python3
"""Where an alert's latency goes, from a packet capture of the broker's port taken during
`bench/broker_bench.sh --probe-homes N --pcap FILE` (tcpdump on the loopback interface).

For each trigger home it finds, by the time the packets crossed the loopback interface:
  1. the opener reading arriving at the broker (from the probe) -> delivered to gridwatch,
  2. delivered to gridwatch -> gridwatch's alert arriving at the broker,
  3. the alert arriving at the broker -> delivered to the probe's subscription,
and prints p50/p99 of each leg. The connections are told apart by what they carry: alerts come
from gridwatch's publishing connection and go to the probe's subscription, which also gets the
openers; gridwatch's readings connection is the other one the openers go to.

  bench/alert_path_pcap.py capture.pcap
"""
import collections
import re
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        head = f.read(24)
        magic = struct.unpack("<I", head[:4])[0]
        scale = 1e9 if magic == 0xA1B23C4D else 1e6
        link = struct.unpack("<I", head[20:24])[0]
        l2 = {1: 14, 113: 16, 0: 4}.get(link, 14)
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            sec, frac, incl, _ = struct.unpack("<IIII", h)
            data = f.read(incl)
            ip = data[l2:]
            if len(ip) < 20 or ip[0] >> 4 != 4:
                continue
            tcp = ip[(ip[0] & 15) * 4:]
            sport, dport = struct.unpack(">HH", tcp[:4])
            yield sec + frac / scale, sport, dport, tcp[(tcp[12] >> 4) * 4:]


def quantile(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))] * 1000 if v else float("nan")


def main():
    seen = collections.defaultdict(dict)  # (kind, home) -> {(sport, dport): first time}
    for t, sport, dport, payload in packets(sys.argv[1]):
        for m in re.finditer(rb"probe/T(\d{7})", payload):
            seen[("opener", int(m.group(1)))].setdefault((sport, dport), t)
        for m in re.finditer(rb'"household":"HT(\d{7})"', payload):
            # Only the no_power alert's "opened" message (other alerts of the home may pass).
            start = payload.rfind(b"gridwatch/alerts/", 0, m.start())
            end = payload.find(b"gridwatch/alerts/", m.end())
            message = payload[max(start, 0):end if end >= 0 else len(payload)]
            if b'"event":"opened"' in message and b'"kind":"no_power"' in message:
                seen[("alert", int(m.group(1)))].setdefault((sport, dport), t)
    ports = collections.Counter(p for d in seen.values() for pair in d for p in pair)
    if not ports:
        sys.exit("no probe traffic in the capture")
    broker = ports.most_common(1)[0][0]
    def most(counter, what):
        if not counter:
            sys.exit(f"no {what} in the capture (a snap length too small?)")
        return counter.most_common(1)[0][0]
    alerts = [(pair, t) for (k, _), d in seen.items() if k == "alert" for pair, t in d.items()]
    # The alerts' sender (gridwatch's publishing connection) and receiver (the probe's
    # subscription); gridwatch's readings connection is where else the openers are delivered.
    sender = most(collections.Counter(s for (s, d), _ in alerts if d == broker), "alert")
    subscriber = most(collections.Counter(d for (s, d), _ in alerts if s == broker), "delivered alert")
    reader = most(collections.Counter(d for (k, _), dd in seen.items() if k == "opener"
                                      for (s, d) in dd if s == broker and d != subscriber),
                  "opener delivered to gridwatch")
    legs = ([], [], [])
    homes = sorted(h for k, h in seen if k == "opener")
    for h in homes:
        o, a = seen[("opener", h)], seen.get(("alert", h), {})
        o_in = [t for (s, d), t in o.items() if d == broker]
        o_gw = [t for (s, d), t in o.items() if s == broker and d == reader]
        a_in = [t for (s, d), t in a.items() if s == sender and d == broker]
        a_out = [t for (s, d), t in a.items() if s == broker and d == subscriber]
        if o_in and o_gw and a_in and a_out:
            legs[0].append(o_gw[0] - o_in[0])
            legs[1].append(a_in[0] - o_gw[0])
            legs[2].append(a_out[0] - a_in[0])
    print(f"broker port {broker}; gridwatch reads on {reader}, publishes alerts from {sender}; "
          f"{len(legs[0])} of {len(homes)} openers followed end to end")
    for name, v in zip(("opener: broker -> gridwatch", "gridwatch: opener in -> alert out",
                        "alert: broker -> subscriber"), legs):
        print(f"  {name:36s} p50 {quantile(v, 0.5):8.2f} ms   p99 {quantile(v, 0.99):8.2f} ms")


if __name__ == "__main__":
    main()
