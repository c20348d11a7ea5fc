#!/usr/bin/env bash
# `herald replies serve` throughput: builds the real binary, starts it on a
# loopback port with a generated herald.toml (one Twilio channel, signatures
# checked against public_url), and drives it with bench/webhookload: N
# signed inbound-SMS webhooks, distinct MessageSids, C keep-alive connections.
# Every request must be answered 200 and be a row of replies.csv afterwards.
# Each run starts from a state directory holding only a journal with one
# `sent` entry per sender number, so every reply is attributed. The server logs one line
# per request (its default) into a file.
#
#   bash bench/webhooks.sh                  # N=100000 C=64 RUNS=2
#   N=50000 C=32 RUNS=3 bash bench/webhooks.sh
#   HERALD=/tmp/old/herald bash bench/webhooks.sh   # measure another build
#   CEILING=1 bash bench/webhooks.sh        # also: bare net/http server, fsync rate
#   HERALD_FLAGS=--quiet SERVER_ENV=GOGC=400 bash bench/webhooks.sh  # server flags / environment
# Needs curl (to wait for /healthz).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000}
C=${C:-64}
RUNS=${RUNS:-2}
PORT=${PORT:-18025}
out=bench/out
mkdir -p "$out"
if [ -z "${HERALD:-}" ]; then
  go build -o "$out/herald" ./cmd/herald
  HERALD=$out/herald
fi
go build -o "$out/webhookload" ./bench/webhookload
export TWILIO_AUTH_TOKEN=bench-auth-token-0123456789abcdef

work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/herald.toml" <<EOF
state_dir = "state"
public_url = "https://hooks.example.com"

[channels.sms]
backend = "twilio"
account_sid = "AC0123456789abcdef0123456789abcdef"
auth_token = "\${TWILIO_AUTH_TOKEN}"
from = "+15550001111"
EOF

wait_up() {
  for _ in $(seq 100); do
    # /healthz answers once the server has read the journal and serves.
    if curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/healthz" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "server did not start; its log:" >&2
  cat "$work/serve.log" >&2
  exit 1
}

# cpu_report PID N: the server's user+system CPU (from /proc) per request
# since cpu_mark (startup, which reads the journal, excluded); the number
# that does not depend on what else the shared machine runs.
ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
cpu_mark() { mark=$(ticks "$1"); }
cpu_report() {
  # shellcheck disable=SC2086
  echo $mark $(ticks "$1") | awk -v hz="$(getconf CLK_TCK)" -v n="$2" '{
    u = ($3 - $1) / hz; s = ($4 - $2) / hz
    printf "server CPU: %.2f s (user %.2f, system %.2f), %.0f µs per request\n", u + s, u, s, (u + s) * 1e6 / n }'
}

for run in $(seq "$RUNS"); do
  rm -rf "$work/state"
  # Every reply answers a send in the journal, so each one is attributed.
  "$out/webhookload" journal -dir "$work/state" -n "$N"
  env ${SERVER_ENV:-} "$HERALD" ${HERALD_FLAGS:-} --config "$work/herald.toml" replies serve --listen "127.0.0.1:$PORT" 2> "$work/serve.log" &
  server=$!
  wait_up
  cpu_mark "$server"
  echo "== run $run: $N webhooks, concurrency $C"
  "$out/webhookload" -url "http://127.0.0.1:$PORT" -public-url https://hooks.example.com \
    -path /webhooks/sms -n "$N" -c "$C" -replies "$work/state/replies.csv"
  cpu_report "$server" "$N"
  kill "$server"; wait "$server" || true; server=
done

if [ -n "${CEILING:-}" ]; then
  "$out/webhookload" hello -listen "127.0.0.1:$PORT" > /dev/null &
  server=$!
  wait_up
  cpu_mark "$server"
  for run in $(seq "$RUNS"); do
    echo "== ceiling $run: bare net/http handler, $N GETs, concurrency $C"
    "$out/webhookload" -unsigned -url "http://127.0.0.1:$PORT" -path /hello -n "$N" -c "$C"
  done
  cpu_report "$server" "$((N * RUNS))"
  kill "$server"; wait "$server" 2>/dev/null || true; server=
  mkdir -p "$work/state"
  echo "== fsync rate of the state directory's disk"
  "$out/webhookload" fsync -dir "$work/state" -n 2000
fi
