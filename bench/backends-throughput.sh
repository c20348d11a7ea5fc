#!/usr/bin/env bash
# Per-backend throughput: messages/s from each HTTP backend (twilio, vonage,
# whatsapp, telegram, line), through the decorators with no rate limit, into
# its in-process fake, at concurrency 1, 4 and 8. Each benchmark runs COUNT
# times (default 2); the best is shown.
#   bash bench/backends-throughput.sh
#   BENCHTIME=5s COUNT=3 bash bench/backends-throughput.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BENCHTIME=${BENCHTIME:-3s}
COUNT=${COUNT:-2}
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
go test -run '^$' -bench '^BenchmarkBackends$' -benchtime "$BENCHTIME" -count "$COUNT" ./bench/ | tee "$raw"
echo
echo "best of $COUNT:"
bash "$(dirname "$0")/best.sh" < "$raw"
