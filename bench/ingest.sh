#!/usr/bin/env bash
# Ingest load benchmark: Mosquitto, InfluxDB 1.8.10 and the gateway on
# loopback; 1,000 beds; 1,000,000 QoS1 vitals messages published as fast as
# they are taken. Reports live throughput (first publish until the last point
# is queryable), the gateway's CPU-seconds per million messages, its peak
# RSS, lost messages; then the drain figure: 1,000,000 messages queued in the
# gateway's persistent session while it is stopped, timed from its start
# until the last point is queryable.
#
#   bash bench/ingest.sh            # MESSAGES=1000000 BEDS=1000 CONNS=4 by default
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES=${MESSAGES:-1000000}
BEDS=${BEDS:-1000}
CONNS=${CONNS:-4}
export PATH="$(go env GOPATH)/bin:/usr/sbin:$PATH"
command -v influxd >/dev/null || GOBIN="$(go env GOPATH)/bin" go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10
command -v mosquitto >/dev/null || { apt-get update -qq && apt-get install -y -qq mosquitto; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MQTT_PORT=$(freeport); INFLUX_PORT=$(freeport); RPC_PORT=$(freeport); HTTP_PORT=$(freeport)
TOKEN=bench-admin-token-0123456789

go build -o "$work/carebed" ./cmd/carebed
go build -o "$work/carebed-sim" ./cmd/carebed-sim

mkdir -p "$work/mosquitto"
cat > "$work/mosquitto.conf" <<CONF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $work/mosquitto/
autosave_interval 3600
max_queued_messages 2000000
max_inflight_messages 20000
user root
CONF
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 & pids+=($!)

cat > "$work/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$RPC_PORT"
[meta]
  dir = "$work/influx/meta"
[data]
  dir = "$work/influx/data"
  wal-dir = "$work/influx/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$INFLUX_PORT"
  flux-enabled = true
  log-enabled = false
CONF
influxd run -config "$work/influxdb.conf" >"$work/influxd.log" 2>&1 & pids+=($!)
INFLUX=http://127.0.0.1:$INFLUX_PORT
for _ in $(seq 100); do curl -fs "$INFLUX/ping" >/dev/null && break; sleep 0.2; done
curl -fs -XPOST "$INFLUX/query" --data-urlencode "q=CREATE DATABASE carebed" >/dev/null

count() {
  curl -fs -G "$INFLUX/query" --data-urlencode db=carebed --data-urlencode 'q=SELECT count("in_bed") FROM "vitals"' |
    sed -n 's/.*"values":\[\["[^"]*",\([0-9]*\)\]\].*/\1/p' | grep . || echo 0
}
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
peak_rss_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
now() { date +%s.%N; }

start_gateway() {
  CAREBED_ADMIN_TOKEN=$TOKEN "$work/carebed" serve --data-dir "$work/data" --http-addr "127.0.0.1:$HTTP_PORT" \
    --mqtt-listen off --mqtt-url "tcp://127.0.0.1:$MQTT_PORT" --mqtt-client-id carebed-bench \
    --influx-url "$INFLUX" --influx-bucket carebed/autogen ${DEBUG_ADDR:+--debug-addr $DEBUG_ADDR} ${GATEWAY_FLAGS:-} >>"$work/gateway.log" 2>&1 &
  GW=$!; pids+=($GW)
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break; sleep 0.1; done
  for _ in $(seq 100); do curl -s "http://127.0.0.1:$HTTP_PORT/readyz" | grep -q '"ready":true' && break; sleep 0.1; done
}
wait_count() { # wait until the vitals count reaches $1
  while :; do c=$(count); [ "$c" -ge "$1" ] && break; kill -0 "$GW" 2>/dev/null || { echo "gateway died"; tail "$work/gateway.log"; exit 1; }; sleep 0.25; done
}
TICK=$(getconf CLK_TCK)

start_gateway
"$work/carebed-sim" --broker "tcp://127.0.0.1:$MQTT_PORT" --beds "$BEDS" --register-only \
  --register-url "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" 2>"$work/register.log"
echo "registered $BEDS beds"

# Live: publish and write at the same time.
cpu0=$(cpu_ticks "$GW"); t0=$(now)
"$work/carebed-sim" --broker "tcp://127.0.0.1:$MQTT_PORT" --beds "$BEDS" --fast --count "$MESSAGES" --conns "$CONNS" --stream vitals --seed 1 2>"$work/sim-live.log"
wait_count "$MESSAGES"
t1=$(now); cpu1=$(cpu_ticks "$GW")
live_rate=$(echo "$MESSAGES / ($t1 - $t0)" | bc -l)
live_cpu=$(echo "($cpu1 - $cpu0) / $TICK / ($MESSAGES / 1000000)" | bc -l)
live_rss=$(peak_rss_mib "$GW")
live_count=$(count)

# Drain: stop the gateway, queue MESSAGES in its session, start it, time it.
curl -s "http://127.0.0.1:$HTTP_PORT/metrics" | grep -E "^carebed_journal_(commits|committed|duplicates)" | sed "s/^/  live: /"
kill -TERM "$GW"; wait "$GW" 2>/dev/null || true
"$work/carebed-sim" --broker "tcp://127.0.0.1:$MQTT_PORT" --beds "$BEDS" --fast --count "$MESSAGES" --conns "$CONNS" --stream vitals --seed 2 2>"$work/sim-drain.log"
t2=$(now)
start_gateway
cpu2=$(cpu_ticks "$GW")
wait_count $((2 * MESSAGES))
t3=$(now); cpu3=$(cpu_ticks "$GW")
drain_rate=$(echo "$MESSAGES / ($t3 - $t2)" | bc -l)
drain_cpu=$(echo "($cpu3 - $cpu2) / $TICK / ($MESSAGES / 1000000)" | bc -l)
drain_rss=$(peak_rss_mib "$GW")
sleep 2
final=$(count)

printf '\nmessages=%d beds=%d conns=%d (publisher, Mosquitto, InfluxDB and gateway on the same %d cores)\n' "$MESSAGES" "$BEDS" "$CONNS" "$(nproc)"
printf 'live:  %8.0f msgs/s first publish -> last point queryable; gateway %.2f CPU-s per million; peak RSS %s MiB; lost %d\n' \
  "$live_rate" "$live_cpu" "$live_rss" $((MESSAGES - live_count))
printf 'drain: %8.0f msgs/s gateway start -> last point queryable; gateway %.2f CPU-s per million; peak RSS %s MiB; lost %d\n' \
  "$drain_rate" "$drain_cpu" "$drain_rss" $((2 * MESSAGES - final))
