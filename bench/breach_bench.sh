#!/usr/bin/env bash
# Breach scope and notify benchmarks (docs/BENCHMARKS.md "Breach scope").
#   bench/breach_bench.sh [LEAVES] [REPS] [PATIENTS]      defaults: 10000000 3 100000
# Needs the release build (build/medvault, build/bench/breach_bench). Generates the log under a
# temporary directory (about 3.3 GB for 10 M leaves), removed at the end; nothing is written in
# the repository. For each repetition, in the same run: `audit verify` of the log (the baseline),
# `breach scope` for one account, `breach scope` of everything (JSON to /dev/null), and `breach
# notify` for PATIENTS patients; wall time and peak RSS from /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
leaves=${1:-10000000}
reps=${2:-3}
patients=${3:-100000}
bin=build/medvault
gen=build/bench/breach_bench
work=$(mktemp -d "${TMPDIR:-/tmp}/medvault-breach-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "generate: %e s wall, %M KiB peak" "$gen" log --data "$work/v" --leaves "$leaves"
"$gen" scope --patients "$patients" --out "$work/scope-notify.json"
login=$(sed -n 1p "$work/v/bench-targets")

# Runs "$@" with its output to $out; prints "SECONDS KIB".
measure() {
  local out=$1
  shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$out"
  cat "$work/time"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

: > "$work/results"
for rep in $(seq "$reps"); do
  echo "verify $(measure /dev/null "$bin" audit verify --data "$work/v")" >> "$work/results"
  echo "scope_login $(measure "$work/scope-login.json" "$bin" breach scope --data "$work/v" --login "$login")" >> "$work/results"
  echo "scope_all $(measure /dev/null "$bin" breach scope --data "$work/v")" >> "$work/results"
  rm -rf "$work/notify"
  echo "notify $(measure /dev/null "$bin" breach notify --scope "$work/scope-notify.json" --out "$work/notify")" >> "$work/results"
  echo "load after repetition $rep: $(cut -d' ' -f1-3 /proc/loadavg)"
done
cat "$work/results"
echo "scope of $login: $(grep -c '"id"' "$work/scope-login.json") patients"
echo "letters written: $(find "$work/notify" -name '*.txt' -path '*letters*' | wc -l)"
for what in verify scope_login scope_all notify; do
  wall=$(awk -v w="$what" '$1 == w {print $2}' "$work/results" | median)
  rss=$(awk -v w="$what" '$1 == w {print $3}' "$work/results" | median)
  echo "median $what: ${wall} s wall, $((rss / 1024)) MiB peak RSS"
done
verify=$(awk '$1 == "verify" {print $2}' "$work/results" | median)
for what in scope_login scope_all; do
  wall=$(awk -v w="$what" '$1 == w {print $2}' "$work/results" | median)
  echo "ratio $what / verify: $(echo "scale=2; $wall / $verify" | bc)"
done
