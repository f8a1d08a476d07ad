#!/usr/bin/env bash
# Runs every benchmark against the release build (make build) and prints their results; the
# tables of docs/BENCHMARKS.md are copied from this output, with the machine and the load noted.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build
reps=(--benchmark_repetitions=5 --benchmark_report_aggregates_only=true)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(cut -d' ' -f1-3 /proc/loadavg)"
for bench in vault_bench store_bench audit_bench notes_bench; do
  if [ -x "$B/bench/$bench" ]; then
    echo "== $bench"
    "$B/bench/$bench" "${reps[@]}"
  fi
done
echo "== http (wrk)"
bench/http_bench.sh "$B/medvault" 10s
