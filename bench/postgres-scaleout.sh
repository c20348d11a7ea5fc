#!/usr/bin/env bash
# Shared state on PostgreSQL (uses state/pgtest's throwaway cluster, or
# HERALD_TEST_POSTGRES):
#  1. one `send` of a 2,000-recipient e-mail campaign with the state in
#     files, then in PostgreSQL (BenchmarkCampaignSMTPState, best of COUNT);
#  2. one `herald send` process, then four together, on one 2,000-recipient
#     campaign through a provider fake that takes 20 ms per message, with
#     concurrency 4 per process.
#   bash bench/postgres-scaleout.sh
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-2}
export HERALD_PG_DURABLE=${HERALD_PG_DURABLE:-1}
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
go test -run '^$' -bench '^BenchmarkCampaignSMTPState$' -benchtime "${CAMPAIGN_RUNS:-3}x" -count "$COUNT" ./bench/ | tee "$raw"
echo
echo "best of $COUNT:"
bash "$(dirname "$0")/best.sh" < "$raw"
echo
HERALD_BENCH_SCALEOUT=1 go test -count=1 -run '^TestPostgresScaleOut$' -v ./cmd/herald/ | grep -E '^scaleout:|FAIL|ok'
