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
. bench/lib.sh


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
