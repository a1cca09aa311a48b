#!/usr/bin/env bash
# Memory of one large /v1 request: how much the server's peak RSS grows while it accepts one JSON message spec
# with a 20 MB attachment (a ~27 MB request), from a fresh server that has accepted one small message first.
#   bench/http-memory.sh                          # this checkout, 3 runs
#   RUNS=5 bench/http-memory.sh a/hermod.dll b/hermod.dll   # builds side by side, runs interleaved
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
attachment_bytes=${ATTACHMENT_BYTES:-20000000}

builds=("$@")
if [ ${#builds[@]} -eq 0 ]; then
  [ "${SKIP_BUILD:-}" = 1 ] || dotnet build -c Release "$root/src/Hermod" -nologo -clp:ErrorsOnly >/dev/null
  builds=("$root/src/Hermod/bin/Release/net10.0/hermod.dll")
fi

work=$(mktemp -d)
pid=""
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi; }
cleanup() { stop; rm -rf "$work"; }
trap cleanup EXIT INT TERM

python3 - "$work" "$attachment_bytes" <<'PY'
import base64, json, os, sys
work, size = sys.argv[1], int(sys.argv[2])
spec = {"from": {"address": "app@example.com"}, "to": [{"address": "user@example.org"}], "subject": "Memory", "text": "See the file."}
with open(f"{work}/small.json", "w") as f:
    json.dump(spec, f)
spec["attachments"] = [{"filename": "data.bin", "content_type": "application/octet-stream",
                        "content": base64.b64encode(os.urandom(size)).decode()}]
with open(f"{work}/large.json", "w") as f:
    json.dump(spec, f)
PY

kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }

post() { # port key file -> HTTP status
  curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" -H "Content-Type: application/json" \
    --data-binary "@$work/$3" "http://127.0.0.1:$1/v1/messages"
}

measure() { # hermod.dll; sets growth (MiB)
  local dll=$1 data port key before after
  data=$(mktemp -d -p "$work")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$data/hermod.yaml" <<YAML
hostname: mx.example.test
data_dir: $data/data
smtp:
  listeners: [ { name: mx, address: "127.0.0.1:0", role: ingress, tls: none } ]
http: { address: "127.0.0.1:$port" }
delivery: { enabled: false }
dns: { servers: ["127.0.0.1:9"] }
log: { level: warning }
YAML
  key=$(dotnet "$dll" apikey create --tenant bench --config "$data/hermod.yaml" | tail -n 1)
  dotnet "$dll" serve --config "$data/hermod.yaml" >"$data/hermod.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  [ "$(post "$port" "$key" small.json)" = 202 ] || { echo "the small request was not accepted" >&2; exit 1; }
  before=$(kib VmHWM)
  [ "$(post "$port" "$key" large.json)" = 202 ] || { echo "the large request was not accepted" >&2; exit 1; }
  after=$(kib VmHWM)
  stop
  rm -rf "$data"
  growth=$(( (after - before) / 1024 ))
}

echo "Peak RSS growth (VmHWM) of one /v1 request with a $attachment_bytes-byte attachment ($(stat -c %s "$work/large.json") bytes of JSON)"
echo "machine: $(nproc) cores, $(uname -sr), .NET SDK $(dotnet --version)"
printf '%-4s %8s  %s\n' run MiB build
for run in $(seq 1 "$runs"); do
  for dll in "${builds[@]}"; do
    measure "$dll"
    printf '%-4s %8s  %s\n' "$run" "$growth" "$dll"
  done
done
