#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests and the benchmarks: its own data directory under
# $TMPDIR, a free TCP port on 127.0.0.1, trust authentication for the local user `medvault`, run
# by an unprivileged user (nobody when called as root: PostgreSQL refuses to run as root).
#
#   pg_cluster.sh start STATE_DIR     start a cluster; writes STATE_DIR/url (and datadir, port)
#   pg_cluster.sh stop STATE_DIR      stop it and delete its data directory
#   pg_cluster.sh run CMD [ARGS...]   start one, run CMD with MEDVAULT_TEST_PG_URL set, stop it
#   pg_cluster.sh createdb STATE_DIR NAME   create a database in the running cluster
#
# Environment: PG_DURABLE=1 keeps fsync and synchronous_commit on (benchmarks); by default the
# test cluster runs with fsync=off, since no test crashes the server itself.
set -euo pipefail

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [[ -z "$d" || ! -x "$d/initdb" ]]; then
    echo "pg_cluster: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
    exit 1
  fi
  echo "$d"
}

# Runs a command as the cluster's owner.
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u nobody -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  local state=$1 bin data port log tries
  bin=$(bindir)
  mkdir -p "$state"
  # A cluster left behind by an interrupted run is stopped first.
  [[ -f "$state/datadir" ]] && stop "$state" >/dev/null 2>&1 || true
  data=$(mktemp -d "${TMPDIR:-/tmp}/medvault-pg.XXXXXX")
  chmod 0700 "$data"
  [[ "$(id -u)" == 0 ]] && chown nobody "$data"
  as_owner "$bin/initdb" -D "$data/data" -U medvault --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$data/initdb.log" 2>&1 || { cat "$data/initdb.log" >&2; exit 1; }
  local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [[ "${PG_DURABLE:-0}" == 1 ]] && durability=""
  for tries in 1 2 3 4 5; do
    port=$(free_port)
    # shellcheck disable=SC2086
    if as_owner "$bin/pg_ctl" -D "$data/data" -l "$data/server.log" -w -t 60 \
        -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=300 \
            -c shared_buffers=128MB $durability" start >/dev/null; then
      echo "$data" >"$state/datadir"
      echo "$port" >"$state/port"
      echo "postgresql://medvault@127.0.0.1:$port/postgres" >"$state/url"
      echo "pg_cluster: started on 127.0.0.1:$port ($data)"
      return 0
    fi
  done
  cat "$data/server.log" >&2 || true
  exit 1
}

stop() {
  local state=$1 bin data
  bin=$(bindir)
  [[ -f "$state/datadir" ]] || { echo "pg_cluster: nothing to stop in $state"; return 0; }
  data=$(cat "$state/datadir")
  if [[ -d "$data/data" ]]; then
    as_owner "$bin/pg_ctl" -D "$data/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$data"
  rm -f "$state/datadir" "$state/port" "$state/url"
  echo "pg_cluster: stopped"
}

createdb() {
  local state=$1 name=$2
  psql "$(cat "$state/url")" -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE \"$name\"" >/dev/null
}

case "${1:-}" in
  start) start "$2" ;;
  stop) stop "$2" ;;
  createdb) createdb "$2" "$3" ;;
  run)
    shift
    state=$(mktemp -d "${TMPDIR:-/tmp}/medvault-pg-state.XXXXXX")
    trap 'stop "$state" >/dev/null; rm -rf "$state"' EXIT
    start "$state" >&2
    MEDVAULT_TEST_PG_URL=$(cat "$state/url") MEDVAULT_TEST_PG_DIR=$state "$@"
    ;;
  *)
    echo "usage: pg_cluster.sh start|stop STATE_DIR | createdb STATE_DIR NAME | run CMD..." >&2
    exit 2
    ;;
esac
