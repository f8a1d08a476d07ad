#!/usr/bin/env bash
# Audited reads/s of two `medvault serve` nodes on one PostgreSQL vault, against one node on a
# SQLite vault (the baseline) and one node on the PostgreSQL vault, in the same run. The same data
# in each vault: 200 practitioner accounts in 10 practices, 50 patients each; every wrk connection
# re-reads 4 of its practice's patients by id (bench/http_read.lua), plain HTTP. With two nodes,
# two wrk processes run at once, 100 connections on each node, and their rates are added.
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

totp() {  # base32 secret, step offset -> 6-digit code (RFC 6238, SHA-1, 30 s)
  python3 - "$1" "$2" <<'PY'
import base64, hmac, hashlib, struct, sys, time
key = base64.b32decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 8))
step = int(time.time()) // 30 + int(sys.argv[2])
d = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
o = d[-1] & 15
print("%06d" % ((struct.unpack(">I", d[o:o + 4])[0] & 0x7fffffff) % 1000000))
PY
}

# make_vault DIR [init args...]: 10 practices of 50 patients and 20 practitioners each; the
# accounts' logins and TOTP secrets go to DIR.accounts.
make_vault() {
  local dir=$1
  shift
  "$BIN" init --data "$dir" "$@" >/dev/null
  : > "$dir.accounts"
  for p in $(seq 1 10); do
    local pid
    pid=$("$BIN" practice add --data "$dir" --name "Cabinet $p")
    python3 - "$p" > "$WORK/p$p.ndjson" <<'PY'
import json, sys
p = int(sys.argv[1])
for i in range(50):
    n = 1840175000000 + p * 1000 + i
    print(json.dumps({"resourceType": "Patient",
        "identifier": [{"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "%d%02d" % (n, 97 - n % 97)}],
        "name": [{"family": "Bench%d" % p, "given": ["P%d" % i]}], "gender": "female",
        "birthDate": "1984-01-%02d" % (1 + i % 28),
        "telecom": [{"system": "phone", "value": "0612345678"}],
        "address": [{"line": ["1 rue du Test"], "postalCode": "75011", "city": "Paris"}]}))
PY
    "$BIN" import --data "$dir" --practice "$pid" "$WORK/p$p.ndjson" >/dev/null
    for u in $(seq 1 20); do
      local login="bench.p${p}.u${u}" uri
      uri=$(echo "bench password $login" | "$BIN" user add --data "$dir" --practice "$pid" \
            --login "$login" --role practitioner)
      echo "$login $(echo "$uri" | sed -E 's/.*secret=([A-Z2-7]+).*/\1/')" >> "$dir.accounts"
    done
  done
}

# start_node DIR NAME: serve DIR on a free port; prints the port.
start_node() {
  "$BIN" serve --data "$1" --listen 127.0.0.1:0 --http > "$WORK/$2.out" 2> "$WORK/$2.err" &
  PIDS+=($!)
  for _ in $(seq 1 300); do grep -q "listening on" "$WORK/$2.out" && break; sleep 0.1; done
  sed -nE 's/listening on .*:([0-9]+)$/\1/p' "$WORK/$2.out"
}

stop_nodes() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}

# sessions DIR PORT OUT OFFSET: logs every account in and lists 4 of its practice's patients.
sessions() {
  local base="http://127.0.0.1:$2" i=0 login secret code token ids
  : > "$3"
  while read -r login secret; do
    code=$(totp "$secret" "$4")
    token=$(curl -s "$base/auth/login" -H 'Content-Type: application/json' \
      -d "{\"login\":\"$login\",\"password\":\"bench password $login\",\"totp\":\"$code\"}" | jq -r .token)
    ids=$(curl -s "$base/fhir/Patient?_count=4&_cursor=$(( (i % 10) * 4 )).0" \
      -H "Authorization: Bearer $token" | jq -r '[.entry[].resource.id] | join(" ")')
    echo "$token $ids" >> "$3"
    i=$((i + 1))
  done < "$1.accounts"
}

# load SESSIONS CONNECTIONS PORT OUT: one wrk run; writes "rps non2xx" to OUT.
load() {
  MEDVAULT_BENCH_SESSIONS="$1" wrk -t1 -c"$2" -d"$DURATION" -s bench/http_read.lua \
    "http://127.0.0.1:$3" > "$4.wrk"
  echo "$(awk '/Requests\/sec/ {print $2}' "$4.wrk") $(awk '/^non2xx/ {print $2}' "$4.wrk")" > "$4"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "command: bench/nodes_bench.sh $DURATION $RUNS; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
make_vault "$WORK/sqlite"
make_vault "$WORK/pg" --backend postgres --pg "${URL%/*}/nodes"

printf '%-4s %16s %16s %16s %10s\n' run sqlite_1_node pg_1_node pg_2_nodes ratio
declare -a R_SQLITE R_PG1 R_PG2
offset=0
for run in $(seq 1 "$RUNS"); do
  # Each account logs in once per 30 s step at most: use the next step every round.
  port=$(start_node "$WORK/sqlite" sqlite)
  sessions "$WORK/sqlite" "$port" "$WORK/s-sqlite" "$offset"
  load "$WORK/s-sqlite" 200 "$port" "$WORK/r-sqlite"
  stop_nodes
  port=$(start_node "$WORK/pg" pg-a)
  sessions "$WORK/pg" "$port" "$WORK/s-pg" "$offset"
  load "$WORK/s-pg" 200 "$port" "$WORK/r-pg1"
  port_b=$(start_node "$WORK/pg" pg-b)
  load "$WORK/s-pg" 100 "$port" "$WORK/r-pg2a" &
  wrk_a=$!
  load "$WORK/s-pg" 100 "$port_b" "$WORK/r-pg2b" &
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
  offset=$((offset + 1))
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m_sqlite=$(median "${R_SQLITE[@]}")
m_pg1=$(median "${R_PG1[@]}")
m_pg2=$(median "${R_PG2[@]}")
printf '%-4s %16s %16s %16s %10.3f\n' median "$m_sqlite" "$m_pg1" "$m_pg2" \
  "$(echo "$m_pg2 / $m_sqlite" | bc -l)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
