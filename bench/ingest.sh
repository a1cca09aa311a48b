#!/usr/bin/env bash
# Durable-ingest benchmark: Hermod against Postfix, side by side, on loopback.
#
# Each server accepts mail for example.test from smtp-source and keeps it in its queue: Hermod in a
# fresh SQLite store, Postfix (its own instance, own config and queue directory) in its queue files.
# A message counts once the server has answered 250 to its final dot, which both servers only do
# after an fsync. By default both also run their queue manager on what arrives, and both defer it
# (Hermod holds mail for a local domain without a route; Postfix has defer_transports), so each does
# its full per-message work. INGEST_ONLY=1 takes the queue managers out: Hermod runs with
# delivery.enabled false, Postfix puts each message on hold at end of data. See bench/README.md.
#
# Before each measured run, each server takes WARMUP messages of the same size (not timed; Postfix's
# are deleted again): Hermod starts as a new process on an empty store for every run, and the runtime's
# JIT compiles and optimizes its hot path during the first thousands of messages, a cost a server
# that runs for days pays once.
#
# Environment: RUNS (3), SESSIONS (50), WARMUP (2000), MESSAGES_SMALL (20000, 1 KiB bodies),
# MESSAGES_LARGE (5000, 100 KiB bodies), RUN_TIMEOUT (600 s per smtp-source run), QUIET_WAIT (120 s
# at most to wait for idle CPUs before each run; 0: do not wait), INGEST_ONLY=1,
# POSTFIX_FRESH=1 (restart Postfix on a new queue directory before every run, not only postsuper -d),
# SKIP_BUILD=1 (use the existing Release build), KEEP_TMP=1 (keep the work directory),
# PROVIDER=postgres (Hermod stores in PostgreSQL instead: a throwaway cluster on the same machine, made by
# bench/lib/postgres.sh, a fresh database for every run; the statements and round trips per message are printed).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
SESSIONS=${SESSIONS:-50}
WARMUP=${WARMUP:-2000}
MESSAGES_SMALL=${MESSAGES_SMALL:-20000}
MESSAGES_LARGE=${MESSAGES_LARGE:-5000}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
QUIET_WAIT=${QUIET_WAIT:-120}
PROVIDER=${PROVIDER:-sqlite}
TARGET_RATIO=3
export PATH="$PATH:/usr/sbin:/sbin"

for v in RUNS SESSIONS MESSAGES_SMALL MESSAGES_LARGE RUN_TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "ingest.sh: $v must be a positive integer, got '${!v}'" >&2; exit 2; }
done
[[ $WARMUP =~ ^[0-9]+$ ]] || { echo "ingest.sh: WARMUP must be a number of messages, got '$WARMUP'" >&2; exit 2; }
[[ $PROVIDER =~ ^(sqlite|postgres)$ ]] || { echo "ingest.sh: PROVIDER must be sqlite or postgres, got '$PROVIDER'" >&2; exit 2; }
[[ $QUIET_WAIT =~ ^[0-9]+$ ]] || { echo "ingest.sh: QUIET_WAIT must be a number of seconds, got '$QUIET_WAIT'" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "ingest.sh: run as root (it starts its own Postfix instance)" >&2; exit 2; }

log() { printf '== %s\n' "$*" >&2; }
warn() { printf '\n!!!!!!!!!! WARNING: %s\n\n' "$*" >&2; }
. "$ROOT/bench/lib/postgres.sh"

# --- peers -------------------------------------------------------------------------------------
missing=()
[ -x /usr/bin/python3 ] || missing+=(python3)
for tool in smtp-source postfix postsuper postconf; do
  [ -x "/usr/sbin/$tool" ] || { missing+=(postfix); break; }
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -q
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
PY=/usr/bin/python3

# --- work directory and cleanup ------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hermod-ingest.XXXXXX")
chmod 755 "$WORK" # Postfix daemons run as the postfix user and must reach the queue directory
HERMOD_PID=
SOURCE_PID=
POSTFIX_CONF="$WORK/postfix/etc"
POSTFIX_QUEUE="$WORK/postfix/queue"
POSTFIX_UP=

stop_hermod() {
  [ -n "$HERMOD_PID" ] || return 0
  kill -TERM "$HERMOD_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$HERMOD_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$HERMOD_PID" 2>/dev/null || true
  wait "$HERMOD_PID" 2>/dev/null || true
  HERMOD_PID=
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [ -z "$SOURCE_PID" ] || kill -TERM "$SOURCE_PID" 2>/dev/null || true
  stop_hermod
  pg_cluster_stop
  if [ -n "$POSTFIX_UP" ]; then
    postfix -c "$POSTFIX_CONF" stop >/dev/null 2>&1 || true
  fi
  if [ -n "${KEEP_TMP:-}" ] || { [ "$status" -ne 0 ] && [ "$status" -ne 130 ] && [ "$status" -ne 143 ]; }; then
    echo "work directory kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fs=$(stat -f -c %T "$WORK")
[ "$fs" != tmpfs ] || warn "$WORK is on tmpfs: fsync costs nothing there; set TMPDIR to a disk-backed directory"

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Waits (at most 60 s) for an SMTP greeting on 127.0.0.1:$1.
wait_smtp() {
  local port=$1 pid=${2:-}
  for _ in $(seq 1 600); do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && head -c 3 <&3" 2>/dev/null | grep -q '^220'; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Runs smtp-source and sets SECS to the elapsed seconds, measured with the monotonic clock around the
# child process alone. Non-zero exit when smtp-source failed or ran out of time. The runner goes to
# the background so that a signal to this script is handled at once (the trap stops it).
SECS=
timed_source() {
  local port=$1 count=$2 length=$3 errlog=$4 status=0
  "$PY" "$ROOT/bench/timed.py" "$RUN_TIMEOUT" smtp-source -s "$SESSIONS" -m "$count" -l "$length" -d \
    -f a@remote.test -t u@example.test "127.0.0.1:$port" >"$WORK/secs" 2>"$errlog" &
  SOURCE_PID=$!
  wait "$SOURCE_PID" || status=$?
  SOURCE_PID=
  SECS=$(cat "$WORK/secs")
  return "$status"
}

# Percent of all CPU time not idle over one second: other work on the machine skews the figures
# (load average cannot tell, it counts this benchmark's own processes waiting on fsync).
cpu_busy() {
  local a b
  a=$(head -n 1 /proc/stat)
  sleep 1
  b=$(head -n 1 /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN {
    n = split(a, x); split(b, y); total = 0
    for (i = 2; i <= n; i++) total += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6])
    printf "%.0f", (total > 0 ? 100 * (total - idle) / total : 0)
  }'
}

# Before each run, waits (at most QUIET_WAIT seconds) for the CPUs to be idle: on a shared machine
# other work skews a run far more than anything measured here. Records the last sample in BUSY.
BUSY=()
check_quiet() {
  local busy deadline=$((SECONDS + QUIET_WAIT))
  while :; do
    busy=$(cpu_busy)
    [ "$busy" -gt 25 ] && [ "$SECONDS" -lt "$deadline" ] || break
  done
  BUSY+=("$busy")
  [ "$busy" -le 25 ] || warn "the CPUs were $busy% busy with other work just before this run: its figure is skewed"
  FSYNCS+=("$(fsync_rate)")
}

# 4 KiB write + fsync, as many as fit in one second, in the work directory: the disk's speed at the
# moment (on a shared virtual disk it swings widely, and a server that fsyncs every message feels it
# more than one that shares fsyncs between sessions).
FSYNCS=()
fsync_rate() {
  "$PY" - "$WORK/fsync-probe" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
block, n, start = b"x" * 4096, 0, time.monotonic()
while time.monotonic() - start < 1:
    os.write(fd, block)
    os.fsync(fd)
    n += 1
os.close(fd)
os.unlink(sys.argv[1])
print(round(n / (time.monotonic() - start)))
PY
}

rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.0f", v[(NR + 1) / 2]; else printf "%.0f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --- Hermod ------------------------------------------------------------------------------------
HERMOD_DLL="$ROOT/src/Hermod/bin/Release/net10.0/hermod.dll"
if [ -z "${SKIP_BUILD:-}" ]; then
  log "building Hermod (Release)"
  dotnet build -c Release "$ROOT/src/Hermod" -nologo -v q -clp:ErrorsOnly >"$WORK/build.log" 2>&1 || {
    cat "$WORK/build.log" >&2
    echo "ingest.sh: build failed" >&2
    exit 1
  }
fi
[ -f "$HERMOD_DLL" ] || { echo "ingest.sh: $HERMOD_DLL not found (build failed?)" >&2; exit 1; }

HERMOD_PORT=$(free_port)
HERMOD_HTTP=$(free_port)
HERMOD_CONFIG="$WORK/hermod.yaml"
HERMOD_DATA="$WORK/hermod-data"
HERMOD_LOG="$WORK/hermod.log"
cat >"$HERMOD_CONFIG" <<EOF
hostname: mx.example.test
data_dir: $HERMOD_DATA
smtp:
  local_domains: [example.test]
  listeners:
    - { name: mx, address: 127.0.0.1:$HERMOD_PORT, role: ingress, tls: none }
  limits: { max_connections_per_ip: 1000 }
http: { address: 127.0.0.1:$HERMOD_HTTP }
log: { level: warning }
EOF
[ -z "${INGEST_ONLY:-}" ] || echo "delivery: { enabled: false }" >>"$HERMOD_CONFIG"
if [ "$PROVIDER" = postgres ]; then
  log "starting a PostgreSQL cluster of its own"
  pg_cluster_start "$WORK/postgres"
  pg_sql "CREATE EXTENSION pg_stat_statements" # counts the statements of every database
  cat >>"$HERMOD_CONFIG" <<EOF
storage:
  provider: postgres
  postgres: { connection_string: "Host=127.0.0.1;Port=$PG_PORT;Username=hermod;Database=hermod" }
EOF
fi

# Starts Hermod on an empty data directory (and an empty database).
start_hermod() {
  rm -rf "$HERMOD_DATA"
  if [ "$PROVIDER" = postgres ]; then
    pg_fresh_db hermod
  fi
  dotnet "$HERMOD_DLL" serve --config "$HERMOD_CONFIG" >>"$HERMOD_LOG" 2>&1 &
  HERMOD_PID=$!
  wait_smtp "$HERMOD_PORT" "$HERMOD_PID" || {
    tail -n 20 "$HERMOD_LOG" >&2
    echo "ingest.sh: Hermod did not answer on 127.0.0.1:$HERMOD_PORT" >&2
    exit 1
  }
}

# The value of one of Hermod's metrics (GET /metrics), summed over its labels; 0 when it has none.
hermod_metric() {
  "$PY" - "http://127.0.0.1:$HERMOD_HTTP/metrics" "$1" <<'PY'
import sys, urllib.request
total = 0.0
for line in urllib.request.urlopen(sys.argv[1], timeout=10).read().decode().splitlines():
    name = line.split("{")[0].split(" ")[0]
    if name == sys.argv[2]:
        total += float(line.rsplit(" ", 1)[1])
print(f"{total:.0f}")
PY
}

# PostgreSQL: how many statements the server ran since the last pg_stat_statements_reset(), in Hermod's database.
pg_statements() {
  pg_sql "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'hermod' AND s.query NOT LIKE '%pg_stat_statements%'"
}

hermod_queue_count() {
  local json
  json=$(dotnet "$HERMOD_DLL" queue list --json --config "$HERMOD_CONFIG")
  if command -v jq >/dev/null; then jq length <<<"$json"; else grep -c '"id":' <<<"$json" || true; fi
}

# --- Postfix -----------------------------------------------------------------------------------
POSTFIX_PORT=$(free_port)
POSTFIX_LOG="$WORK/postfix/maillog"
mkdir -p "$POSTFIX_CONF" "$POSTFIX_QUEUE"
chmod 755 "$WORK/postfix" "$POSTFIX_QUEUE"
PROCESS_LIMIT=$((SESSIONS * 2 > 100 ? SESSIONS * 2 : 100))
cat >"$POSTFIX_CONF/main.cf" <<EOF
# A private instance for the benchmark: accepts mail for example.test from loopback, queues it and
# holds it (the smtp and relay transports are deferred), never delivers.
compatibility_level = 3.6
queue_directory = $POSTFIX_QUEUE
data_directory = $WORK/postfix/lib
mail_owner = postfix
setgid_group = postdrop
myhostname = pf.example.test
mydomain = example.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
relay_domains = example.test
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
defer_transports = smtp, relay
default_process_limit = $PROCESS_LIMIT
# No artificial inflow throttle (the default pauses cleanup 1 s when arrivals outpace deliveries).
in_flow_delay = 0
# No reverse DNS for the client: the machine has loopback only.
smtpd_peername_lookup = no
maillog_file = $POSTFIX_LOG
maillog_file_prefixes = $WORK
alias_maps =
alias_database =
local_recipient_maps =
biff = no
EOF
if [ -n "${INGEST_ONLY:-}" ]; then
  echo "smtpd_end_of_data_restrictions = check_client_access static:HOLD" >>"$POSTFIX_CONF/main.cf"
  MODE="ingest only: Hermod delivery.enabled false, Postfix HOLD at end of data"
else
  MODE="queue managers on: Hermod holds local-domain mail without a route, Postfix defer_transports"
fi
# Only what this instance needs, and no chroot (the chroot would need copies of /etc files).
cat >"$POSTFIX_CONF/master.cf" <<EOF
127.0.0.1:$POSTFIX_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

queue_files() {
  local n=0 d
  for d in "$@"; do n=$((n + $(find "$POSTFIX_QUEUE/$d" -type f | wc -l))); done
  echo "$n"
}

# Counts the messages Postfix holds, once qmgr has moved every accepted message on (at most 120 s).
postfix_queue_count() {
  for _ in $(seq 1 1200); do
    [ "$(queue_files incoming active maildrop)" -eq 0 ] && break
    sleep 0.1
  done
  queue_files incoming active maildrop deferred hold
}

start_postfix() {
  postfix -c "$POSTFIX_CONF" check >&2
  postfix -c "$POSTFIX_CONF" start >&2
  POSTFIX_UP=1
  wait_smtp "$POSTFIX_PORT" || {
    tail -n 20 "$POSTFIX_LOG" >&2
    echo "ingest.sh: Postfix did not answer on 127.0.0.1:$POSTFIX_PORT" >&2
    exit 1
  }
}

# A new, empty queue directory: directories keep their size after the files in them are deleted.
fresh_postfix() {
  postfix -c "$POSTFIX_CONF" stop >/dev/null 2>&1 || true
  POSTFIX_UP=
  rm -rf "$POSTFIX_QUEUE" "$WORK/postfix/lib"
  mkdir -m 755 "$POSTFIX_QUEUE"
  start_postfix
}

log "starting Postfix $(postconf -h -d mail_version) (config $POSTFIX_CONF, port $POSTFIX_PORT)"
start_postfix

# --- runs --------------------------------------------------------------------------------------
# One measurement each: sets RATE (messages per second); warns when the queue does not hold what was
# sent. Not called through $(...): the Hermod process must belong to this shell so the trap can stop it.
RATE=
run_hermod() {
  local count=$1 length=$2 n err="$WORK/source-hermod.err"
  : >"$HERMOD_LOG"
  start_hermod
  warm_up "$HERMOD_PORT" "$length" "$err"
  check_quiet
  local trips0=0 commits0=0
  if [ "$PROVIDER" = postgres ]; then
    trips0=$(hermod_metric hermod_storage_commit_round_trips_sum)
    commits0=$(hermod_metric hermod_storage_commit_batch_size_count)
    pg_sql "SELECT pg_stat_statements_reset()" >/dev/null
  fi
  timed_source "$HERMOD_PORT" "$count" "$length" "$err" || {
    cat "$err" >&2
    tail -n 20 "$HERMOD_LOG" >&2
    echo "ingest.sh: smtp-source against Hermod failed" >&2
    exit 1
  }
  if [ "$PROVIDER" = postgres ]; then
    local statements trips commits
    statements=$(pg_statements)
    trips=$(( $(hermod_metric hermod_storage_commit_round_trips_sum) - trips0 ))
    commits=$(( $(hermod_metric hermod_storage_commit_batch_size_count) - commits0 ))
    PER_MESSAGE+=("$(awk -v l="$length" -v s="$statements" -v t="$trips" -v c="$commits" -v n="$count" 'BEGIN {
      printf "%6d B: %.1f statements, %.2f writer round trips, %.3f commits per message", l, s / n, t / n, c / n }')")
    log "postgres: ${PER_MESSAGE[-1]}"
  fi
  n=$(hermod_queue_count)
  log "hermod:  $count x $length B in ${SECS}s = $(rate "$count" "$SECS") msg/s; queue holds $n (with the warm-up's $WARMUP)"
  [ "$n" -eq $((count + WARMUP)) ] || warn "Hermod queue holds $n messages, expected $((count + WARMUP))"
  if [ -s "$HERMOD_LOG" ]; then
    warn "Hermod logged $(wc -l <"$HERMOD_LOG") line(s) at warning or above during the run; first lines:"
    head -n 10 "$HERMOD_LOG" >&2
  fi
  stop_hermod
  rm -rf "$HERMOD_DATA"
  RATE=$(rate "$count" "$SECS")
}

run_postfix() {
  local count=$1 length=$2 n err="$WORK/source-postfix.err"
  [ -z "${POSTFIX_FRESH:-}" ] || fresh_postfix
  if [ "$WARMUP" -gt 0 ]; then
    warm_up "$POSTFIX_PORT" "$length" "$err"
    postfix_queue_count >/dev/null # lets incoming and active drain
    postsuper -c "$POSTFIX_CONF" -d ALL >/dev/null 2>&1
  fi
  check_quiet
  timed_source "$POSTFIX_PORT" "$count" "$length" "$err" || {
    cat "$err" >&2
    tail -n 20 "$POSTFIX_LOG" >&2
    echo "ingest.sh: smtp-source against Postfix failed" >&2
    exit 1
  }
  n=$(postfix_queue_count)
  log "postfix: $count x $length B in ${SECS}s = $(rate "$count" "$SECS") msg/s; queue holds $n"
  [ "$n" -eq "$count" ] || warn "Postfix queue holds $n messages, expected $count"
  postsuper -c "$POSTFIX_CONF" -d ALL >/dev/null 2>&1
  n=$(queue_files incoming active maildrop deferred hold)
  [ "$n" -eq 0 ] || warn "Postfix queue not empty after postsuper -d ALL: $n files"
  RATE=$(rate "$count" "$SECS")
}

# WARMUP messages of the run's size, untimed.
warm_up() {
  local port=$1 length=$2 err=$3
  [ "$WARMUP" -gt 0 ] || return 0
  timed_source "$port" "$WARMUP" "$length" "$err" || {
    cat "$err" >&2
    echo "ingest.sh: the warm-up on port $port failed" >&2
    exit 1
  }
}

ROWS=()
RUNLIST=()
PER_MESSAGE=()
measure() {
  local label=$1 count=$2 length=$3 r h p
  local -a hermod=() postfix=()
  for r in $(seq 1 "$RUNS"); do
    log "$label, run $r/$RUNS"
    run_hermod "$count" "$length"
    hermod+=("$RATE")
    run_postfix "$count" "$length"
    postfix+=("$RATE")
  done
  h=$(median "${hermod[@]}")
  p=$(median "${postfix[@]}")
  ROWS+=("$(awk -v l="$label" -v n="$count" -v h="$h" -v p="$p" -v t="$TARGET_RATIO" 'BEGIN {
    r = h / p
    printf "%-8s %9d %13d %14d %10.2fx   %s", l, n, h, p, r, (r >= t ? "met" : "MISSED")
  }')")
  RUNLIST+=("$(printf '%-8s Hermod: %s   Postfix: %s' "$label" "${hermod[*]}" "${postfix[*]}")")
}

log "Hermod on 127.0.0.1:$HERMOD_PORT, Postfix on 127.0.0.1:$POSTFIX_PORT; $SESSIONS sessions, $RUNS run(s) each; work dir $WORK ($fs)"
measure "1 KiB" "$MESSAGES_SMALL" 1024
measure "100 KiB" "$MESSAGES_LARGE" 102400

{
  echo
  echo "Durable ingest, smtp-source -s $SESSIONS -d, median of $RUNS run(s), each after a warm-up of $WARMUP messages; target: Hermod >= ${TARGET_RATIO}x Postfix"
  echo "mode: $MODE; Hermod stores in $([ "$PROVIDER" = postgres ] && echo "PostgreSQL (same machine, fsync on, synchronous_commit on)" || echo SQLite)"
  echo "Postfix $([ -n "${POSTFIX_FRESH:-}" ] && echo "restarted on a new queue directory before each run" || echo "queue emptied with postsuper -d ALL after each run")"
  echo "machine: $(nproc) cores, $(uname -sr), Postfix $(postconf -h -d mail_version), .NET SDK $(dotnet --version 2>/dev/null), work dir on $fs"
  echo "just before each run (H, P, H, P, ...): CPU busy % ${BUSY[*]}; fsync/s ${FSYNCS[*]}"
  printf '%-8s %9s %13s %14s %11s   %s\n' size messages "Hermod msg/s" "Postfix msg/s" "ratio H/P" "target"
  printf '%s\n' "${ROWS[@]}"
  echo "each run, msg/s:"
  printf '  %s\n' "${RUNLIST[@]}"
  if [ "$PROVIDER" = postgres ]; then
    echo "Hermod on PostgreSQL $(pg_sql "SHOW server_version"), each run (statements: every one the server ran in Hermod's database, queue runner and heartbeat included; round trips and commits: the group-commit writer's):"
    printf '  %s\n' "${PER_MESSAGE[@]}"
  fi
} | tee "$WORK/result.txt"
mkdir -p "$ROOT/bench/out"
cp "$WORK/result.txt" "$ROOT/bench/out/ingest-$(date -u +%Y%m%dT%H%M%SZ).txt"
