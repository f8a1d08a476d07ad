#!/usr/bin/env bash
# The guard's cost per request with its state shared through PostgreSQL, next to the in-memory
# cases of the same run (bench/guard_bench.cc). Starts a private cluster (tests/tools/pg_cluster.sh,
# fsync and synchronous_commit on) on this machine, so a round trip is a local socket's.
# Usage: bench/guard_shared_bench.sh [build/bench/guard_bench] [repetitions, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-build/bench/guard_bench}")
REPS=${2:-5}
WORK=$(mktemp -d)
STATE=$WORK/pg
trap 'tests/tools/pg_cluster.sh stop "$STATE" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
chmod 0755 "$WORK"   # the cluster runs as another user and keeps its state elsewhere
PG_DURABLE=1 tests/tools/pg_cluster.sh start "$STATE" >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(cut -d' ' -f1-3 /proc/loadavg)"
MEDVAULT_BENCH_PG_URL=$(cat "$STATE/url") "$BIN" \
  --benchmark_filter='BM_BaselinePermissive|BM_GuardRead|BM_SharedGuardRead' \
  --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true
