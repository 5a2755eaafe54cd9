#!/usr/bin/env python3
"""Every metric name used by the Grafana dashboard and the Prometheus rules must be exported by
the real service: starts Mosquitto on a free port and `gridwatch serve`, scrapes /metrics, and
compares (histograms may be used through _bucket/_sum/_count)."""
import argparse, json, os, re, socket, subprocess, sys, tempfile, time, urllib.request

FUNCS = {"sum", "rate", "increase", "by", "without", "histogram_quantile", "clamp_min", "and", "or",
         "le", "on", "ignoring", "max", "min", "avg", "count", "irate", "delta", "abs", "le"}


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def names_in(expr):
    expr = re.sub(r'\{[^}]*\}', '', expr)           # label matchers
    expr = re.sub(r'\[[^\]]*\]', '', expr)          # ranges
    expr = re.sub(r'by\s*\([^)]*\)', '', expr)      # grouping labels
    return {t for t in re.findall(r'[a-zA-Z_:][a-zA-Z0-9_:]*', expr) if t.startswith("gridwatch_")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--deploy", required=True)
    a = ap.parse_args()
    used = {}
    dash = json.load(open(os.path.join(a.deploy, "grafana", "gridwatch-dashboard.json")))
    for p in dash["panels"]:
        for t in p.get("targets", []):
            for n in names_in(t["expr"]):
                used.setdefault(n, []).append("dashboard: " + p["title"])
    rules = open(os.path.join(a.deploy, "prometheus", "gridwatch.rules.yml")).read()
    for m in re.finditer(r'expr:\s*(\|\n(?:\s{10,}.*\n)+|.*)', rules):
        for n in names_in(m.group(1)):
            used.setdefault(n, []).append("rules")
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        open(f"{d}/m.conf", "w").write(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
        mosq = subprocess.Popen(["mosquitto", "-c", f"{d}/m.conf"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        open(f"{d}/h.csv", "w").write("household,meter,category,street,community,grid,address\nH1,M1,elderly_alone,S,C,G,A\n")
        open(f"{d}/g.yaml", "w").write(f"households_csv: {d}/h.csv\ndata_dir: {d}/data\nmqtt:\n  broker: tcp://127.0.0.1:{port}\nhttp:\n  port: 0\n")
        out = open(f"{d}/out", "w")
        gw = subprocess.Popen([a.binary, "serve", "--config", f"{d}/g.yaml"], stdout=out, stderr=subprocess.DEVNULL)
        try:
            url = None
            for _ in range(200):
                m = re.search(r"listening on (http://[0-9.:]+)", open(f"{d}/out").read())
                if m:
                    url = m.group(1); break
                time.sleep(0.05)
            if not url:
                print("FAIL: gridwatch did not start"); return 1
            time.sleep(1.5)  # one metrics refresh
            scrape = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
        finally:
            gw.terminate(); gw.wait(timeout=30); mosq.terminate(); mosq.wait()
    exported = {l.split("{")[0].split(" ")[0] for l in scrape.splitlines() if l and not l.startswith("#")}
    missing = []
    for n, where in sorted(used.items()):
        base = re.sub(r'_(bucket|sum|count)$', '', n)
        ok = n in exported or (n != base and base + "_bucket" in exported)
        print("%-45s %-4s %s" % (n, "ok" if ok else "MISSING", where[0]))
        if not ok:
            missing.append(n)
    if not used:
        print("FAIL: no metric names found in the deploy files"); return 1
    if missing:
        print("FAIL: used but not exported: " + ", ".join(missing)); return 1
    print("all %d metric names used by the dashboard and rules are exported" % len(used))
    return 0


if __name__ == "__main__":
    sys.exit(main())
