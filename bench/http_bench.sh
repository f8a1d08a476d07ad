#!/usr/bin/env bash
# HTTP API benchmark: 200 accounts in 10 practices, each re-reading a few of its own patients over
# 200 keep-alive connections, plain HTTP then TLS; each rate is reported with the /health rate of
# the same server in the same run. Usage: bench/http_bench.sh [build/medvault] [duration, e.g. 20s]
set -euo pipefail
BIN=${1:-build/medvault}
DURATION=${2:-20s}
THREADS=${WRK_THREADS:-2}
WORK=$(mktemp -d)
trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

. "$(dirname "$0")/http_lib.sh"
bench_vault "$WORK/v"

run() {  # $1: plain|tls
  local scheme=http flag=--http
  if [ "$1" = tls ]; then scheme=https; flag=; fi
  "$BIN" serve --data "$WORK/v" --listen 127.0.0.1:0 $flag > "$WORK/serve.out" 2> "$WORK/serve.err" &
  SERVER_PID=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$WORK/serve.out" && break; sleep 0.1; done
  local port
  port=$(sed -nE 's/listening on .*:([0-9]+)$/\1/p' "$WORK/serve.out")
  local base="$scheme://127.0.0.1:$port"
  local offset=$([ "$1" = tls ] && echo 1 || echo 0)
  bench_sessions "$WORK/v.accounts" "$base" "$WORK/sessions" "$offset"
  local health reads
  health=$(wrk -t"$THREADS" -c200 -d"$DURATION" --latency "$base/health" | awk '/Requests\/sec/ {print $2}')
  reads=$(MEDVAULT_BENCH_SESSIONS="$WORK/sessions" wrk -t"$THREADS" -c200 -d"$DURATION" \
          -s "$(dirname "$0")/http_read.lua" "$base" | tee "$WORK/wrk.$1")
  local rps p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' <<< "$reads")
  p99=$(awk '/^p99_ms/ {print $2}' <<< "$reads")
  non2xx=$(awk '/^non2xx/ {print $2}' <<< "$reads")
  printf '%-5s reads/s %10s  p99 %8s ms  non-2xx %s  /health %10s  ratio %.2f\n' \
    "$1" "$rps" "$p99" "$non2xx" "$health" "$(echo "$rps / $health" | bc -l)"
  # The same load paced to about 10,000 reads/s: the latency a practice sees at the target rate.
  local paced
  paced=$(MEDVAULT_BENCH_SESSIONS="$WORK/sessions" MEDVAULT_BENCH_PACE_MS=18 wrk -t"$THREADS" \
          -c200 -d"$DURATION" -s "$(dirname "$0")/http_read.lua" "$base")
  printf '%-5s paced: reads/s %10s  p99 %8s ms  non-2xx %s\n' "$1" \
    "$(awk '/Requests\/sec/ {print $2}' <<< "$paced")" "$(awk '/^p99_ms/ {print $2}' <<< "$paced")" \
    "$(awk '/^non2xx/ {print $2}' <<< "$paced")"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "command: $0 $BIN $DURATION (wrk -t$THREADS -c200 -d$DURATION)"
run plain
run tls
