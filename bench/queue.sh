#!/usr/bin/env bash
# The queue benchmark (bench/Hermod.QueueBench) on the embedded SQLite store, or with PROVIDER=postgres on a
# throwaway PostgreSQL cluster made for the run (bench/lib/postgres.sh) and removed afterwards, also when the run fails.
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

. "$ROOT/bench/lib/postgres.sh"
CONFIG=$(mktemp /tmp/hermod-queuebench.XXXXXX.yaml)
trap 'pg_cluster_stop; rm -f "$CONFIG"' EXIT
pg_cluster_start "$(mktemp -d /tmp/hermod-queuebench-pg.XXXXXX)"
for n in 1 2 3 4; do pg_fresh_db "hermod_$n"; done
cat > "$CONFIG" <<YAML
storage:
  provider: postgres
  postgres:
    connection_string: "Host=127.0.0.1;Port=$PG_PORT;Username=hermod;Database=hermod_{world}"
YAML
"${BENCH[@]}" --config "$CONFIG" "$@"
