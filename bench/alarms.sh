#!/usr/bin/env bash
# Alarm latency under load: 10,000 beds send 20,000 vitals msgs/s (QoS1)
# through Mosquitto to the gateway (writing to InfluxDB 1.8.10) while
# SOS buttons are pressed on other beds. Reports the time from an SOS
# press (its payload's ts, taken when the simulator publishes) to its alert
# being stored, p50 and p99, from the gateway's
# carebed_alert_raise_seconds histogram; the vitals rate actually taken;
# the gateway's CPU and peak RSS. Presses in the SOS simulator's first
# WARMUP seconds, while its buttons announce themselves online, are
# reported apart.
#
#   bash bench/alarms.sh     # BEDS=10000 RATE=20000 SOS_RATE=20 DURATION=60s WARMUP=5
set -euo pipefail
cd "$(dirname "$0")/.."
BEDS=${BEDS:-10000}
RATE=${RATE:-20000}
SOS_RATE=${SOS_RATE:-20}
DURATION=${DURATION:-60s}
. bench/lib.sh

metrics() { curl -fs "http://127.0.0.1:$HTTP_PORT/metrics"; }
accepted() { metrics | awk '/^carebed_messages_total\{.*result="accepted".*stream="vitals"/ {printf "%d\n", $2}'; }

start_gateway
"$work/carebed-sim" --broker "tcp://127.0.0.1:$MQTT_PORT" --beds "$BEDS" --register-only \
  --register-url "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" 2>"$work/register.log"
echo "registered $BEDS beds"

"$work/carebed-sim" --broker "tcp://127.0.0.1:$MQTT_PORT" --beds "$BEDS" --rate "$RATE" --stream vitals \
  --duration "$DURATION" --conns 4 --seed 1 2>"$work/sim-vitals.log" &
VITALS=$!; pids+=($VITALS)
sleep 10 # let the load settle
# The SOS simulator first announces its 10,000 buttons online (a burst of
# availability messages, every bed's rule state changing at once); presses
# in its first WARMUP are left out of the steady-state figures, and shown
# apart.
WARMUP=${WARMUP:-5}
probe_for=$(( ${DURATION%s} - 20 ))
"$work/carebed-sim" --broker "tcp://127.0.0.1:$MQTT_PORT" --beds "$BEDS" --rate "$SOS_RATE" --stream sos \
  --duration "$((probe_for + WARMUP))s" --conns 1 --seed 2 2>"$work/sim-sos.log" &
SOS=$!; pids+=($SOS)
sleep "$WARMUP"
metrics >"$work/metrics0.txt"
a0=$(accepted); cpu0=$(cpu_ticks "$GW"); t0=$(now)
wait "$SOS"
metrics >"$work/metrics1.txt"
a1=$(accepted); cpu1=$(cpu_ticks "$GW"); t1=$(now)
wait "$VITALS" || true

metrics >"$work/metrics.txt"
python3 - "$work/metrics0.txt" "$work/metrics1.txt" "$WARMUP" <<'PY'
import re, sys
before, after = (open(f).read() for f in sys.argv[1:3])
def hist(text, name, labels=''):
    buckets, count = [], 0.0
    for m in re.finditer(r'^%s_bucket\{%sle="([^"]+)"\} (\S+)$' % (name, labels), text, re.M):
        buckets.append((float('inf') if m.group(1) == '+Inf' else float(m.group(1)), float(m.group(2))))
    m = re.search(r'^%s_count(?:\{%s\})? (\S+)$' % (name, labels.rstrip(',')), text, re.M)
    if m:
        count = float(m.group(1))
    return buckets, count
def delta(name, labels=''):
    # The observations made between the two snapshots.
    b0, c0 = hist(before, name, labels)
    b1, c1 = hist(after, name, labels)
    if not b0:
        return b1, c1
    return [(le, c - c_) for (le, c), (_, c_) in zip(b1, b0)], c1 - c0
def q(h, p):
    # Linear interpolation inside the bucket, as Prometheus does.
    buckets, count = h
    rank, lo, below = p * count, 0.0, 0.0
    for le, c in buckets:
        if c >= rank:
            return lo + (le - lo) * (rank - below) / max(c - below, 1e-9)
        lo, below = le, c
    return float('nan')
sos = delta('carebed_alert_raise_seconds', 'kind="sos",')
print(f"sos alerts raised while probing: {sos[1]:.0f}")
if sos[1]:
    print(f"SOS press -> alert stored: p50 {q(sos, .5)*1000:.1f} ms, p99 {q(sos, .99)*1000:.1f} ms (histogram interpolation)")
warm = hist(before, 'carebed_alert_raise_seconds', 'kind="sos",')
if warm[1]:
    print(f"  left out, the first {sys.argv[3]} s while the buttons announce themselves: {warm[1]:.0f} alerts, p50 {q(warm, .5)*1000:.1f} ms, p99 {q(warm, .99)*1000:.1f} ms")
delay = delta('carebed_alert_rules_delay_seconds')
if delay[1]:
    print(f"receive -> alarm rules (oldest of each batch): p50 {q(delay, .5)*1000:.1f} ms, p99 {q(delay, .99)*1000:.1f} ms")
save = delta('carebed_alert_save_seconds')
if save[1]:
    print(f"alert transactions: {save[1]:.0f}, p50 {q(save, .5)*1000:.1f} ms, p99 {q(save, .99)*1000:.1f} ms")
m0 = {k: float(v) for k, v in re.findall(r'^(carebed_journal_commit(?:s_total|_seconds_total)) (\S+)$', before, re.M)}
m1 = {k: float(v) for k, v in re.findall(r'^(carebed_journal_commit(?:s_total|_seconds_total)) (\S+)$', after, re.M)}
n = m1.get('carebed_journal_commits_total', 0) - m0.get('carebed_journal_commits_total', 0)
if n:
    secs = m1['carebed_journal_commit_seconds_total'] - m0['carebed_journal_commit_seconds_total']
    print(f"journal: {n:.0f} group commits, mean {secs / n * 1000:.1f} ms each (write and fsync)")
PY
printf 'vitals taken while probing: %.0f msgs/s (target %d); gateway %.2f CPU-s per second; peak RSS %s MiB\n' \
  "$(echo "($a1 - $a0) / ($t1 - $t0)" | bc -l)" "$RATE" "$(echo "($cpu1 - $cpu0) / $TICK / ($t1 - $t0)" | bc -l)" "$(peak_rss_mib "$GW")"
grep -E '^carebed_journal_lag_messages' "$work/metrics.txt" | sed 's/^/  /'
