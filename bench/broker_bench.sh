#!/usr/bin/env bash
# Whole path through the broker: readings published by gridwatch-loadgen (QoS 1, one or several
# publisher processes) into a local Mosquitto and on into `gridwatch serve` (detection on),
# counted on the receiving side via /metrics; side by side, `mosquitto_sub` draining the same
# load from the same broker (the broker's own ceiling). Optionally, alert latency under that load
# (gridwatch-alert-probe: trigger homes open no_power alerts at a known reading while the load
# runs). Prints one JSON line per run.
#
#   bench/broker_bench.sh [--readings N] [--meters M] [--batch K] [--publishers P] [--rate R]
#                         [--client paho|raw] [--skip-sub] [--pcap FILE] [--warm]
#                         [--probe-homes H] [--probe-rate R] [--nodelay none|broker|all]
#     --meters M       households in the registry and meters publishing (M0000000..)
#     --publishers P   publisher processes in parallel, each its own connection and meter slice
#     --rate R         readings per second in all (default: as fast as possible)
#     --client C       the publishers' MQTT client: paho (default) or raw (gridwatch-loadgen's
#                      minimal publisher, far less CPU per message)
#     --skip-sub       gridwatch only (no mosquitto_sub run), e.g. for a burst
#     --pcap FILE      capture the broker's port with tcpdump during the gridwatch run (for
#                      bench/alert_path_pcap.py: where an alert's latency goes)
#     --warm           before the measured load, one round of every meter (500 per message, an
#                      interval earlier): the models exist and are in use, as in a running city,
#                      instead of the burst also paying for their first touch
#     --probe-homes H  H extra trigger homes: alert latency while the load runs (H alerts)
#     --probe-rate R   openers per second (default 50)
#     --nodelay WHERE  TCP_NODELAY (Nagle off): `broker` = Mosquitto's set_tcp_nodelay (a config
#                      line); `all` = that, and gridwatch run with the gridwatch-nodelay-preload
#                      shim (Paho C sets no TCP_NODELAY): what either would gain for alert latency
# Needs a Release build: BUILD_DIR=build-release BUILD_TYPE=Release scripts/build
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
READINGS=200000 METERS=20000 BATCH=1 PUBLISHERS=1 SKIP_SUB=0 PROBE_HOMES=0 PROBE_RATE=50 NODELAY=none CLIENT=paho WARM=0 RATE=0 PCAP=""
while [ $# -gt 0 ]; do
  case "$1" in
    --readings) READINGS=$2; shift 2 ;;
    --meters) METERS=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --publishers) PUBLISHERS=$2; shift 2 ;;
    --skip-sub) SKIP_SUB=1; shift ;;
    --probe-homes) PROBE_HOMES=$2; shift 2 ;;
    --probe-rate) PROBE_RATE=$2; shift 2 ;;
    --nodelay) NODELAY=$2; shift 2 ;;
    --client) CLIENT=$2; shift 2 ;;
    --warm) WARM=1; shift ;;
    --rate) RATE=$2; shift 2 ;;
    --pcap) PCAP=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
BUILD_DIR=${BUILD_DIR:-build-release}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
GW="$BUILD_DIR/app/gridwatch"
LOADGEN="$BUILD_DIR/bench/gridwatch-loadgen"
PROBE="$BUILD_DIR/bench/gridwatch-alert-probe"
[ -x "$GW" ] && [ -x "$LOADGEN" ] || { echo "build first: BUILD_DIR=$BUILD_DIR BUILD_TYPE=Release scripts/build" >&2; exit 2; }
[ "$PROBE_HOMES" = 0 ] || [ -x "$PROBE" ] || { echo "build gridwatch-alert-probe first" >&2; exit 2; }

WORK=$(mktemp -d /tmp/gw-broker-bench.XXXXXX)
PIDS=() GW_PID=""
cleanup() {
  # gridwatch is killed outright: its stop would checkpoint every model (GBs with millions of
  # homes) into a folder deleted next.
  [ -z "$GW_PID" ] || kill -KILL "$GW_PID" 2>/dev/null || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MQTT=$(port)
printf "listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\n" "$MQTT" > "$WORK/m.conf"
GW_ENV=()
case "$NODELAY" in
  none) ;;
  broker) echo "set_tcp_nodelay true" >> "$WORK/m.conf" ;;
  all)
    PRELOAD="$BUILD_DIR/bench/libgridwatch-nodelay-preload.so"
    [ -f "$PRELOAD" ] || { echo "build gridwatch-nodelay-preload first" >&2; exit 2; }
    echo "set_tcp_nodelay true" >> "$WORK/m.conf"
    GW_ENV=(env "LD_PRELOAD=$PRELOAD") ;;
  *) echo "--nodelay none|broker|all" >&2; exit 2 ;;
esac
mosquitto -c "$WORK/m.conf" > "$WORK/m.log" 2>&1 &
PIDS+=($!)
sleep 0.5
BROKER="tcp://127.0.0.1:$MQTT"
"$LOADGEN" --broker "$BROKER" --meters "$METERS" --readings 1 --households-out "$WORK/households.csv" >/dev/null
if [ "$PROBE_HOMES" != 0 ]; then
  "$PROBE" --homes "$PROBE_HOMES" --households-out "$WORK/probe.csv"
  tail -n +2 "$WORK/probe.csv" >> "$WORK/households.csv"
fi
# Readings are 15-minute rounds starting at START_TS (the warm round, if any, one interval before).
ROUNDS=$(( (READINGS + METERS - 1) / METERS ))
START_TS=$(( $(date +%s) / 900 * 900 - ROUNDS * 900 ))
LOAD=(--broker "$BROKER" --meters "$METERS" --readings "$READINGS" --batch "$BATCH" --publishers "$PUBLISHERS" --client "$CLIENT" --start-ts "$START_TS" --rate "$RATE")

# 1. The broker's ceiling: mosquitto_sub draining the load (timed from the publishers' start).
SUB_RATE=null
if [ "$SKIP_SUB" = 0 ]; then
  MSGS=$(( (READINGS + BATCH - 1) / BATCH ))
  timeout 600 mosquitto_sub -p "$MQTT" -q 1 -t 'gridwatch/readings/#' -C "$MSGS" > /dev/null &
  SUB=$!
  sleep 0.3
  "$LOADGEN" "${LOAD[@]}" > "$WORK/sub-load.json"
  wait $SUB
  end=$(date +%s.%N)
  SUB_RATE=$(python3 -c "import json; s=json.load(open('$WORK/sub-load.json'))['start_epoch']; print(round($READINGS / ($end - s)))")
fi

# 2. gridwatch serve on the same broker.
cat > "$WORK/gw.yaml" <<CONF
households_csv: $WORK/households.csv
data_dir: $WORK/data
timezone: UTC
clock: wall
checkpoint_interval_s: 86400
mqtt:
  broker: $BROKER
  client_id: gw-bench
ingest:
  max_future_s: 86400
  late_window_s: 864000000
http:
  port: 0
CONF
t_start=$(date +%s.%N)
"${GW_ENV[@]}" "$GW" serve --config "$WORK/gw.yaml" --log-level warn > "$WORK/gw.out" 2> "$WORK/gw.err" &
GW_PID=$!
for _ in $(seq 3000); do grep -q "listening on" "$WORK/gw.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[0-9.:]*' "$WORK/gw.out" | head -1)
[ -n "$URL" ] || { echo "gridwatch did not start:" >&2; cat "$WORK/gw.err" >&2; exit 1; }
for _ in $(seq 3000); do curl -sf "$URL/readyz" >/dev/null && break; sleep 0.1; done
STARTUP_S=$(python3 -c "print(round($(date +%s.%N) - $t_start, 1))")

WARM_S=null
if [ "$WARM" = 1 ]; then
  "$LOADGEN" --broker "$BROKER" --meters "$METERS" --readings "$METERS" --batch 500 --client raw \
    --start-ts $(( START_TS - 900 )) --metrics-url "$URL/metrics" --wait 900 > "$WORK/warm.json"
  WARM_S=$(python3 -c "import json; r=json.load(open('$WORK/warm.json')); assert r['lost'] == 0, r; print(r['service_seconds'])")
fi
ALSO=0
if [ "$PROBE_HOMES" != 0 ]; then
  END_TS=$(( $(date +%s) / 900 * 900 ))
  "$PROBE" --warmup --broker "$BROKER" --homes "$PROBE_HOMES" --end-ts "$END_TS" \
    --metrics-url "$URL/metrics" > "$WORK/probe-warmup.json"
  ALSO=$PROBE_HOMES
fi
TCPDUMP=""
if [ -n "$PCAP" ]; then
  tcpdump -i lo -s 0 -U -w "$PCAP" "tcp port $MQTT" 2> "$WORK/tcpdump.err" &
  TCPDUMP=$!
  sleep 0.5
fi
"$LOADGEN" "${LOAD[@]}" --metrics-url "$URL/metrics" --also-expect "$ALSO" --wait 900 \
  > "$WORK/gw-load.json" &
LOADGEN_PID=$!
if [ "$PROBE_HOMES" != 0 ]; then
  "$PROBE" --broker "$BROKER" --homes "$PROBE_HOMES" --end-ts "$END_TS" --rate "$PROBE_RATE" \
    --delay 0.5 > "$WORK/probe.json" || true
else
  echo '{}' > "$WORK/probe.json"
fi
wait $LOADGEN_PID
[ -z "$TCPDUMP" ] || { kill -INT "$TCPDUMP"; wait "$TCPDUMP" || true; }
sleep 1.2  # the detect and alert queue gauges are refreshed every second
curl -sf "$URL/metrics" > "$WORK/metrics.txt"
python3 - "$WORK" "$SUB_RATE" "$READINGS" "$BATCH" "$PUBLISHERS" "$METERS" "$STARTUP_S" "$PROBE_HOMES" "$NODELAY" "$WARM_S" "$RATE" <<'PY'
import json, re, sys
work, sub_rate, readings, batch, publishers, meters, startup, probe_homes, nodelay, warm_s, rate = sys.argv[1:12]
r = json.load(open(f"{work}/gw-load.json"))
probe = json.load(open(f"{work}/probe.json"))
text = open(f"{work}/metrics.txt").read()
def samples(name):
    out = []
    for l in text.splitlines():
        m = re.match(r'^' + name + r'(\{[^}]*\})?\s+(\S+)$', l)
        if m: out.append((m.group(1) or "", float(m.group(2))))
    return out
def total(name): return sum(v for _, v in samples(name))
def maximum(name): return max((v for _, v in samples(name)), default=None)
def hist_quantile(name, q):
    # Prometheus' histogram_quantile: linear within the bucket.
    b = sorted((float(re.search(r'le="([^"]+)"', l).group(1)), v) for l, v in samples(name + "_bucket"))
    if not b or b[-1][1] == 0: return None
    rank, prev_le, prev_n = q * b[-1][1], 0.0, 0.0
    for le, n in b:
        if n >= rank:
            if le == float("inf"): return prev_le * 1000
            return round((prev_le + (le - prev_le) * (rank - prev_n) / max(n - prev_n, 1e-9)) * 1000, 1)
        prev_le, prev_n = le, n
sub = None if sub_rate == "null" else int(sub_rate)
res = {
    "nodelay": nodelay,
    "readings": int(readings), "batch": int(batch), "publishers": int(publishers),
    "rate_limit": float(rate) or None,
    "client": r["client"],
    "households": int(meters) + int(probe_homes),
    "startup_seconds": float(startup),
    "warm_round_seconds": None if warm_s == "null" else float(warm_s),
    "publish_readings_per_s": round(r["publish_readings_per_s"]),
    "gridwatch_readings_per_s": round(r["service_readings_per_s"]),
    "gridwatch_seconds": r["service_seconds"],
    "mosquitto_sub_readings_per_s": sub,
    "ratio": round(r["service_readings_per_s"] / sub, 3) if sub else None,
    "lost": r["lost"],
    "ingest_queue_dropped": total("gridwatch_ingest_queue_dropped_total"),
    "detect_queue_dropped": total("gridwatch_detect_queue_dropped_total"),
    "rejected": total("gridwatch_readings_rejected_total"),
    "ingest_queue_high_water": maximum("gridwatch_ingest_queue_high_water"),
    "detect_queue_high_water": maximum("gridwatch_detect_queue_high_water"),
    "alert_queue_high_water": maximum("gridwatch_alert_queue_high_water"),
    "resident_memory_bytes": maximum("gridwatch_process_resident_memory_bytes"),
}
if probe:
    t0, t1 = r["start_epoch"], r["start_epoch"] + r["service_seconds"]
    a, b = probe["openers_first_epoch"], probe["openers_last_epoch"]
    res.update({
        "alerts": probe["alerts"], "alerts_missing": probe["missing"],
        "alert_latency_p50_ms": probe["p50_ms"], "alert_latency_p90_ms": probe["p90_ms"],
        "alert_latency_p99_ms": probe["p99_ms"], "alert_latency_max_ms": probe["max_ms"],
        # The broker alone: the probe's openers, publisher -> broker -> a subscriber.
        "broker_hop_p50_ms": probe["broker_hop_p50_ms"], "broker_hop_p99_ms": probe["broker_hop_p99_ms"],
        # Share of the openers published while the load was being taken in.
        "openers_under_load": round(max(0.0, min(b, t1) - max(a, t0)) / max(b - a, 1e-9), 3),
        "histogram_alert_latency_p50_ms": hist_quantile("gridwatch_alert_latency_seconds", 0.5),
        "histogram_alert_latency_p99_ms": hist_quantile("gridwatch_alert_latency_seconds", 0.99),
    })
print(json.dumps(res))
ok = r["lost"] == 0 and r["service_accepted"] == int(readings) and (not probe or probe["missing"] == 0)
sys.exit(0 if ok else 1)
PY
