#!/usr/bin/env bash
# Whole path through the broker: readings published by gridwatch-loadgen (QoS 1) into a local
# Mosquitto and on into `gridwatch serve` (detection on), counted on the receiving side via
# /metrics; side by side, `mosquitto_sub` draining the same load from the same broker (the
# broker's own ceiling). Prints one JSON line per run.
#
#   bench/broker_bench.sh [--readings N] [--meters M] [--batch K]
# Needs a Release build: BUILD_DIR=build-release BUILD_TYPE=Release scripts/build
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
READINGS=200000 METERS=20000 BATCH=1
while [ $# -gt 0 ]; do
  case "$1" in
    --readings) READINGS=$2; shift 2 ;;
    --meters) METERS=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
BUILD_DIR=${BUILD_DIR:-build-release}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
GW="$BUILD_DIR/app/gridwatch"
LOADGEN="$BUILD_DIR/bench/gridwatch-loadgen"
[ -x "$GW" ] && [ -x "$LOADGEN" ] || { echo "build first: BUILD_DIR=$BUILD_DIR BUILD_TYPE=Release scripts/build" >&2; exit 2; }

WORK=$(mktemp -d /tmp/gw-broker-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MQTT=$(port)
printf "listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\n" "$MQTT" > "$WORK/m.conf"
mosquitto -c "$WORK/m.conf" > "$WORK/m.log" 2>&1 &
PIDS+=($!)
sleep 0.5
BROKER="tcp://127.0.0.1:$MQTT"
"$LOADGEN" --broker "$BROKER" --meters "$METERS" --readings 1 --households-out "$WORK/households.csv" >/dev/null

# 1. The broker's ceiling: mosquitto_sub draining the load.
MSGS=$(( (READINGS + BATCH - 1) / BATCH ))
start=$(date +%s.%N)
timeout 300 mosquitto_sub -p "$MQTT" -q 1 -t 'gridwatch/readings/#' -C "$MSGS" > /dev/null &
SUB=$!
sleep 0.3
"$LOADGEN" --broker "$BROKER" --meters "$METERS" --readings "$READINGS" --batch "$BATCH" > "$WORK/sub-load.json"
wait $SUB
end=$(date +%s.%N)
SUB_RATE=$(python3 -c "print(round($READINGS / ($end - $start)))")

# 2. gridwatch serve on the same broker.
cat > "$WORK/gw.yaml" <<CONF
households_csv: $WORK/households.csv
data_dir: $WORK/data
timezone: UTC
clock: wall
mqtt:
  broker: $BROKER
  client_id: gw-bench
ingest:
  max_future_s: 86400
  late_window_s: 864000000
http:
  port: 0
CONF
"$GW" serve --config "$WORK/gw.yaml" --log-level warn > "$WORK/gw.out" 2> "$WORK/gw.err" &
PIDS+=($!)
for _ in $(seq 100); do grep -q "listening on" "$WORK/gw.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[0-9.:]*' "$WORK/gw.out" | head -1)
for _ in $(seq 100); do curl -sf "$URL/readyz" >/dev/null && break; sleep 0.1; done
"$LOADGEN" --broker "$BROKER" --meters "$METERS" --readings "$READINGS" --batch "$BATCH" \
  --metrics-url "$URL/metrics" --wait 300 > "$WORK/gw-load.json"
python3 - "$WORK/gw-load.json" "$SUB_RATE" "$READINGS" "$BATCH" "$URL" <<'PY'
import json, sys, urllib.request
r = json.load(open(sys.argv[1]))
metrics = urllib.request.urlopen(sys.argv[5] + "/metrics").read().decode()
def m(name):
    return sum(float(l.split()[-1]) for l in metrics.splitlines() if l.startswith(name + " ") or l.startswith(name + "{"))
print(json.dumps({
    "readings": int(sys.argv[3]), "batch": int(sys.argv[4]),
    "gridwatch_readings_per_s": round(r["service_readings_per_s"]),
    "mosquitto_sub_readings_per_s": int(sys.argv[2]),
    "ratio": round(r["service_readings_per_s"] / int(sys.argv[2]), 3),
    "lost": r["lost"],
    "ingest_queue_dropped": m("gridwatch_ingest_queue_dropped_total"),
    "rejected": m("gridwatch_readings_rejected_total"),
}))
sys.exit(0 if r["lost"] == 0 and r["service_accepted"] == int(sys.argv[3]) else 1)
PY
