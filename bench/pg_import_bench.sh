#!/usr/bin/env bash
# Bulk import into a vault on PostgreSQL and, as the baseline, into one on SQLite: the same
# generated NDJSON file, same run, `runs` times each. Reports, per run and as medians, the wall
# clock rate and the rate per CPU-second (medvault's CPU plus, for PostgreSQL, the server's:
# postmaster, its reaped backends and live children). The PostgreSQL cluster is a private one
# (tests/tools/pg_cluster.sh) with fsync and synchronous_commit on (PG_DURABLE=1). Two PostgreSQL
# layouts: `postgres` keeps the keys in the vault directory's SQLite keys.db (the default), and
# `pg+keys` puts them in a second database of the same cluster (--pg-keys, as nodes on different
# hosts need). Each run starts after a CHECKPOINT, with autovacuum off: otherwise the server's
# deferred work for one run (writing its pages at the next checkpoint, analysing and vacuuming its
# tables) lands in a later run's window, CPU figure and wall clock. An import is durable at its
# commit; neither changes what it writes.
# With a second binary (say, a release build of an older commit), each run also imports with it
# into PostgreSQL (`base-pg`, keys in keys.db), and the ratio of `postgres` to it is reported.
# Usage: bench/pg_import_bench.sh [build/medvault] [patients, default 100000] [runs, default 3]
#          [baseline medvault binary]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-build/medvault}")
N=${2:-100000}
RUNS=${3:-3}
BASE=${4:+$(realpath "$4")}
BACKENDS=(sqlite postgres pg+keys)
[[ -n "$BASE" ]] && BACKENDS+=(base-pg)
WORK=$(mktemp -d)
STATE=$WORK/pg
trap 'tests/tools/pg_cluster.sh stop "$STATE" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
chmod 0755 "$WORK"   # the cluster runs as another user and keeps its state elsewhere
PG_DURABLE=1 tests/tools/pg_cluster.sh start "$STATE" >/dev/null
URL=$(cat "$STATE/url")
psql -qX "$URL" -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null
TCK=$(getconf CLK_TCK)
"$BIN" gen --patients "$N" --seed 7 --out "$WORK/p.ndjson" >/dev/null

# CPU ticks used so far by the cluster: postmaster (own + reaped children) + live children.
pg_ticks() {
  local pm total=0 f
  pm=$(head -n 1 "$(cat "$STATE/datadir")/data/postmaster.pid")
  read -r -a f <"/proc/$pm/stat"
  total=$((f[13] + f[14] + f[15] + f[16]))
  for c in $(pgrep -P "$pm"); do
    read -r -a f <"/proc/$c/stat" 2>/dev/null || continue
    total=$((total + f[13] + f[14]))
  done
  echo "$total"
}

pg_children() { pgrep -c -P "$(head -n 1 "$(cat "$STATE/datadir")/data/postmaster.pid")" || true; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "patients per run: $N"
printf '%-9s %4s %6s %9s %12s %10s %10s %14s\n' backend run load wall_s patients/s mv_cpu_s pg_cpu_s \
  patients/cpu_s
declare -A WALL_RATES CPU_RATES
for run in $(seq 1 "$RUNS"); do
  for backend in "${BACKENDS[@]}"; do
    dir=$WORK/v-$backend-$run
    bin=$BIN
    if [[ $backend == base-pg ]]; then
      bin=$BASE
      tests/tools/pg_cluster.sh createdb "$STATE" "base$run"
      "$bin" init --data "$dir" --backend postgres --pg "${URL%/*}/base$run" >/dev/null
    elif [[ $backend == postgres ]]; then
      tests/tools/pg_cluster.sh createdb "$STATE" "bench$run"
      "$BIN" init --data "$dir" --backend postgres --pg "${URL%/*}/bench$run" >/dev/null
    elif [[ $backend == pg+keys ]]; then
      tests/tools/pg_cluster.sh createdb "$STATE" "benchk$run"
      tests/tools/pg_cluster.sh createdb "$STATE" "keys$run"
      "$BIN" init --data "$dir" --backend postgres --pg "${URL%/*}/benchk$run" \
        --pg-keys "${URL%/*}/keys$run" >/dev/null
    else
      "$BIN" init --data "$dir" >/dev/null
    fi
    practice=$("$bin" practice add --data "$dir" --name "Cabinet $run")
    psql -qX "$URL" -c "CHECKPOINT" >/dev/null
    load=$(cut -d' ' -f1 /proc/loadavg)  # 1-minute load average as the run starts
    children=$(pg_children)
    before=$(pg_ticks)
    /usr/bin/time -f "%e %U %S" -o "$WORK/time" "$bin" import --data "$dir" --practice "$practice" \
      "$WORK/p.ndjson" >/dev/null
    # The import's backends count once the postmaster has reaped them (a backend that has exited
    # but is not reaped yet is in neither figure): wait for them to go, 5 s at most.
    for _ in $(seq 50); do (($(pg_children) <= children)) && break; sleep 0.1; done
    after=$(pg_ticks)
    read -r wall user sys <"$WORK/time"
    pg_cpu=0
    [[ $backend != sqlite ]] && pg_cpu=$(echo "scale=2; ($after - $before) / $TCK" | bc)
    mv_cpu=$(echo "$user + $sys" | bc)
    wall_rate=$(echo "$N / $wall" | bc)
    cpu_rate=$(echo "$N / ($mv_cpu + $pg_cpu)" | bc)
    printf '%-9s %4s %6s %9s %12s %10s %10s %14s\n' "$backend" "$run" "$load" "$wall" "$wall_rate" \
      "$mv_cpu" "$pg_cpu" "$cpu_rate"
    WALL_RATES[$backend]+="$wall_rate "
    CPU_RATES[$backend]+="$cpu_rate "
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
for backend in "${BACKENDS[@]}"; do
  echo "median $backend: $(echo "${WALL_RATES[$backend]}" | median) patients/s wall, $(echo "${CPU_RATES[$backend]}" | median) patients per CPU-second"
done
sw=$(echo "${WALL_RATES[sqlite]}" | median)
for backend in "${BACKENDS[@]:1}"; do
  pw=$(echo "${WALL_RATES[$backend]}" | median)
  echo "ratio $backend / sqlite (wall): $(echo "scale=2; $pw / $sw" | bc)"
done
if [[ -n "$BASE" ]]; then
  pw=$(echo "${WALL_RATES[postgres]}" | median)
  bw=$(echo "${WALL_RATES[base-pg]}" | median)
  pc=$(echo "${CPU_RATES[postgres]}" | median)
  bc_=$(echo "${CPU_RATES[base-pg]}" | median)
  echo "ratio postgres / base-pg: $(echo "scale=2; $pw / $bw" | bc) (wall), $(echo "scale=2; $pc / $bc_" | bc) (per CPU-second)"
fi
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
