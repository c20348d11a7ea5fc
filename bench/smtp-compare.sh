#!/usr/bin/env bash
# herald against the machine's SMTP ceiling: Postfix's smtp-source (a bare
# load generator sending one pre-built message over and over) and `herald
# send` (audience, planning, rendering, journal and exactly-once included)
# both send N messages of about 2 KB into one Postfix smtp-sink on
# 127.0.0.1, alternately, RUNS times each, at 1 and 4 SMTP sessions, with a
# fresh state directory for every herald run. The sink's own counter checks
# that every message arrived.
#
#   bash bench/smtp-compare.sh                # N=20000 RUNS=3 SESSIONS="1 4"
#   N=5000 RUNS=5 bash bench/smtp-compare.sh
#   BASELINE=/tmp/old/herald bash bench/smtp-compare.sh
#
# BASELINE names another herald binary (an earlier build) that runs in the
# same rounds, so a change is measured against the one before it under the
# same machine load.
#
# Needs smtp-sink and smtp-source (Debian package postfix; the mail service
# need not run) and GNU time (/usr/bin/time). Installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000}
RUNS=${RUNS:-3}
SESSIONS=${SESSIONS:-"1 4"}
PORT=${PORT:-25825}
BASELINE=${BASELINE:-}
if [ -n "$BASELINE" ] && [ ! -x "$BASELINE" ]; then
  echo "smtp-compare: BASELINE=$BASELINE is not an executable" >&2
  exit 1
fi
for tool in smtp-sink smtp-source; do
  if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
    echo "smtp-compare: $tool not found: install Debian's postfix package (apt-get install postfix)" >&2
    exit 1
  fi
done
[ -x /usr/bin/time ] || { echo "smtp-compare: GNU time (/usr/bin/time) not found: apt-get install time" >&2; exit 1; }
PATH=$PATH:/usr/sbin

work=$(mktemp -d)
sink_pid=""
cleanup() { [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/herald" ./cmd/herald

# About 2 KB of body, the same for both senders.
body=$(head -c 1500 /dev/zero | tr '\0' 'x' | fold -w 72)
{
  printf 'From: Acme <news@acme.example>\nTo: customer@example.com\nSubject: Your order is on its way\n\n'
  printf 'Hello,\n\n%s\n' "$body"
} > "$work/message.eml"

mkdir -p "$work/c/t"
{
  echo "id,name,email"
  for ((i = 0; i < N; i++)); do echo "r$i,Customer $i,c$i@example.com"; done
} > "$work/c/customers.csv"
cat > "$work/c/campaign.toml" <<EOF
name = "compare"
audience = "customers.csv"
templates = "t"
default_locale = "en"
channels = ["email"]
EOF
{
  printf '[email]\nsubject = "Your order is on its way"\ntext = """\nHello {{.name}},\n\n'
  printf '%s\n"""\n' "$body"
} > "$work/c/t/en.toml"

# The sink: -c prints a running "mesg=N" counter; -u drops root.
user_opt=()
[ "$(id -u)" = 0 ] && user_opt=(-u nobody)
smtp-sink "${user_opt[@]}" -c "127.0.0.1:$PORT" 1024 > "$work/sink.out" 2>&1 &
sink_pid=$!
sleep 0.5
received() { tr '\r' '\n' < "$work/sink.out" | { grep -o 'mesg=[0-9]*' || true; } | tail -n 1 | cut -d= -f2; }

# run LABEL SESSIONS COMMAND...: appends "label sessions wall cpu" to results.
run() {
  local label=$1 s=$2; shift 2
  local before after
  before=$(received); before=${before:-0}
  /usr/bin/time -f '%e %U %S' -o "$work/time" "$@" > "$work/out" 2>&1 || {
    echo "smtp-compare: $label failed:" >&2; tail -n 20 "$work/out" >&2; exit 1; }
  sleep 0.2
  after=$(received)
  if [ $((after - before)) -ne "$N" ]; then
    echo "smtp-compare: $label sent $((after - before)) messages into the sink, want $N" >&2
    tail -n 20 "$work/out" >&2
    exit 1
  fi
  read -r wall user sys < "$work/time"
  echo "$label $s $wall $(echo "$user + $sys" | bc -l)" >> "$work/results"
}

for s in $SESSIONS; do
  cat > "$work/c/herald.toml" <<EOF
state_dir = "state"
[channels.email]
backend = "smtp"
url = "smtp://127.0.0.1:$PORT"
from = "Acme <news@acme.example>"
concurrency = $s
EOF
  for ((r = 1; r <= RUNS; r++)); do
    run smtp-source "$s" smtp-source -d -s "$s" -m "$N" -F "$work/message.eml" -f news@acme.example -t customer@example.com "127.0.0.1:$PORT"
    if [ -n "$BASELINE" ]; then
      rm -rf "$work/c/state"
      run baseline "$s" "$BASELINE" --quiet --config "$work/c/herald.toml" send "$work/c/campaign.toml"
    fi
    rm -rf "$work/c/state"
    run herald "$s" "$work/herald" --quiet --config "$work/c/herald.toml" send "$work/c/campaign.toml"
  done
done

echo "N=$N messages of ~2 KB into smtp-sink on 127.0.0.1, $RUNS runs each, alternating"
senders="smtp-source${BASELINE:+ baseline} herald"
awk -v n="$N" -v sessions="$SESSIONS" -v senders="$senders" '
  { key = $1 " " $2; rate[key] = rate[key] " " n / $3; cpu[key] = cpu[key] " " 1e6 * $4 / n }
  function sorted(list, a,   m, i, j, t) { m = split(list, a, " "); for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } return m }
  function median(list,   a, m) { m = sorted(list, a); return (m % 2) ? a[(m+1)/2] : (a[m/2] + a[m/2+1]) / 2 }
  function lo(list,   a) { sorted(list, a); return a[1] }
  function hi(list,   a, m) { m = sorted(list, a); return a[m] }
  END {
    printf "%-12s %8s %10s %10s %10s %14s\n", "sender", "sessions", "median/s", "min/s", "max/s", "cpu µs/msg";
    ns = split(sessions, ss, " "); nw = split(senders, ws, " ");
    for (i = 1; i <= ns; i++) for (w = 1; w <= nw; w++) {
      k = ws[w] " " ss[i];
      printf "%-12s %8s %10.0f %10.0f %10.0f %14.0f\n", ws[w], ss[i], median(rate[k]), lo(rate[k]), hi(rate[k]), median(cpu[k]) }
    for (i = 1; i <= ns; i++) {
      printf "herald / smtp-source at %s session(s): %.2f\n", ss[i], median(rate["herald " ss[i]]) / median(rate["smtp-source " ss[i]])
      if (("baseline " ss[i]) in rate)
        printf "herald / baseline at %s session(s): rate %.2f, cpu per message %.2f\n", ss[i], median(rate["herald " ss[i]]) / median(rate["baseline " ss[i]]), median(cpu["herald " ss[i]]) / median(cpu["baseline " ss[i]])
    }
  }' "$work/results"
