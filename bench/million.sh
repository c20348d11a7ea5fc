#!/usr/bin/env bash
# Scale benchmark (SPEC 5): check, plan and send --dry-run on a generated
# audience of N rows (default 1,000,000). Prints wall time and peak memory
# (max RSS) of each command. Needs GNU time (/usr/bin/time, Debian: time).
#   bash bench/million.sh            # 1,000,000 rows
#   N=100000 bash bench/million.sh   # smaller
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
out=bench/out
mkdir -p "$out"
go build -o "$out/herald" ./cmd/herald
if [ ! -s bench/million/audience.csv ] || [ "$(($(wc -l < bench/million/audience.csv) - 1))" != "$N" ]; then
  go run ./bench/genaudience -n "$N" > bench/million/audience.csv
fi
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "install GNU time: apt-get install -y time" >&2; exit 2; }
run() {
  local name=$1; shift
  local state; state=$(mktemp -d)
  "$TIME" -f "$name: %e s wall, %U s user, %S s sys, %M KB max RSS" "$out/herald" --config bench/million/herald.toml --state "$state" "$@" > "$out/$name.out" 2> "$out/$name.err" || true
  tail -n 1 "$out/$name.err"
  rm -rf "$state"
}
echo "audience: $N rows ($(du -h bench/million/audience.csv | cut -f1))"
run check check bench/million/campaign.toml
run plan plan --now 2026-11-23T12:00:00Z --format csv bench/million/campaign.toml
run send-dry-run send --dry-run --quiet --now 2026-11-23T12:00:00Z bench/million/campaign.toml
