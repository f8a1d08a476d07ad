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

totp() {  # base32 secret -> current 6-digit code (RFC 6238, SHA-1, 30 s), with a step offset
  python3 - "$1" "$2" <<'PY'
import base64, hmac, hashlib, struct, sys, time
key = base64.b32decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 8))
step = int(time.time()) // 30 + int(sys.argv[2])
d = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
o = d[-1] & 15
print("%06d" % ((struct.unpack(">I", d[o:o + 4])[0] & 0x7fffffff) % 1000000))
PY
}

"$BIN" init --data "$WORK/v" >/dev/null
declare -a SECRETS LOGINS PRACTICE_OF
for p in $(seq 1 10); do
  PID=$("$BIN" practice add --data "$WORK/v" --name "Cabinet $p")
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
  "$BIN" import --data "$WORK/v" --practice "$PID" "$WORK/p$p.ndjson" >/dev/null
  for u in $(seq 1 20); do
    LOGIN="bench.p${p}.u${u}"
    URI=$(echo "bench password $LOGIN" | "$BIN" user add --data "$WORK/v" --practice "$PID" \
          --login "$LOGIN" --role practitioner)
    SECRETS+=("$(echo "$URI" | sed -E 's/.*secret=([A-Z2-7]+).*/\1/')")
    LOGINS+=("$LOGIN")
  done
done

run() {  # $1: plain|tls
  local scheme=http flag=--http
  if [ "$1" = tls ]; then scheme=https; flag=; fi
  "$BIN" serve --data "$WORK/v" --listen 127.0.0.1:0 $flag > "$WORK/serve.out" 2> "$WORK/serve.err" &
  SERVER_PID=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$WORK/serve.out" && break; sleep 0.1; done
  local port
  port=$(sed -nE 's/listening on .*:([0-9]+)$/\1/p' "$WORK/serve.out")
  local base="$scheme://127.0.0.1:$port"
  : > "$WORK/sessions"
  local offset=$([ "$1" = tls ] && echo 1 || echo 0)
  for i in "${!LOGINS[@]}"; do
    local code token ids
    code=$(totp "${SECRETS[$i]}" "$offset")
    token=$(curl -sk "$base/auth/login" -H 'Content-Type: application/json' \
      -d "{\"login\":\"${LOGINS[$i]}\",\"password\":\"bench password ${LOGINS[$i]}\",\"totp\":\"$code\"}" | jq -r .token)
    ids=$(curl -sk "$base/fhir/Patient?_count=4&_cursor=$(( (i % 10) * 4 )).0" \
      -H "Authorization: Bearer $token" | jq -r '[.entry[].resource.id] | join(" ")')
    echo "$token $ids" >> "$WORK/sessions"
  done
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
