#!/usr/bin/env bash
# Reads `go test -bench` output and prints, per benchmark, the best msgs/s.
awk '
/^Benchmark/ {
  for (i = 2; i <= NF; i++) if ($i == "msgs/s") {
    name = $1; sub(/-[0-9]+$/, "", name)
    if (!(name in best)) order[n++] = name
    if ($(i-1) + 0 > best[name]) best[name] = $(i-1) + 0
  }
}
END { for (k = 0; k < n; k++) printf "%-45s %10.0f msgs/s\n", order[k], best[order[k]] }'
