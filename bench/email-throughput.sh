#!/usr/bin/env bash
# E-mail throughput: messages/s from herald's SMTP backend (through the
# decorators herald.toml builds) into a loopback go-smtp sink at concurrency
# 1, 4 and 8, then a whole `send` of a 2,000-recipient campaign (journal
# included). Each benchmark runs COUNT times (default 2); the best is shown.
#   bash bench/email-throughput.sh
#   BENCHTIME=5s COUNT=3 bash bench/email-throughput.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BENCHTIME=${BENCHTIME:-3s}
COUNT=${COUNT:-2}
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
go test -run '^$' -bench '^BenchmarkSMTP$' -benchtime "$BENCHTIME" -count "$COUNT" ./bench/ | tee "$raw"
go test -run '^$' -bench '^BenchmarkCampaignSMTP$' -benchtime "${CAMPAIGN_RUNS:-3}x" -count "$COUNT" ./bench/ | tee -a "$raw"
echo
echo "best of $COUNT:"
bash "$(dirname "$0")/best.sh" < "$raw"
