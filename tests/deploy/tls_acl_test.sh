#!/usr/bin/env bash
# deploy/mosquitto with TLS (a CA and server certificate made here by openssl), passwords and the
# ACL: gridwatch works over ssl:// as user `gridwatch`; meter M1 publishes its readings as user
# M1; street office S1 receives S1's alert and never S2's; a meter cannot read alerts and cannot
# publish under another meter's name.
set -euo pipefail
GW=$1 DEPLOY=$2
D=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$D"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$D"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Certificates: a CA and a server certificate for 127.0.0.1 / localhost.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=gridwatch-test-ca" \
  -keyout "$D/ca.key" -out "$D/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$D/server.key" -out "$D/server.csr" 2>/dev/null
printf "subjectAltName=DNS:localhost,IP:127.0.0.1\n" > "$D/san.ext"
openssl x509 -req -in "$D/server.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -CAcreateserial -days 2 \
  -extfile "$D/san.ext" -out "$D/server.crt" 2>/dev/null

# Users.
: > "$D/passwd"
for u in gridwatch M1 M2 M3 street-S1 street-S2 ops; do mosquitto_passwd -b "$D/passwd" "$u" "pw-$u"; done
P=$(port)
sed -e "s|^listener 8883|listener $P 127.0.0.1|" \
    -e "s|/etc/mosquitto/certs/|$D/|" \
    -e "s|/etc/mosquitto/gridwatch.passwd|$D/passwd|" \
    -e "s|/etc/mosquitto/gridwatch.acl|$DEPLOY/mosquitto/gridwatch.acl|" \
    -e "s|^persistence_location .*|persistence_location $D/|" \
    "$DEPLOY/mosquitto/mosquitto.conf" > "$D/mosquitto.conf"
[ "$(id -u)" = 0 ] && echo "user root" >> "$D/mosquitto.conf"
mosquitto -c "$D/mosquitto.conf" > "$D/mosquitto.log" 2>&1 &
PIDS+=($!)
TLS=(-h 127.0.0.1 -p "$P" --cafile "$D/ca.crt")
for _ in $(seq 50); do mosquitto_pub "${TLS[@]}" -u ops -P pw-ops -t probe -m x 2>/dev/null && break; sleep 0.1; done

# Anonymous clients are refused.
if mosquitto_pub "${TLS[@]}" -t gridwatch/readings/M1 -m x 2>/dev/null; then fail "anonymous publish accepted"; fi

cat > "$D/households.csv" <<CSV
household,meter,category,street,community,grid,address
H1,M1,elderly_alone,S1,C1,G1,A1
H2,M2,elderly_alone,S2,C2,G2,A2
H3,M3,elderly_alone,S1,C1,G1,A3
CSV
cat > "$D/gw.yaml" <<CONF
households_csv: $D/households.csv
data_dir: $D/data
timezone: UTC
clock: data
mqtt:
  broker: ssl://127.0.0.1:$P
  client_id: gridwatch-tls-test
  username: gridwatch
  ca_file: $D/ca.crt
http:
  port: 0
CONF
GRIDWATCH_MQTT_PASSWORD=pw-gridwatch "$GW" serve --config "$D/gw.yaml" > "$D/gw.out" 2> "$D/gw.log" &
PIDS+=($!)
for _ in $(seq 100); do grep -q "listening on" "$D/gw.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[0-9.:]*' "$D/gw.out" | head -1)
[ -n "$URL" ] || fail "gridwatch did not start"
for _ in $(seq 150); do curl -sf "$URL/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "$URL/readyz" >/dev/null || fail "gridwatch not ready over TLS"

# Street offices subscribe to everything they might see.
mosquitto_sub "${TLS[@]}" -u street-S1 -P pw-street-S1 -t 'gridwatch/alerts/#' -v > "$D/s1.txt" 2>"$D/s1.log" &
PIDS+=($!)
mosquitto_sub "${TLS[@]}" -u M1 -P pw-M1 -t 'gridwatch/alerts/#' -v > "$D/m1-reads.txt" 2>"$D/m1.log" &
PIDS+=($!)
mosquitto_sub "${TLS[@]}" -u ops -P pw-ops -t 'gridwatch/alerts/#' -v > "$D/ops.txt" 2>"$D/ops.log" &
PIDS+=($!)
sleep 0.5

# M1 and M2 report, then fall silent while M3 goes on: meter_silent alerts for H1 (street S1)
# and H2 (street S2).
T0=1700000000
pub() { mosquitto_pub "${TLS[@]}" -u "$1" -P "pw-$1" -q 1 -t "gridwatch/readings/$2" -m "{\"meter\":\"$2\",\"ts\":$3,\"kwh\":0.1}"; }
for i in $(seq 1 4); do
  ts=$((T0 + i * 1800))
  pub M1 M1 "$ts"; pub M2 M2 "$ts"; pub M3 M3 "$ts"
done
# M2 may not publish under M1's name (the broker drops it).
pub M2 M1 $((T0 + 9000)) || true
for i in $(seq 5 16); do pub M3 M3 $((T0 + i * 1800)); done
for _ in $(seq 100); do grep -q 'gridwatch/alerts/S2' "$D/ops.txt" 2>/dev/null && grep -q meter_silent "$D/s1.txt" 2>/dev/null && break; sleep 0.1; done
sleep 1

grep -q 'gridwatch/alerts/S2/C2/G2' "$D/ops.txt" || fail "no alert of street S2 was published (nothing to withhold)"
grep -q '"household":"H1"' "$D/s1.txt" || fail "street office S1 did not get S1's alert"
if grep -q 'gridwatch/alerts/S2' "$D/s1.txt"; then fail "street office S1 read an alert of street S2"; fi
[ -s "$D/m1-reads.txt" ] && fail "a meter could read alerts"
accepted=$(curl -s "$URL/metrics" | awk '/^gridwatch_readings_accepted_total /{print $2}')
[ "${accepted%.*}" = 24 ] || fail "expected 24 readings accepted over TLS, got $accepted (M2 must not write as M1)"
echo "TLS + ACL: gridwatch works over ssl:// with its own user; S1 sees only S1; meters write-only, own topic only"
