#!/usr/bin/env bash
# HTTP accept throughput: many keep-alive connections posting small messages to /v1/messages and to
# /send. Prints durable accepts per second (202 / 200 "queued") and latency percentiles, from wrk, and the
# server's CPU time (user + system) per request.
#   bench/http.sh                       # 50 connections, 15 s per endpoint
#   CONNECTIONS=100 DURATION=30s bench/http.sh
#   HERMOD=other/hermod.dll bench/http.sh   # another build (this checkout's is built and used by default)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
connections=${CONNECTIONS:-50}
duration=${DURATION:-15s}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v wrk >/dev/null; then
  as_root apt-get update -q && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk
fi
[ "${SKIP_BUILD:-}" = 1 ] || [ -n "${HERMOD:-}" ] || dotnet build -c Release "$root/src/Hermod" -nologo -clp:ErrorsOnly >/dev/null

work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
client=0123456789abcdef0123456789abcdef
cat > "$work/hermod.yaml" <<YAML
hostname: mx.example.test
data_dir: $work/data
smtp:
  listeners: [ { name: mx, address: "127.0.0.1:0", role: ingress, tls: none } ]
http: { address: "127.0.0.1:$port" }
delivery: { enabled: false }
dns: { servers: ["127.0.0.1:9"] }
mini_mailgun: { clients: [$client] }
log: { level: warning }
YAML
hermod=(dotnet "${HERMOD:-$root/src/Hermod/bin/Release/net10.0/hermod.dll}")
key=$("${hermod[@]}" apikey create --tenant bench --config "$work/hermod.yaml" | tail -n 1)
"${hermod[@]}" serve --config "$work/hermod.yaml" >"$work/hermod.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

cat > "$work/v1.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $key"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"from":{"address":"app@example.com"},"to":[{"address":"user@example.org"}],"subject":"Benchmark","text":"' .. string.rep("x", 900) .. '"}'
LUA
cat > "$work/send.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"client_id":"$client","sender":"app@example.com","recipients":["user@example.org"],"subject":"Benchmark","body":"' .. string.rep("x", 900) .. '"}'
LUA

cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; } # the server's user + system time

run() { # name path script
  local out before after
  before=$(cpu_ticks)
  out=$(wrk -t2 -c"$connections" -d"$duration" --latency -s "$work/$3" "http://127.0.0.1:$port$2")
  after=$(cpu_ticks)
  local rps p50 p99 errors requests cpu
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  cpu=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN {printf "%.0fus", t / hz * 1e6 / n}')
  printf '%-14s %10s %10s %10s %12s %10s\n' "$1" "$rps" "$p50" "$p99" "${errors:-0}" "$cpu"
}

echo "HTTP accept throughput: $connections keep-alive connections, $duration per endpoint, 1 KiB messages, every 2xx durable"
echo "machine: $(nproc) cores, $(uname -sr), .NET SDK $(dotnet --version)"
printf '%-14s %10s %10s %10s %12s %10s\n' endpoint "accepted/s" p50 p99 "non-2xx" "CPU/req"
run "/v1/messages" /v1/messages v1.lua
run "/send" /send send.lua
if grep -qiE "warn|fail|error" "$work/hermod.log"; then
  echo "WARNING: Hermod logged problems:"; grep -iE "warn|fail|error" "$work/hermod.log" | head -5
fi
