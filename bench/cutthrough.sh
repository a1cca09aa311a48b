#!/usr/bin/env bash
# Cut-through benchmark: how close is relaying through Hermod to talking to the next hop directly?
#
# 1. One session, 1 KiB messages (smtp-source -s 1 -m $MESSAGES -d): the time per message straight into
#    smtp-sink, and through Hermod with cut-through to the same smtp-sink, in the same run. Target: at
#    most 2x the direct time. Hermod's 250 is the sink's own answer, handed back (the message is recorded
#    as delivered without waiting for an fsync: the next hop is responsible).
#    Then bench/latency.py times each step of each message (MAIL, RCPT, DATA, end of data) both ways and
#    prints mean, median, p90 and p99: whether the mean comes from every message or from a few slow ones.
# 2. The 50-session relay figure: smtp-source -s 50 through Hermod (cut-through on) to smtp-sink, msg/s;
#    and the same with cut-through off (store, then forward from the queue) for comparison.
#
# Both paths are warmed up first with WARMUP messages on one session: Hermod is a long-running server, and the
# runtime's tiered JIT goes on optimizing the hot path for the first ten thousand or so messages.
#
# Environment: RUNS (3), MESSAGES (2000), RELAY_MESSAGES (20000), SESSIONS (50), WARMUP (10000), RUN_TIMEOUT (600 s),
# SKIP_BUILD=1 (use the existing Release build), KEEP_TMP=1 (keep the work directory).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
MESSAGES=${MESSAGES:-2000}
RELAY_MESSAGES=${RELAY_MESSAGES:-20000}
SESSIONS=${SESSIONS:-50}
WARMUP=${WARMUP:-10000}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
TARGET_RATIO=2
export PATH="$PATH:/usr/sbin:/sbin"

for v in RUNS MESSAGES RELAY_MESSAGES SESSIONS WARMUP RUN_TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "cutthrough.sh: $v must be a positive integer, got '${!v}'" >&2; exit 2; }
done

log() { printf '== %s\n' "$*" >&2; }

# --- peers -------------------------------------------------------------------------------------
if [ ! -x /usr/sbin/smtp-source ] || [ ! -x /usr/sbin/smtp-sink ] || [ ! -x /usr/bin/python3 ]; then
  log "installing postfix (smtp-source, smtp-sink) and python3"
  apt-get update -q
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix python3
fi
PY=/usr/bin/python3

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hermod-cutthrough.XXXXXX")
PIDS=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
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

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

wait_smtp() {
  local port=$1
  for _ in $(seq 1 600); do
    if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && head -c 3 <&3" 2>/dev/null | grep -q '^220'; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Runs smtp-source against 127.0.0.1:$1 with $2 sessions and $3 messages of 1 KiB; prints the elapsed seconds
# (monotonic clock around the child alone). Fails when smtp-source failed or ran out of time.
timed_source() {
  local port=$1 sessions=$2 count=$3
  "$PY" "$ROOT/bench/timed.py" "$RUN_TIMEOUT" smtp-source -s "$sessions" -m "$count" -l 1024 -d -f a@remote.test -t u@example.test "127.0.0.1:$port"
}

median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.6f", v[(NR + 1) / 2]; else printf "%.6f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --- the next hop: smtp-sink (answers 250 to everything, PIPELINING) --------------------------------
SINK_PORT=$(free_port)
smtp-sink -u nobody -c "127.0.0.1:$SINK_PORT" 1000 >/dev/null 2>&1 &
PIDS+=($!)
wait_smtp "$SINK_PORT" || { echo "smtp-sink did not start" >&2; exit 1; }

# --- Hermod ------------------------------------------------------------------------------------
HERMOD_DLL="$ROOT/src/Hermod/bin/Release/net10.0/hermod.dll"
if [ -z "${SKIP_BUILD:-}" ]; then
  log "building Hermod (Release)"
  dotnet build -c Release "$ROOT/src/Hermod" -nologo -v q -clp:ErrorsOnly >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 1; }
fi

# start_hermod NAME CUT_THROUGH VAR: a Hermod whose ingress takes example.test and routes it to the sink; its port goes
# into VAR (not printed: a command substitution would start it in a subshell, out of reach of the cleanup).
start_hermod() {
  local name=$1 cut=$2 port
  port=$(free_port)
  cat >"$WORK/$name.yaml" <<EOF
hostname: mx.example.test
data_dir: $WORK/$name-data
log: { level: warning }
smtp:
  local_domains: [example.test]
  listeners:
    - { name: mx, address: 127.0.0.1:$port, role: ingress, tls: none, auth: none, cut_through: $cut }
  limits: { max_connections_per_ip: 1000 }
dns: { servers: [127.0.0.1:9] }
http: { address: 127.0.0.1:$(free_port) }
routes:
  example.test: 127.0.0.1:$SINK_PORT
delivery:
  tls: none
  max_per_destination: 50
EOF
  dotnet "$HERMOD_DLL" serve --config "$WORK/$name.yaml" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  wait_smtp "$port" || { echo "hermod ($name) did not start; log:" >&2; cat "$WORK/$name.log" >&2; exit 1; }
  printf -v "$3" '%s' "$port"
}

start_hermod cut true CUT_PORT
start_hermod queue false QUEUE_PORT
log "smtp-sink on $SINK_PORT; Hermod cut-through on $CUT_PORT, store-and-forward on $QUEUE_PORT; $RUNS run(s)"

log "warming up: $WARMUP messages on each path (JIT tiers, connection pools)"
timed_source "$SINK_PORT" 1 "$WARMUP" >/dev/null
timed_source "$CUT_PORT" 1 "$WARMUP" >/dev/null
timed_source "$QUEUE_PORT" 1 "$WARMUP" >/dev/null

# Each run times both paths back to back; the ratio is the median of the runs' ratios, so that the machine speeding
# up or slowing down between runs (it does, by a third) cancels out instead of pairing one run's direct time with
# another's time through Hermod.
direct=(); through=(); ratios=()
for run in $(seq 1 "$RUNS"); do
  d=$(timed_source "$SINK_PORT" 1 "$MESSAGES")
  t=$(timed_source "$CUT_PORT" 1 "$MESSAGES")
  direct+=("$d"); through+=("$t"); ratios+=("$(awk -v t="$t" -v d="$d" 'BEGIN { printf "%.4f", t / d }')")
  log "single session, run $run/$RUNS: direct $d s, through Hermod $t s for $MESSAGES messages (${ratios[-1]}x)"
done
D=$(median "${direct[@]}"); T=$(median "${through[@]}")
per() { awk -v s="$1" -v n="$MESSAGES" 'BEGIN { printf "%.3f", 1000 * s / n }'; }
RATIO=$(median "${ratios[@]}" | awk '{ printf "%.2f", $1 }')
log "per-step latency: $MESSAGES more messages each way"
LATENCY_DIRECT=$("$PY" "$ROOT/bench/latency.py" "$SINK_PORT" "$MESSAGES")
LATENCY_THROUGH=$("$PY" "$ROOT/bench/latency.py" "$CUT_PORT" "$MESSAGES")

relay_cut=(); relay_queue=()
for run in $(seq 1 "$RUNS"); do
  c=$(timed_source "$CUT_PORT" "$SESSIONS" "$RELAY_MESSAGES")
  q=$(timed_source "$QUEUE_PORT" "$SESSIONS" "$RELAY_MESSAGES")
  relay_cut+=("$(awk -v n="$RELAY_MESSAGES" -v s="$c" 'BEGIN { printf "%.0f", n / s }')")
  relay_queue+=("$(awk -v n="$RELAY_MESSAGES" -v s="$q" 'BEGIN { printf "%.0f", n / s }')")
  log "$SESSIONS sessions, run $run/$RUNS: cut-through ${relay_cut[-1]} msg/s, store and forward (accept rate) ${relay_queue[-1]} msg/s"
done

echo
echo "single session, $MESSAGES x 1 KiB, median of $RUNS:"
echo "  direct to smtp-sink:          $(per "$D") ms/message"
echo "  through Hermod, cut-through:  $(per "$T") ms/message"
echo "  ratio (median of the runs' own): ${RATIO}x (target: <= ${TARGET_RATIO}x) $(awk -v r="$RATIO" -v t="$TARGET_RATIO" 'BEGIN { print (r <= t ? "MET" : "MISSED") }')"
echo "  per message and step, one more run of $MESSAGES each (bench/latency.py; the mean above is smtp-source's):"
echo "  direct to smtp-sink:"
echo "$LATENCY_DIRECT"
echo "  through Hermod, cut-through:"
echo "$LATENCY_THROUGH"
echo "$SESSIONS sessions, $RELAY_MESSAGES x 1 KiB, median of $RUNS:"
echo "  cut-through (delivered when answered):   $(median "${relay_cut[@]}" | awk '{ printf "%.0f", $1 }') msg/s"
echo "  store and forward (accepted, queued):    $(median "${relay_queue[@]}" | awk '{ printf "%.0f", $1 }') msg/s"
