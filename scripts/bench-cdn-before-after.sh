#!/bin/bash
# Compare the CDN cache's benchmarks (BenchmarkHit: a HIT;
# BenchmarkMissOrigin: a pass through a key that is not cacheable) at a
# base commit and at the working tree, alternating, ROUNDS times (default
# 7):
#   scripts/bench-cdn-before-after.sh BASE [ROUNDS]
# Each side's test binary is built once; the base is checked out in a
# temporary worktree, removed at the end. The measure is CPU time (user +
# system) per operation: (CPU of N iterations - CPU of 1) / N, which the
# other work on a shared machine disturbs far less than wall time. Prints
# one line per run and the medians:
#   before|after BenchmarkName cpu-ns/op
set -euo pipefail
base=${1:?usage: $0 BASE [ROUNDS]}
rounds=${2:-7}
n=1000000
root=$(git rev-parse --show-toplevel)
before=$(mktemp -d)
bins=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$before" >/dev/null 2>&1 || true; rm -rf "$bins"' EXIT
git -C "$root" worktree add --detach -f "$before" "$base" >/dev/null
(cd "$before" && go test -c -o "$bins/before" ./host/internal/cdn/)
(cd "$root" && go test -c -o "$bins/after" ./host/internal/cdn/)
cpu() { # binary benchmark iterations -> CPU seconds
  /usr/bin/time -f '%U %S' "$1" -test.run '^$' -test.bench "^$2\$" -test.benchtime "${3}x" 2>&1 >/dev/null |
    tail -1 | awk '{print $1 + $2}'
}
for i in $(seq "$rounds"); do
  for bench in BenchmarkHit BenchmarkMissOrigin; do
    for side in before after; do
      full=$(cpu "$bins/$side" "$bench" "$n")
      one=$(cpu "$bins/$side" "$bench" 1)
      echo "$side $bench $(awk -v f="$full" -v o="$one" -v n="$n" 'BEGIN {printf "%.0f", (f - o) / n * 1e9}')"
    done
  done
done | tee "$bins/runs"
echo "medians (cpu-ns/op):"
for bench in BenchmarkHit BenchmarkMissOrigin; do
  b=$(awk -v b="$bench" '$1 == "before" && $2 == b {print $3}' "$bins/runs" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  a=$(awk -v b="$bench" '$1 == "after" && $2 == b {print $3}' "$bins/runs" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  echo "$bench before $b after $a ratio $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", a / b}')"
done
