# Shared by the load benchmarks: builds the commands, starts Mosquitto and
# InfluxDB 1.8.10 on free loopback ports under a temp dir, and defines
# start_gateway, count, cpu_ticks, peak_rss_mib and now. Source it after
# cd to the repository root.
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
  env CAREBED_ADMIN_TOKEN=$TOKEN ${GATEWAY_ENV:-} "$work/carebed" serve --data-dir "$work/data" --http-addr "127.0.0.1:$HTTP_PORT" \
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
