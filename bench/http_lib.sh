# Shared by the HTTP benchmarks (bench/http_bench.sh, bench/nodes_bench.sh); sourced, not run.
# Needs BIN (the medvault binary) and WORK (a scratch directory) set by the caller.

# totp SECRET OFFSET: the RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret, OFFSET steps
# from now.
totp() {
  python3 - "$1" "$2" <<'PY'
import base64, hmac, hashlib, struct, sys, time
key = base64.b32decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 8))
step = int(time.time()) // 30 + int(sys.argv[2])
d = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
o = d[-1] & 15
print("%06d" % ((struct.unpack(">I", d[o:o + 4])[0] & 0x7fffffff) % 1000000))
PY
}

# bench_vault DIR [init args...]: a vault of 10 practices, each with 50 patients and 20
# practitioner accounts; one line "LOGIN SECRET" per account goes to DIR.accounts.
bench_vault() {
  local dir=$1
  shift
  "$BIN" init --data "$dir" "$@" >/dev/null
  # Every account connects from 127.0.0.1, which the guard would take for one source driving ten
  # practices (docs/guard.md "Practice and source") and contain: the benchmark lifts that one rule.
  sed -i '/^\[guard\]/a source_practices = 100' "$dir/medvault.toml"
  grep -q '^source_practices = 100' "$dir/medvault.toml"
  : > "$dir.accounts"
  local p u pid login uri
  for p in $(seq 1 10); do
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
      login="bench.p${p}.u${u}"
      uri=$(echo "bench password $login" | "$BIN" user add --data "$dir" --practice "$pid" \
            --login "$login" --role practitioner)
      echo "$login $(echo "$uri" | sed -E 's/.*secret=([A-Z2-7]+).*/\1/')" >> "$dir.accounts"
    done
  done
}

# bench_sessions ACCOUNTS BASE_URL OUT OFFSET: logs every account in (TOTP OFFSET steps ahead:
# each code is accepted once) and writes "TOKEN ID1 ID2 ID3 ID4" per account for
# bench/http_read.lua: 4 patients of its practice, found by NIR as a secretary would (a list page
# past the first would show the practice's canaries and contain the account, docs/canaries.md).
bench_sessions() {
  local i=0 login secret code token ids p k n nir id
  : > "$3"
  while read -r login secret; do
    code=$(totp "$secret" "$4")
    token=$(curl -sk "$2/auth/login" -H 'Content-Type: application/json' \
      -d "{\"login\":\"$login\",\"password\":\"bench password $login\",\"totp\":\"$code\"}" | jq -r .token)
    if [[ -z "$token" || "$token" == null ]]; then
      echo "bench: login of $login failed" >&2
      return 1
    fi
    ids=""
    p=$((i / 20 + 1))
    for k in $(seq $(( (i % 10) * 4 )) $(( (i % 10) * 4 + 3 ))); do
      n=$((1840175000000 + p * 1000 + k))
      nir=$(printf '%d%02d' "$n" $((97 - n % 97)))
      id=$(curl -sk "$2/fhir/Patient?identifier=urn:oid:1.2.250.1.213.1.4.8%7C$nir" \
        -H "Authorization: Bearer $token" | jq -r '.entry[0].resource.id')
      ids="$ids $id"
    done
    echo "$token$ids" >> "$3"
    i=$((i + 1))
  done < "$1"
}
