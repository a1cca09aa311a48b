#!/usr/bin/env bash
# The queue benchmark (bench/Hermod.QueueBench) on the embedded SQLite store, or with PROVIDER=postgres on a
# throwaway PostgreSQL cluster made for the run (initdb as the postgres user when run as root, a unix socket and a
# free loopback port in a temporary directory, fsync on) and removed afterwards, also when the run fails.
# Arguments go to the benchmark: --waiting N --due N --backlog N --small-backlog N.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROVIDER=${PROVIDER:-sqlite}
dotnet build "$ROOT/bench/Hermod.QueueBench" -c Release -nologo -clp:ErrorsOnly -v q >/dev/null
BENCH=("dotnet" "$ROOT/bench/Hermod.QueueBench/bin/Release/net10.0/Hermod.QueueBench.dll")
if [ "$PROVIDER" = sqlite ]; then
  exec "${BENCH[@]}" "$@"
fi
[ "$PROVIDER" = postgres ] || { echo "PROVIDER must be sqlite or postgres" >&2; exit 2; }

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$BIN" ] || { echo "no PostgreSQL: apt-get install postgresql" >&2; exit 1; }
WORK=$(mktemp -d /tmp/hermod-queuebench-pg.XXXXXX)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$WORK"
stop() {
  as_pg "$BIN/pg_ctl" stop -D "$WORK/data" -m fast >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap stop EXIT
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$BIN/initdb" -D "$WORK/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
as_pg "$BIN/pg_ctl" start -w -D "$WORK/data" -l "$WORK/server.log" \
  -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$WORK -c max_connections=200" >/dev/null
as_pg psql -h "$WORK" -p "$PORT" -U postgres -d postgres -qc "CREATE ROLE hermod LOGIN" >/dev/null
for n in 1 2 3 4; do as_pg psql -h "$WORK" -p "$PORT" -U postgres -d postgres -qc "CREATE DATABASE hermod_$n OWNER hermod" >/dev/null; done
cat > "$WORK/hermod.yaml" <<YAML
storage:
  provider: postgres
  postgres:
    connection_string: "Host=127.0.0.1;Port=$PORT;Username=hermod;Database=hermod_{world}"
YAML
"${BENCH[@]}" --config "$WORK/hermod.yaml" "$@"
