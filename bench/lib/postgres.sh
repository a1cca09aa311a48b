# A throwaway PostgreSQL cluster for a benchmark, sourced by bench/*.sh: initdb as the postgres user when run as root,
# a unix socket and a free loopback port in a directory of its own, fsync on, pg_stat_statements loaded (the scripts
# count statements with it). The caller removes it with pg_cluster_stop, from its exit trap.
#   pg_cluster_start DIR   sets PG_PORT; makes the login role hermod
#   pg_sql SQL...          runs SQL as the superuser in the database postgres (PG_DB to choose another)
#   pg_fresh_db NAME       drops NAME when it exists and makes it anew, owned by hermod
#   pg_cluster_stop        stops the server and removes DIR

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PG_DIR=
PG_PORT=

pg_as() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_cluster_start() {
  [ -n "$PG_BIN" ] || { echo "no PostgreSQL: apt-get install postgresql" >&2; return 1; }
  PG_DIR=$1
  mkdir -p "$PG_DIR"
  [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$PG_DIR"
  PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
  pg_as "$PG_BIN/pg_ctl" start -w -D "$PG_DIR/data" -l "$PG_DIR/server.log" \
    -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_DIR -c max_connections=200 -c shared_preload_libraries=pg_stat_statements" >/dev/null
  pg_sql "CREATE ROLE hermod LOGIN"
}

pg_sql() { pg_as env PGOPTIONS="-c client_min_messages=warning" psql -h "$PG_DIR" -p "$PG_PORT" -U postgres -d "${PG_DB:-postgres}" -qAtc "$*"; }

pg_fresh_db() {
  pg_sql "DROP DATABASE IF EXISTS $1 WITH (FORCE)"
  pg_sql "CREATE DATABASE $1 OWNER hermod"
}

pg_cluster_stop() {
  [ -n "$PG_DIR" ] || return 0
  pg_as "$PG_BIN/pg_ctl" stop -D "$PG_DIR/data" -m fast >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  PG_DIR=
}
