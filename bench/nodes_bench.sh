#!/usr/bin/env bash
# Audited reads/s of two `medvault serve` nodes on one PostgreSQL vault, against one node on a
# SQLite vault (the baseline) and one node on the PostgreSQL vault, in the same run. The same data
# in each vault: 200 practitioner accounts in 10 practices, 50 patients each; every wrk connection
# re-reads 4 of its practice's patients by id (bench/http_read.lua), plain HTTP. One node: one wrk,
# 2 threads, 200 connections; two nodes: two wrk at once, 1 thread and 100 connections on each
# node, their rates added (so 2 client threads and 200 connections in every case).
# PostgreSQL: a private cluster (tests/tools/pg_cluster.sh) with fsync and synchronous_commit on.
# Usage: bench/nodes_bench.sh [build/medvault] [duration, default 10s] [runs, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-build/medvault}")
DURATION=${2:-10s}
RUNS=${3:-3}
WORK=$(mktemp -d)
STATE=$WORK/pg
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  tests/tools/pg_cluster.sh stop "$STATE" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
chmod 0755 "$WORK"   # the cluster runs as another user
PG_DURABLE=1 tests/tools/pg_cluster.sh start "$STATE" >/dev/null
URL=$(cat "$STATE/url")
tests/tools/pg_cluster.sh createdb "$STATE" nodes

. bench/http_lib.sh

# start_node DIR NAME: serves DIR on a free port, sets NODE_PORT (not a subshell: PIDS must keep
# the process so that it is stopped).
start_node() {
  "$BIN" serve --data "$1" --listen 127.0.0.1:0 --http > "$WORK/$2.out" 2> "$WORK/$2.err" &
  PIDS+=($!)
  for _ in $(seq 1 300); do grep -q "listening on" "$WORK/$2.out" && break; sleep 0.1; done
  NODE_PORT=$(sed -nE 's/listening on .*:([0-9]+)$/\1/p' "$WORK/$2.out")
  [[ -n "$NODE_PORT" ]] || { echo "bench: $2 did not start" >&2; cat "$WORK/$2.err" >&2; exit 1; }
}

stop_nodes() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}

# load SESSIONS THREADS CONNECTIONS PORT OUT: one wrk run; writes "rps non2xx" to OUT.
load() {
  MEDVAULT_BENCH_SESSIONS="$1" wrk -t"$2" -c"$3" -d"$DURATION" -s bench/http_read.lua \
    "http://127.0.0.1:$4" > "$5.wrk"
  echo "$(awk '/Requests\/sec/ {print $2}' "$5.wrk") $(awk '/^non2xx/ {print $2}' "$5.wrk")" > "$5"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "command: bench/nodes_bench.sh $DURATION $RUNS; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
bench_vault "$WORK/sqlite"
bench_vault "$WORK/pg" --backend postgres --pg "${URL%/*}/nodes"

printf '%-4s %16s %16s %16s %10s\n' run sqlite_1_node pg_1_node pg_2_nodes ratio
declare -a R_SQLITE R_PG1 R_PG2
offset=0
for run in $(seq 1 "$RUNS"); do
  # Each account logs in once per 30 s step at most: use the next step every round.
  start_node "$WORK/sqlite" sqlite
  port=$NODE_PORT
  bench_sessions "$WORK/sqlite.accounts" "http://127.0.0.1:$port" "$WORK/s-sqlite" "$offset"
  load "$WORK/s-sqlite" 2 200 "$port" "$WORK/r-sqlite"
  stop_nodes
  start_node "$WORK/pg" pg-a
  port=$NODE_PORT
  bench_sessions "$WORK/pg.accounts" "http://127.0.0.1:$port" "$WORK/s-pg" "$offset"
  load "$WORK/s-pg" 2 200 "$port" "$WORK/r-pg1"
  start_node "$WORK/pg" pg-b
  port_b=$NODE_PORT
  load "$WORK/s-pg" 1 100 "$port" "$WORK/r-pg2a" &
  wrk_a=$!
  load "$WORK/s-pg" 1 100 "$port_b" "$WORK/r-pg2b" &
  wrk_b=$!
  wait "$wrk_a" "$wrk_b"
  stop_nodes
  read -r sqlite_rps sqlite_err < "$WORK/r-sqlite"
  read -r pg1_rps pg1_err < "$WORK/r-pg1"
  read -r a_rps a_err < "$WORK/r-pg2a"
  read -r b_rps b_err < "$WORK/r-pg2b"
  pg2_rps=$(echo "$a_rps + $b_rps" | bc)
  R_SQLITE+=("$sqlite_rps"); R_PG1+=("$pg1_rps"); R_PG2+=("$pg2_rps")
  printf '%-4s %16s %16s %16s %10.3f   (non-2xx: %s %s %s)\n' "$run" "$sqlite_rps" "$pg1_rps" \
    "$pg2_rps" "$(echo "$pg2_rps / $sqlite_rps" | bc -l)" "$sqlite_err" "$pg1_err" \
    "$((a_err + b_err))"
  # each run is minutes long: its logins use later TOTP steps than the previous run's
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m_sqlite=$(median "${R_SQLITE[@]}")
m_pg1=$(median "${R_PG1[@]}")
m_pg2=$(median "${R_PG2[@]}")
printf '%-4s %16s %16s %16s %10.3f\n' median "$m_sqlite" "$m_pg1" "$m_pg2" \
  "$(echo "$m_pg2 / $m_sqlite" | bc -l)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
